"""``springboard run``: the Telegram bot's process, from start-up checks to a clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from telegram import Bot, Update
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot.config import Settings
from bot.conversation import Conversations
from bot.flows.catalog import Catalog
from bot.storage.database import open_database
from bot.storage.repository import Repository
from bot.tg.app import ALLOWED_UPDATES, build_application, menu_commands
from bot.tg.handlers import Gatekeeper
from bot.tg.intake import Intake, seconds
from bot.tg.nudges import run_checkin_job
from bot.tg.sender import Sender
from bot.tg.throttle import Throttle

log = logging.getLogger(__name__)

RETRY_PERIOD_S = 5.0
SHUTDOWN_GRACE_S = 3.0
FIRST_START_RETRY_S = 0.5
MAX_START_RETRY_S = 15.0
COMMAND_MENU_ATTEMPTS = 4

T = TypeVar("T")


class Stopped(Exception):
    """SIGTERM or SIGINT arrived while waiting for Telegram during start-up."""


def _now() -> datetime:
    return datetime.now(UTC)


async def run_bot(settings: Settings, catalog: Catalog, token: str) -> int:
    """Run until SIGTERM or SIGINT; returns the process exit code."""
    try:
        connection = await open_database(settings.database_path, _now())
    except (sqlite3.Error, OSError) as trouble:
        log.error("cannot open the database %s: %s", settings.database_path, trouble)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        repository = Repository(connection)
        conversations = Conversations(catalog, repository, _now, settings.zone, settings.helpline_country)
        throttle = Throttle(settings.send_limit_per_second, settings.send_limit_per_chat_per_second)
        application, sender = build_application(
            token, settings.telegram_api_url, conversations, settings.allowed_user_ids, throttle=throttle
        )
        intake = Intake(application, repository, Gatekeeper(settings.allowed_user_ids), _now)
        try:
            await _until_reachable(application.initialize, stop, "signing in")
        except InvalidToken:
            log.error("Telegram rejected the bot token; check TELEGRAM_BOT_TOKEN (from @BotFather)")
            return 1
        except Stopped:
            log.info("stopped before Telegram could be reached")
            return 0
        except TelegramError as fault:
            log.error("cannot use the Bot API at %s: %s", settings.telegram_api_url, fault.message)
            return 1
        try:
            log.info("signed in as @%s", application.bot.username)
            return await _serve(settings, conversations, application, sender, intake, stop)
        except sqlite3.Error as trouble:
            # Only start-up reads and writes get here (the replay of the inbox); later ones are retried.
            log.error("the database %s failed: %s", settings.database_path, trouble)
            return 1
        finally:
            await intake.close(SHUTDOWN_GRACE_S)
            await application.shutdown()
    finally:
        await connection.close()
        log.info("stopped")


async def _serve(
    settings: Settings,
    conversations: Conversations,
    application: Application,  # type: ignore[type-arg]
    sender: Sender,
    intake: Intake,
    stop: asyncio.Event,
) -> int:
    """Replay what a crash left, then receive updates until ``stop``; returns the exit code."""
    replayed = await intake.replay_pending()
    if replayed:
        log.info("handling %d update(s) received before the last stop", replayed)
    # Replies committed but not sent before the last stop go out first thing, then every few seconds;
    # check-ins that are due go out every few seconds too.
    background = [
        asyncio.create_task(_retry_outbox(sender, stop)),
        asyncio.create_task(run_checkin_job(conversations, sender, stop, settings.checkin_poll_seconds)),
    ]
    try:
        await _register_commands(application.bot, conversations.catalog, stop)
        if settings.webhook_url:
            await _serve_webhook(settings, application, intake, stop)
            return 0
        await _until_reachable(application.bot.delete_webhook, stop, "turning off a webhook")
        log.info("polling for updates; press Ctrl+C to stop")
        try:
            await intake.poll(stop)
        except InvalidToken:
            log.error("Telegram no longer accepts the bot token; check TELEGRAM_BOT_TOKEN")
            return 1
        except Conflict:
            log.error("another process is already polling with this token; stop it first")
            return 1
        return 0
    except Stopped:
        return 0
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)


async def _until_reachable(call: Callable[[], Awaitable[T]], stop: asyncio.Event, what: str) -> T:
    """Await ``call()`` until Telegram answers, backing off on network trouble and honouring flood waits.

    Raises ``Stopped`` if ``stop`` is set first; refusals (a bad token, a bad request) are raised at once.
    """
    delay = FIRST_START_RETRY_S
    while not stop.is_set():
        try:
            return await call()
        except RetryAfter as flood:
            wait = seconds(flood.retry_after)
        except NetworkError as fault:
            if isinstance(fault, BadRequest):
                raise
            wait, delay = delay, min(delay * 2, MAX_START_RETRY_S)
            log.warning("%s: Telegram did not answer (%s); retrying in %.1f s", what, fault.message, wait)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=wait)
    raise Stopped


async def _register_commands(bot: Bot, catalog: Catalog, stop: asyncio.Event) -> None:
    """Set Telegram's command menu; a menu that cannot be set is worth a warning, not a stop."""
    commands = menu_commands(catalog)
    for attempt in range(1, COMMAND_MENU_ATTEMPTS + 1):
        try:
            await bot.set_my_commands(commands)
            return
        except RetryAfter as flood:
            wait = seconds(flood.retry_after)
        except NetworkError as fault:
            if isinstance(fault, BadRequest) or attempt == COMMAND_MENU_ATTEMPTS:
                log.warning("could not set the command menu: %s", fault.message)
                return
            wait = FIRST_START_RETRY_S * attempt
        except TelegramError as fault:
            log.warning("could not set the command menu: %s", fault.message)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=wait)
        if stop.is_set():
            raise Stopped


async def _retry_outbox(sender: Sender, stop: asyncio.Event) -> None:
    """Send replies that could not be delivered earlier: at once, then every few seconds."""
    while not stop.is_set():
        try:
            await sender.flush_all()
        except Exception:  # a retry loop must outlive any single failure (Telegram's or the database's)
            log.exception("retrying the outbox failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=RETRY_PERIOD_S)


async def _serve_webhook(
    settings: Settings,
    application: Application,  # type: ignore[type-arg]
    intake: Intake,
    stop: asyncio.Event,
) -> None:
    """Receive updates by webhook: answer 200 only after the update is stored."""
    from aiohttp import web  # only webhook mode needs a server: polling starts without importing it

    assert settings.webhook_url is not None
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    path = "/" + settings.webhook_url.split("://", 1)[-1].partition("/")[2]

    async def receive(request: web.Request) -> web.Response:
        if secret is not None and request.headers.get("X-Telegram-Bot-Api-Secret-Token") != secret:
            return web.Response(status=403)
        try:
            update = Update.de_json(await request.json(), application.bot)
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400)
        try:
            await intake.accept([update])
        except sqlite3.Error as trouble:
            # Not stored, so not confirmed: Telegram delivers it again later.
            log.warning("could not store update %s (%s); Telegram will send it again", update.update_id, trouble)
            return web.Response(status=503)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post(path, receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, _, port = settings.webhook_listen.rpartition(":")
    site = web.TCPSite(runner, host or "127.0.0.1", int(port))
    await site.start()
    try:
        await application.bot.set_webhook(settings.webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        log.info("webhook listening on %s%s", settings.webhook_listen, path)
        await stop.wait()
    finally:
        await runner.cleanup()
