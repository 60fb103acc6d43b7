from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from telegram import Update
from telegram.ext import Application

from bot.conversation import Conversations
from bot.flows.catalog import Catalog, load_catalog
from bot.storage.database import open_database
from bot.storage.repository import Repository
from bot.tg.app import build_application
from bot.tg.heavy import deliver, scratch_folder
from bot.tg.sender import Sender
from bot.tg.spool import Spool
from bot.tg.throttle import Throttle
from tests.tg.recording import TOKEN, RecordingRequest

ROOT = Path(__file__).resolve().parents[2]


@cache
def shipped_catalog() -> Catalog:
    """The shipped flows and texts, loaded once for every harness."""
    return load_catalog(ROOT / "conversations")


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 3, 1, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class Harness:
    application: Application  # type: ignore[type-arg]
    request: RecordingRequest
    repository: Repository
    conversations: Conversations
    sender: Sender
    next_update_id: int = 1

    async def build_files(self) -> None:
        """Build and send every waiting export and chart, as the bot's background job does."""
        for request in await self.conversations.heavy_requests():
            await deliver(self.conversations, self.sender, request, scratch_folder(self.sender))

    def _update(self, body: dict[str, Any]) -> Update:
        self.next_update_id += 1
        return Update.de_json({"update_id": self.next_update_id, **body}, self.application.bot)

    async def send(
        self, text: str, user_id: int = 42, chat_type: str = "private", chat_id: int | None = None
    ) -> Update:
        message: dict[str, Any] = {
            "message_id": self.next_update_id + 10,
            "date": 1_764_000_000,
            "chat": {"id": chat_id or user_id, "type": chat_type, "first_name": "Sam"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Sam"},
            "text": text,
        }
        if chat_type != "private":
            message["chat"]["title"] = "A group"
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        update = self._update({"message": message})
        await self.application.process_update(update)
        return update

    async def send_other(self, content: dict[str, Any], user_id: int = 42) -> None:
        """The person sends something that is not plain text: ``content`` holds its fields (a sticker, a
        photo with its caption, a location)."""
        message = {
            "message_id": self.next_update_id + 10,
            "date": 1_764_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "Sam"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Sam"},
            **content,
        }
        await self.application.process_update(self._update({"message": message}))

    async def send_sticker(self, user_id: int = 42) -> None:
        sticker = {
            "file_id": "CAAC",
            "file_unique_id": "AQAD",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        await self.send_other({"sticker": sticker}, user_id)

    async def press(self, sent: dict[str, Any], label: str, user_id: int = 42, message_id: int | None = None) -> None:
        """Tap the button labelled ``label`` on a message the bot sent (its recorded sendMessage params)."""
        markup = sent["reply_markup"]
        data = next(b["callback_data"] for row in markup["inline_keyboard"] for b in row if b["text"] == label)
        await self.press_data(sent, data, user_id, message_id)

    async def press_data(
        self, sent: dict[str, Any], data: str, user_id: int = 42, message_id: int | None = None
    ) -> None:
        message = {
            "message_id": message_id or sent.get("_message_id", 1),
            "date": 1_764_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "Sam"},
            "from": {"id": 7000001, "is_bot": True, "first_name": "Springboard"},
            "text": sent["text"],
            "reply_markup": sent.get("reply_markup"),
        }
        update = self._update(
            {
                "callback_query": {
                    "id": f"q{self.next_update_id}",
                    "from": {"id": user_id, "is_bot": False, "first_name": "Sam"},
                    "chat_instance": "ci",
                    "data": data,
                    "message": message,
                }
            }
        )
        await self.application.process_update(update)

    async def onboard(self, user_id: int = 42) -> None:
        """Mark a person as having confirmed onboarding (tests/test_onboarding.py covers that step)."""
        async with self.repository.transaction() as repository:
            user = await repository.user(f"tg:{user_id}", datetime(2026, 3, 1, tzinfo=UTC))
            await repository.mark_onboarded(user.id, datetime(2026, 3, 1, tzinfo=UTC))

    def last_question(self) -> dict[str, Any]:
        return self.request.sent()[-1]


async def make_harness(
    tmp_path: Path, allowed: frozenset[int] = frozenset(), request: RecordingRequest | None = None
) -> tuple[Harness, Any]:
    """A bot on a fresh database under ``tmp_path`` whose Bot API calls go to ``request`` (recording)."""
    connection = await open_database(tmp_path / "bot.sqlite3", datetime(2026, 3, 1, tzinfo=UTC))
    repository = Repository(connection)
    conversations = Conversations(shipped_catalog(), repository, Clock(), ZoneInfo("UTC"))
    request = request or RecordingRequest()
    # Handler tests answer instantly; Telegram's per-chat pace is tested in tests/tg/test_throttle.py.
    unhurried = Throttle(overall=0, per_chat=0)
    spool = Spool(tmp_path / "bot.sqlite3.files")
    application, sender = build_application(
        TOKEN, "http://127.0.0.1:9", conversations, allowed, spool, request=request, throttle=unhurried
    )
    await application.initialize()
    return Harness(application, request, repository, conversations, sender), connection


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    made, connection = await make_harness(tmp_path)
    await made.onboard(42)
    try:
        yield made
    finally:
        await made.application.shutdown()
        await connection.close()
