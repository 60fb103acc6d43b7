"""After a crisis reply the flow waits: nothing typed is taken as an answer until the person chooses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.conversation import ONBOARD_OK, ButtonPress, Command, Conversations, Text
from bot.flows.catalog import Catalog
from bot.storage.database import open_database
from bot.storage.repository import Repository
from tests.safety.replies import answers, plain

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def service(tmp_path: Path, catalog: Catalog) -> AsyncIterator[Conversations]:
    connection = await open_database(tmp_path / "db.sqlite3", NOW)
    conversations = Conversations(catalog, Repository(connection), lambda: NOW, ZoneInfo("UTC"))
    await conversations.handle("tg:1", ButtonPress(ONBOARD_OK, 0))
    await conversations.handle("tg:1", Command("quick"))
    try:
        yield conversations
    finally:
        await connection.close()


@pytest.mark.parametrize("stop", ["stop for now", "Stop", "2"])
async def test_stop_in_words_stops_and_is_never_an_answer(service: Conversations, stop: str) -> None:
    assert "only a bot" in plain(await service.handle("tg:1", Text("I want to die")))
    reply = plain(await service.handle("tg:1", Text(stop)))
    assert "we'll stop here" in reply
    assert await answers(service) == {}


async def test_other_words_keep_the_pause_and_continue_resumes(service: Conversations) -> None:
    await service.handle("tg:1", Text("I want to die"))
    waiting = plain(await service.handle("tg:1", Text("my exam went badly")))
    assert "We're paused" in waiting
    assert await answers(service) == {}
    resumed = plain(await service.handle("tg:1", Text("continue")))
    assert "what happened" in resumed
    assert "What did it teach you?" in plain(await service.handle("tg:1", Text("My exam went badly")))


async def test_helplines_follow_the_persons_own_timezone(service: Conversations) -> None:
    await service.handle("tg:1", Command("checkin"))
    await service.handle("tg:1", ButtonPress("ci:tz", 0))
    await service.handle("tg:1", Text("Europe/London"))
    reply = plain(await service.handle("tg:1", Command("sos")))
    assert "Samaritans" in reply and "(999)" in reply and "988" not in reply
