"""Fixtures for the stand-in's tests: a running stand-in, a PTB Bot on it, an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
import telegram

from standin import SpecChecker, StandIn
from tests.spec import REPO_ROOT, SPEC_PATH, load_spec  # noqa: F401 - REPO_ROOT is used by the tests here


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB's timedelta periods: otherwise building a RetryAfter warns (and warnings fail tests)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture(scope="session")
def spec_or_none() -> SpecChecker | None:
    return load_spec()


@pytest.fixture
def spec(spec_or_none: SpecChecker | None) -> SpecChecker:
    if spec_or_none is None:
        pytest.skip(f"Bot API specification not found at {SPEC_PATH}")
    return spec_or_none


@pytest.fixture
async def standin(spec_or_none: SpecChecker | None) -> AsyncIterator[StandIn]:
    """A started stand-in that checks every request and answer against the spec when it is present.

    Tests using it must only make requests the spec allows: the fixture fails the test otherwise.
    """
    server = StandIn(spec=spec_or_none)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
    assert server.spec_problems == [], "requests or answers broke the Bot API specification"
    assert server.internal_errors == [], "the stand-in itself failed"


@pytest.fixture
async def bare_standin() -> AsyncIterator[StandIn]:
    """A started stand-in without spec checking, for tests that send malformed requests on purpose."""
    server = StandIn()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def bot(standin: StandIn) -> AsyncIterator[telegram.Bot]:
    """python-telegram-bot's real Bot, initialised (getMe) against the stand-in."""
    async with telegram.Bot(standin.token, base_url=standin.bot_api_url, base_file_url=standin.file_url) as client:
        yield client


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
