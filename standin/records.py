"""What the stand-in remembers: users, chats, messages, files and callback queries.

Each record renders itself in the Bot API's JSON shape (``to_api``) and, for the control API, in
a flatter JSON view (``to_json``) that tests and curl users read.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class BotIdentity:
    """Who the bot is: what getMe answers and the ``from`` of every message it sends."""

    id: int = 123456789
    username: str = "springboard_standin_bot"
    first_name: str = "Springboard"

    def to_api(self) -> JsonDict:
        """The bot as a Bot API ``User``."""
        return {"id": self.id, "is_bot": True, "first_name": self.first_name, "username": self.username}

    def to_get_me(self) -> JsonDict:
        """The bot as getMe returns it, with the getMe-only capability fields."""
        return {
            **self.to_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @property
    def default_token(self) -> str:
        """A well-formed token whose numeric part is the bot's id."""
        return f"{self.id}:standin-token"


@dataclass
class UserRecord:
    """A person talking to the bot."""

    id: int
    first_name: str = "Alex"
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    blocked_bot: bool = False

    def to_api(self) -> JsonDict:
        """The user as a Bot API ``User``."""
        user: JsonDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for name in ("last_name", "username", "language_code"):
            value = getattr(self, name)
            if value is not None:
                user[name] = value
        return user


@dataclass
class ChatRecord:
    """A chat the bot is in: a private chat with one user, or a group."""

    id: int
    type: str = "private"
    title: str | None = None
    peer: UserRecord | None = None
    last_message_id: int = 0

    def next_message_id(self) -> int:
        """Allocate the next message id of this chat (ids grow by one per message)."""
        self.last_message_id += 1
        return self.last_message_id

    def to_api(self) -> JsonDict:
        """The chat as a Bot API ``Chat``."""
        chat: JsonDict = {"id": self.id, "type": self.type}
        if self.type == "private" and self.peer is not None:
            chat.update(
                {
                    key: value
                    for key, value in self.peer.to_api().items()
                    if key in ("first_name", "last_name", "username")
                }
            )
        elif self.title is not None:
            chat["title"] = self.title
        return chat

    def to_full_api(self) -> JsonDict:
        """The chat as getChat returns it (a Bot API ``ChatFullInfo``)."""
        return {
            **self.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }


@dataclass
class StoredFile:
    """A file the bot uploaded or a user sent, kept with its bytes."""

    file_id: str
    file_unique_id: str
    kind: str  # "document", "photo" or "sticker"
    data: bytes = b""
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def size(self) -> int:
        """The file's size in bytes."""
        return len(self.data)

    @property
    def file_path(self) -> str:
        """The path getFile reports and the file download route serves."""
        return f"{self.kind}s/{self.file_unique_id}"

    def to_document(self) -> JsonDict:
        """The file as a Bot API ``Document``."""
        document: JsonDict = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
        }
        if self.file_name is not None:
            document["file_name"] = self.file_name
        if self.mime_type is not None:
            document["mime_type"] = self.mime_type
        return document

    def to_photo_sizes(self) -> list[JsonDict]:
        """The file as a Bot API photo (a list of ``PhotoSize``; the stand-in keeps one size)."""
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "width": self.width or 1,
                "height": self.height or 1,
                "file_size": self.size,
            }
        ]

    def to_sticker(self) -> JsonDict:
        """The file as a Bot API ``Sticker``."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "type": "regular",
            "width": self.width or 512,
            "height": self.height or 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "🙂",
            "file_size": self.size,
        }

    def to_file(self) -> JsonDict:
        """The file as getFile returns it (a Bot API ``File``)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "file_path": self.file_path,
        }

    def to_json(self) -> JsonDict:
        """A JSON-friendly summary (no bytes) for the control API."""
        return {
            "file_id": self.file_id,
            "kind": self.kind,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "size": self.size,
        }


