"""The storage contract runs against every implementation of ``bot.storage.protocols.Storage``.

To add one, write an async context manager that yields a fresh, empty store and add it to
``IMPLEMENTATIONS``; every test in this folder then runs against it too. Tests here use only the
Protocols, never an implementation's internals.

PostgreSQL runs on the session's throwaway server (``tests/storage/conftest.py``), each test in a schema of
its own; its tests share an xdist group, so one worker starts the server. Without PostgreSQL binaries (or
asyncpg) they are skipped with the reason, or fail where ``SPRINGBOARD_REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from bot.storage.database import open_database, open_reader
from bot.storage.protocols import Storage
from bot.storage.repository import Repository
from tests.conftest import NOW
from tests.postgres_server import PostgresServer
from tests.storage.conftest import POSTGRES_GROUP, fresh_schema


@asynccontextmanager
async def sqlite_store(request: pytest.FixtureRequest, folder: Path) -> AsyncIterator[Storage]:
    """SQLite on a temporary file, with its read-only connection for snapshots (as the bot runs it)."""
    path = folder / "contract.sqlite3"
    connection = await open_database(path, NOW)
    reader = await open_reader(path)
    try:
        yield Repository(connection, reader)
    finally:
        if reader is not None:
            await reader.close()
        await connection.close()


@asynccontextmanager
async def postgres_store(request: pytest.FixtureRequest, folder: Path) -> AsyncIterator[Storage]:
    """PostgreSQL on the session's server, in a fresh schema (migrated as the bot would on start)."""
    from bot.storage.postgres.store import open_postgres

    server: PostgresServer = request.getfixturevalue("postgres_server")
    schema = await fresh_schema(server, "contract")
    store = await open_postgres(server.url(), NOW, max_size=4, server_settings={"search_path": schema})
    try:
        yield store
    finally:
        await store.close()


IMPLEMENTATIONS: dict[str, Callable[[pytest.FixtureRequest, Path], AbstractAsyncContextManager[Storage]]] = {
    "sqlite": sqlite_store,
    "postgres": postgres_store,
}

_GROUPS = {"postgres": POSTGRES_GROUP}
"""Implementations whose tests run on one xdist worker (one server for all of them)."""


@pytest.fixture(
    params=[
        pytest.param(name, marks=[pytest.mark.xdist_group(_GROUPS[name])] if name in _GROUPS else [])
        for name in sorted(IMPLEMENTATIONS)
    ]
)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """A fresh, empty store of each implementation in turn."""
    async with IMPLEMENTATIONS[request.param](request, tmp_path) as store:
        yield store
