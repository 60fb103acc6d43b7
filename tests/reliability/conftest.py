"""Fixtures for the reliability tests: a spec-checking stand-in and a bot process that can be killed anywhere."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from standin.server import StandIn
from tests.e2e.harness import BotProcess
from tests.storage.conftest import postgres_server as postgres_server  # the replica tests share its server


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB builds RetryAfter in-process in some of these tests; opt in to timedelta periods (no warning)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


class KillableBot(BotProcess):
    """A ``springboard run`` process that can be started without waiting and killed at any instant."""

    log_mark: int = 0

    async def spawn(self) -> None:
        """Start the process and return at once (it may be killed before it even polls)."""
        self.starts += 1
        self.log_mark = len(self.log())
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=self.workdir, env=self.env(), stdout=log, stderr=log
            )

    async def kill_now(self) -> None:
        """SIGKILL: no clean-up of any kind runs in the bot."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def wait_polling(self, timeout: float = 60) -> None:
        """Wait until this start of the process is long-polling."""
        deadline = time.monotonic() + timeout
        while "polling for updates" not in self.log()[self.log_mark :]:
            assert self.process is not None
            if self.process.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"the bot did not start polling; its log:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.05)


@pytest.fixture
async def bot(standin: StandIn, tmp_path: Path) -> AsyncIterator[KillableBot]:
    process = KillableBot(standin, tmp_path)
    try:
        yield process
    finally:
        if process.process is not None and process.process.returncode is None:
            process.process.kill()
            await process.process.wait()
