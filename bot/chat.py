"""The terminal adapter: the same flows, engine and storage as the Telegram bot, on stdin/stdout.

Works interactively and with piped input (each line is one message; input lines are echoed so a
transcript reads like a chat). End of input or /quit ends the session; progress is already saved.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import shutil
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bot.checkin_menu import PREFIX as CHECKIN_PREFIX
from bot.config import Settings
from bot.conversation import ButtonPress, Command, Conversations, Incoming, Reply, Resume, Text
from bot.engine import CONTINUE_VALUE, DONE_VALUE, SKIP_VALUE, Say, Stale
from bot.flows.catalog import Catalog
from bot.flows.texts import Texts
from bot.history import Erased, SendFile
from bot.render import html_to_plain, render
from bot.storage.opening import open_storage
from bot.timezones import ZoneMatch, is_fixed_offset, parse_timezone

SPECIAL_VALUES = {SKIP_VALUE, DONE_VALUE, CONTINUE_VALUE}
TIME_BUTTON = f"{CHECKIN_PREFIX}at:"
QUIT_COMMANDS = {"quit", "exit"}


# The bot's words are written for Telegram's buttons ("Tap one, or type a day"); the terminal has numbered
# options instead, so a line that offers a tap or typing keeps only the typing, and "then choose Done" (a
# button the terminal does not show) goes. Each rule is one of the bot's own forms of sentence, narrow
# enough that a person's words quoted back ("I had to tap my card, or type the PIN") are left alone.
_WHAT_IS_TAPPED = r"(?:one|it|them|“[^”]{1,60}”|Yes or No|Continue)"  # a pronoun, or a button's label
_TERMINAL_WORDING: tuple[tuple[re.Pattern[str], str], ...] = (
    # "Tap Yes or No (or type yes or no)", "then tap “I understand, let's begin” (or type yes)"
    (re.compile(rf"\b([Tt])ap {_WHAT_IS_TAPPED} \(or type ([^)]*)\)"), r"\1ype \2"),
    # "Tap its number, or type it": both are typing here
    (re.compile(r"\b([Tt])ap its number, or type it\b"), r"\1ype its number or its name"),
    # "Tap one, or type a day", "tap them, or type their numbers", "tap “Delete” or type yes"
    (re.compile(rf"\b([Tt])ap {_WHAT_IS_TAPPED},? or type\b"), r"\1ype"),
    # "Tap below to pick it up": below are numbered options here
    (re.compile(r"\b([Tt])ap below to\b"), r"\1ype its number to"),
    (re.compile(r",? then choose Done(?=\.)"), ""),
)
"""Each rule and what it leaves; "Tap" becomes "Type" and "tap" "type" (the first letter is kept)."""


def for_the_terminal(text: str) -> str:
    """``text`` (a reply in plain text) with Telegram's taps reworded as typing (see :data:`_TERMINAL_WORDING`)."""
    for pattern, replacement in _TERMINAL_WORDING:
        text = pattern.sub(replacement, text)
    return text


def say_plain(template: str, context: Mapping[str, Any] | None = None) -> str:
    """One of the bot's texts (``conversations/texts/``) rendered for the terminal, as plain text."""
    return html_to_plain(render(template, context or {}))


def format_reply(reply: Say | Stale, texts: Texts) -> str:
    """A reply as terminal text: the message, then its buttons as numbered options or a number range
    (the hints around them are ``texts.terminal_*``)."""
    if isinstance(reply, Stale):
        return say_plain(texts.terminal_stale)
    lines = [for_the_terminal(html_to_plain(reply.html))]
    options = [button for row in reply.buttons for button in row if button.value not in SPECIAL_VALUES]
    if options and all(button.value.lstrip("-").isdigit() for button in options):
        lines.append("  " + say_plain(texts.terminal_scale, {"min": options[0].label, "max": options[-1].label}))
    elif options and all(button.value.startswith(TIME_BUTTON) for button in options):
        # Times are typed as times ("8" is 08:00), so they are not numbered.
        lines.append("  " + say_plain(texts.terminal_times, {"times": [button.label for button in options]}))
    elif options:
        lines.extend(f"  {number}. {button.spoken or button.label}" for number, button in enumerate(options, start=1))
        if any(button.value == DONE_VALUE for row in reply.buttons for button in row):
            lines.append("  " + say_plain(texts.terminal_multi))
    pause = [button for row in reply.buttons for button in row if button.value == CONTINUE_VALUE]
    if pause:
        lines.append("  " + say_plain(texts.terminal_pause, {"button": pause[0].label}))
    return "\n".join(lines)


