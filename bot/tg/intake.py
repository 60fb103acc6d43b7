"""Receiving updates at least once: store each one durably before confirming it to Telegram.

python-telegram-bot's Updater confirms a batch (the next getUpdates offset) before the batch is
processed, so a crash would lose it. This loop polls getUpdates itself, commits the batch to the inbox
table, and only then asks for the next offset. Each stored update is handled once (the conversation
service claims its id in the same transaction as its effect), in order within a chat and concurrently
across chats.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot.storage.repository import Repository
from bot.tg.app import ALLOWED_UPDATES, POLL_TIMEOUT_S
from bot.tg.handlers import Gatekeeper

log = logging.getLogger(__name__)


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
        self._tasks: set[asyncio.Task[None]] = set()

    async def accept(self, updates: list[Update]) -> None:
        """Store admissible updates durably, then start handling every one of them.

        Updates from groups or from people outside the allowlist are not stored: they only get a reply.
        """
        stored = [
            (update.update_id, update.effective_chat.id if update.effective_chat else None, update.to_json())
            for update in updates
            if self._gatekeeper.admits(update)
        ]
        if not updates:
            return
        next_offset = max(update.update_id for update in updates) + 1
        async with self._repository.transaction() as repository:
            await repository.record_updates(stored, next_offset, self._clock())
        for update in updates:
            self._spawn(update)

    async def replay_pending(self) -> int:
        """Handle every stored update left unhandled by a crash; returns how many there were."""
        async with self._repository.transaction() as repository:
            pending = await repository.pending_updates()
        bot = self._application.bot
        for _, payload in pending:
            self._spawn(Update.de_json(json.loads(payload), bot))
        return len(pending)

    def _spawn(self, update: Update) -> None:
        chat_id = update.effective_chat.id if update.effective_chat else 0
        lock = self._chat_locks.setdefault(chat_id, asyncio.Lock())
        task = asyncio.create_task(self._handle(update, lock))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, update: Update, lock: asyncio.Lock) -> None:
        # Locks are fair (FIFO), and tasks are created in update order: a chat's updates apply in order.
        async with lock:
            try:
                await self._application.process_update(update)
            finally:
                # Whatever happened (handled, ignored by design, or failed and told the user), this update
                # is done: claiming is idempotent, and a poison update must not be retried forever.
                async with self._repository.transaction() as repository:
                    await repository.claim_update(update.update_id, self._clock())

    async def drain(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for updates being handled to finish."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def poll(self, stop: asyncio.Event) -> None:
        """Long-poll getUpdates until ``stop`` is set, backing off on network trouble."""
        bot = self._application.bot
        delay = 1.0
        while not stop.is_set():
            async with self._repository.transaction() as repository:
                offset = await repository.next_update_offset()
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
                updates = fetch.result()
            except RetryAfter as flood:
                wait = flood.retry_after
                await _sleep_or_stop(stop, wait if isinstance(wait, (int, float)) else wait.total_seconds())
                continue
            except (InvalidToken, Conflict):
                raise
            except NetworkError as fault:
                log.warning("getUpdates failed (%s); retrying in %.0f s", fault.message, delay)
                await _sleep_or_stop(stop, delay)
                delay = min(delay * 2, 30.0)
                continue
            except TelegramError as fault:
                log.error("getUpdates refused: %s; retrying in %.0f s", fault.message, delay)
                await _sleep_or_stop(stop, delay)
                delay = min(delay * 2, 30.0)
                continue
            delay = 1.0
            if updates:
                await self.accept(list(updates))


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
