"""Playing the user: each action changes the world and queues the update Telegram would send.

These are the stand-in's "control" verbs. They raise :class:`ControlError` (a LookupError or
ValueError subclass) when asked for something impossible, e.g. pressing a button a message does
not have.
"""

from __future__ import annotations

import re
from typing import Any

from standin.records import CallbackQueryRecord, ChatMessage, ChatRecord, SentUpdate
from standin.world import World

JsonDict = dict[str, Any]

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{1,64})?")
_TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a0f6c2f20000000049454e44ae426082"
)


class ControlError(Exception):
    """A control action that cannot be carried out; the message says why and what exists."""


class NotFoundError(ControlError, LookupError):
    """The chat, message or button named by a control action does not exist."""


class InvalidActionError(ControlError, ValueError):
    """A control action was called with arguments that make no sense."""


def user_chat(
    world: World,
    user_id: int,
    *,
    chat_id: int | None = None,
    chat_type: str = "private",
    title: str | None = None,
    **profile: Any,
) -> ChatRecord:
    """The chat a user acts in: their private chat, or the group ``chat_id`` (created on first use).

    A ``chat_id`` other than the user's id is a group (a supergroup if it starts with -100) even
    when ``chat_type`` says "private", since a private chat's id is always its user's id.
    """
    user = world.ensure_user(user_id, **profile)
    if chat_id is None or chat_id == user_id:
        return world.ensure_chat(user_id, chat_type="private", peer=user)
    if chat_type == "private":
        # A private chat's id is the user's id, so another id means a group.
        chat_type = "supergroup" if str(chat_id).startswith("-100") else "group"
    return world.ensure_chat(chat_id, chat_type=chat_type, title=title or f"Group {chat_id}")


def _command_entities(text: str) -> list[JsonDict]:
    """The bot_command entity Telegram adds when a text starts with /command."""
    found = _COMMAND.match(text)
    if found is None or (found.end() < len(text) and not text[found.end()].isspace()):
        return []
    return [{"type": "bot_command", "offset": 0, "length": found.end()}]


def _user_message(world: World, chat: ChatRecord, user_id: int, **content: Any) -> ChatMessage:
    message = ChatMessage(
        message_id=chat.next_message_id(),
        chat_id=chat.id,
        date=world.now(),
        sender=world.users[user_id].to_api(),
        from_bot=False,
        **content,
    )
    return world.add_message(message)


def _queue_message(world: World, chat: ChatRecord, message: ChatMessage) -> SentUpdate:
    update_id = world.updates.push("message", world.render(message))
    return SentUpdate(update_id=update_id, chat_id=chat.id, message_id=message.message_id)


def user_sends_text(
    world: World,
    user_id: int,
    text: str,
    *,
    chat_id: int | None = None,
    chat_type: str = "private",
    title: str | None = None,
    **profile: Any,
) -> SentUpdate:
    """The user sends ``text``; a leading /command gets Telegram's bot_command entity."""
    if not text.strip():
        raise InvalidActionError("Telegram does not let a user send an empty message")
    chat = user_chat(world, user_id, chat_id=chat_id, chat_type=chat_type, title=title, **profile)
    message = _user_message(world, chat, user_id, text=text, raw_text=text, entities=_command_entities(text))
    return _queue_message(world, chat, message)


def user_sends_sticker(world: World, user_id: int, *, chat_id: int | None = None) -> SentUpdate:
    """The user sends a sticker."""
    chat = user_chat(world, user_id, chat_id=chat_id)
    sticker = world.store_file("sticker", _TINY_PNG, width=512, height=512)
    message = _user_message(world, chat, user_id, sticker=sticker)
    return _queue_message(world, chat, message)


def user_sends_photo(
    world: World,
    user_id: int,
    *,
    caption: str | None = None,
    chat_id: int | None = None,
    data: bytes = _TINY_PNG,
) -> SentUpdate:
    """The user sends a photo (a 1x1 PNG unless ``data`` is given), with an optional caption."""
    chat = user_chat(world, user_id, chat_id=chat_id)
    photo = world.store_file("photo", data, mime_type="image/png", width=1, height=1)
    message = _user_message(world, chat, user_id, photo=photo, caption=caption)
    return _queue_message(world, chat, message)


