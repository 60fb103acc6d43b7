"""Bot API methods about the bot itself: identity, session, commands, descriptions."""

from __future__ import annotations

from typing import Any

from standin import content
from standin.errors import bad_request
from standin.registry import Call, Handler

_TEXT_LIMITS = {"description": 512, "short_description": 120, "name": 64}


async def get_me(call: Call) -> Any:
    """getMe: the bot's own User, with the getMe-only capability fields."""
    return call.world.bot.to_get_me()


async def log_out(call: Call) -> Any:
    """logOut / close: nothing to tear down here, so just true."""
    return True


async def set_my_commands(call: Call) -> Any:
    """setMyCommands: validate and store the command list for a scope and language."""
    commands = content.bot_commands(call.params)
    call.world.settings.commands[content.scope_key(call.params)] = commands
    call.world.changed()
    return True


async def get_my_commands(call: Call) -> Any:
    """getMyCommands: the list stored for the scope and language (empty if none)."""
    return list(call.world.settings.commands.get(content.scope_key(call.params), []))


async def delete_my_commands(call: Call) -> Any:
    """deleteMyCommands: forget the list for the scope and language."""
    call.world.settings.commands.pop(content.scope_key(call.params), None)
    call.world.changed()
    return True


def _text_setting(field: str) -> tuple[Handler, Handler]:
    """A setMy<Field> / getMy<Field> pair storing one text per language."""

    async def setter(call: Call) -> Any:
        value = call.params.text(field) or ""
        if len(value) > _TEXT_LIMITS[field]:
            raise bad_request(f"{field.upper()}_INVALID")
        key = f"{field}|{call.params.text('language_code') or ''}"
        call.world.settings.texts[key] = value
        call.world.changed()
        return True

    async def getter(call: Call) -> Any:
        key = f"{field}|{call.params.text('language_code') or ''}"
        return {field: call.world.settings.texts.get(key, "")}

    return setter, getter


_set_description, _get_description = _text_setting("description")
_set_short_description, _get_short_description = _text_setting("short_description")
_set_name, _get_name = _text_setting("name")


async def set_chat_menu_button(call: Call) -> Any:
    """setChatMenuButton: accepted (the stand-in does not show menus)."""
    return True


async def get_chat_menu_button(call: Call) -> Any:
    """getChatMenuButton: always the default menu button."""
    return {"type": "commands"}


HANDLERS: dict[str, Handler] = {
    "getMe": get_me,
    "logOut": log_out,
    "close": log_out,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "setMyDescription": _set_description,
    "getMyDescription": _get_description,
    "setMyShortDescription": _set_short_description,
    "getMyShortDescription": _get_short_description,
    "setMyName": _set_name,
    "getMyName": _get_name,
    "setChatMenuButton": set_chat_menu_button,
    "getChatMenuButton": get_chat_menu_button,
}
