from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from standin.server import StandIn
from tests.e2e.harness import BotProcess


@pytest.fixture
async def bot_process(standin: StandIn, tmp_path: Path) -> AsyncIterator[BotProcess]:
    process = BotProcess(standin, tmp_path)
    try:
        yield process
    finally:
        if process.process is not None and process.process.returncode is None:
            process.process.kill()
            await process.process.wait()
