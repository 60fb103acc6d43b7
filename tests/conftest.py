"""Shared fixtures: the repository root, the shipped catalog, and a fixed moment in time.

``tests/__init__.py`` makes the repository root importable, so ``.venv/bin/pytest`` finds ``bot``
without an editable install.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.flows.catalog import Catalog, load_catalog
from bot.flows.texts import Texts

REPO_ROOT = Path(__file__).resolve().parent.parent
CONVERSATIONS = REPO_ROOT / "conversations"
NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """Every shipped flow and the bot's texts, loaded once."""
    return load_catalog(CONVERSATIONS)


@pytest.fixture(scope="session")
def texts(catalog: Catalog) -> Texts:
    """The bot's own words."""
    return catalog.texts
