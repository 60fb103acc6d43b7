"""``/healthz`` without a process: the report's shape, and 503 when the database does not answer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from bot.storage.errors import StorageError
from bot.storage.records import DeliveryLag
from bot.tg.webhook import health_handler, health_report
from tests.conftest import NOW


class _Lagging:
    """A storage whose snapshot reports a fixed lag, or fails as an unreachable database does."""

    def __init__(self, lag: DeliveryLag | None) -> None:
        self.lag = lag

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Any]:
        if self.lag is None:
            raise StorageError("connection refused")
        yield self

    async def delivery_lag(self) -> DeliveryLag:
        assert self.lag is not None
        return self.lag


async def _ask(storage: _Lagging) -> tuple[int, dict[str, Any]]:
    handler = health_handler(storage, lambda: None, lambda: NOW)  # type: ignore[arg-type]
    answer = await handler(make_mocked_request("GET", "/healthz"))
    assert isinstance(answer, web.Response) and answer.text is not None
    return answer.status, json.loads(answer.text)


def test_the_report_gives_counts_and_whole_second_ages() -> None:
    lag = DeliveryLag(3, NOW - timedelta(seconds=12.7), 0, None)
    assert health_report(lag, NOW) == {
        "database": "ok",
        "inbox": {"pending": 3, "oldest_age_seconds": 12},
        "outbox": {"pending": 0, "oldest_age_seconds": 0},
    }


async def test_healthz_is_200_with_the_lag_and_503_when_the_database_does_not_answer() -> None:
    status, body = await _ask(_Lagging(DeliveryLag(0, None, 2, NOW - timedelta(minutes=1))))
    assert status == 200 and body["outbox"] == {"pending": 2, "oldest_age_seconds": 60}
    status, body = await _ask(_Lagging(None))
    assert status == 503 and body == {"database": "unreachable"}
