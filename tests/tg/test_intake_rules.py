"""The intake's rules for raw updates, and the webhook's for bodies: pure functions, table-driven."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.tg.intake import (
    MAX_NESTING,
    MAX_UPDATE_ID,
    UPDATE_ID_RESET_AFTER,
    UPDATE_ID_WINDOW,
    chat_id_hint,
    far_ahead,
    nesting_depth,
    update_id_of,
)
from bot.tg.webhook import update_object

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"update_id": 7}, 7),
        ({"update_id": 0}, 0),
        ({"update_id": MAX_UPDATE_ID}, MAX_UPDATE_ID),
        ({"update_id": MAX_UPDATE_ID + 1}, None),
        ({"update_id": -1}, None),
        ({"update_id": "7"}, None),
        ({"update_id": True}, None),
        ({"update_id": 7.0}, None),
        ({"message": {}}, None),
        ([{"update_id": 7}], None),
        (None, None),
    ],
)
def test_an_update_id_is_a_whole_number_in_range(item: Any, expected: int | None) -> None:
    assert update_id_of(item) == expected


def test_an_id_far_above_the_highest_seen_is_far_ahead_unless_telegram_was_quiet_for_a_week() -> None:
    seen = (1000, NOW - timedelta(hours=1))
    assert not far_ahead(1000 + UPDATE_ID_WINDOW, seen, NOW)
    assert far_ahead(1001 + UPDATE_ID_WINDOW, seen, NOW)
    assert not far_ahead(5, seen, NOW)  # ids can go down (a new random start): dedupe is by id, not by order
    assert not far_ahead(2**40, None, NOW)  # nothing seen yet
    quiet = (1000, NOW - UPDATE_ID_RESET_AFTER)
    assert not far_ahead(2**40, quiet, NOW)  # after a week without updates Telegram starts from a random id


def test_nesting_depth_stops_counting_past_the_limit() -> None:
    assert nesting_depth(5) == 0
    assert nesting_depth({"a": [1, {"b": []}]}) == 4
    deep: Any = []
    for _ in range(10_000):
        deep = [deep]
    assert MAX_NESTING < nesting_depth(deep) <= MAX_NESTING + 1


def test_the_chat_of_a_malformed_update_is_found_where_telegram_puts_it() -> None:
    chat = {"id": 42, "type": "private"}
    assert chat_id_hint({"update_id": 1, "message": {"chat": chat}}) == 42
    assert chat_id_hint({"update_id": 1, "callback_query": {"message": {"chat": chat}, "from": {"id": 9}}}) == 42
    assert chat_id_hint({"update_id": 1, "callback_query": {"from": {"id": 9}}}) == 9
    assert chat_id_hint({"update_id": 1, "poll_answer": {"user": {"id": 8}}}) == 8
    assert chat_id_hint({"update_id": 1, "message": "x"}) is None


@pytest.mark.parametrize(
    "body",
    [b"null", b"[]", b"1", b'"x"', b'{"update_id":"a"}', b"[" * 50_000 + b"]" * 50_000, b"\xff", b"", b"{"],
)
def test_a_webhook_body_that_is_not_an_update_object_is_none(body: bytes) -> None:
    assert update_object(body) is None


def test_a_webhook_body_that_is_an_update_object_comes_back_as_it_was() -> None:
    update = {"update_id": 5, "message": {"text": "hi \ud83d"}}  # a lone surrogate is JSON; it is handled later
    assert update_object(json.dumps(update).encode()) == update
