"""The bot's Telegram adapter in-process, fed through its real Intake (store, then handle per chat in order).

Built on tests/tg's harness: a real Application with a recording request and a temporary database.
Every message the bot sends or edits is checked as Telegram would check it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite
from telegram import Update
from telegram.request import RequestData

from bot.engine import State
from bot.storage.repository import Repository
from bot.tg.handlers import Gatekeeper
from bot.tg.intake import Intake
from standin.htmltext import parse_html, utf16_len
from tests.tg.conftest import Clock, Harness, make_harness
from tests.tg.recording import BOT_ID, Call, RecordingRequest

USER = 42
MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64


class ErrorRecords(logging.Handler):
    """Collects ERROR (and worse) log records, which mean something failed while handling."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Rig:
    """One person (and possibly others) talking to the in-process bot through its Intake."""

    harness: Harness
    intake: Intake
    errors: ErrorRecords
    connection: aiosqlite.Connection
    next_id: int = 100
    next_message_id: int = 1
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def repository(self) -> Repository:
        return self.harness.repository

    @property
    def calls(self) -> list[Call]:
        return self.harness.request.calls

    # -- building updates, as Telegram would send them -------------------------------------------

    def update_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def message(
        self,
        text: str,
        user: int = USER,
        *,
        edited: bool = False,
        update_id: int | None = None,
        message_id: int | None = None,
    ) -> Update:
        """A text message (or, ``edited``, an edit of message ``message_id``) from ``user``."""
        self.next_message_id += 1
        body: dict[str, Any] = {
            "message_id": message_id or self.next_message_id,
            "date": 1_764_000_000,
            "chat": {"id": user, "type": "private", "first_name": "Sam"},
            "from": {"id": user, "is_bot": False, "first_name": "Sam"},
            "text": text,
        }
        if text.startswith("/") and len(text) > 1:
            body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if edited:
            body["edit_date"] = 1_764_000_100
        kind = "edited_message" if edited else "message"
        return Update.de_json({"update_id": update_id or self.update_id(), kind: body}, self.harness.application.bot)

    def press(self, data: str | None, on: dict[str, Any] | None, user: int = USER) -> Update:
        """A button press with ``data`` under the sent message ``on`` (None: an inline message, no message)."""
        query: dict[str, Any] = {
            "id": f"q{self.next_id + 1}",
            "from": {"id": user, "is_bot": False, "first_name": "Sam"},
            "chat_instance": "ci",
        }
        if data is not None:
            query["data"] = data
        if on is None:
            query["inline_message_id"] = "AAAA"
        else:
            query["message"] = {
                "message_id": on.get("_message_id", 1),
                "date": 1_764_000_000,
                "chat": {"id": user, "type": "private", "first_name": "Sam"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Springboard"},
                "text": on.get("text") or "…",
                "reply_markup": on.get("reply_markup"),
            }
        return Update.de_json({"update_id": self.update_id(), "callback_query": query}, self.harness.application.bot)

    # -- feeding them through the intake ----------------------------------------------------------

    async def deliver(self, *updates: Update) -> None:
        """Store and handle ``updates`` (one getUpdates batch), then wait until every one is done."""
        await self.intake.accept(list(updates))
        await self.intake.drain(30)
        self.check_sent()

    async def say(self, text: str, user: int = USER) -> None:
        await self.deliver(self.message(text, user))

    async def tap(self, label: str, user: int = USER) -> None:
        """Press the button labelled ``label`` on the newest message that has it."""
        for sent in reversed(self.sent(user=user)):
            for button in buttons(sent):
                if button["text"] == label:
                    await self.deliver(self.press(button["callback_data"], sent, user))
                    return
        raise AssertionError(f"no button {label!r} was shown")

    async def start_flow(self, command: str, user: int = USER) -> None:
        """Start a flow, confirming onboarding first if the bot asks a newcomer to."""
        await self.say(command, user)
        flow_started = await self.state(user) is not None
        if not flow_started:
            card = self.sent(user=user)[-1]
            await self.deliver(self.press(buttons(card)[0]["callback_data"], card, user))
        assert await self.state(user) is not None, "the flow did not start"

    # -- or through getUpdates, as the running bot receives them ---------------------------------

    def feed(self, *updates: Update) -> None:
        """Make ``updates`` waiting at "Telegram" for the bot's next getUpdates."""
        request = self.harness.request
        assert isinstance(request, FeedingRequest)
        for update in updates:
            request.feed(update)

    def feed_raw(self, *items: dict[str, Any]) -> None:
        """Make raw updates (malformed ones too) wait at "Telegram" for the bot's next getUpdates."""
        request = self.harness.request
        assert isinstance(request, FeedingRequest)
        request.queued.extend(items)
        request.arrived.set()

    @asynccontextmanager
    async def polling(self) -> AsyncIterator[None]:
        """Run the intake's getUpdates loop for the duration."""
        stop = asyncio.Event()
        task = asyncio.create_task(self.intake.poll(stop))
        try:
            yield
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)

    async def polled(self) -> bool:
        """True once the intake has asked for updates at least once."""
        return any(call.method == "getUpdates" for call in self.calls)

    async def wait_for(self, condition: Callable[[], Awaitable[bool]], timeout: float = 15) -> None:
        """Wait until ``condition()`` holds (checked every 10 ms), checking every message sent meanwhile."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not await condition():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"not met within {timeout} s; the bot sent {self.texts_shown()}")
            await asyncio.sleep(0.01)
        self.check_sent()

    # -- what the bot did ------------------------------------------------------------------------

    def sent(self, method: str = "sendMessage", user: int | None = None) -> list[dict[str, Any]]:
        return [
            call.params
            for call in self.calls
            if call.method == method and (user is None or int(call.params.get("chat_id", 0)) == user)
        ]

    def texts_shown(self, user: int = USER) -> list[str]:
        return [parse_html(params["text"]).text for params in self.sent(user=user)]

    def check_sent(self) -> None:
        """Every message sent or edited since the last check is one Telegram would take and show."""
        for call in self.calls[self.checked :]:
            if call.method not in {"sendMessage", "editMessageText"}:
                continue
            text = str(call.params.get("text", ""))
            where = f"{call.method} {text[:80]!r}"
            try:
                parsed = parse_html(text) if call.params.get("parse_mode") == "HTML" else None
            except ValueError as refused:
                self.problems.append(f"{where}: Telegram would refuse the HTML: {refused}")
                continue
            shown = parsed.text if parsed is not None else text
            if not shown.strip():
                self.problems.append(f"{where}: the message is empty")
            if utf16_len(shown) > MAX_TEXT:
                self.problems.append(f"{where}: {utf16_len(shown)} UTF-16 units, over Telegram's {MAX_TEXT}")
            if "Traceback" in shown or 'File "' in shown:
                self.problems.append(f"{where}: shows a traceback")
            for button in buttons(call.params):
                if len(button.get("callback_data", "").encode()) > MAX_CALLBACK_BYTES:
                    self.problems.append(f"{where}: callback_data over {MAX_CALLBACK_BYTES} bytes")
        self.checked = len(self.calls)

    async def state(self, user: int = USER) -> State | None:
        found = await self.repository.find_user(f"tg:{user}")
        return None if found is None else await self.repository.active_state(found.id)

    async def runs(self, user: int = USER) -> list[dict[str, Any]]:
        """The person's completed runs, oldest first, each as its answers by step id."""
        found = await self.repository.find_user(f"tg:{user}")
        if found is None:
            return []
        async with self.connection.execute("SELECT id FROM runs WHERE user_id = ? ORDER BY id", (found.id,)) as cursor:
            ids = [row[0] for row in await cursor.fetchall()]
        return [await self.repository.run_answers(run_id) for run_id in ids]

    async def scalar(self, query: str, *params: Any) -> Any:
        async with self.connection.execute(query, params) as cursor:
            row = await cursor.fetchone()
        return None if row is None else row[0]


