"""Webhook mode: an HTTP server that takes updates from Telegram, answering 200 only once one is stored.

Anyone who learns the address can connect, so the server trusts nothing before the secret header
matches, and little after: a body must be one JSON object with a whole-number ``update_id`` (anything
else gets 400, never a 500 and a traceback), it must arrive in full within the read timeout, and only a
capped number of connections are served at once (the rest get 503 at once). Updates then go through the
intake like polled ones, with the stricter webhook rules (see ``bot.tg.intake``).

The same server answers ``GET /healthz`` without the secret: whether the database answers, and how far the
inbox and the outbox are behind (counts and the oldest one's age), never anything about a person. The
webhook itself is registered with Telegram by ``springboard set-webhook`` (``register_webhook``), a deploy
step; a start only checks that it points here.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from telegram import Bot
from telegram.error import TelegramError
from telegram.ext import Application

from bot.config import Settings
from bot.storage.database import DatabaseGone
from bot.storage.errors import StorageError
from bot.storage.protocols import Storage
from bot.storage.records import DeliveryLag
from bot.tg.app import ALLOWED_UPDATES
from bot.tg.intake import MAX_NESTING, Intake, nesting_depth, update_id_of

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name, not a secret)
# A Telegram update is a few kilobytes; a message with a long text and its entities stays far below this.
MAX_BODY_BYTES = 1024 * 1024
HEALTH_PATH = "/healthz"
# How long /healthz waits for the database before calling it unreachable.
HEALTH_DATABASE_TIMEOUT_S = 5.0
# A connection over the cap gets this and is closed; Telegram retries the update later.
OVERLOADED = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 1\r\n\r\n"


def update_object(body: bytes) -> dict[str, Any] | None:
    """The update a webhook body carries: one JSON object with an ``update_id`` from 0 to 2^53 - 1,
    nested at most ``MAX_NESTING`` levels deep; None for anything else (``null``, ``[]``, ``"x"``, …)."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, a number too long, or nested past the stack
        return None
    if update_id_of(value) is None or nesting_depth(value) > MAX_NESTING:
        return None
    assert isinstance(value, dict)
    return value


def health_report(lag: DeliveryLag, now: datetime) -> dict[str, Any]:
    """What ``/healthz`` says about delivery: counts and the oldest item's age in whole seconds (0 when none)."""

    def age(oldest: datetime | None) -> int:
        return 0 if oldest is None else max(0, int((now - oldest).total_seconds()))

    return {
        "database": "ok",
        "inbox": {"pending": lag.inbox_pending, "oldest_age_seconds": age(lag.inbox_oldest)},
        "outbox": {"pending": lag.outbox_pending, "oldest_age_seconds": age(lag.outbox_oldest)},
    }


def health_handler(
    storage: Storage, check_file: Callable[[], None], clock: Callable[[], datetime]
) -> Callable[[web.Request], Any]:
    """The ``/healthz`` handler: 200 and the delivery lag, or 503 when the database does not answer in time
    (or its file vanished). It reads only counts and times, so it needs no secret."""

    async def healthz(request: web.Request) -> web.StreamResponse:
        try:
            check_file()
            async with asyncio.timeout(HEALTH_DATABASE_TIMEOUT_S):
                async with storage.snapshot() as view:
                    lag = await view.delivery_lag()
        except (DatabaseGone, StorageError, OSError, TimeoutError) as trouble:
            log.warning("healthz: the database is unreachable (%s)", type(trouble).__name__)
            return web.json_response({"database": "unreachable"}, status=503)
        return web.json_response(health_report(lag, clock()))

    return healthz


async def register_webhook(settings: Settings, bot: Bot) -> None:
    """Ask Telegram to deliver updates to ``WEBHOOK_URL`` with ``WEBHOOK_SECRET`` (``springboard set-webhook``)."""
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    await bot.set_webhook(
        settings.webhook_url,
        secret_token=settings.webhook_secret.get_secret_value(),
        allowed_updates=ALLOWED_UPDATES,
        max_connections=settings.webhook_max_connections,
    )


