"""``springboard run``: the Telegram bot's process, from start-up checks to a clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import UTC, datetime

from aiohttp import web
from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, TelegramError
from telegram.ext import Application

from bot.config import Settings
from bot.conversation import Conversations
from bot.flows.catalog import Catalog
from bot.storage.database import open_database
from bot.storage.repository import Repository
from bot.tg.app import ALLOWED_UPDATES, build_application, menu_commands
from bot.tg.handlers import Gatekeeper
from bot.tg.intake import Intake
from bot.tg.sender import Sender

log = logging.getLogger(__name__)

RETRY_PERIOD_S = 5.0
SHUTDOWN_GRACE_S = 3.0


def _now() -> datetime:
    return datetime.now(UTC)


async def run_bot(settings: Settings, catalog: Catalog, token: str) -> int:
    """Run until SIGTERM or SIGINT; returns the process exit code."""
    connection = await open_database(settings.database_path, _now())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        repository = Repository(connection)
        conversations = Conversations(catalog, repository, _now, settings.zone, settings.helpline_country)
        application, sender = build_application(
            token, settings.telegram_api_url, conversations, settings.allowed_user_ids
        )
        intake = Intake(application, repository, Gatekeeper(settings.allowed_user_ids), _now)
        try:
            await application.initialize()
        except InvalidToken:
            log.error("Telegram rejected the bot token; check TELEGRAM_BOT_TOKEN (from @BotFather)")
            return 1
        except TelegramError as fault:
            log.error("cannot reach the Bot API at %s: %s", settings.telegram_api_url, fault.message)
            return 1
        try:
            log.info("signed in as @%s", application.bot.username)
            await _register_commands(application.bot, catalog)
            replayed = await intake.replay_pending()
            if replayed:
                log.info("handling %d update(s) received before the last stop", replayed)
            await sender.flush_all()
            retry = asyncio.create_task(_retry_outbox(sender, stop))
            if settings.webhook_url:
                await _serve_webhook(settings, application, intake, stop)
            else:
                await application.bot.delete_webhook()
                log.info("polling for updates; press Ctrl+C to stop")
                try:
                    await intake.poll(stop)
                except InvalidToken:
                    log.error("Telegram no longer accepts the bot token; check TELEGRAM_BOT_TOKEN")
                    return 1
                except Conflict:
                    log.error("another process is already polling with this token; stop it first")
                    return 1
            retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retry
            await intake.drain(SHUTDOWN_GRACE_S)
        finally:
            await application.shutdown()
    finally:
        await connection.close()
        log.info("stopped")
    return 0


async def _register_commands(bot: Bot, catalog: Catalog) -> None:
    try:
        await bot.set_my_commands(menu_commands(catalog))
    except TelegramError as fault:
        log.warning("could not set the command menu: %s", fault.message)


async def _retry_outbox(sender: Sender, stop: asyncio.Event) -> None:
    """Every few seconds, send replies that could not be delivered earlier."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=RETRY_PERIOD_S)
        try:
            await sender.flush_all()
        except Exception:  # a retry loop must outlive any single failure
            log.exception("retrying the outbox failed")


async def _serve_webhook(
    settings: Settings,
    application: Application,  # type: ignore[type-arg]
    intake: Intake,
    stop: asyncio.Event,
) -> None:
    """Receive updates by webhook: answer 200 only after the update is stored."""
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
        await intake.accept([update])
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
