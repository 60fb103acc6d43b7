"""Shared fixtures: the repository root, the shipped catalog, a fixed moment in time, and the
spec-checking Bot API stand-in the process tests (tests/e2e, tests/reliability) run the bot against.

``tests/__init__.py`` makes the repository root importable, so ``.venv/bin/pytest`` finds ``bot``
without an editable install.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.flows.catalog import Catalog, load_catalog
from bot.flows.texts import Texts
from standin.server import StandIn
from tests.e2e.harness import TOKEN
from tests.spec import load_spec

REPO_ROOT = Path(__file__).resolve().parent.parent
CONVERSATIONS = REPO_ROOT / "conversations"
NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


PROCESS_FIXTURES = frozenset({"bot_process", "bot"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that starts the real bot process: ``make test-fast`` leaves them out."""
    for item in items:
        if PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.process)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """Every shipped flow and the bot's texts, loaded once."""
    return load_catalog(CONVERSATIONS)


@pytest.fixture(scope="session")
def texts(catalog: Catalog) -> Texts:
    """The bot's own words."""
    return catalog.texts


@pytest.fixture
async def standin() -> AsyncIterator[StandIn]:
    """A stand-in that checks every request the bot makes, and every answer, against the spec if present.

    (tests/standin has its own, for testing the stand-in itself.)
    """
    server = StandIn(tokens=[TOKEN], spec=load_spec())
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
    assert server.spec_problems == [], "the bot or the stand-in broke the Bot API specification"
    assert server.internal_errors == [], "the stand-in itself failed"
