"""Which database the bot runs on, chosen once from the settings: the SQLite file at ``DATABASE_PATH`` (the
default), or PostgreSQL when ``DATABASE_URL`` is set. Adapters open storage here and never name a driver."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.config import Settings
from bot.storage.database import DatabaseFile, migrate_database, open_database, open_reader
from bot.storage.errors import StorageError
from bot.storage.leadership import Leadership, SoleLeader
from bot.storage.migrations import latest_version as sqlite_latest
from bot.storage.protocols import Storage
from bot.storage.repository import Repository


@dataclass
class OpenedStorage:
    """An open database: the ``Storage`` services use, how to close it, and what only a file has."""

    storage: Storage
    closers: list[Callable[[], Awaitable[None]]]
    where: str
    """The database for messages: the file's path, or the URL without its password."""
    spool: Path
    """Where files waiting to be sent (exports, charts) are kept."""
    database_file: DatabaseFile | None = None
    """The SQLite file opened, to notice it being deleted or replaced (None for PostgreSQL or memory)."""
    terminal_files: Path = field(default=Path("data/files"))
    """Where the terminal chat writes the files it would send (one folder per person below)."""
    leadership: Leadership = field(default_factory=SoleLeader)
    """Whether this process sends and schedules for the deployment (always, with SQLite)."""

    async def close(self) -> None:
        """Close every connection (in reverse order of opening)."""
        for closer in reversed(self.closers):
            await closer()


@dataclass(frozen=True)
class MigrationReport:
    """What ``springboard migrate`` did: the migrations applied now and the version the schema is at."""

    where: str
    applied: list[int]
    version: int


def redacted(url: str) -> str:
    """The URL without a password, for logs and messages."""
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}" if user else f"{scheme}://{host}"


async def open_storage(
    settings: Settings, now: datetime, *, database_path: Path | None = None, migrate: bool = False
) -> OpenedStorage:
    """Open the database the settings name. SQLite is created and migrated as it opens; PostgreSQL is only
    migrated with ``migrate`` and otherwise refuses a schema older or newer than this code
    (``springboard migrate`` brings it up to date). ``database_path`` forces that SQLite file."""
    url = settings.database_url if database_path is None else None
    if url:
        from bot.storage.postgres.leadership import PostgresLeadership
        from bot.storage.postgres.store import open_postgres

        postgres = await open_postgres(url, now, apply_migrations=migrate)
        return OpenedStorage(
            postgres,
            [postgres.close],
            redacted(url),
            settings.files_dir,
            terminal_files=settings.files_dir / "terminal",
            leadership=PostgresLeadership(url),
        )
    path = database_path or settings.database_path
    connection = await open_database(path, now)
    closers: list[Callable[[], Awaitable[None]]] = [connection.close]
    try:
        reader = await open_reader(path)
        if reader is not None:
            closers.append(reader.close)
        in_memory = str(path) == ":memory:"
        return OpenedStorage(
            Repository(connection, reader),
            closers,
            str(path),
            # Files waiting to be sent live beside the database (data/springboard.sqlite3.files/), private to it.
            path.with_name(path.name + ".files"),
            None if in_memory else DatabaseFile(path),
            terminal_files=Path(path).parent / "files",
        )
    except BaseException:
        for closer in reversed(closers):
            await closer()
        raise


async def open_snapshot_storage(database_path: Path, database_url: str | None, now: datetime) -> OpenedStorage:
    """A connection for reading only (a worker building an export): a read-only SQLite connection, or a
    small PostgreSQL pool on a schema that must already be current."""
    if database_url:
        from bot.storage.postgres.store import open_postgres

        postgres = await open_postgres(database_url, now, apply_migrations=False, min_size=1, max_size=2)
        return OpenedStorage(postgres, [postgres.close], redacted(database_url), Path())
    reader = await open_reader(database_path)
    if reader is None:
        raise StorageError("an in-memory database cannot be read from another process")
    return OpenedStorage(Repository(reader, reader), [reader.close], str(database_path), Path())


async def migrate_storage(settings: Settings, now: datetime) -> MigrationReport:
    """Apply every migration the database the settings name lacks (under PostgreSQL's advisory lock)."""
    url = settings.database_url
    if url:
        from bot.storage.postgres.store import migrate_postgres

        applied, version = await migrate_postgres(url, now)
        return MigrationReport(redacted(url), applied, version)
    applied = await migrate_database(settings.database_path, now)
    return MigrationReport(str(settings.database_path), applied, sqlite_latest())
