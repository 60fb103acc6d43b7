"""Checks Telegram applies to what a bot sends: text, captions, keyboards and commands.

Each function reads the relevant request parameters, raises Telegram's 400 error if they are
wrong, and otherwise returns the cleaned-up value the chat will show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from standin import errors
from standin.errors import bad_request
from standin.htmltext import EntityParseError, ParsedText, parse_html, plain_text
from standin.params import Params

JsonDict = dict[str, Any]

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
COMMAND_PATTERN = re.compile(r"[a-z0-9_]{1,32}")
COMMAND_DESCRIPTION_LIMIT = 256
MAX_COMMANDS = 100

_INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_BUTTON_URL = re.compile(r"(?:https?|tg)://\S+", re.IGNORECASE)


def formatted(params: Params, text_name: str, entities_name: str, *, strict_html: bool) -> ParsedText:
    """The visible text and entities of ``params[text_name]`` under the request's parse_mode.

    HTML is parsed and validated; without a parse mode the ``entities`` parameter is taken as
    sent. Markdown modes are accepted without checking (the stand-in does not parse them).
    """
    raw = params.text(text_name) or ""
    mode = (params.text("parse_mode") or "").strip().lower()
    if mode == "html":
        try:
            return parse_html(raw, strict_ampersand=strict_html)
        except EntityParseError as error:
            raise bad_request(f"{errors.ENTITIES_UNPARSABLE}: {error}") from error
    if mode in ("", "markdown", "markdownv2"):
        entities = params.json(entities_name, f"{errors.ENTITIES_UNPARSABLE}: entities JSON is invalid")
        if entities is not None and not isinstance(entities, list):
            raise bad_request(f"{errors.ENTITIES_UNPARSABLE}: entities must be an Array")
        return plain_text(raw, tuple(entities or ()))
    raise bad_request(errors.UNSUPPORTED_PARSE_MODE)


def message_text(params: Params, *, strict_html: bool, name: str = "text") -> ParsedText:
    """A message's text: non-empty and at most 4096 UTF-16 units once parsed, or Telegram's 400."""
    parsed = formatted(params, name, "entities", strict_html=strict_html)
    if not parsed.text:
        raise bad_request(errors.MESSAGE_TEXT_EMPTY)
    if parsed.length > MESSAGE_LIMIT:
        raise bad_request(errors.MESSAGE_TOO_LONG)
    return parsed


def caption(params: Params, *, strict_html: bool) -> ParsedText | None:
    """A media caption (None if absent or empty): at most 1024 UTF-16 units once parsed."""
    if not params.has("caption"):
        return None
    parsed = formatted(params, "caption", "caption_entities", strict_html=strict_html)
    if parsed.length > CAPTION_LIMIT:
        raise bad_request(errors.CAPTION_TOO_LONG)
    return parsed if parsed.text else None


@dataclass(frozen=True)
class Markup:
    """A validated ``reply_markup``: an inline keyboard (shown under the message) or another kind."""

    inline: JsonDict | None = None
    other: JsonDict | None = None


def reply_markup(params: Params) -> Markup:
    """Decode and validate ``reply_markup``; raises Telegram's 400 errors for bad JSON or buttons."""
    value = params.json("reply_markup", errors.REPLY_MARKUP_UNPARSABLE)
    if value is None:
        return Markup()
    if not isinstance(value, dict):
        raise bad_request(errors.REPLY_MARKUP_UNPARSABLE)
    if "inline_keyboard" in value:
        _check_inline_keyboard(value["inline_keyboard"])
        return Markup(inline=value)
    if "keyboard" in value:
        rows = value["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays')
        return Markup(other=value)
    if value.get("remove_keyboard") is True or value.get("force_reply") is True:
        return Markup(other=value)
    raise bad_request(errors.REPLY_MARKUP_UNPARSABLE)


def _check_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays')
    for row in rows:
        for button in row:
            _check_inline_button(button)


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request("can't parse inline keyboard button: InlineKeyboardButton should be an Object")
    if not isinstance(button.get("text"), str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
    actions = [name for name in _INLINE_BUTTON_ACTIONS if name in button]
    if not actions:
        raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
            raise bad_request(errors.BUTTON_DATA_INVALID)
    if "url" in button and not (isinstance(button["url"], str) and _BUTTON_URL.fullmatch(button["url"])):
        raise bad_request(errors.BUTTON_URL_INVALID)


def bot_commands(params: Params) -> list[JsonDict]:
    """Decode and validate setMyCommands' ``commands`` (1-32 chars of a-z, 0-9, _; 1-256 char text)."""
    value = params.json("commands", "can't parse commands JSON object")
    if not isinstance(value, list):
        raise bad_request("can't parse commands JSON object")
    if len(value) > MAX_COMMANDS:
        raise bad_request(errors.BOT_COMMANDS_TOO_MUCH)
    commands: list[JsonDict] = []
    for item in value:
        if not isinstance(item, dict):
            raise bad_request("can't parse BotCommand: Object expected")
        command = item.get("command")
        description = item.get("description")
        if not isinstance(command, str) or not COMMAND_PATTERN.fullmatch(command.removeprefix("/")):
            raise bad_request(errors.BOT_COMMAND_INVALID)
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= COMMAND_DESCRIPTION_LIMIT:
            raise bad_request(errors.BOT_COMMAND_DESCRIPTION_INVALID)
        commands.append({"command": command.removeprefix("/"), "description": description})
    return commands


def scope_key(params: Params) -> str:
    """A stable key for setMyCommands' ``scope`` + ``language_code`` pair."""
    scope = params.json("scope", "can't parse BotCommandScope JSON object") or {"type": "default"}
    if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
        raise bad_request("can't parse BotCommandScope JSON object")
    parts = [f"{key}={scope[key]}" for key in sorted(scope)]
    return ";".join(parts) + f"|{params.text('language_code') or ''}"
