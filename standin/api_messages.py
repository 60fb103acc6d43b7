"""Bot API methods on messages and chats: send, edit, delete, chat actions, callback answers."""

from __future__ import annotations

from typing import Any

from standin import content, errors
from standin.errors import bad_request
from standin.params import Params
from standin.records import ChatMessage, ChatRecord
from standin.registry import Call, Handler
from standin.world import ChatAction, World

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


def reply_target(params: Params) -> int | None:
    """The message id a send replies to, from reply_parameters or the older reply_to_message_id."""
    reply = params.json("reply_parameters", "can't parse reply parameters JSON object")
    if isinstance(reply, dict) and isinstance(reply.get("message_id"), int):
        return int(reply["message_id"])
    return params.integer("reply_to_message_id") or None


def new_bot_message(world: World, chat: ChatRecord, params: Params, **fields: Any) -> ChatMessage:
    """Record a message the bot sends to ``chat`` and return it."""
    message = ChatMessage(
        message_id=chat.next_message_id(),
        chat_id=chat.id,
        date=world.now(),
        sender=world.bot.to_api(),
        from_bot=True,
        reply_to_message_id=reply_target(params),
        **fields,
    )
    return world.add_message(message)


async def send_message(call: Call) -> Any:
    """sendMessage: validate text and markup, add the message to the chat, return it."""
    world, params = call.world, call.params
    parsed = content.message_text(params, strict_html=world.strict_html)
    markup = content.reply_markup(params)
    chat = world.writable_chat(params)
    message = new_bot_message(
        world,
        chat,
        params,
        text=parsed.text,
        entities=list(parsed.entities),
        raw_text=params.text("text"),
        parse_mode=params.text("parse_mode"),
        reply_markup=markup.inline,
        reply_keyboard=markup.other,
    )
    return world.render(message)


def _message_to_edit(world: World, params: Params) -> ChatMessage:
    if params.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    chat = world.find_chat(params)
    message = world.message(chat.id, params.integer("message_id"))
    if message is None:
        raise bad_request(errors.MESSAGE_TO_EDIT_NOT_FOUND)
    if not message.from_bot:
        raise bad_request(errors.MESSAGE_CANT_BE_EDITED)
    return message


async def edit_message_text(call: Call) -> Any:
    """editMessageText: replace the text (and keyboard: none given removes it) of a bot message."""
    world, params = call.world, call.params
    parsed = content.message_text(params, strict_html=world.strict_html)
    markup = content.reply_markup(params)
    message = _message_to_edit(world, params)
    if message.text is None:
        raise bad_request("there is no text in the message to edit")
    entities = list(parsed.entities)
    if (parsed.text, entities, markup.inline) == (message.text, message.entities, message.reply_markup):
        raise bad_request(errors.MESSAGE_NOT_MODIFIED)
    message.history.append(message.text)
    message.text, message.entities = parsed.text, entities
    message.raw_text, message.parse_mode = params.text("text"), params.text("parse_mode")
    message.reply_markup = markup.inline
    message.edit_date = world.now()
    world.changed()
    return world.render(message)


async def edit_message_caption(call: Call) -> Any:
    """editMessageCaption: replace the caption (and keyboard) of a bot media message."""
    world, params = call.world, call.params
    parsed = content.caption(params, strict_html=world.strict_html)
    markup = content.reply_markup(params)
    message = _message_to_edit(world, params)
    if message.text is not None:
        raise bad_request("there is no caption in the message to edit")
    new_caption = parsed.text if parsed else None
    entities = list(parsed.entities) if parsed else []
    current = (message.caption, message.caption_entities, message.reply_markup)
    if (new_caption, entities, markup.inline) == current:
        raise bad_request(errors.MESSAGE_NOT_MODIFIED)
    message.history.append(message.caption or "")
    message.caption, message.caption_entities = new_caption, entities
    message.reply_markup = markup.inline
    message.edit_date = world.now()
    world.changed()
    return world.render(message)


async def edit_message_reply_markup(call: Call) -> Any:
    """editMessageReplyMarkup: replace a bot message's inline keyboard (none given removes it)."""
    world, params = call.world, call.params
    markup = content.reply_markup(params)
    message = _message_to_edit(world, params)
    if markup.inline == message.reply_markup:
        raise bad_request(errors.MESSAGE_NOT_MODIFIED)
    message.reply_markup = markup.inline
    world.changed()
    return world.render(message)


async def delete_message(call: Call) -> Any:
    """deleteMessage: remove a message from the chat (the record stays, marked deleted)."""
    world, params = call.world, call.params
    chat = world.find_chat(params)
    message = world.message(chat.id, params.integer("message_id"))
    if message is None:
        raise bad_request(errors.MESSAGE_TO_DELETE_NOT_FOUND)
    message.deleted = True
    world.changed()
    return True


async def answer_callback_query(call: Call) -> Any:
    """answerCallbackQuery: record the answer; unknown, expired or already answered ids fail."""
    world, params = call.world, call.params
    query = world.callback_queries.get(params.text("callback_query_id") or "")
    lifetime = world.callback_query_lifetime
    expired = query is not None and lifetime is not None and world.clock() - query.created_at > lifetime
    if query is None or query.answered or expired:
        raise bad_request(errors.QUERY_TOO_OLD)
    query.answered = True
    query.answer_text = params.text("text")
    query.show_alert = params.flag("show_alert")
    query.url = params.text("url")
    world.changed()
    return True


async def send_chat_action(call: Call) -> Any:
    """sendChatAction: record the action ("typing", ...) for the chat."""
    world, params = call.world, call.params
    chat = world.writable_chat(params)
    action = params.text("action") or ""
    if action not in CHAT_ACTIONS:
        raise bad_request(errors.WRONG_CHAT_ACTION)
    world.chat_actions.append(ChatAction(chat.id, action, world.clock()))
    world.changed()
    return True


async def get_chat(call: Call) -> Any:
    """getChat: the chat's full info."""
    return call.world.find_chat(call.params).to_full_api()


HANDLERS: dict[str, Handler] = {
    "sendMessage": send_message,
    "editMessageText": edit_message_text,
    "editMessageCaption": edit_message_caption,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "answerCallbackQuery": answer_callback_query,
    "sendChatAction": send_chat_action,
    "getChat": get_chat,
}
