"""The delivery side of storage: quarantine (dead letters), what was last seen, and the file's identity."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiosqlite
import pytest

from bot.storage.database import DatabaseFile, DatabaseGone, open_database
from bot.storage.repository import Repository
from tests.conftest import NOW


@pytest.fixture
async def repository(tmp_path: Path) -> AsyncIterator[Repository]:
    connection = await open_database(tmp_path / "bot.sqlite3", NOW)
    try:
        yield Repository(connection)
    finally:
        await connection.close()


async def _count(connection: aiosqlite.Connection, sql: str, *params: object) -> int:
    async with connection.execute(sql, params) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def test_a_quarantined_update_is_kept_once_and_counts_as_handled(repository: Repository) -> None:
    async with repository.transaction() as store:
        await store.record_updates([(5, 42, '{"update_id": 5}')], 6, NOW)
        assert await store.quarantine_update(5, 42, '{"update_id": 5, "raw": true}', "KeyError: 'date'", NOW)
        assert not await store.quarantine_update(5, 42, '{"update_id": 5}', "again", NOW)
        assert await store.count_quarantined() == 1
        assert await store.quarantined_among([4, 5, 6]) == {5}
        assert await store.pending_updates() == []
        assert not await store.claim_update(5, NOW)  # already handled


async def test_forget_removes_the_chats_quarantined_updates_only(repository: Repository) -> None:
    async with repository.transaction() as store:
        user = await store.user("tg:42", NOW)
        await store.quarantine_update(5, 42, "{}", "TypeError", NOW)
        await store.quarantine_update(6, 43, "{}", "TypeError", NOW)
        await store.forget_user(user.id)
        await store.forget_chat(42)
        assert await store.quarantined_among([5, 6]) == {6}


async def test_the_last_update_seen_moves_with_each_recorded_batch(repository: Repository) -> None:
    async with repository.transaction() as store:
        assert await store.last_update_seen() is None
        await store.record_updates([], 101, NOW)
        assert await store.last_update_seen() == (100, NOW)
        await store.record_updates([], 51, NOW + timedelta(hours=1))  # a lower id never lowers the offset
        assert await store.last_update_seen() == (100, NOW + timedelta(hours=1))
        await store.record_updates([], None, NOW + timedelta(hours=2))  # nothing that counts: nothing moves
        assert await store.last_update_seen() == (100, NOW + timedelta(hours=1))


def test_the_database_file_is_recognised_until_deleted_or_replaced(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    with sqlite3.connect(path):
        pass
    watched = DatabaseFile(path)
    watched.check()
    assert watched.problem() is None

    other = tmp_path / "other.sqlite3"
    other.write_bytes(path.read_bytes())
    os.replace(other, path)
    assert "was replaced by another file" in (watched.problem() or "")

    path.unlink()
    with pytest.raises(DatabaseGone, match="was deleted while the bot was running"):
        watched.check()
    with pytest.raises(FileNotFoundError):
        DatabaseFile(path)