def user_sends_location(
    world: World, user_id: int, latitude: float, longitude: float, *, chat_id: int | None = None
) -> SentUpdate:
    """The user shares a location."""
    chat = user_chat(world, user_id, chat_id=chat_id)
    message = _user_message(world, chat, user_id, location=(float(latitude), float(longitude)))
    return _queue_message(world, chat, message)


def user_edits_message(
    world: World, user_id: int, message_id: int, new_text: str, *, chat_id: int | None = None
) -> SentUpdate:
    """The user edits one of their own text messages; queues an ``edited_message`` update."""
    chat = world.chats.get(user_id if chat_id is None else chat_id)
    message = world.message(chat.id, message_id) if chat else None
    if chat is None or message is None:
        raise NotFoundError(f"no message {message_id} in chat {chat_id or user_id}")
    if message.from_bot or message.sender.get("id") != user_id or message.text is None:
        raise InvalidActionError(f"message {message_id} is not a text message user {user_id} sent")
    message.history.append(message.text)
    message.text = message.raw_text = new_text
    message.entities = _command_entities(new_text)
    message.edit_date = world.now()
    world.changed()
    update_id = world.updates.push("edited_message", world.render(message))
    return SentUpdate(update_id=update_id, chat_id=chat.id, message_id=message_id)


def user_presses_button(
    world: World,
    user_id: int,
    message_id: int,
    *,
    text: str | None = None,
    data: str | None = None,
    chat_id: int | None = None,
) -> SentUpdate:
    """The user presses an inline button under the bot's message; queues a ``callback_query``.

    With ``text`` the button is found by its label on the message's *current* keyboard (and must
    exist). With only ``data`` the press carries that callback_data as given, whether or not a
    current button has it: that is how a stale or forged press looks to the bot.
    """
    if text is None and data is None:
        raise InvalidActionError("say which button: give its text or its callback data")
    chat_key = user_id if chat_id is None else chat_id
    chat = world.chats.get(chat_key)
    message = world.message(chat_key, message_id) if chat else None
    if chat is None or message is None:
        raise NotFoundError(f"no message {message_id} in chat {chat_key}")
    if not message.from_bot:
        raise InvalidActionError(f"message {message_id} was not sent by the bot")
    if text is not None:
        button = message.find_button(text=text, data=data)
        if button is None:
            raise NotFoundError(f"message {message_id} has no button {text!r}; its buttons are {message.button_texts}")
        if "callback_data" not in button:
            raise InvalidActionError(f"button {text!r} has no callback_data (it is {sorted(button)})")
        data = str(button["callback_data"])
    user = world.ensure_user(user_id)
    query = CallbackQueryRecord(
        id=str(4_000_000_000_000 + world.serial()),
        user_id=user_id,
        chat_id=chat.id,
        message_id=message_id,
        data=data,
        created_at=world.clock(),
    )
    world.callback_queries[query.id] = query
    payload = {
        "id": query.id,
        "from": user.to_api(),
        "message": world.render(message),
        "chat_instance": str(-(10**18) - chat.id),
        "data": data,
    }
    update_id = world.updates.push("callback_query", payload)
    return SentUpdate(update_id=update_id, chat_id=chat.id, message_id=message_id, callback_query_id=query.id)


def block_bot(world: World, user_id: int, *, blocked: bool = True, send_update: bool = True) -> SentUpdate | None:
    """The user blocks (or unblocks) the bot; later sends to their chat answer 403.

    Like Telegram, queues a ``my_chat_member`` update (status member -> kicked, or back) unless
    ``send_update`` is False. Returns that update, or None if nothing changed or none was sent.
    """
    user = world.ensure_user(user_id)
    chat = world.ensure_chat(user_id, chat_type="private", peer=user)
    if user.blocked_bot == blocked:
        return None
    user.blocked_bot = blocked
    world.changed()
    if not send_update:
        return None
    member = {"status": "member", "user": world.bot.to_api()}
    banned = {"status": "kicked", "user": world.bot.to_api(), "until_date": 0}
    payload = {
        "chat": chat.to_api(),
        "from": user.to_api(),
        "date": world.now(),
        "old_chat_member": member if blocked else banned,
        "new_chat_member": banned if blocked else member,
    }
    update_id = world.updates.push("my_chat_member", payload)
    return SentUpdate(update_id=update_id, chat_id=chat.id)
