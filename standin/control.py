"""The stand-in's control API over HTTP: ``/_control/<action>``, JSON in and out.

Each action is a :class:`~standin.server.StandIn` method of the same name. Arguments come
from the JSON body (POST) and/or the query string (GET or POST); answers are
``{"ok": true, "result": ...}`` or ``{"ok": false, "description": "..."}`` with status 400 (bad
arguments), 404 (no such chat/message/button/action) or 408 (a wait timed out).
``GET /_control/`` lists the actions.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from standin.faults import Fault
from standin.users import InvalidActionError, NotFoundError

if TYPE_CHECKING:
    from standin.server import StandIn

JsonDict = dict[str, Any]
Args = Mapping[str, Any]


class Arguments:
    """An action's arguments with conversion from query-string text; missing required ones raise."""

    def __init__(self, raw: Args) -> None:
        self.raw = dict(raw)

    def _get(self, name: str, required: bool) -> Any:
        if name not in self.raw or self.raw[name] is None:
            if required:
                raise InvalidActionError(f"missing argument {name!r}")
            return None
        return self.raw[name]

    def integer(self, name: str, required: bool = True) -> int | None:
        """An integer argument."""
        value = self._get(name, required)
        try:
            return None if value is None else int(value)
        except (TypeError, ValueError) as error:
            raise InvalidActionError(f"argument {name!r} must be an integer, not {value!r}") from error

    def number(self, name: str, required: bool = True) -> float | None:
        """A number argument."""
        value = self._get(name, required)
        try:
            return None if value is None else float(value)
        except (TypeError, ValueError) as error:
            raise InvalidActionError(f"argument {name!r} must be a number, not {value!r}") from error

    def text(self, name: str, required: bool = True) -> str | None:
        """A text argument."""
        value = self._get(name, required)
        return None if value is None else str(value)

    def flag(self, name: str, default: bool = False) -> bool:
        """A yes/no argument: true, "true", "1" or "yes" are true."""
        value = self.raw.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in {"1", "true", "yes"}

    def required_int(self, name: str) -> int:
        """An integer argument that must be present."""
        value = self.integer(name)
        assert value is not None
        return value

    def required_str(self, name: str) -> str:
        """A text argument that must be present."""
        value = self.text(name)
        assert value is not None
        return value


@dataclass(frozen=True)
class Action:
    """One control endpoint: a one-line summary and what it does."""

    summary: str
    run: Callable[[StandIn, Arguments], Awaitable[Any]]
    read_only: bool = False


def _sent(result: Any) -> Any:
    return result.to_json() if result is not None else None


async def _user_sends_text(s: StandIn, a: Arguments) -> Any:
    return _sent(
        s.user_sends_text(
            a.required_int("user_id"),
            a.required_str("text"),
            chat_type=a.text("chat_type", False) or "private",
            chat_id=a.integer("chat_id", False),
            title=a.text("title", False),
            first_name=a.text("first_name", False),
            last_name=a.text("last_name", False),
            username=a.text("username", False),
            language_code=a.text("language_code", False),
        )
    )


async def _user_presses_button(s: StandIn, a: Arguments) -> Any:
    return _sent(
        s.user_presses_button(
            a.required_int("user_id"),
            a.required_int("message_id"),
            text=a.text("text", False),
            data=a.text("data", False),
            chat_id=a.integer("chat_id", False),
        )
    )


async def _user_sends_sticker(s: StandIn, a: Arguments) -> Any:
    return _sent(s.user_sends_sticker(a.required_int("user_id"), chat_id=a.integer("chat_id", False)))


async def _user_sends_photo(s: StandIn, a: Arguments) -> Any:
    return _sent(
        s.user_sends_photo(
            a.required_int("user_id"), caption=a.text("caption", False), chat_id=a.integer("chat_id", False)
        )
    )


async def _user_sends_location(s: StandIn, a: Arguments) -> Any:
    latitude, longitude = a.number("latitude"), a.number("longitude")
    assert latitude is not None and longitude is not None
    return _sent(
        s.user_sends_location(a.required_int("user_id"), latitude, longitude, chat_id=a.integer("chat_id", False))
    )