def buttons(params: dict[str, Any]) -> list[dict[str, Any]]:
    markup = params.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


@dataclass
class FeedingRequest(RecordingRequest):
    """The recording request, plus getUpdates served from a queue the test fills (offsets as Telegram's)."""

    queued: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def feed(self, update: Update) -> None:
        self.queued.append(update.to_dict())
        self.arrived.set()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if not url.endswith("/getUpdates"):
            return await super().do_request(
                url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
            )
        params = dict(request_data.parameters) if request_data else {}
        self.calls.append(Call("getUpdates", params))
        offset = int(params.get("offset") or 0)
        self.queued = [update for update in self.queued if update["update_id"] >= offset]
        if not self.queued:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), 0.2)
        return 200, json.dumps({"ok": True, "result": self.queued}).encode()


@asynccontextmanager
async def rig() -> AsyncIterator[Rig]:
    """A fresh bot with an empty database (one per hypothesis example)."""
    errors = ErrorRecords()
    watched = [logging.getLogger("bot"), logging.getLogger("telegram")]
    with tempfile.TemporaryDirectory() as folder:
        request = FeedingRequest()
        harness, connection = await make_harness(Path(folder), request=request)
        intake = Intake(harness.application, harness.repository, Gatekeeper(frozenset()), Clock())
        for logger in watched:
            logger.addHandler(errors)
        try:
            yield Rig(harness, intake, errors, connection)
        finally:
            for logger in watched:
                logger.removeHandler(errors)
            await intake.close(5)
            await harness.application.shutdown()
            await connection.close()
