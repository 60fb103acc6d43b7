"""Opening the SQLite database: a private file, WAL, foreign keys, a busy timeout, and migrations."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import aiosqlite

from bot.storage.migrations import migrate

BUSY_TIMEOUT_MS = 5000

log = logging.getLogger(__name__)


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
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any error, the connection always left usable.

    IMMEDIATE takes the write lock up front: a deferred transaction that later upgrades to a write
    fails at once with SQLITE_BUSY instead of honouring the busy timeout. When SQLite has already rolled
    back by itself (it does on a full disk or an I/O error), the original error is raised, not a failed
    ROLLBACK; a COMMIT that fails is rolled back too, so the next transaction can begin.
    """
    if connection.in_transaction:
        # A rollback that failed earlier left a transaction open: end it, or nothing could be written again.
        await _roll_back(connection)
    await connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        await _roll_back(connection)
        raise
    try:
        await connection.execute("COMMIT")
    except BaseException:
        await _roll_back(connection)
        raise


async def _roll_back(connection: aiosqlite.Connection) -> None:
    """Roll back the open transaction, if SQLite has not already; a failure here is logged, not raised."""
    if not connection.in_transaction:
        return
    try:
        await connection.execute("ROLLBACK")
    except sqlite3.Error as trouble:
        log.error("rolling back failed (%s); trying again before the next write", trouble)
