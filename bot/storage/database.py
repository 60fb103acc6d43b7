"""Opening the SQLite database: a private file, WAL, foreign keys, a busy timeout, and migrations."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import aiosqlite

from bot.storage.migrations import migrate

BUSY_TIMEOUT_MS = 5000


def _create_private_file(path: Path) -> None:
    """Create the database file readable and writable by its owner only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        descriptor = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(descriptor)


async def open_database(path: Path | str, now: datetime) -> aiosqlite.Connection:
    """Open (creating if needed) the database at ``path``, set it up and bring its schema up to date.

    The caller must close the connection (aiosqlite's worker thread otherwise keeps the process alive).
    """
    if str(path) != ":memory:":
        _create_private_file(Path(path))
    connection = await aiosqlite.connect(str(path), isolation_level=None)
    try:
        await connection.execute("PRAGMA journal_mode = WAL")
        await connection.execute("PRAGMA synchronous = FULL")
        await connection.execute("PRAGMA foreign_keys = ON")
        # Deleted rows are overwritten with zeros, so /forget really removes what people wrote.
        await connection.execute("PRAGMA secure_delete = ON")
        await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await migrate(connection, now)
    except BaseException:
        await connection.close()
        raise
    return connection


@asynccontextmanager
async def write_transaction(connection: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any error.

    IMMEDIATE takes the write lock up front: a deferred transaction that later upgrades to a write
    fails at once with SQLITE_BUSY instead of honouring the busy timeout.
    """
    await connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        await connection.execute("ROLLBACK")
        raise
    await connection.execute("COMMIT")
