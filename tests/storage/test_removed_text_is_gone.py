"""What the bot says is deleted is gone from every file: the database, its ``-wal`` and its ``-shm``.

Each test writes a marker through the conversation service, removes it the way a person would (/cancel,
an answer replaced after /back, a deleted entry, a held message let go), then reads the raw bytes of
all three files.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.conversation import ONBOARD_OK, ButtonPress, Command, Conversations, Text
from bot.engine import Say
from bot.flows.catalog import Catalog
from bot.storage.database import open_database
from bot.storage.repository import Repository

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def service(tmp_path: Path, catalog: Catalog) -> AsyncIterator[tuple[Conversations, Path]]:
    path = tmp_path / "bot.sqlite3"
    connection = await open_database(path, NOW)
    conversations = Conversations(catalog, Repository(connection), lambda: NOW, ZoneInfo("UTC"))
    await conversations.handle("tg:1", ButtonPress(ONBOARD_OK, 0))
    try:
        yield conversations, path
    finally:
        await connection.close()


def on_disk(path: Path) -> bytes:
    """Every byte of the database and its companion files."""
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    return b"".join(file.read_bytes() for file in files if file.exists())


async def test_a_cancelled_flow_leaves_no_trace(service: tuple[Conversations, Path]) -> None:
    conversations, path = service
    await conversations.handle("tg:1", Command("quick"))
    await conversations.handle("tg:1", Text("MARKER-cancelled-7f3a my manager shouted"))
    assert b"MARKER-cancelled-7f3a" in on_disk(path)  # the check can fail: the text was there
    await conversations.handle("tg:1", Command("cancel"))
    assert b"MARKER-cancelled-7f3a" not in on_disk(path)


async def test_an_answer_replaced_after_back_leaves_no_trace(service: tuple[Conversations, Path]) -> None:
    conversations, path = service
    await conversations.handle("tg:1", Command("quick"))
    await conversations.handle("tg:1", Text("MARKER-first-9c1d I overslept"))
    await conversations.handle("tg:1", Command("back"))
    await conversations.handle("tg:1", Text("I missed the train"))
    assert b"MARKER-first-9c1d" not in on_disk(path)
    assert b"I missed the train" in on_disk(path)


async def test_a_deleted_entry_leaves_no_trace(service: tuple[Conversations, Path]) -> None:
    conversations, path = service
    for message in (
        Command("quick"),
        Text("The demo crashed"),
        Text("MARKER-lesson-2b8e test first"),
        Text("Ask"),
        Text("today"),
    ):
        await conversations.handle("tg:1", message)
    [page, *_] = [reply for reply in await conversations.handle("tg:1", Command("lessons")) if isinstance(reply, Say)]
    delete = next(button.value for row in page.buttons for button in row if button.label == "🗑 1")
    [confirm] = [
        reply for reply in await conversations.handle("tg:1", ButtonPress(delete, 0)) if isinstance(reply, Say)
    ]
    sure = next(button.value for row in confirm.buttons for button in row if button.label == "Yes, delete it")
    await conversations.handle("tg:1", ButtonPress(sure, 0))
    assert b"MARKER-lesson-2b8e" not in on_disk(path)


async def test_a_held_message_let_go_leaves_no_trace(service: tuple[Conversations, Path]) -> None:
    conversations, path = service
    repository = conversations.repository
    async with repository.transaction():
        user = await repository.user("tg:1", NOW)
        await repository.hold_for_safety(user.id, '{"incoming": {"kind": "text", "text": "MARKER-held-5e6f"}}')
    assert b"MARKER-held-5e6f" in on_disk(path)
    async with repository.transaction():
        await repository.hold_for_safety(user.id, None)
    assert b"MARKER-held-5e6f" not in on_disk(path)
