"""The storage contract runs against every implementation of ``bot.storage.protocols.Storage``.

To add one (PostgreSQL, say), write an async context manager that yields a fresh, empty store and add it
to ``IMPLEMENTATIONS``; every test in this folder then runs against it too. Tests here use only the
Protocols, never an implementation's internals.
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


@asynccontextmanager
async def sqlite_store(folder: Path) -> AsyncIterator[Storage]:
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


IMPLEMENTATIONS: dict[str, Callable[[Path], AbstractAsyncContextManager[Storage]]] = {"sqlite": sqlite_store}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """A fresh, empty store of each implementation in turn."""
    async with IMPLEMENTATIONS[request.param](tmp_path) as store:
        yield store