async def _user_edits_message(s: StandIn, a: Arguments) -> Any:
    return _sent(
        s.user_edits_message(
            a.required_int("user_id"),
            a.required_int("message_id"),
            a.required_str("text"),
            chat_id=a.integer("chat_id", False),
        )
    )


async def _block_bot(s: StandIn, a: Arguments) -> Any:
    return _sent(s.block_bot(a.required_int("user_id"), send_update=a.flag("send_update", True)))


async def _unblock_bot(s: StandIn, a: Arguments) -> Any:
    return _sent(s.unblock_bot(a.required_int("user_id"), send_update=a.flag("send_update", True)))


async def _queue_raw_update(s: StandIn, a: Arguments) -> Any:
    body = a.raw.get("update")
    if not isinstance(body, dict):
        raise InvalidActionError("argument 'update' must be a JSON object (the update without its update_id)")
    return s.queue_raw_update(body)


async def _skip_update_ids(s: StandIn, a: Arguments) -> Any:
    s.skip_update_ids(a.required_int("count"))
    return True


async def _chat_messages(s: StandIn, a: Arguments) -> Any:
    messages = s.chat_messages(a.required_int("chat_id"), include_deleted=a.flag("include_deleted"))
    return [message.to_json() for message in messages]


async def _bot_messages(s: StandIn, a: Arguments) -> Any:
    return [message.to_json() for message in s.bot_messages(a.required_int("chat_id"))]


async def _transcript(s: StandIn, a: Arguments) -> Any:
    return s.transcript(a.required_int("chat_id"))


async def _wait_for_bot_messages(s: StandIn, a: Arguments) -> Any:
    messages = await s.wait_for_bot_messages(
        a.required_int("chat_id"), a.integer("count", False) or 1, timeout=a.number("timeout", False) or 5.0
    )
    return [message.to_json() for message in messages]


async def _wait_for_polling(s: StandIn, a: Arguments) -> Any:
    await s.wait_for_polling(timeout=a.number("timeout", False) or 5.0)
    return True


async def _callback_answers(s: StandIn, a: Arguments) -> Any:
    return [query.to_json() for query in s.callback_answers()]


async def _chat_actions(s: StandIn, a: Arguments) -> Any:
    return s.chat_actions(a.required_int("chat_id"))


async def _requests(s: StandIn, a: Arguments) -> Any:
    return [record.to_json() for record in s.log.of(a.text("method", False))]


async def _clear_requests(s: StandIn, a: Arguments) -> Any:
    s.clear_requests()
    return True


async def _inject_fault(s: StandIn, a: Arguments) -> Any:
    try:
        fault = Fault.from_json(a.raw)
    except (KeyError, ValueError) as error:
        raise InvalidActionError(str(error)) from error
    method = a.text("method", False) or "*"
    probability = a.number("probability", False)
    if probability is None:
        s.inject_fault(method, fault, times=a.integer("times", False) or 1)
    else:
        s.set_fault_chance(method, fault, probability)
    return s.faults.to_json()


async def _clear_faults(s: StandIn, a: Arguments) -> Any:
    s.clear_faults()
    return True


async def _enable_rate_limit(s: StandIn, a: Arguments) -> Any:
    s.enable_rate_limit(
        overall=a.integer("overall", False) or 30,
        per_chat=a.integer("per_chat", False) or 1,
        window=a.number("window", False) or 1.0,
    )
    return True


async def _disable_rate_limit(s: StandIn, a: Arguments) -> Any:
    s.disable_rate_limit()
    return True


async def _state(s: StandIn, a: Arguments) -> Any:
    return s.state()


async def _reset(s: StandIn, a: Arguments) -> Any:
    s.reset()
    return True


