"""Run the real ``springboard run`` process against the in-test Bot API stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from standin.records import ChatMessage
from standin.server import StandIn

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456789:E2E-test-token-abcdefghijklmnopqrstuv"
ONBOARDING_BUTTON = "I understand, let's begin"
# Webhook mode: the secret the tests configure, the header Telegram sends it in, and the path it calls.
WEBHOOK_SECRET = "webhook-secret-0123456789abcdef"
WEBHOOK_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/telegram/hook"
# The longest any test waits for one reply or one start: generous, since a wait ends as soon as the event comes.
REPLY_CEILING_S = 60.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class BotProcess:
    """One ``springboard run`` child process; its combined log goes to ``log_path``."""

    standin: StandIn
    workdir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    process: asyncio.subprocess.Process | None = None
    starts: int = 0

    @property
    def database(self) -> Path:
        return self.workdir / "bot.sqlite3"

    @property
    def log_path(self) -> Path:
        return self.workdir / "bot.log"

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("TELEGRAM_", "DATABASE_"))}
        env.update(
            {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": self.standin.url,
                "DATABASE_PATH": str(self.database),
                "FLOWS_DIR": str(ROOT / "conversations"),
                "LOG_LEVEL": "DEBUG",
                "PYTHONPATH": str(ROOT),
                # Unpaced: simulated people answer at once, and Telegram's pacing would only make tests wait.
                # tests/e2e/test_pacing_process.py runs the bot with Telegram's real limits.
                "SEND_LIMIT_PER_SECOND": "0",
                "SEND_LIMIT_PER_CHAT_PER_SECOND": "0",
            }
        )
        env.update(self.extra_env)
        return env

    async def start(self, ready: str = "polling for updates", timeout: float = 60) -> None:
        """Start the process and wait (up to ``timeout`` s) until its log says ``ready`` for this start."""
        self.starts += 1
        log = self.log_path.open("ab")
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=self.workdir, env=self.env(), stdout=log, stderr=log
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while self.log().count(ready) < self.starts:
            if self.process.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"the bot did not start polling; its log:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.05)

    async def set_webhook(self) -> tuple[int, str]:
        """Run ``springboard set-webhook`` with this process's settings (the deploy step); its exit code and
        combined output."""
        return await self.command("set-webhook")

    async def command(self, name: str) -> tuple[int, str]:
        """Run ``springboard NAME`` with this process's settings; its exit code and combined output."""
        command = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            name,
            cwd=self.workdir,
            env=self.env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(command.communicate(), REPLY_CEILING_S)
        assert command.returncode is not None
        return command.returncode, output.decode()

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.standin.clear_requests()

    async def stop(self, timeout: float = 10) -> int:
        if self.process is None or self.process.returncode is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise

    async def wait_for_log(self, text: str, timeout: float = REPLY_CEILING_S) -> None:
        """Wait until the process has logged ``text`` (looking every 20 ms)."""
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot never logged {text!r}; its log:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.02)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def rows(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.database, timeout=30)) as connection:
            return list(connection.execute(query, params))


class Chat:
    """One user of the stand-in talking to the bot, waiting for each reply."""

    def __init__(self, standin: StandIn, user_id: int) -> None:
        self.standin = standin
        self.user_id = user_id

    def messages(self) -> list[ChatMessage]:
        return self.standin.bot_messages(self.user_id)

    async def say(self, text: str, expect: str | None = None) -> ChatMessage:
        before = len(self.messages())
        self.standin.user_sends_text(self.user_id, text)
        return await self._reply_after(before, expect)

    async def tap(self, label: str, expect: str | None = None, on: ChatMessage | None = None) -> ChatMessage:
        target = on or self.last_with_buttons()
        before = len(self.messages())
        self.standin.user_presses_button(self.user_id, target.message_id, text=label)
        return await self._reply_after(before, expect)

    async def next_reply(self, expect: str | None = None, after: int | None = None) -> ChatMessage:
        """Wait for a message the bot sends on its own (a check-in), among those after the first ``after``."""
        return await self._reply_after(len(self.messages()) if after is None else after, expect)

    async def begin(self, command: str, expect: str) -> ChatMessage:
        """Start a flow as a first-time person does: the onboarding card first, confirmed with its button."""
        card = await self.say(command, expect="not a therapist")
        return await self.tap(ONBOARDING_BUTTON, expect=expect, on=card)

    def last_with_buttons(self) -> ChatMessage:
        return next(m for m in reversed(self.messages()) if m.reply_markup)

    async def _reply_after(self, before: int, expect: str | None) -> ChatMessage:
        def arrived() -> ChatMessage | None:
            sent = self.messages()[before:]
            for message in sent:
                if expect is None or expect in message.shown_text:
                    return message
            return None

        return await self.standin.wait_until(
            arrived, timeout=REPLY_CEILING_S, chat_id=self.user_id, what=f"a reply containing {expect!r}"
        )
