"""``springboard run``: the Telegram bot's process, from start-up checks to a clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from telegram import Bot
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot.config import Settings
from bot.conversation import Conversations
from bot.flows.catalog import Catalog
from bot.storage.database import DatabaseGone
from bot.storage.errors import StorageError
from bot.storage.leadership import Leadership
from bot.storage.opening import open_storage, redacted
from bot.storage.protocols import Storage
from bot.tg.app import build_application, menu_commands
from bot.tg.handlers import Gatekeeper
from bot.tg.heavy import WorkerSetup, run_heavy_job
from bot.tg.intake import Intake, seconds
from bot.tg.nudges import run_checkin_job
from bot.tg.sender import Sender
from bot.tg.spool import Spool
from bot.tg.throttle import Throttle

log = logging.getLogger(__name__)

RETRY_PERIOD_S = 5.0
DATABASE_WATCH_PERIOD_S = 2.0
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
    if settings.webhook_problem:
        log.error("%s", settings.webhook_problem)
        return 2
    try:
        opened = await open_storage(settings, _now())
    except (StorageError, OSError) as trouble:
        where = redacted(settings.database_url) if settings.database_url else settings.database_path
        log.error("cannot open the database %s: %s", where, trouble)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        repository = opened.storage
        conversations = Conversations(catalog, repository, _now, settings.zone, settings.helpline_country)
        throttle = Throttle(settings.send_limit_per_second, settings.send_limit_per_chat_per_second)
        # Files waiting to be sent: beside a SQLite file (data/springboard.sqlite3.files/), else in FILES_DIR.
        spool = Spool(opened.spool)
        application, sender = build_application(
            token, settings.telegram_api_url, conversations, settings.allowed_user_ids, spool, throttle=throttle
        )
        intake = Intake(
            application,
            repository,
            Gatekeeper(settings.allowed_user_ids),
            _now,
            opened.database_file,
            drain_by_chat=settings.webhook_url is not None,
        )
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
            return await _serve(
                settings, conversations, application, sender, intake, repository, opened.leadership, stop
            )
        except StorageError as trouble:
            # Only start-up reads and writes get here (the replay of the inbox); later ones are retried.
            log.error("the database %s failed: %s", opened.where, trouble)
            return 1
        finally:
            await intake.close(SHUTDOWN_GRACE_S)
            await application.shutdown()
    finally:
        await opened.close()
        log.info("stopped")


async def _serve(
    settings: Settings,
    conversations: Conversations,
    application: Application,  # type: ignore[type-arg]
    sender: Sender,
    intake: Intake,
    storage: Storage,
    leadership: Leadership,
    stop: asyncio.Event,
) -> int:
    """Replay what a crash left, then receive updates until ``stop``; returns the exit code."""
    sender.leading = leadership.leading  # a replica sends nothing before it wins the campaign (SQLite: at once)
    replayed = await intake.replay_pending()
    if replayed:
        log.info("handling %d update(s) received before the last stop", replayed)
    vanished: list[str] = []
    took_over = asyncio.Event()
    # Replies committed but not sent before the last stop go out first thing, then every few seconds;
    # check-ins that are due go out every few seconds too; and the database file is watched all along.
    # Sending and scheduling happen only while this process leads (always, with SQLite).
    background = [
        asyncio.create_task(_lead(leadership, sender, stop, took_over)),
        asyncio.create_task(_retry_outbox(sender, stop, took_over)),
        asyncio.create_task(run_checkin_job(conversations, sender, stop, settings.checkin_poll_seconds)),
        asyncio.create_task(run_heavy_job(conversations, sender, stop, _worker_setup(settings))),
        asyncio.create_task(_watch_database(intake, stop, vanished)),
    ]
    if settings.webhook_url:
        background.append(asyncio.create_task(intake.sweep(stop)))
    try:
        await _register_commands(application.bot, conversations.catalog, stop)
        if settings.webhook_url:
            from bot.tg.webhook import serve_webhook  # polling starts without importing the HTTP server

            gone = await serve_webhook(settings, application, intake, storage, stop)
            vanished.extend([gone] if gone else [])
        else:
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
            except DatabaseGone as gone_now:
                vanished.append(str(gone_now))
    except Stopped:
        pass
    finally:
        # Each job ends by itself once told to stop (an export being sent gets to finish); a job that does
        # not within the grace is cut short.
        stop.set()
        await asyncio.wait(background, timeout=SHUTDOWN_GRACE_S + 1)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
    if vanished:
        # Nothing stored since can survive a restart, so nothing more was confirmed to Telegram.
        log.error(
            "%s; stopping without confirming anything more to Telegram (it will send those updates again)", vanished[0]
        )
        return 1
    return 0


def _worker_setup(settings: Settings) -> WorkerSetup | None:
    """How exports and charts are built: in worker processes, unless the database lives only in memory."""
    if settings.database_url is None and str(settings.database_path) == ":memory:":
        return None
    return WorkerSetup(
        settings.flows_dir,
        settings.database_path,
        settings.default_timezone,
        settings.helpline_country,
        settings.log_level,
        settings.database_url,
    )


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


async def _watch_database(intake: Intake, stop: asyncio.Event, vanished: list[str]) -> None:
    """Every few seconds, make sure the database file is still the one opened; if not, stop the bot.

    Receiving checks before storing and confirming anyway; this stops a bot that receives nothing
    (its check-ins would otherwise go on being recorded into the vanished file).
    """
    while not stop.is_set():
        try:
            intake.check_database()
        except DatabaseGone as gone:
            vanished.append(str(gone))
            stop.set()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=DATABASE_WATCH_PERIOD_S)


async def _lead(leadership: Leadership, sender: Sender, stop: asyncio.Event, took_over: asyncio.Event) -> None:
    """Campaign for the leadership until ``stop``: the sender sends only while this process leads, and while it
    does, replies committed by any replica are sent as soon as the database says so."""
    sending: set[asyncio.Task[bool]] = set()

    def on_leading(leading: bool) -> None:
        sender.leading = leading
        if leading:
            took_over.set()  # send what the last leader left, at once

    def on_replies(chat_id: int) -> None:
        task = asyncio.create_task(sender.flush(chat_id))
        sending.add(task)
        task.add_done_callback(_finished_sending(sending))

    async def settle() -> None:
        await sender.quiesce(SHUTDOWN_GRACE_S - 1)  # well within the wait for the background jobs

    try:
        await leadership.campaign(stop, on_leading, on_replies, settle)
    finally:
        await asyncio.gather(*sending, return_exceptions=True)


def _finished_sending(sending: set[asyncio.Task[bool]]) -> Callable[[asyncio.Task[bool]], None]:
    def finished(task: asyncio.Task[bool]) -> None:
        sending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Left in the outbox: the retry loop sends it.
            log.warning("sending new replies failed (%s); retrying shortly", type(task.exception()).__name__)

    return finished


async def _retry_outbox(sender: Sender, stop: asyncio.Event, took_over: asyncio.Event) -> None:
    """Send replies that could not be delivered earlier: at once, then every few seconds, and at once when
    this process takes the leadership over. First (once this process leads, as only the leader builds
    exports), files left by a crash that no reply needs any more are removed."""
    swept = False
    while not stop.is_set():
        took_over.clear()
        if sender.leading and not swept:
            swept = True
            try:
                await sender.sweep_files()
            except Exception:  # tidying must never keep the bot from sending
                log.exception("removing leftover spooled files failed")
        try:
            await sender.flush_all()
        except Exception:  # a retry loop must outlive any single failure (Telegram's or the database's)
            log.exception("retrying the outbox failed")
        waits = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(took_over.wait())}
        await asyncio.wait(waits, timeout=RETRY_PERIOD_S, return_when=asyncio.FIRST_COMPLETED)
        for waiting in waits:
            waiting.cancel()
