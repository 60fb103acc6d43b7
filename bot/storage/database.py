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

from bot.storage.errors import StorageBusy, StorageError, StorageFull, StorageUnavailable
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
    connection = await open_unmigrated(path)
    try:
        await migrate(connection, now)
    except BaseException as trouble:
        await connection.close()
        if isinstance(trouble, sqlite3.Error) and not isinstance(trouble, StorageError):
            raise storage_error(trouble) from trouble
        raise
    return connection


async def migrate_database(path: Path | str, now: datetime) -> list[int]:
    """Open the database at ``path``, apply every migration it lacks, close it; returns their numbers."""
    connection = await open_unmigrated(path)
    try:
        return await migrate(connection, now)
    except sqlite3.Error as trouble:
        raise storage_error(trouble) from trouble
    finally:
        await connection.close()


async def open_unmigrated(path: Path | str) -> aiosqlite.Connection:
    """Open (creating if needed) the database at ``path`` and set it up, leaving its schema as it is
    (``springboard migrate`` migrates it and reports what it applied)."""
    if str(path) != ":memory:":
        _create_private_file(Path(path))
    return await _connect(
        str(path),
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = FULL",
        "PRAGMA foreign_keys = ON",
        # Deleted rows are overwritten with zeros, so /forget really removes what people wrote.
        "PRAGMA secure_delete = ON",
        f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    )


async def open_reader(path: Path | str) -> aiosqlite.Connection | None:
    """A second, read-only connection to the database at ``path`` for long reads (an export, a chart).

    In WAL mode it reads a consistent snapshot while the main connection goes on writing, so long reads
    never hold the write lock. None for an in-memory database, which no second connection can see.
    """
    if str(path) == ":memory:":
        return None
    read_only = f"{Path(path).resolve().as_uri()}?mode=ro"
    return await _connect(read_only, "PRAGMA query_only = ON", f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}", uri=True)


async def _connect(database: str, *pragmas: str, uri: bool = False) -> aiosqlite.Connection:
    """A connection with rows read by column name and ``pragmas`` applied; closed again, and the failure
    raised as a storage error, when any step fails."""
    try:
        connection = await aiosqlite.connect(database, uri=uri, isolation_level=None)
    except sqlite3.Error as trouble:
        raise storage_error(trouble) from trouble
    connection.row_factory = sqlite3.Row
    try:
        for pragma in pragmas:
            await connection.execute(pragma)
    except BaseException as trouble:
        await connection.close()
        if isinstance(trouble, sqlite3.Error) and not isinstance(trouble, StorageError):
            raise storage_error(trouble) from trouble
        raise
    return connection


_TRANSLATED: dict[tuple[type[StorageError], type[sqlite3.Error]], type[StorageError]] = {}


def storage_error(error: sqlite3.Error) -> StorageError:
    """``error`` as the storage error it means: busy (locked past the timeout), full, or unavailable.

    The result is also an instance of ``error``'s own class (same message, same SQLite codes), so code
    written against ``sqlite3`` still recognises it; new code catches the ``bot.storage.errors`` types.
    """
    if isinstance(error, StorageError):
        return error
    name = getattr(error, "sqlite_errorname", "") or ""
    text = str(error).lower()
    kind: type[StorageError]
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text or "busy" in text:
        kind = StorageBusy
    elif name.startswith("SQLITE_FULL") or "full" in text:
        kind = StorageFull
    else:
        kind = StorageUnavailable
    key = (kind, type(error))
    if key not in _TRANSLATED:
        _TRANSLATED[key] = type(f"Sqlite{kind.__name__}", key, {"__module__": __name__})
    translated = _TRANSLATED[key](*error.args)
    for attribute in ("sqlite_errorcode", "sqlite_errorname"):
        if hasattr(error, attribute):
            setattr(translated, attribute, getattr(error, attribute))
    return translated


class DatabaseGone(Exception):
    """The database file was deleted or replaced while the bot had it open."""


class DatabaseFile:
    """Which file the bot opened at ``path`` (device and inode), to notice when it is deleted or replaced.

    SQLite keeps writing into a file that was unlinked or swapped away under it, and nothing it writes
    there survives a restart; anything confirmed to Telegram on the strength of such a write is lost.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._identity = self._stat()
        if self._identity is None:
            raise FileNotFoundError(f"the database {self.path} does not exist")

    def _stat(self) -> tuple[int, int] | None:
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return None
        return found.st_dev, found.st_ino

    def problem(self) -> str | None:
        """What happened to the file since it was opened (deleted, replaced, unreachable), or None while it is
        the same file."""
        try:
            now = self._stat()
        except OSError as trouble:  # permissions changed, a folder replaced by a file, a stale network mount
            return f"the database file {self.path} cannot be checked any more ({trouble.strerror or trouble})"
        if now is None:
            return f"the database file {self.path} was deleted while the bot was running"
        if now != self._identity:
            return f"the database file {self.path} was replaced by another file while the bot was running"
        return None

    def check(self) -> None:
        """Raise ``DatabaseGone`` (with a one-line explanation) unless the opened file is still in place."""
        problem = self.problem()
        if problem is not None:
            raise DatabaseGone(problem)


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