def _safe_name(user: str) -> str:
    """A user name as one safe folder name (no path separators, no leading dot)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", user) or "me"


def parse_line(line: str, waiting_for_pause: bool) -> Incoming | None:
    """What a typed line means: a command, a pause being ended, text, or nothing (a blank line)."""
    stripped = line.strip()
    if stripped.startswith("/") and len(stripped) > 1 and not stripped[1].isspace():
        name, *rest = stripped[1:].split(maxsplit=1)
        return Command(name.lower(), rest[0].strip() if rest else None)
    if not stripped:
        return ButtonPress(CONTINUE_VALUE, None) if waiting_for_pause else None
    return Text(line.rstrip("\n"))


CHECKIN_EVERY_S = 20.0
"""How often an open terminal chat looks for a due check-in."""

PASTE_WINDOW_S = 0.05
"""Lines that arrive within this long of each other, in an interactive terminal, are one pasted message."""


class LineReader:
    """Reads stdin on a daemon thread, so Ctrl+C stops the chat at once instead of waiting for Enter."""

    def __init__(self, stream: TextIO) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._ended = False
        threading.Thread(target=self._pump, args=(stream,), daemon=True, name="stdin").start()

    def _pump(self, stream: TextIO) -> None:
        while True:
            line = stream.readline()
            self._loop.call_soon_threadsafe(self._queue.put_nowait, line)
            if line == "":
                return

    async def next_message(self, paste_window: float = 0.0) -> str | None:
        """The next line (None at end of input). With a paste window, lines that follow within it are
        joined into one message: a pasted paragraph stays one answer."""
        if self._ended:
            return None
        line = await self._queue.get()
        if line == "":
            self._ended = True
            return None
        while paste_window > 0:
            try:
                more = await asyncio.wait_for(self._queue.get(), timeout=paste_window)
            except TimeoutError:
                break
            if more == "":
                self._ended = True
                break
            line = line.rstrip("\n") + "\n" + more
        return line


class TerminalChat:
    """One person chatting in a terminal; replies go to ``output``."""

    def __init__(
        self, conversations: Conversations, external_id: str, output: TextIO, echo: bool, files_dir: Path, texts: Texts
    ) -> None:
        self._conversations = conversations
        self._texts = texts
        self._files_dir = files_dir
        self._external_id = external_id
        self._output = output
        self._echo = echo
        self._waiting_for_pause = False

    async def send(self, incoming: Incoming) -> None:
        """Hand one message to the bot and print every reply. Typed numbers and labels are read by the bot
        itself against the buttons it last showed, as in Telegram, so nothing here needs remembering."""
        self._show(await self._conversations.handle(self._external_id, incoming))
        await self._build_files()

    async def _build_files(self) -> None:
        """Build and show this person's export or chart right away: in the terminal they are waiting for it."""
        scratch = self._files_dir / ".building"
        self._show(await self._conversations.build_now(self._external_id, scratch))
        with contextlib.suppress(OSError):  # only there while a file is being written
            scratch.rmdir()

    async def deliver_checkins(self) -> bool:
        """Show this person's check-in if it is due now (the terminal has no other way to reach them)."""
        sent = await self._conversations.run_checkins(whose=lambda who: who == self._external_id)
        for _, replies in sent:
            self._show(replies)
        return bool(sent)

    def _show(self, replies: list[Reply]) -> None:
        for reply in replies:
            if isinstance(reply, Erased):
                # /forget: the exports and charts saved for this person go too.
                shutil.rmtree(self._files_dir, ignore_errors=True)
            elif isinstance(reply, SendFile):
                self._print(self._save(reply))
            else:
                self._print(format_reply(reply, self._texts))
        questions = [reply for reply in replies if isinstance(reply, Say) and reply.step_id is not None]
        if questions:
            last = questions[-1]
            self._waiting_for_pause = any(b.value == CONTINUE_VALUE for row in last.buttons for b in row)
        elif replies and all(isinstance(reply, Say) for reply in replies):
            self._waiting_for_pause = self._waiting_for_pause and not any(
                isinstance(reply, Say) and reply.step_id is None for reply in replies[-1:]
            )

    async def _watch_checkins(self) -> None:
        """While the terminal chat is open, look for a due check-in now and then, and show it."""
        while True:
            await asyncio.sleep(CHECKIN_EVERY_S)
            if await self.deliver_checkins():
                self._output.write("\nyou › ")
                self._output.flush()

    async def run(self, lines: LineReader, interactive: bool) -> None:
        """Show a check-in that is due, or else resume where this person was; then read messages until end of
        input or /quit. (A check-in is the latest thing on screen and what typed text answers: whatever was
        waiting before it is not shown again above it.)"""
        if not await self.deliver_checkins():
            await self.send(Resume())
        watcher = asyncio.create_task(self._watch_checkins()) if interactive else None
        try:
            await self._read_until_done(lines, interactive)
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    async def _read_until_done(self, lines: LineReader, interactive: bool) -> None:
        while True:
            if interactive:
                self._output.write("\nyou › ")
                self._output.flush()
            line = await lines.next_message(paste_window=PASTE_WINDOW_S if interactive else 0.0)
            if line is None:
                if interactive:
                    self._print("\n" + say_plain(self._texts.terminal_bye))
                return
            if self._echo:
                self._output.write(f"\n› {line.rstrip()}\n")
            incoming = parse_line(line, self._waiting_for_pause)
            if incoming is None:
                continue
            if isinstance(incoming, Command) and incoming.name in QUIT_COMMANDS:
                self._print(say_plain(self._texts.terminal_bye))
                return
            await self.send(incoming)

    def _save(self, file: SendFile) -> str:
        """Files (exports, the chart) are saved next to the database; the terminal shows where."""
        self._files_dir.mkdir(parents=True, exist_ok=True)
        path = self._files_dir / file.filename
        if isinstance(file.content, Path):
            os.replace(file.content, path)  # written (privately) beside it while being built
        else:
            # What people wrote stays private: readable by this account only, like the database.
            descriptor = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as target:
                target.write(file.content)
        caption = html_to_plain(file.caption_html)
        return say_plain(self._texts.terminal_saved, {"path": str(path)}) + (f"\n{caption}" if caption else "")

    def _print(self, text: str) -> None:
        self._output.write(f"\n{text}\n")
        self._output.flush()


