"""Fixtures for the reliability tests: a spec-checking stand-in and a bot process that can be killed anywhere."""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
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

    def diagnosis(self, stuck: BaseException, lines: int = 60) -> str:
        """What a stuck test needs to tell a bug from a slow machine: whether this start still runs, what
        waits in the outbox and the inbox, what the stand-in was asked for the chat ``stuck`` names (a
        wait's TimeoutError names its "user N"), and the end of the log (every start's)."""
        running = "running" if self.process is not None and self.process.returncode is None else "not running"
        exited = "" if self.process is None else f" (exit code {self.process.returncode})"
        try:
            waiting = self.rows("SELECT chat_id, substr(payload, 1, 90) FROM outbox ORDER BY id")
            inbox = self.rows("SELECT count(*) FROM inbox")[0][0]
        except sqlite3.Error as trouble:
            return f"start {self.starts}: {running}{exited}; the database could not be read: {trouble}"
        outbox = "\n".join(f"  chat {chat}: {payload}" for chat, payload in waiting) or "  (empty)"
        named = re.search(r"user (\d+)", str(stuck))
        asked = [
            f"  {record.at:.2f} {record.method} {record.status} {str(record.params.get('text', ''))[:40]!r}"
            for record in self.standin.requests
            if named is not None and str(record.params.get("chat_id")) == named.group(1)
        ]
        tail = "\n".join(self.log().splitlines()[-lines:])
        return (
            f"start {self.starts}: {running}{exited}; inbox {inbox}; outbox:\n{outbox}\n"
            f"requests for that chat:\n" + "\n".join(asked) + f"\nlog:\n{tail}"
        )

    async def wait_polling(self, timeout: float = 60) -> None:
        """Wait until this start of the process is long-polling."""
        await self.wait_logged("polling for updates", timeout)

    async def wait_logged(self, line: str, timeout: float = 60) -> None:
        """Wait until this start of the process has logged ``line`` (a part of a line)."""
        deadline = time.monotonic() + timeout
        while line not in self.log()[self.log_mark :]:
            assert self.process is not None
            if self.process.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"the bot never logged {line!r}; its log:\n{self.log()[-3000:]}")
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
