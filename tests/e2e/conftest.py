from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.standin.server import StandIn
from bot.standin.spec import SpecChecker
from tests.e2e.harness import ROOT, TOKEN, BotProcess

SPEC_PATH = ROOT.parent / "shared" / "telegram-bot-api" / "api.json"


def load_spec() -> SpecChecker | None:
    """The Bot API 10.0 specification checker, or None where ../shared is absent (a user's clone)."""
    return SpecChecker.from_file(SPEC_PATH) if SPEC_PATH.is_file() else None


@pytest.fixture
async def standin() -> AsyncIterator[StandIn]:
    """A stand-in that checks every request the bot makes, and every answer, against the spec if present."""
    server = StandIn(tokens=[TOKEN], spec=load_spec())
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
    assert server.spec_problems == [], "the bot or the stand-in broke the Bot API specification"


@pytest.fixture
async def bot_process(standin: StandIn, tmp_path: Path) -> AsyncIterator[BotProcess]:
    process = BotProcess(standin, tmp_path)
    try:
        yield process
    finally:
        if process.process is not None and process.process.returncode is None:
            process.process.kill()
            await process.process.wait()
