"""Receiving updates at least once: store each one durably before confirming it to Telegram.

python-telegram-bot's Updater confirms a batch (the next getUpdates offset) before the batch is
processed, so a crash would lose it. This loop polls getUpdates itself, commits the batch to the inbox
table, and only then asks for the next offset. Each stored update is handled once (the conversation
service claims its id in the same transaction as its effect), in order within a chat and concurrently
across chats.

When the database fails (a full disk, a read-only file, a lock held too long) nothing is half-written:
every write is one transaction. An update that was stored but could not be applied is tried again a
few times, quietly, while other chats go on; only if the database stays unusable does the person get
the apology (from the application's error handler) and the update is let go, so nothing loops forever.
A batch that cannot even be stored stays unconfirmed, so Telegram sends it again; if storing keeps
failing, its senders get the apology and the bot moves on to newer messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes

from bot.storage.repository import Repository
from bot.tg.app import ALLOWED_UPDATES, POLL_TIMEOUT_S
from bot.tg.handlers import Gatekeeper

log = logging.getLogger(__name__)

# Handling an update that fails on the database: this many tries in all, waiting 0.25 s, 0.5 s, 1 s, 2 s
# in between (about 4 s), before the person is told and the update is let go.
DATABASE_ATTEMPTS = 5
FIRST_DATABASE_RETRY_S = 0.25
# Storing a received batch that fails on the database: this many tries before its senders are told.
STORE_ATTEMPTS = 5
# getUpdates failing (Telegram down, the network gone): wait 0.5 s, then twice as long each time, up to 15 s.
FIRST_POLL_RETRY_S = 0.5
MAX_POLL_RETRY_S = 15.0
# An update found unhandled at start-up this many times has crashed the bot each time: let it go.
MAX_REPLAYS = 5


def is_database_trouble(error: BaseException | None) -> bool:
    """True for failures of the database itself (disk full, read-only, locked, I/O), worth retrying."""
    return isinstance(error, sqlite3.OperationalError)


def seconds(period: float | timedelta) -> float:
    """A retry_after (seconds or a timedelta, depending on PTB_TIMEDELTA) in seconds."""
    return period.total_seconds() if isinstance(period, timedelta) else float(period)


class Intake:
    """Feeds stored updates to the Application, one chat at a time, in update order."""

    def __init__(
        self,
        application: Application,  # type: ignore[type-arg]
        repository: Repository,
        gatekeeper: Gatekeeper,
        clock: Callable[[], datetime],
    ) -> None:
        self._application = application
        self._repository = repository
        self._gatekeeper = gatekeeper
        self._clock = clock
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._chat_load: dict[int, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._retrying: set[int] = set()
        self._failures: dict[int, Exception] = {}
        # Updates let go while the database refused even that: marked handled with the next stored batch.
        self._unsettled: set[int] = set()
        self._interpose_error_handler()

    def _interpose_error_handler(self) -> None:
        """Run ``_on_error`` before the application's own error handlers (which apologise to the person).

        A database failure that will be retried is held back there, so the person hears nothing unless
        the retries fail too.
        """
        others = dict(self._application.error_handlers)
        self._application.error_handlers.clear()
        self._application.add_error_handler(self._on_error)
        for callback, block in others.items():
            self._application.add_error_handler(callback, block=block)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if isinstance(update, Update) and update.update_id in self._retrying and is_database_trouble(context.error):
            assert isinstance(context.error, Exception)
            self._failures[update.update_id] = context.error
            raise ApplicationHandlerStop

    async def accept(self, updates: list[Update]) -> None:
        """Store admissible updates durably, then start handling every one of them.

        Updates from groups or from people outside the allowlist are not stored: they only get a reply.
        Raises ``sqlite3.Error`` when the batch could not be stored (then nothing of it is handled).
        """
        stored = [
            (update.update_id, update.effective_chat.id if update.effective_chat else None, update.to_json())
            for update in updates
            if self._gatekeeper.admits(update)
        ]
        if not updates:
            return
        next_offset = max(update.update_id for update in updates) + 1
        unsettled = set(self._unsettled)
        async with self._repository.transaction() as repository:
            for update_id in sorted(unsettled):
                await repository.claim_update(update_id, self._clock())
            await repository.record_updates(stored, next_offset, self._clock())
        self._unsettled -= unsettled
        for update in updates:
            self._spawn(update)

    async def replay_pending(self) -> int:
        """Handle every stored update left unhandled by a crash; returns how many there were.

        Each start-up counts one more attempt for each of them; one that was still pending after
        ``MAX_REPLAYS`` starts has crashed the bot every time, and is let go with an apology.
        """
        async with self._repository.transaction() as repository:
            pending = await repository.pending_updates()
            attempts = {update_id: await repository.count_attempt(update_id) for update_id, _ in pending}
        bot = self._application.bot
        for update_id, payload in pending:
            update = Update.de_json(json.loads(payload), bot)
            if attempts[update_id] > MAX_REPLAYS:
                log.error("update %s was pending at %d starts in a row; letting it go", update_id, attempts[update_id])
                await self._application.process_error(update, RuntimeError("an update that stops the bot"))
                await self._settle(update_id)
                continue
            self._spawn(update)
        return len(pending)

    def _spawn(self, update: Update) -> None:
        chat_id = update.effective_chat.id if update.effective_chat else 0
        lock = self._chat_locks.setdefault(chat_id, asyncio.Lock())
        self._chat_load[chat_id] = self._chat_load.get(chat_id, 0) + 1
        task = asyncio.create_task(self._handle(update, chat_id, lock))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, update: Update, chat_id: int, lock: asyncio.Lock) -> None:
        # Locks are fair (FIFO), and tasks are created in update order: a chat's updates apply in order.
        try:
            async with lock:
                try:
                    await self._apply(update)
                except Exception:  # PTB reports handler failures itself; this is one outside any handler
                    log.exception("update %s could not be processed; letting it go", update.update_id)
                # Handled, ignored by design, or failed and told the person: done. Claiming is idempotent.
                # Cancelled (shutting down) skips this: the update stays in the inbox for the next start.
                await self._settle(update.update_id)
        finally:
            self._chat_load[chat_id] -= 1
            if not self._chat_load[chat_id]:
                del self._chat_load[chat_id]
                del self._chat_locks[chat_id]

    async def _apply(self, update: Update) -> None:
        """Process one update, retrying quietly while the database fails (a bounded number of times)."""
        update_id = update.update_id
        delay = FIRST_DATABASE_RETRY_S
        for attempt in range(1, DATABASE_ATTEMPTS + 1):
            if attempt < DATABASE_ATTEMPTS:
                self._retrying.add(update_id)
            try:
                await self._application.process_update(update)
            finally:
                self._retrying.discard(update_id)
            failure = self._failures.pop(update_id, None)
            if failure is None:
                return
            log.warning(
                "database trouble handling update %s (attempt %d of %d): %s; trying again in %.2f s",
                update_id,
                attempt,
                DATABASE_ATTEMPTS,
                failure,
                delay,
            )
            await asyncio.sleep(delay)
            delay *= 2

    async def _settle(self, update_id: int) -> None:
        """Mark an update handled; if the database refuses even that, the next stored batch does it."""
        try:
            async with self._repository.transaction() as repository:
                await repository.claim_update(update_id, self._clock())
        except sqlite3.Error as trouble:
            log.warning("could not mark update %s handled (%s); marking it with the next batch", update_id, trouble)
            self._unsettled.add(update_id)

    async def drain(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for updates being handled to finish."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def close(self, timeout: float) -> None:
        """Let updates being handled finish for up to ``timeout`` seconds, then stop the rest.

        A stopped one stays in the inbox and is handled at the next start.
        """
        await self.drain(timeout)
        leftover = set(self._tasks)
        for task in leftover:
            task.cancel()
        if leftover:
            log.info("stopping with %d update(s) unfinished; they are handled at the next start", len(leftover))
            await asyncio.gather(*leftover, return_exceptions=True)

    async def poll(self, stop: asyncio.Event) -> None:
        """Long-poll getUpdates until ``stop`` is set, backing off on network or database trouble."""
        bot = self._application.bot
        offset: int | None = None
        known = False
        delay = FIRST_POLL_RETRY_S
        store_failures = 0
        while not stop.is_set():
            if not known:
                try:
                    async with self._repository.transaction() as repository:
                        offset = await repository.next_update_offset()
                    known = True
                except sqlite3.Error as trouble:
                    # Safe to poll without it: Telegram then resends what it has not seen confirmed, and
                    # anything already stored or handled is recognised by its id.
                    log.error("cannot read the update offset (%s); asking Telegram without it", trouble)
            fetch = asyncio.ensure_future(
                bot.get_updates(
                    offset=offset, timeout=timedelta(seconds=POLL_TIMEOUT_S), allowed_updates=ALLOWED_UPDATES
                )
            )
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not fetch.done():
                # Shutting down mid-poll: anything Telegram was about to send is not confirmed yet,
                # so it comes again with the next getUpdates after a restart.
                fetch.cancel()
                with contextlib.suppress(asyncio.CancelledError, TelegramError):
                    await fetch
                return
            try:
                updates = list(fetch.result())
            except RetryAfter as flood:
                await _sleep_or_stop(stop, seconds(flood.retry_after))
                continue
            except (InvalidToken, Conflict):
                raise
            except NetworkError as fault:
                log.warning("getUpdates failed (%s); retrying in %.1f s", fault.message, delay)
                await _sleep_or_stop(stop, delay)
                delay = min(delay * 2, MAX_POLL_RETRY_S)
                continue
            except TelegramError as fault:
                log.error("getUpdates refused: %s; retrying in %.1f s", fault.message, delay)
                await _sleep_or_stop(stop, delay)
                delay = min(delay * 2, MAX_POLL_RETRY_S)
                continue
            delay = FIRST_POLL_RETRY_S
            if not updates:
                continue
            try:
                await self.accept(updates)
            except sqlite3.OperationalError as trouble:
                store_failures += 1
                wait = FIRST_DATABASE_RETRY_S * 2 ** (store_failures - 1)
                if store_failures < STORE_ATTEMPTS:
                    # Not confirmed: the next getUpdates (same offset) brings the same updates again.
                    log.warning("could not store %d update(s) (%s); retrying in %.2f s", len(updates), trouble, wait)
                    await _sleep_or_stop(stop, wait)
                    continue
                log.error("could not store %d update(s) (%s); telling their senders", len(updates), trouble)
                await self._refuse(updates, trouble)
            store_failures = 0
            offset, known = max(update.update_id for update in updates) + 1, True

    async def _refuse(self, updates: list[Update], trouble: Exception) -> None:
        """Tell each sender (via the application's error handlers) that their message was not taken."""
        for update in updates:
            if self._gatekeeper.admits(update):
                await self._application.process_error(update, trouble)


async def _sleep_or_stop(stop: asyncio.Event, wait: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=wait)
