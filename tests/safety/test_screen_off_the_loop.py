"""The crisis screen reads a message in a worker thread, before the update's transaction: the event loop and
the write lock stay free meanwhile (other people's replies go out and are marked sent), and what it read is
what the safety stage acts on."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.conversation import Conversations, Text
from bot.flows.catalog import Catalog
from bot.safety import Assessment, Level, Safety
from bot.storage.database import open_database
from bot.storage.repository import Repository

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SLOW_READ_S = 0.5


class SlowSafety(Safety):
    """The shipped screen, slowed down and watched: which thread reads, and how often."""

    read_on: list[threading.Thread]
    release: threading.Event

    def assess(self, text: str) -> Assessment:
        self.read_on.append(threading.current_thread())
        self.release.wait(SLOW_READ_S * 20)  # held until the test has looked around
        return Assessment(Level.CLEAR) if "SLOW-CLEAR" in text else super().assess(text)


@pytest.fixture
async def service(tmp_path: Path, catalog: Catalog) -> AsyncIterator[tuple[Conversations, SlowSafety]]:
    safety = SlowSafety(catalog.safety.screen, catalog.safety.helplines)
    safety.read_on, safety.release = [], threading.Event()
    connection = await open_database(tmp_path / "db.sqlite3", NOW)
    conversations = Conversations(replace(catalog, safety=safety), Repository(connection), lambda: NOW, ZoneInfo("UTC"))
    try:
        yield conversations, safety
    finally:
        safety.release.set()
        await connection.close()


async def test_while_a_message_is_screened_the_loop_and_the_write_lock_stay_free(
    service: tuple[Conversations, SlowSafety],
) -> None:
    conversations, safety = service
    handling = asyncio.create_task(conversations.handle("tg:1", Text("SLOW-CLEAR I can't go on")))
    async with asyncio.timeout(30):
        while not safety.read_on:
            await asyncio.sleep(0.01)
        # The screen is reading now: another transaction commits meanwhile (a reply marked sent, another update).
        async with conversations.repository.transaction() as tx:
            await tx.enqueue_replies(7, ["meanwhile"], NOW)
        assert not handling.done()
        safety.release.set()
        replies = await handling
    assert safety.read_on == [safety.read_on[0]] and safety.read_on[0] is not threading.main_thread(), (
        "read once, in a worker thread"
    )
    assert any("findahelpline.com" in getattr(reply, "html", "") for reply in replies), "the reading was acted on"