async def check_registration(settings: Settings, bot: Bot) -> None:
    """Warn, on start, when Telegram does not deliver to ``WEBHOOK_URL`` (the deploy step was skipped)."""
    try:
        info = await bot.get_webhook_info()
    except TelegramError as fault:
        log.warning("could not check the webhook with Telegram: %s", fault.message)
        return
    if info.url != settings.webhook_url:
        log.warning(
            "Telegram does not deliver updates to WEBHOOK_URL (its webhook is %s); run `springboard set-webhook` "
            "once as a deploy step, and again whenever WEBHOOK_URL, WEBHOOK_SECRET or WEBHOOK_MAX_CONNECTIONS change",
            "not set" if not info.url else "another address",
        )


class ConnectionCap:
    """Counts open connections to the webhook server and turns away those over ``limit``."""

    def __init__(self, limit: int, serve: Callable[[], asyncio.Protocol]) -> None:
        self.limit = limit
        self.open = 0
        self._serve = serve

    def __call__(self) -> asyncio.Protocol:
        """A protocol for a new connection: aiohttp's, counted, or (over the limit) a 503 and goodbye."""
        if self.open >= self.limit:
            return _TurnedAway()
        self.open += 1
        return _Counted(self._serve(), self)


class _Counted(asyncio.Protocol):
    """aiohttp's protocol for one connection, passed every event, counted from accept to close."""

    def __init__(self, inner: asyncio.Protocol, cap: ConnectionCap) -> None:
        self._inner = inner
        self._cap = cap

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cap.open -= 1
        self._inner.connection_lost(exc)


class _TurnedAway(asyncio.Protocol):
    """A connection over the cap: answered 503 at once and closed, nothing read."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(OVERLOADED)
        transport.close()


async def serve_webhook(
    settings: Settings,
    application: Application,  # type: ignore[type-arg]
    intake: Intake,
    storage: Storage,
    stop: asyncio.Event,
) -> str | None:
    """Receive updates by webhook until ``stop``; returns why it stopped on its own (the database file
    vanished), or None after a plain stop."""
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    secret = settings.webhook_secret.get_secret_value().encode()
    path = "/" + settings.webhook_url.split("://", 1)[-1].partition("/")[2]
    read_timeout = settings.webhook_read_timeout_seconds
    gone: list[str] = []

    async def receive(request: web.Request) -> web.StreamResponse:
        offered = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(offered, secret):
            return web.Response(status=403)
        try:
            body = await asyncio.wait_for(request.read(), read_timeout)
        except TimeoutError:
            # A body trickling in (or never finished) would hold the connection for as long as its sender likes.
            log.warning("webhook: a request body did not arrive within %.0f s; closing the connection", read_timeout)
            late = web.Response(status=408)
            late.force_close()
            return late
        item = update_object(body)
        if item is None:
            log.warning("webhook: refused a body that is not an update object (%d bytes)", len(body))
            return web.Response(status=400)
        try:
            await intake.take(intake.parse([item]), untrusted=True)
        except DatabaseGone as vanished:
            # Not stored anywhere that lasts, so not confirmed: Telegram delivers it again after a restart.
            if not gone:
                gone.append(str(vanished))
                stop.set()
            return web.Response(status=503)
        except StorageError as trouble:
            # Not stored, so not confirmed: Telegram delivers it again later.
            log.warning("could not store update %s (%s); Telegram will send it again", item["update_id"], trouble)
            return web.Response(status=503)
        return web.Response(status=200)

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_post(path, receive)
    app.router.add_get(HEALTH_PATH, health_handler(storage, intake.check_database, lambda: datetime.now(UTC)))
    # keepalive_timeout also closes a connection whose request head has not arrived in that time.
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=read_timeout)
    await runner.setup()
    assert runner.server is not None
    host, _, port = settings.webhook_listen.rpartition(":")
    cap = ConnectionCap(settings.webhook_max_connections, runner.server)
    server = await asyncio.get_running_loop().create_server(cap, host or "127.0.0.1", int(port))
    try:
        await check_registration(settings, application.bot)
        log.info("webhook listening on %s%s", settings.webhook_listen, path)
        await stop.wait()
    finally:
        server.close()
        await runner.cleanup()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 5)
    return gone[0] if gone else None
