"""The PostgreSQL server the storage tests share: one per test session, started on first use.

Tests that use it belong to the ``postgres`` xdist group, so one worker starts it. Without PostgreSQL
binaries (or asyncpg) they are skipped with the reason, or fail where ``SPRINGBOARD_REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Iterator

import pytest

from tests.postgres_server import REQUIRED, PostgresServer, find_binaries, start_server

POSTGRES_GROUP = "postgres"

_schemas = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the test session, on 127.0.0.1 in a temporary folder."""
    binaries, why_not = find_binaries()
    if binaries is None or importlib.util.find_spec("asyncpg") is None:
        reason = why_not or "asyncpg is not installed (pip install -e '.[dev]')"
        if REQUIRED:
            pytest.fail(f"SPRINGBOARD_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    server = start_server(binaries)
    try:
        yield server
    finally:
        server.stop()


async def fresh_schema(server: PostgresServer, prefix: str = "test") -> str:
    """Create an empty schema of its own for one test; its name (use it as the ``search_path``)."""
    return await server.create("SCHEMA", f"{prefix}_{next(_schemas)}")


async def fresh_database(server: PostgresServer, prefix: str = "test") -> str:
    """Create an empty database of its own (advisory locks, unlike tables, are per database); its name."""
    return await server.create("DATABASE", f"{prefix}_{next(_schemas)}")
