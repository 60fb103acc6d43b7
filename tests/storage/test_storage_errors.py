"""SQLite failures come out of the repository as the storage's own error types (busy, full, unavailable),
so adapters never need to know ``sqlite3``; each keeps the original class, message and codes too."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.storage.database import open_database, storage_error
from bot.storage.errors import StorageBusy, StorageError, StorageFull, StorageUnavailable
from bot.storage.repository import Repository
from tests.conftest import NOW


@pytest.mark.parametrize(
    ("raised", "meant"),
    [
        (sqlite3.OperationalError("database is locked"), StorageBusy),
        (sqlite3.OperationalError("database or disk is full"), StorageFull),
        (sqlite3.OperationalError("disk I/O error"), StorageUnavailable),
        (sqlite3.OperationalError("attempt to write a readonly database"), StorageUnavailable),
        (sqlite3.DatabaseError("database disk image is malformed"), StorageUnavailable),
    ],
)
def test_each_sqlite_failure_means_one_storage_error(raised: sqlite3.Error, meant: type[StorageError]) -> None:
    translated = storage_error(raised)
    assert isinstance(translated, meant)
    assert isinstance(translated, type(raised)) and str(translated) == str(raised)


async def test_a_full_disk_inside_a_transaction_is_storage_full_and_nothing_is_kept(tmp_path: Path) -> None:
    connection = await open_database(tmp_path / "bot.sqlite3", NOW)
    try:
        repository = Repository(connection)
        pages = (await (await connection.execute("PRAGMA page_count")).fetchone() or [0])[0]
        await connection.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(StorageFull):
            async with repository.transaction() as tx:
                await tx.user("cli:ana", NOW)
                await tx.enqueue_replies(1, ["x" * 50_000], NOW)
        assert await repository.find_user("cli:ana") is None
    finally:
        await connection.close()


async def test_a_database_that_refuses_writes_is_unavailable(tmp_path: Path) -> None:
    connection = await open_database(tmp_path / "bot.sqlite3", NOW)
    repository = Repository(connection)
    await connection.execute("PRAGMA query_only = ON")
    try:
        with pytest.raises(StorageUnavailable):
            async with repository.transaction() as tx:
                await tx.user("cli:ana", NOW)
    finally:
        await connection.close()
