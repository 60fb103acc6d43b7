"""The stand-in server: Telegram's Bot API over HTTP on loopback, plus a control API to play users.

Usage from a test::

    async with StandIn() as standin:
        bot = telegram.Bot(standin.token, base_url=standin.bot_api_url)
        standin.user_sends_text(42, "/start")
        ...
        replies = await standin.wait_for_bot_messages(42, count=1)

The Python methods here and the HTTP endpoints in :mod:`standin.control` are the same
operations; see the package docstring for the endpoint list.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import traceback
from collections import Counter
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from aiohttp import web

from standin import api_bot, api_files, api_messages, api_updates, users
from standin.content import scope_key
from standin.control import add_control_routes
from standin.errors import ApiError, not_found, too_many_requests, unauthorized
from standin.faults import SENDING_METHODS, Fault, FaultPlan, RateLimiter, RateLimits
from standin.params import Params, read_params
from standin.records import BotIdentity, CallbackQueryRecord, ChatMessage, SentUpdate
from standin.registry import Call, MethodTable
from standin.requestlog import RequestLog, RequestRecord
from standin.spec import SpecChecker
from standin.updates import update_type
from standin.world import DEFAULT_FIRST_UPDATE_ID, ChatAction, World

JsonDict = dict[str, Any]
T = TypeVar("T")

logger = logging.getLogger(__name__)
TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")
DEFAULT_WAIT = 30.0


class StandIn:
    """A local Telegram Bot API: answers ``/bot<token>/<method>`` and lets tests play the users.

    ``tokens`` are the tokens it accepts (default: ``bot.default_token``); with
    ``accept_any_token`` any well-formed token works. ``strict_html`` rejects a bare ``&`` in
    HTML text (Telegram shows it as is). Given a ``spec`` checker, every request and successful
    answer is checked against the Bot API specification and problems collect in
    :attr:`spec_problems`. A failure of the stand-in itself answers 500 and is kept, with its
    traceback, in :attr:`internal_errors`.
    """

    def __init__(
        self,
        *,
        bot: BotIdentity | None = None,
        tokens: Collection[str] | None = None,
        accept_any_token: bool = False,
        strict_html: bool = True,
        spec: SpecChecker | None = None,
        clock: Callable[[], float] = time.time,
        first_update_id: int = DEFAULT_FIRST_UPDATE_ID,
        callback_query_lifetime: float | None = None,
        fault_seed: int | None = 0,
    ) -> None:
        self.bot = bot or BotIdentity()
        self.tokens = frozenset(tokens) if tokens is not None else frozenset({self.bot.default_token})
        self.accept_any_token = accept_any_token
        self.world = World(
            self.bot,
            clock=clock,
            first_update_id=first_update_id,
            strict_html=strict_html,
            callback_query_lifetime=callback_query_lifetime,
        )
        self.log = RequestLog()
        self.faults = FaultPlan(fault_seed)
        self.rate_limiter: RateLimiter | None = None
        self.spec = spec
        self.spec_problems: list[str] = []
        self.internal_errors: list[str] = []
        self.methods = MethodTable(api_bot.HANDLERS, api_updates.HANDLERS, api_messages.HANDLERS, api_files.HANDLERS)
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._in_flight: Counter[str] = Counter()
        self._arrived: Counter[str] = Counter()

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def token(self) -> str:
        """A token the stand-in accepts (the first in sorted order)."""
        return sorted(self.tokens)[0] if self.tokens else self.bot.default_token

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:40123``; only once started."""
        if self._url is None:
            raise RuntimeError("the stand-in is not running: await start() first")
        return self._url

    @property
    def bot_api_url(self) -> str:
        """What to pass as PTB's ``base_url``: ``<url>/bot`` (PTB appends the token)."""
        return f"{self.url}/bot"

    @property
    def file_url(self) -> str:
        """What to pass as PTB's ``base_file_url``: ``<url>/file/bot``."""
        return f"{self.url}/file/bot"

    def make_app(self) -> web.Application:
        """The aiohttp application: Bot API routes, file downloads and ``/_control/...``."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        add_control_routes(app, self)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown_path)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving on ``host:port`` (0 picks a free port) and return the base URL."""
        if self._runner is not None:
            return self.url
        self.world.closing = False
        runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_port = runner.addresses[0][1] if runner.addresses else port
        self._url = f"http://{host}:{bound_port}"
        return self._url

    async def stop(self) -> None:
        """End waiting long polls, close every connection and stop listening."""
        self.world.closing = True
        self.world.changed()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        self._url = None

    async def __aenter__(self) -> StandIn:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- Bot API over HTTP -------------------------------------------------------------------

    def token_accepted(self, token: str) -> bool:
        """Whether a request with this token is authorised."""
        if token in self.tokens:
            return True
        return self.accept_any_token and TOKEN_SHAPE.fullmatch(token) is not None

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["method"]
        found = self.methods.lookup(name)
        method = found[0] if found else name
        params: dict[str, Any] = {}
        try:
            token = request.match_info["token"]
            if TOKEN_SHAPE.fullmatch(token) is None:
                raise not_found()
            if not self.token_accepted(token):
                raise unauthorized()
            if found is None:
                raise not_found()
            params = await read_params(request)
            fault = self.faults.take(method)
            if fault is not None and fault.kind == "drop":
                return self._drop(request, method, params)
            if fault is not None and fault.kind == "delay":
                await asyncio.sleep(fault.seconds)
            elif fault is not None:
                raise fault.api_error()
            self._check_flood(method, Params(params))
            self._in_flight[method] += 1
            self._arrived[method] += 1
            self.world.changed()
            try:
                result = await found[1](Call(method, Params(params), self.world))
            finally:
                self._in_flight[method] -= 1
            status, payload = 200, {"ok": True, "result": result}
        except ApiError as error:
            status, payload = error.status, error.to_payload()
        except ConnectionResetError:
            # The client went away mid-request (a bot killed with SIGKILL): nothing to answer or to check.
            logger.debug("client dropped its %s request while sending it", method)
            return web.Response(status=499)
        except Exception as error:  # a bug in the stand-in: answer like Telegram's 500, but keep it visible
            self.internal_errors.append(f"{method}: {traceback.format_exc()}")
            logger.exception("stand-in failed answering %s", method)
            status, payload = 500, {"ok": False, "error_code": 500, "description": f"Internal Server Error: {error!r}"}
        self._record(method, params, status, payload)
        return web.json_response(payload, status=status)

    def _check_flood(self, method: str, params: Params) -> None:
        if self.rate_limiter is None or method not in SENDING_METHODS:
            return
        chat_id = params.integer("chat_id") if params.has("chat_id") else None
        retry_after = self.rate_limiter.check(chat_id)
        if retry_after is not None:
            raise too_many_requests(retry_after)

    def _drop(self, request: web.Request, method: str, params: dict[str, Any]) -> web.StreamResponse:
        self._record(method, params, 0, None)
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError

    def _record(self, method: str, params: dict[str, Any], status: int, payload: JsonDict | None) -> None:
        self.log.add(RequestRecord(method, params, status, payload, self.world.clock()))
        if self.spec is not None and status not in (401, 404):
            problems = self.spec.check_request(method, params)
            if payload is not None and payload.get("ok") is True:
                problems += self.spec.check_response(method, self._checkable(method, payload.get("result")))
            self.spec_problems.extend(problems)
        self.world.changed()

    def _checkable(self, method: str, result: Any) -> Any:
        """The part of a result to check against the specification: getUpdates without raw updates."""
        if method != "getUpdates" or not isinstance(result, list):
            return result
        raw = self.world.updates.raw_ids
        return [update for update in result if not (isinstance(update, dict) and update.get("update_id") in raw)]

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if not self.token_accepted(request.match_info["token"]):
            return web.json_response(unauthorized().to_payload(), status=401)
        path = request.match_info["path"]
        for stored in self.world.files.values():
            if stored.file_path == path:
                return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")
        return web.json_response(not_found().to_payload(), status=404)

    async def _handle_unknown_path(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(not_found().to_payload(), status=404)

    # -- requests log, spec, faults ----------------------------------------------------------

    @property
    def is_polling(self) -> bool:
        """True while a getUpdates call is being answered (a long poll is waiting)."""
        return self._in_flight["getUpdates"] > 0

    def arrived(self, method: str) -> int:
        """How many requests to ``method`` have started being answered so far (finished or not)."""
        return self._arrived[method]

    def in_flight(self) -> dict[str, int]:
        """Requests being answered right now, by method (the log only has finished ones)."""
        return {method: count for method, count in self._in_flight.items() if count > 0}

    @property
    def requests(self) -> list[RequestRecord]:
        """Every Bot API request received so far, in order."""
        return self.log.of()

    def requests_for(self, method: str) -> list[RequestRecord]:
        """The requests to one method (any letter case), in order."""
        return self.log.of(method)

    def clear_requests(self) -> None:
        """Forget the request log and the spec problems found so far."""
        self.log.clear()
        self.spec_problems.clear()

    def inject_fault(self, method: str, *faults: Fault, times: int = 1) -> None:
        """Make the next requests to ``method`` ("*": any but getUpdates) meet ``faults`` in order."""
        self.faults.queue(method, *faults, times=times)

    def set_fault_chance(self, method: str, fault: Fault, probability: float) -> None:
        """Give every request to ``method`` ("*": any but getUpdates) a chance of ``fault``."""
        self.faults.set_chance(method, fault, probability)

    def clear_faults(self) -> None:
        """Remove all planned faults."""
        self.faults.clear()

    def enable_rate_limit(self, overall: int = 30, per_chat: int = 1, window: float = 1.0) -> None:
        """Answer 429 to sends beyond ``overall`` per window, or ``per_chat`` per window to one chat."""
        self.rate_limiter = RateLimiter(RateLimits(overall, per_chat, window))

    def disable_rate_limit(self) -> None:
        """Turn flood control off (the default)."""
        self.rate_limiter = None

    # -- playing the users -------------------------------------------------------------------

    def user_sends_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_type: str = "private",
        chat_id: int | None = None,
        title: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> SentUpdate:
        """Queue a ``message`` update: ``user_id`` sends ``text`` in their private chat (chat id =
        user id) or in the group ``chat_id``. A leading /command carries a bot_command entity."""
        return users.user_sends_text(
            self.world,
            user_id,
            text,
            chat_id=chat_id,
            chat_type=chat_type,
            title=title,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )

    def user_presses_button(
        self,
        user_id: int,
        message_id: int,
        *,
        text: str | None = None,
        data: str | None = None,
        chat_id: int | None = None,
    ) -> SentUpdate:
        """Queue a ``callback_query`` for a button under the bot's message ``message_id``.

        ``text`` finds the button by label on the message's current keyboard (NotFoundError if it
        is not there); ``data`` alone sends that callback_data as is (a stale or forged press).
        """
        return users.user_presses_button(self.world, user_id, message_id, text=text, data=data, chat_id=chat_id)

    def user_sends_sticker(self, user_id: int, *, chat_id: int | None = None) -> SentUpdate:
        """Queue a ``message`` update carrying a sticker."""
        return users.user_sends_sticker(self.world, user_id, chat_id=chat_id)

    def user_sends_photo(self, user_id: int, *, caption: str | None = None, chat_id: int | None = None) -> SentUpdate:
        """Queue a ``message`` update carrying a photo (a 1x1 PNG) and an optional caption."""
        return users.user_sends_photo(self.world, user_id, caption=caption, chat_id=chat_id)

    def user_sends_location(
        self, user_id: int, latitude: float, longitude: float, *, chat_id: int | None = None
    ) -> SentUpdate:
        """Queue a ``message`` update carrying a location."""
        return users.user_sends_location(self.world, user_id, latitude, longitude, chat_id=chat_id)

    def user_edits_message(
        self, user_id: int, message_id: int, new_text: str, *, chat_id: int | None = None
    ) -> SentUpdate:
        """Change the text of one of the user's messages and queue an ``edited_message`` update."""
        return users.user_edits_message(self.world, user_id, message_id, new_text, chat_id=chat_id)

    def block_bot(self, user_id: int, *, send_update: bool = True) -> SentUpdate | None:
        """The user blocks the bot: sends to their chat now answer 403 "bot was blocked by the user"."""
        return users.block_bot(self.world, user_id, blocked=True, send_update=send_update)

    def unblock_bot(self, user_id: int, *, send_update: bool = True) -> SentUpdate | None:
        """The user unblocks the bot (restarts it)."""
        return users.block_bot(self.world, user_id, blocked=False, send_update=send_update)

    def queue_raw_update(self, body: JsonDict) -> int:
        """Queue an update exactly as given (the stand-in adds only the next ``update_id``) and return its
        id: delivered whatever ``allowed_updates`` says and exempt from the specification check, to play
        what a newer Bot API or a self-hosted server may send, malformed fields and all."""
        return self.world.updates.push_raw(body)

    def skip_update_ids(self, count: int) -> None:
        """Make the next update id jump by ``count``, as Telegram's ids sometimes do."""
        self.world.updates.skip_ids(count)

    # -- reading what chats show -------------------------------------------------------------

    def chat_messages(self, chat_id: int, *, include_deleted: bool = False) -> list[ChatMessage]:
        """The chat's messages in order, user's and bot's, as they look now (snapshots)."""
        return self.world.chat_messages(chat_id, include_deleted=include_deleted)

    def bot_messages(self, chat_id: int) -> list[ChatMessage]:
        """Every message the bot sent to the chat, in order, deleted ones included (flagged)."""
        return self.world.bot_messages(chat_id)

    def transcript(self, chat_id: int) -> str:
        """The chat as readable lines: ``#id who: text [buttons] (edited)``."""
        return self.world.transcript(chat_id)

    def callback_answers(self) -> list[CallbackQueryRecord]:
        """Every button press sent so far, with how (and whether) the bot answered it."""
        return list(self.world.callback_queries.values())

    def callback_answer(self, query_id: str) -> CallbackQueryRecord:
        """The press with this callback query id (KeyError if there is none)."""
        return self.world.callback_queries[query_id]

    def chat_actions(self, chat_id: int) -> list[str]:
        """The chat actions ("typing", ...) the bot sent to this chat, in order."""
        return [action.action for action in self.world.chat_actions if action.chat_id == chat_id]

    def chat_action_log(self) -> list[ChatAction]:
        """Every chat action with its chat and time."""
        return list(self.world.chat_actions)

    def pending_updates(self) -> list[JsonDict]:
        """Updates queued but not yet confirmed by the bot."""
        return self.world.updates.pending

    def bot_commands(self, *, scope: JsonDict | None = None, language_code: str = "") -> list[JsonDict]:
        """The command list the bot set for a scope (default scope if None) and language."""
        params = Params({"scope": scope or {"type": "default"}, "language_code": language_code})
        return list(self.world.settings.commands.get(scope_key(params), []))

    def state(self) -> JsonDict:
        """A summary of everything, for the control API and for debugging."""
        return {
            "bot": self.bot.to_get_me(),
            "url": self._url,
            "next_update_id": self.world.updates.next_update_id,
            "pending_updates": [
                {"update_id": update["update_id"], "type": update_type(update)} for update in self.pending_updates()
            ],
            "chats": sorted(self.world.chats),
            "blocked_users": sorted(user.id for user in self.world.users.values() if user.blocked_bot),
            "webhook": self.world.settings.webhook,
            "commands": self.world.settings.commands,
            "texts": self.world.settings.texts,
            "request_count": len(self.log.records),
            "in_flight": self.in_flight(),
            "spec_problems": list(self.spec_problems),
            "internal_errors": list(self.internal_errors),
            "faults": self.faults.to_json(),
            "rate_limit": None if self.rate_limiter is None else vars(self.rate_limiter.limits),
        }

    def reset(self) -> None:
        """Forget users, chats, updates, settings, requests, faults and flood control."""
        self.world.reset()
        self.clear_requests()
        self.clear_faults()
        self.disable_rate_limit()

    # -- waiting -----------------------------------------------------------------------------

    async def wait_until(
        self,
        predicate: Callable[[], T | None],
        *,
        timeout: float = DEFAULT_WAIT,
        chat_id: int | None = None,
        what: str = "condition",
    ) -> T:
        """Wait until ``predicate()`` is truthy and return its value.

        Re-checked whenever anything changes. On timeout raises TimeoutError naming ``what`` and,
        if ``chat_id`` is given, showing that chat's transcript.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                shown = f"\nchat {chat_id} shows:\n{self.transcript(chat_id)}" if chat_id is not None else ""
                raise TimeoutError(f"{what} not met within {timeout:g}s{shown}")
            await self.world.signal.wait(remaining)

    async def wait_for_bot_messages(
        self, chat_id: int, count: int = 1, *, timeout: float = DEFAULT_WAIT
    ) -> list[ChatMessage]:
        """Wait until the bot has sent at least ``count`` messages to the chat; return all it sent."""

        def enough() -> list[ChatMessage]:
            sent = self.bot_messages(chat_id)
            return sent if len(sent) >= count else []

        return await self.wait_until(
            enough, timeout=timeout, chat_id=chat_id, what=f"the bot sending {count} message(s) to chat {chat_id}"
        )

    async def wait_for_polling(self, *, timeout: float = DEFAULT_WAIT) -> None:
        """Wait until the bot is long-polling getUpdates (a sign it has started up)."""
        await self.wait_until(lambda: self.is_polling, timeout=timeout, what="the bot polling getUpdates")

    async def wait_for_confirmation(self, update_id: int, *, timeout: float = DEFAULT_WAIT) -> None:
        """Wait until the bot confirms (polls past) the update with this id."""
        await self.wait_until(
            lambda: self.world.updates.is_confirmed(update_id),
            timeout=timeout,
            what=f"the bot confirming update {update_id}",
        )

    async def wait_for_callback_answer(self, query_id: str, *, timeout: float = DEFAULT_WAIT) -> CallbackQueryRecord:
        """Wait until the bot answers the callback query; return the answered record."""

        def answered() -> CallbackQueryRecord | None:
            query = self.world.callback_queries.get(query_id)
            return query if query is not None and query.answered else None

        query = self.world.callback_queries.get(query_id)
        chat_id = query.chat_id if query else None
        return await self.wait_until(
            answered, timeout=timeout, chat_id=chat_id, what=f"an answer to callback query {query_id}"
        )
