"""All state of the stand-in: who exists, what every chat shows, what the bot has configured.

The world knows nothing about HTTP. Bot API handlers (``api_*`` modules) and the user-side
actions (``users``) read and change it; every change fires :attr:`World.signal` so long polls and
test waiters wake up.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from standin import errors
from standin.errors import bad_request, forbidden
from standin.params import Params
from standin.records import (
    BotIdentity,
    CallbackQueryRecord,
    ChatMessage,
    ChatRecord,
    StoredFile,
    UserRecord,
)
from standin.updates import ChangeSignal, UpdateQueue

JsonDict = dict[str, Any]

DEFAULT_FIRST_UPDATE_ID = 700_000_001


@dataclass
class BotSettings:
    """What the bot configured about itself: commands, descriptions, webhook."""

    commands: dict[str, list[JsonDict]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    webhook: JsonDict | None = None


@dataclass(frozen=True)
class ChatAction:
    """One sendChatAction call ("typing", "upload_document", ...)."""

    chat_id: int
    action: str
    at: float


class World:
    """The stand-in's whole state, in memory, driven from one event loop."""

    def __init__(
        self,
        bot: BotIdentity,
        *,
        clock: Callable[[], float] = time.time,
        first_update_id: int = DEFAULT_FIRST_UPDATE_ID,
        strict_html: bool = True,
        callback_query_lifetime: float | None = None,
    ) -> None:
        self.bot = bot
        self.clock = clock
        self.strict_html = strict_html
        self.callback_query_lifetime = callback_query_lifetime
        self.signal = ChangeSignal()
        self.updates = UpdateQueue(first_update_id, self.signal)
        self.users: dict[int, UserRecord] = {}
        self.chats: dict[int, ChatRecord] = {}
        self.messages: dict[int, dict[int, ChatMessage]] = {}
        self.files: dict[str, StoredFile] = {}
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.chat_actions: list[ChatAction] = []
        self.settings = BotSettings()
        self.closing = False
        self._serial = itertools.count(1)

    # -- time and change ---------------------------------------------------------------------

    def now(self) -> int:
        """The current Unix time in whole seconds, as Telegram's ``date`` fields carry it."""
        return int(self.clock())

    def changed(self) -> None:
        """Tell every waiter that something changed."""
        self.signal.fire()

    def serial(self) -> int:
        """A number never handed out before (for file and callback query ids)."""
        return next(self._serial)

    # -- users and chats ---------------------------------------------------------------------

    def ensure_user(self, user_id: int, **profile: Any) -> UserRecord:
        """Return the user with this id, creating it; given profile fields overwrite stored ones."""
        user = self.users.get(user_id)
        if user is None:
            user = UserRecord(id=user_id)
            self.users[user_id] = user
        for name, value in profile.items():
            if value is not None:
                setattr(user, name, value)
        return user

    def ensure_chat(
        self,
        chat_id: int,
        *,
        chat_type: str = "private",
        title: str | None = None,
        peer: UserRecord | None = None,
    ) -> ChatRecord:
        """Return the chat with this id, creating it with the given type, title and peer."""
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = ChatRecord(id=chat_id, type=chat_type, title=title, peer=peer)
            self.chats[chat_id] = chat
            self.messages[chat_id] = {}
        elif title is not None:
            chat.title = title
        return chat

    def find_chat(self, params: Params, name: str = "chat_id") -> ChatRecord:
        """The chat a request names by id or @username; raises Telegram's errors if there is none."""
        if not params.has(name):
            raise bad_request(errors.CHAT_ID_EMPTY)
        raw = params.text(name) or ""
        if raw.startswith("@"):
            wanted = raw[1:].lower()
            for candidate in self.chats.values():
                username = candidate.peer.username if candidate.peer else None
                if username and username.lower() == wanted:
                    return candidate
            raise bad_request(errors.CHAT_NOT_FOUND)
        chat = self.chats.get(params.integer(name))
        if chat is None:
            raise bad_request(errors.CHAT_NOT_FOUND)
        return chat

    def writable_chat(self, params: Params) -> ChatRecord:
        """Like :meth:`find_chat`, but 403 if the chat's user has blocked the bot."""
        chat = self.find_chat(params)
        if chat.peer is not None and chat.type == "private" and chat.peer.blocked_bot:
            raise forbidden(errors.BOT_BLOCKED)
        return chat

    # -- messages ----------------------------------------------------------------------------

    def add_message(self, message: ChatMessage) -> ChatMessage:
        """Record a new message in its chat and wake waiters."""
        self.messages[message.chat_id][message.message_id] = message
        self.changed()
        return message

    def message(self, chat_id: int, message_id: int) -> ChatMessage | None:
        """The live (not deleted) message with this id in this chat, or None."""
        message = self.messages.get(chat_id, {}).get(message_id)
        if message is None or message.deleted:
            return None
        return message

    def chat_messages(self, chat_id: int, *, include_deleted: bool = False) -> list[ChatMessage]:
        """Snapshots of a chat's messages in order (deleted ones only if asked)."""
        return [
            message.snapshot()
            for message in self.messages.get(chat_id, {}).values()
            if include_deleted or not message.deleted
        ]

    def bot_messages(self, chat_id: int) -> list[ChatMessage]:
        """Snapshots of every message the bot sent to this chat, deleted ones included."""
        return [message for message in self.chat_messages(chat_id, include_deleted=True) if message.from_bot]

    def render(self, message: ChatMessage) -> JsonDict:
        """The message as a Bot API ``Message``, with the message it replies to (one level deep)."""
        chat = self.chats[message.chat_id].to_api()
        rendered = message.to_api(chat)
        if message.reply_to_message_id is not None:
            original = self.messages.get(message.chat_id, {}).get(message.reply_to_message_id)
            if original is not None:
                rendered["reply_to_message"] = original.to_api(chat)
        return rendered

    def chat_api(self, chat_id: int) -> JsonDict:
        """The Bot API ``Chat`` for an existing chat."""
        return self.chats[chat_id].to_api()

    def transcript(self, chat_id: int) -> str:
        """A readable listing of everything the chat shows, one message per line."""
        lines = [message.describe() for message in self.chat_messages(chat_id, include_deleted=True)]
        return "\n".join(lines) if lines else "(no messages)"

    # -- files -------------------------------------------------------------------------------

    def store_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> StoredFile:
        """Keep a file's bytes and return it with fresh ids (file_unique_id is a hash of the bytes)."""
        unique = hashlib.sha256(data).hexdigest()[:16]
        stored = StoredFile(
            file_id=f"{kind.upper()}-{self.serial()}-{unique}",
            file_unique_id=unique,
            kind=kind,
            data=data,
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self.files[stored.file_id] = stored
        return stored

    # -- reset -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget users, chats, messages, files, queries, updates and bot settings."""
        self.users.clear()
        self.chats.clear()
        self.messages.clear()
        self.files.clear()
        self.callback_queries.clear()
        self.chat_actions.clear()
        self.settings = BotSettings()
        self.updates.clear()
        self.changed()