def machine_zone(environ: Mapping[str, str] = os.environ, etc: Path = Path("/etc")) -> str | None:
    """This computer's timezone as a stored name ("Europe/Berlin"), from ``TZ``, ``/etc/timezone`` or where
    ``/etc/localtime`` points; None when none of them names one. In the terminal the person sits at this
    computer, so its zone is the likely answer to "which timezone are you in?"."""
    candidates = [environ.get("TZ", "").removeprefix(":")]
    with contextlib.suppress(OSError, UnicodeDecodeError):
        candidates.append((etc / "timezone").read_text(encoding="utf-8").strip())
    with contextlib.suppress(OSError):
        target = os.path.realpath(etc / "localtime")
        if "/zoneinfo/" in target:
            candidates.append(target.split("/zoneinfo/", 1)[1])
    for candidate in candidates:
        if "/" in candidate or candidate.upper() == "UTC":  # a zone name, not a POSIX rule like "CET-1CEST"
            found = parse_timezone(candidate)
            if isinstance(found, ZoneMatch) and not is_fixed_offset(found.name):
                return found.name
    return None


async def run_chat(catalog: Catalog, settings: Settings, user: str, database: Path | None = None) -> int:
    """Chat on stdin/stdout as ``user`` with the database the settings name (the SQLite file ``database``
    when given); returns the exit code."""
    opened = await open_storage(settings, datetime.now(UTC), database_path=database)
    try:
        conversations = Conversations(
            catalog,
            opened.storage,
            lambda: datetime.now(UTC),
            settings.zone,
            settings.helpline_country,
            here=machine_zone(),
        )
        # Text that is not valid UTF-8 is read with replacement characters rather than crashing later.
        if isinstance(sys.stdin, io.TextIOWrapper):
            sys.stdin.reconfigure(errors="replace")
        if isinstance(sys.stdout, io.TextIOWrapper):
            sys.stdout.reconfigure(errors="replace")
        interactive = sys.stdin.isatty()
        if interactive:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401 - gives the prompt line editing and history
        chat = TerminalChat(
            conversations,
            f"cli:{user}",
            sys.stdout,
            echo=not interactive,
            files_dir=opened.terminal_files / _safe_name(user),
            texts=catalog.texts,
        )
        await chat.run(LineReader(sys.stdin), interactive)
    finally:
        await opened.close()
    return 0