ACTIONS: dict[str, Action] = {
    "user_sends_text": Action(
        "user_id, text [, chat_id, chat_type, first_name, ...]: a user sends text", _user_sends_text
    ),
    "user_presses_button": Action(
        "user_id, message_id, text | data [, chat_id]: a user presses an inline button", _user_presses_button
    ),
    "user_sends_sticker": Action("user_id [, chat_id]: a user sends a sticker", _user_sends_sticker),
    "user_sends_photo": Action("user_id [, caption, chat_id]: a user sends a photo", _user_sends_photo),
    "user_sends_location": Action(
        "user_id, latitude, longitude [, chat_id]: a user shares a location", _user_sends_location
    ),
    "user_edits_message": Action(
        "user_id, message_id, text [, chat_id]: a user edits their message", _user_edits_message
    ),
    "block_bot": Action("user_id [, send_update]: a user blocks the bot", _block_bot),
    "unblock_bot": Action("user_id [, send_update]: a user unblocks the bot", _unblock_bot),
    "queue_raw_update": Action(
        "update: queue an update exactly as given (malformed too), unfiltered and unchecked; returns its id",
        _queue_raw_update,
    ),
    "skip_update_ids": Action("count: make the next update id jump", _skip_update_ids),
    "chat_messages": Action("chat_id [, include_deleted]: what the chat shows", _chat_messages, read_only=True),
    "bot_messages": Action("chat_id: every message the bot sent there", _bot_messages, read_only=True),
    "transcript": Action("chat_id: the chat as readable lines", _transcript, read_only=True),
    "wait_for_bot_messages": Action(
        "chat_id [, count=1, timeout=5]: wait for the bot's messages (408 on timeout)",
        _wait_for_bot_messages,
        read_only=True,
    ),
    "wait_for_polling": Action(
        "[timeout=5]: wait until the bot is long-polling getUpdates (408 on timeout)", _wait_for_polling, read_only=True
    ),
    "callback_answers": Action("every button press and its answer", _callback_answers, read_only=True),
    "chat_actions": Action("chat_id: chat actions the bot sent", _chat_actions, read_only=True),
    "requests": Action("[method]: the Bot API request log", _requests, read_only=True),
    "clear_requests": Action("forget the request log", _clear_requests),
    "inject_fault": Action(
        "kind (429|500|502|delay|drop|error) [, method='*', retry_after, seconds, status, description, "
        "times, probability]: plan a fault",
        _inject_fault,
    ),
    "clear_faults": Action("remove planned faults", _clear_faults),
    "enable_rate_limit": Action("[overall=30, per_chat=1, window=1]: Telegram-like flood control", _enable_rate_limit),
    "disable_rate_limit": Action("turn flood control off", _disable_rate_limit),
    "state": Action("a summary of everything", _state, read_only=True),
    "reset": Action("forget everything", _reset),
}


def _answer(status: int, payload: JsonDict) -> web.Response:
    return web.Response(
        text=json.dumps(payload, ensure_ascii=False, default=str), status=status, content_type="application/json"
    )


def add_control_routes(app: web.Application, standin: StandIn) -> None:
    """Add ``/_control/`` (index) and ``/_control/<action>`` for ``standin`` to ``app``."""

    async def index(request: web.Request) -> web.Response:
        actions = {
            name: {"method": "GET or POST" if action.read_only else "POST", "summary": action.summary}
            for name, action in ACTIONS.items()
        }
        return _answer(200, {"ok": True, "result": actions})

    async def run_action(request: web.Request) -> web.Response:
        name = request.match_info["action"]
        action = ACTIONS.get(name)
        if action is None:
            return _answer(404, {"ok": False, "description": f"no control action {name!r}; GET /_control/ lists them"})
        if request.method != "POST" and not action.read_only:
            return _answer(405, {"ok": False, "description": f"{name} changes state: use POST"})
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                return _answer(400, {"ok": False, "description": "the body must be a JSON object"})
            if not isinstance(body, dict):
                return _answer(400, {"ok": False, "description": "the body must be a JSON object"})
            args.update(body)
        try:
            result = await action.run(standin, Arguments(args))
        except NotFoundError as error:
            return _answer(404, {"ok": False, "description": str(error)})
        except InvalidActionError as error:
            return _answer(400, {"ok": False, "description": str(error)})
        except TimeoutError as error:
            return _answer(408, {"ok": False, "description": str(error)})
        return _answer(200, {"ok": True, "result": result})

    app.router.add_get("/_control/", index)
    app.router.add_get("/_control", index)
    app.router.add_route("*", "/_control/{action}", run_action)