@dataclass
class ChatMessage:
    """One message in a chat as the chat currently shows it, sent by a user or by the bot.

    ``text`` is the visible text (for media, the visible caption is in ``caption``);
    ``raw_text`` is what was sent before the parse mode was applied. ``history`` keeps earlier
    visible texts, oldest first, one per edit.
    """

    message_id: int
    chat_id: int
    date: int
    sender: JsonDict
    from_bot: bool
    text: str | None = None
    entities: list[JsonDict] = field(default_factory=list)
    raw_text: str | None = None
    parse_mode: str | None = None
    caption: str | None = None
    caption_entities: list[JsonDict] = field(default_factory=list)
    reply_markup: JsonDict | None = None
    reply_keyboard: JsonDict | None = None
    document: StoredFile | None = None
    photo: StoredFile | None = None
    sticker: StoredFile | None = None
    location: tuple[float, float] | None = None
    reply_to_message_id: int | None = None
    edit_date: int | None = None
    history: list[str] = field(default_factory=list)
    deleted: bool = False

    @property
    def edited(self) -> bool:
        """True once the message has been edited."""
        return self.edit_date is not None

    @property
    def shown_text(self) -> str:
        """The text the chat shows for this message: its text, or its caption, or ''."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def buttons(self) -> list[list[JsonDict]]:
        """The rows of inline buttons currently under the message (empty if none)."""
        if self.reply_markup is None:
            return []
        rows = self.reply_markup.get("inline_keyboard", [])
        return [list(row) for row in rows]

    @property
    def button_texts(self) -> list[str]:
        """The labels of the current inline buttons, row by row, left to right."""
        return [str(button.get("text", "")) for row in self.buttons for button in row]

    def find_button(self, *, text: str | None = None, data: str | None = None) -> JsonDict | None:
        """The first current inline button with this label and/or callback_data, or None."""
        for row in self.buttons:
            for button in row:
                if text is not None and button.get("text") != text:
                    continue
                if data is not None and button.get("callback_data") != data:
                    continue
                return button
        return None

    def snapshot(self) -> ChatMessage:
        """A deep copy that later changes to the chat do not touch."""
        return copy.deepcopy(self)

    def to_api(self, chat: JsonDict) -> JsonDict:
        """The message as a Bot API ``Message`` in ``chat``."""
        message: JsonDict = {
            "message_id": self.message_id,
            "from": dict(self.sender),
            "chat": dict(chat),
            "date": self.date,
        }
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        if self.text is not None:
            message["text"] = self.text
            if self.entities:
                message["entities"] = copy.deepcopy(self.entities)
        if self.document is not None:
            message["document"] = self.document.to_document()
        if self.photo is not None:
            message["photo"] = self.photo.to_photo_sizes()
        if self.sticker is not None:
            message["sticker"] = self.sticker.to_sticker()
        if self.location is not None:
            message["location"] = {"latitude": self.location[0], "longitude": self.location[1]}
        if self.caption:
            message["caption"] = self.caption
            if self.caption_entities:
                message["caption_entities"] = copy.deepcopy(self.caption_entities)
        if self.reply_markup is not None:
            message["reply_markup"] = copy.deepcopy(self.reply_markup)
        return message

    def to_json(self) -> JsonDict:
        """A flat JSON view for the control API: what the chat shows and how it got there."""
        return {
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "date": self.date,
            "from_bot": self.from_bot,
            "sender_id": self.sender.get("id"),
            "text": self.text,
            "entities": self.entities,
            "raw_text": self.raw_text,
            "parse_mode": self.parse_mode,
            "caption": self.caption,
            "reply_markup": self.reply_markup,
            "reply_keyboard": self.reply_keyboard,
            "button_texts": self.button_texts,
            "document": self.document.to_json() if self.document else None,
            "photo": self.photo.to_json() if self.photo else None,
            "sticker": self.sticker.to_json() if self.sticker else None,
            "location": list(self.location) if self.location else None,
            "reply_to_message_id": self.reply_to_message_id,
            "edited": self.edited,
            "edit_date": self.edit_date,
            "history": list(self.history),
            "deleted": self.deleted,
        }

    def describe(self) -> str:
        """One transcript line, e.g. ``#3 bot: Pick one [Yes | No] (edited)``."""
        who = "bot" if self.from_bot else f"user {self.sender.get('id')}"
        body = self.shown_text
        if self.document is not None:
            body = f"[document {self.document.file_name!r}, {self.document.size} bytes] {body}"
        if self.photo is not None:
            body = f"[photo] {body}"
        if self.sticker is not None:
            body = "[sticker]"
        if self.location is not None:
            body = f"[location {self.location[0]}, {self.location[1]}]"
        line = f"#{self.message_id} {who}: {body.strip()}"
        if self.button_texts:
            line += " [" + " | ".join(self.button_texts) + "]"
        if self.edited:
            line += " (edited)"
        if self.deleted:
            line += " (deleted)"
        return line


@dataclass
class CallbackQueryRecord:
    """A button press sent to the bot, and how the bot answered it."""

    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str | None
    created_at: float
    answered: bool = False
    answer_text: str | None = None
    show_alert: bool = False
    url: str | None = None

    def to_json(self) -> JsonDict:
        """A JSON view for the control API."""
        return {
            "id": self.id,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "data": self.data,
            "answered": self.answered,
            "answer_text": self.answer_text,
            "show_alert": self.show_alert,
            "url": self.url,
        }


@dataclass(frozen=True)
class SentUpdate:
    """What a control action queued: the update's id and the ids of what it carries."""

    update_id: int
    chat_id: int
    message_id: int | None = None
    callback_query_id: str | None = None

    def to_json(self) -> JsonDict:
        """A JSON view for the control API."""
        return {
            "update_id": self.update_id,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "callback_query_id": self.callback_query_id,
        }
