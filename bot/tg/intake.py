"""Receiving updates at least once: store each one durably before confirming it to Telegram.

python-telegram-bot's Updater confirms a batch (the next getUpdates offset) before the batch is
processed, so a crash would lose it. This loop polls getUpdates itself, commits the batch to the inbox
table, and only then asks for the next offset. Each stored update is handled once (the conversation
service claims its id in the same transaction as its effect), in order within a chat and concurrently
across chats.

Each update is read on its own, from the raw JSON: one that python-telegram-bot cannot parse (a field
missing, as a newer Bot API or a self-hosted server may send) is quarantined (kept with its raw JSON in
the dead-letter table, counted, and logged by id only) and confirmed with the rest, so the next ones
flow. So is one whose handling failed for good. An update in a private chat from someone other than
that chat's person is refused (Telegram never sends one). For updates that arrive by webhook, where
anyone who learns the address can post, an id far above the highest seen is refused as well.

When the database fails (a full disk, a read-only file, a lock held too long) nothing is half-written:
every write is one transaction. An update that was stored but could not be applied is tried again a
few times, quietly, while other chats go on; only if the database stays unusable does the person get
the apology (from the application's error handler) and the update is let go, so nothing loops forever.
A batch that cannot even be stored stays unconfirmed, so Telegram sends it again; if storing keeps
failing, its senders get the apology and the bot moves on to newer messages. If the database file is
deleted or replaced under the running bot, nothing more is stored or confirmed: ``DatabaseGone`` stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes

from bot.storage.database import DatabaseFile
from bot.storage.errors import StorageError
from bot.storage.protocols import Storage
from bot.tg.app import ALLOWED_UPDATES, POLL_TIMEOUT_S
from bot.tg.handlers import Gatekeeper, impersonates

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
# An update begun this many times without finishing, and stored this long ago, has crashed the bot each time:
# let it go. (By count alone, a burst of restarts let go updates that were only waiting their turn behind a
# backlog: two replicas killed every few seconds began some of them six times in twenty seconds.)
MAX_REPLAYS = 5
LET_GO_AFTER = timedelta(minutes=2)
# Begins of one update closer together than this count as one attempt: two replicas draining the same chat
# (one woken by its webhook, one sweeping) begin it within a second or two, and only one of them handles it.
# A crash loop still counts once per window, so a poison update is let go all the same.
ATTEMPTS_APART = timedelta(seconds=5)
# How long to wait for getUpdates beyond its long-poll timeout before calling the connection dead.
POLL_READ_MARGIN_S = 10.0
# Update ids are whole numbers that JSON carries exactly (Telegram's are far smaller).
MAX_UPDATE_ID = 2**53 - 1
# A webhook update whose id is more than this above the highest id seen is refused: Telegram numbers
# updates one after another, so only a forged update jumps that far…
UPDATE_ID_WINDOW = 1_000_000
# …except after a week without updates, when Telegram starts again from a random id.
UPDATE_ID_RESET_AFTER = timedelta(days=7)
# Webhook mode: how often to look for updates stored but left unhandled (their replica died), and how old
# they must be (younger ones are being handled by whoever stored them).
SWEEP_EVERY_S = 2.0
SWEEP_OLDER_S = 5.0
# No real update nests deeper (update → message → reply → keyboard → row → button is 7).
MAX_NESTING = 32


def update_id_of(item: object) -> int | None:
    """The update id of a raw update: an integer from 0 to ``MAX_UPDATE_ID``, or None if it has none."""
    if not isinstance(item, dict):
        return None
    value = item.get("update_id")
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_UPDATE_ID:
        return None
    return value


def far_ahead(update_id: int, last_seen: tuple[int, datetime] | None, now: datetime) -> bool:
    """True when ``update_id`` is more than ``UPDATE_ID_WINDOW`` above the highest id seen, and updates
    were seen within ``UPDATE_ID_RESET_AFTER`` (after that Telegram may start from any id)."""
    if last_seen is None:
        return False
    highest, seen_at = last_seen
    return now - seen_at < UPDATE_ID_RESET_AFTER and update_id > highest + UPDATE_ID_WINDOW


def nesting_depth(value: object, limit: int = MAX_NESTING) -> int:
    """How deep objects and arrays nest in ``value`` (a scalar is 0); counting stops just past ``limit``."""
    deepest = 0
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending and deepest <= limit:
        item, depth = pending.pop()
        children: Sequence[object]
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children)
    return deepest


def chat_id_hint(item: dict[str, Any]) -> int | None:
    """The chat a raw (perhaps malformed) update seems to come from, so /forget finds it in quarantine."""
    for value in item.values():
        if not isinstance(value, dict):
            continue
        for holder in (value, value.get("message")):
            chat = holder.get("chat") if isinstance(holder, dict) else None
            if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                return int(chat["id"])
        sender = value.get("from") or value.get("user")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return int(sender["id"])
    return None


@dataclass(frozen=True)
class Arrival:
    """One received update: parsed, or (``update`` None) kept raw with the reason it could not be."""

    update_id: int
    payload: str
    update: Update | None
    problem: BaseException | None = None

    @property
    def chat_id(self) -> int | None:
        """The update's chat, or for an unparsed one the chat it seems to come from."""
        if self.update is not None:
            return self.update.effective_chat.id if self.update.effective_chat else None
        with contextlib.suppress(ValueError, RecursionError):
            raw = json.loads(self.payload)
            return chat_id_hint(raw) if isinstance(raw, dict) else None
        return None


def reason(error: BaseException) -> str:
    """Why an update went to quarantine, as stored with it: the exception's type and message."""
    return f"{type(error).__name__}: {error}"


def is_database_trouble(error: BaseException | None) -> bool:
    """True for failures of the storage itself (busy, full, unavailable), worth retrying."""
    return isinstance(error, StorageError)


def seconds(period: float | timedelta) -> float:
    """A retry_after (seconds or a timedelta, depending on PTB_TIMEDELTA) in seconds."""
    return period.total_seconds() if isinstance(period, timedelta) else float(period)


DROP_PERSISTENCE_MARKS_EVERY = 500
"""Updates handled between two clearings of python-telegram-bot's ids-to-persist (see drop_persistence_marks)."""
_PERSISTENCE_MARKS = ("_chat_ids_to_be_updated_in_persistence", "_user_ids_to_be_updated_in_persistence")


def drop_persistence_marks(application: Application) -> int:  # type: ignore[type-arg]
    """Forget the chat and user ids python-telegram-bot keeps for a persistence to save; returns how many.

    python-telegram-bot 22 adds every update's chat and user id to two sets, and only a configured
    persistence ever empties them. This bot keeps its state in its own database and has none, so without
    this they would hold every person who ever wrote (about 2 MB per 50,000 people, measured).
    """
    if application.persistence is not None:
        return 0
    dropped = 0
    for name in _PERSISTENCE_MARKS:
        marks = getattr(application, name, None)
        if isinstance(marks, set):
            dropped += len(marks)
            marks.clear()
    return dropped


class Intake:
    """Feeds stored updates to the Application, one chat at a time, in update order."""

    def __init__(
        self,
        application: Application,  # type: ignore[type-arg]
        repository: Storage,
        gatekeeper: Gatekeeper,
        clock: Callable[[], datetime],
        database_file: DatabaseFile | None = None,
        *,
        drain_by_chat: bool = False,
    ) -> None:
        self._application = application
        # Webhook mode: what was stored is handled from the inbox, a chat at a time (see _wake), so that
        # replicas sharing the database apply each person's updates in order whoever received them.
        self._drain_by_chat = drain_by_chat
        self._draining: set[int] = set()
        self._woken: set[int] = set()
        self._repository = repository
        self._gatekeeper = gatekeeper
        self._clock = clock
        self._database_file = database_file
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._chat_load: dict[int, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._retrying: set[int] = set()
        self._failures: dict[int, Exception] = {}
        # Updates being applied, and those among them whose handling failed for good (to quarantine).
        self._in_hand: set[int] = set()
        self._broken: dict[int, BaseException] = {}
        # Updates let go while the database refused even that: marked handled with the next stored batch.
        self._unsettled: set[int] = set()
        self._since_marks_dropped = 0
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
        if not isinstance(update, Update):
            return
        if update.update_id in self._retrying and is_database_trouble(context.error):
            assert isinstance(context.error, Exception)
            self._failures[update.update_id] = context.error
            raise ApplicationHandlerStop
        if update.update_id in self._in_hand and context.error is not None:
            self._broken[update.update_id] = context.error

    def check_database(self) -> None:
        """Raise ``DatabaseGone`` if the database file was deleted or replaced since the bot opened it."""
        if self._database_file is not None:
            self._database_file.check()

    def parse(self, items: Sequence[object]) -> list[Arrival]:
        """Read raw updates one by one: each with an update id becomes an Arrival, parsed if it can be.

        Items without a usable update id are left out (nothing can confirm or quarantine them).
        """
        bot = self._application.bot
        arrivals: list[Arrival] = []
        for item in items:
            update_id = update_id_of(item)
            if update_id is None:
                continue
            assert isinstance(item, dict)
            if nesting_depth(item) > MAX_NESTING:
                problem = ValueError(f"nested more than {MAX_NESTING} levels deep")
                arrivals.append(Arrival(update_id, json.dumps({"update_id": update_id}), None, problem))
                continue
            payload = json.dumps(item)
            try:
                update = Update.de_json(item, bot)
            except Exception as error:  # whatever a malformed update makes the library raise
                arrivals.append(Arrival(update_id, payload, None, error))
                continue
            arrivals.append(Arrival(update_id, payload, update))
        return arrivals

    async def accept(self, updates: list[Update]) -> None:
        """Store admissible updates durably, then start handling every one of them.

        Updates from groups or from people outside the allowlist are not stored: they only get a reply.
        Raises ``StorageError`` when the batch could not be stored (then nothing of it is handled).
        """
        await self.take([Arrival(update.update_id, update.to_json(), update) for update in updates])

    async def take(self, arrivals: list[Arrival], *, untrusted: bool = False) -> None:
        """Store one batch (quarantining what could not be parsed), then start handling what may be handled.

        Refused, and neither stored nor handled: updates in a private chat from someone else, and, when
        ``untrusted`` (a webhook), ids far above the highest seen. Groups and strangers are not stored
        but handled (they get a polite word). Raises ``StorageError`` when the batch could not be stored
        (then nothing of it is handled) and ``DatabaseGone`` when the database file is no longer there.
        """
        if not arrivals:
            return
        self.check_database()
        forged = {a.update_id for a in arrivals if a.update is not None and impersonates(a.update)}
        unsettled = set(self._unsettled)
        now = self._clock()
        async with self._repository.transaction() as repository:
            for update_id in sorted(unsettled):
                await repository.claim_update(update_id, now)
            last_seen = await repository.last_update_seen() if untrusted else None
            too_far = {a.update_id for a in arrivals if far_ahead(a.update_id, last_seen, now)}
            kept = [a for a in arrivals if a.update_id not in forged | too_far]
            # Sent again (Telegram never saw the confirmation): what failed for good is not tried again.
            spent = await repository.quarantined_among([a.update_id for a in kept if a.update is not None])
            quarantined: list[Arrival] = []
            for arrival in kept:
                if arrival.update is None:
                    assert arrival.problem is not None
                    if await repository.quarantine_update(
                        arrival.update_id, arrival.chat_id, arrival.payload, reason(arrival.problem), now
                    ):
                        quarantined.append(arrival)
            stored = [
                (a.update_id, a.chat_id, a.payload)
                for a in kept
                if a.update is not None and self._gatekeeper.admits(a.update)
            ]
            next_offset = max(a.update_id for a in kept) + 1 if kept else None
            await repository.record_updates(stored, next_offset, now)
            in_quarantine = await repository.count_quarantined() if quarantined else 0
        self._unsettled -= unsettled
        for update_id in sorted(forged):
            log.warning("refused update %s: a private chat whose sender is someone else", update_id)
        for update_id in sorted(too_far - forged):
            log.warning(
                "refused update %s: its id is more than %d above the highest seen (%s)",
                update_id,
                UPDATE_ID_WINDOW,
                last_seen[0] if last_seen else None,
            )
        for arrival in quarantined:
            log.warning(
                "quarantined update %s: it could not be read (%s); %d update(s) in quarantine",
                arrival.update_id,
                type(arrival.problem).__name__,
                in_quarantine,
            )
        # Written into a file that is no longer there, nothing of this batch must go any further.
        self.check_database()
        stored_ids = {update_id for update_id, _, _ in stored}
        for arrival in kept:
            if arrival.update is None or arrival.update_id in spent:
                continue
            if arrival.update_id in stored_ids:
                log.debug("update %s for chat %s stored", arrival.update_id, arrival.chat_id)
                self._start(arrival.update)
            else:
                self._spawn(arrival.update)  # a group or a stranger: not stored, only a polite word

    async def replay_pending(self) -> int:
        """Handle every stored update left unhandled by a crash; returns how many there were.

        Each start-up counts one more attempt for each of them; one that was still pending after
        ``MAX_REPLAYS`` starts has crashed the bot every time, and is let go with an apology (and kept
        in quarantine). In webhook mode their chats are drained instead, which counts each attempt as it
        starts (a replica starting beside a live one must not count the updates that one is handling).
        """
        if self._drain_by_chat:
            # Another replica may be handling some of them right now: attempts are counted as each is
            # started (see _drain), not here.
            async with self._repository.snapshot() as view:
                pending = await view.pending_updates()
                chats = await view.chats_with_pending_updates(self._clock() + UPDATE_ID_RESET_AFTER)
            for chat_id in chats:
                self._wake(chat_id)
            return len(pending)
        async with self._repository.transaction() as repository:
            pending = await repository.pending_updates()
            now = self._clock()
            attempts = {
                update_id: await repository.count_attempt(update_id, now, ATTEMPTS_APART) for update_id, _ in pending
            }
        for update_id, payload in pending:
            update = await self._read_stored(update_id, payload)
            if update is not None and not await self._let_go_if_stuck(update, payload, *attempts[update_id]):
                self._start(update)
        return len(pending)

    async def _read_stored(self, update_id: int, payload: str) -> Update | None:
        """A stored update, or None once one that can no longer be read is quarantined."""
        try:
            return Update.de_json(json.loads(payload), self._application.bot)
        except Exception as error:  # stored by an older version that read it differently
            await self._quarantine(Arrival(update_id, payload, None, error), error)
            return None

    async def _let_go_if_stuck(self, update: Update, payload: str, attempts: int, received_at: datetime | None) -> bool:
        """True (after an apology, and keeping it in quarantine) for an update started more than
        ``MAX_REPLAYS`` times, over at least ``LET_GO_AFTER``, without ever finishing: it crashed the bot
        each time."""
        if attempts <= MAX_REPLAYS or (received_at is not None and self._clock() - received_at < LET_GO_AFTER):
            return False
        stopper = RuntimeError(f"started {attempts} times without finishing")
        # Quarantine first, as the claim: of two replicas letting one update go at once, only the one that
        # quarantined it apologises. (A crash in between costs the apology, never a second one.)
        if await self._quarantine(Arrival(update.update_id, payload, update), stopper):
            log.error("update %s was started %d times without finishing; letting it go", update.update_id, attempts)
            await self._application.process_error(update, stopper)
        return True

    def _start(self, update: Update) -> None:
        """Begin handling a stored update: at once in arrival order, or (webhook) by draining its chat."""
        if self._drain_by_chat:
            self._wake(_chat_of(update))
        else:
            self._spawn(update)

    def _wake(self, chat_id: int) -> None:
        """Make sure the chat's stored updates are handled: start draining it, or have its drain look again."""
        self._woken.add(chat_id)
        if chat_id in self._draining:
            return
        self._draining.add(chat_id)
        task = asyncio.create_task(self._drain(chat_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, chat_id: int) -> None:
        """Handle the chat's stored updates oldest first until none is left that this drain was woken for.

        An update is applied only after every older one of its chat was (here or by another process: the
        claim in its transaction then finds it handled and does nothing), so order holds across replicas.
        """
        try:
            while chat_id in self._woken:
                self._woken.discard(chat_id)
                async with self._repository.snapshot() as view:
                    pending = await view.pending_updates(chat_id)
                for update_id, payload in pending:
                    if update_id in self._unsettled:
                        continue  # let go already; marked handled with the next stored update
                    async with self._repository.transaction() as repository:
                        attempts = await repository.count_attempt(update_id, self._clock(), ATTEMPTS_APART)
                    log.debug("update %s for chat %s begun (attempt %d)", update_id, chat_id, attempts[0])
                    update = await self._read_stored(update_id, payload)
                    if update is not None and not await self._let_go_if_stuck(update, payload, *attempts):
                        await self._process(update)
        except StorageError as trouble:
            # Nothing is lost: the updates stay in the inbox and the next sweep wakes this chat again.
            log.warning("could not read the inbox of a chat (%s); it is looked at again shortly", trouble)
        except Exception:  # a drain must never end unheard; what it left is swept up the same way
            log.exception("draining a chat's inbox failed; it is looked at again shortly")
        finally:
            self._draining.discard(chat_id)

    async def sweep(self, stop: asyncio.Event, every: float = SWEEP_EVERY_S, older: float = SWEEP_OLDER_S) -> None:
        """Until ``stop``: every few seconds, drain the chats with updates stored a while ago and not handled.

        Another replica stored them and died (or a drain gave up on the database): with webhooks nobody
        would send them again. Draining a chat another replica is draining too is safe, only wasted work.
        """
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)
            if stop.is_set():
                return
            try:
                async with self._repository.snapshot() as view:
                    chats = await view.chats_with_pending_updates(self._clock() - timedelta(seconds=older))
            except StorageError as trouble:
                log.warning("could not look for updates left in the inbox (%s)", trouble)
                continue
            for chat_id in chats:
                self._wake(chat_id)

    def _spawn(self, update: Update) -> None:
        chat_id = _chat_of(update)
        lock = self._chat_locks.setdefault(chat_id, asyncio.Lock())
        self._chat_load[chat_id] = self._chat_load.get(chat_id, 0) + 1
        task = asyncio.create_task(self._handle(update, chat_id, lock))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, update: Update, chat_id: int, lock: asyncio.Lock) -> None:
        # Locks are fair (FIFO), and tasks are created in update order: a chat's updates apply in order.
        try:
            async with lock:
                await self._process(update)
        finally:
            self._chat_load[chat_id] -= 1
            if not self._chat_load[chat_id]:
                del self._chat_load[chat_id]
                del self._chat_locks[chat_id]

    async def _process(self, update: Update) -> None:
        """Apply one update and mark it handled, or quarantine it if handling failed for good."""
        update_id = update.update_id
        failure: BaseException | None = None
        self._in_hand.add(update_id)
        try:
            await self._apply(update)
        except Exception as error:  # PTB reports handler failures itself; this is one outside any handler
            log.exception("update %s could not be processed; letting it go", update_id)
            failure = error
        finally:
            self._in_hand.discard(update_id)
            failure = self._broken.pop(update_id, None) or failure
            self._since_marks_dropped += 1
            if self._since_marks_dropped >= DROP_PERSISTENCE_MARKS_EVERY:
                self._since_marks_dropped = 0
                drop_persistence_marks(self._application)
        # Handled, ignored by design, or failed and told the person: done. Claiming is idempotent.
        # Cancelled (shutting down) skips this: the update stays in the inbox for the next start.
        if failure is None:
            await self._settle(update_id)
            log.debug("update %s handled", update_id)
        else:
            await self._quarantine(Arrival(update_id, update.to_json(), update), failure)

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
        if self._repository.was_claimed(update_id):
            return  # the handler's own transaction marked it, with the state change it made
        try:
            async with self._repository.transaction() as repository:
                await repository.claim_update(update_id, self._clock())
        except StorageError as trouble:
            log.warning("could not mark update %s handled (%s); marking it with the next batch", update_id, trouble)
            self._unsettled.add(update_id)

    async def _quarantine(self, arrival: Arrival, failure: BaseException) -> bool:
        """Keep an update that failed for good in the dead-letter table, marked handled so it never
        comes back; if the database refuses, it is only marked handled, with the next stored batch.

        False only when it was in quarantine already (another replica, or an earlier try, put it there)."""
        try:
            async with self._repository.transaction() as repository:
                added = await repository.quarantine_update(
                    arrival.update_id, arrival.chat_id, arrival.payload, reason(failure), self._clock()
                )
                count = await repository.count_quarantined()
        except StorageError as trouble:
            log.warning(
                "could not quarantine update %s (%s); marking it handled with the next batch",
                arrival.update_id,
                trouble,
            )
            self._unsettled.add(arrival.update_id)
            return True
        if added:
            log.warning(
                "quarantined update %s: handling it failed (%s); %d update(s) in quarantine",
                arrival.update_id,
                type(failure).__name__,
                count,
            )
        return added

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

    async def _fetch(self, offset: int | None) -> Any:
        """One getUpdates call; its result as raw JSON (a list of updates, unless the server misbehaves).

        ``Bot.get_updates`` parses the whole batch at once: one malformed update makes it raise (after
        logging the batch, with what people wrote, at CRITICAL), so nothing could ever be confirmed.
        """
        data: dict[str, Any] = {"timeout": POLL_TIMEOUT_S, "allowed_updates": ALLOWED_UPDATES}
        if offset is not None:
            data["offset"] = offset
        return await self._application.bot._post("getUpdates", data, read_timeout=POLL_TIMEOUT_S + POLL_READ_MARGIN_S)

    async def poll(self, stop: asyncio.Event) -> None:
        """Long-poll getUpdates until ``stop`` is set, backing off on network or database trouble.

        Raises ``DatabaseGone`` (before confirming anything more) when the database file disappears.
        """
        offset: int | None = None
        known = False
        delay = FIRST_POLL_RETRY_S
        store_failures = 0
        while not stop.is_set():
            if not known:
                try:
                    async with self._repository.transaction() as repository:
                        offset = await repository.next_update_offset()
                        if offset is not None and offset > MAX_UPDATE_ID + 1:
                            # Left by a forged webhook update before ids were checked: it would confirm
                            # (and so drop) every real update from now on.
                            log.warning("the stored update offset is no id Telegram sends; polling without it")
                            await repository.forget_update_offset()
                            offset = None
                        last = await repository.last_update_seen()
                        if offset is not None and last is not None and self._clock() - last[1] >= UPDATE_ID_RESET_AFTER:
                            # After a quiet week Telegram may number updates from anywhere, lower ones too: an
                            # old offset would confirm (and so drop) them. Anything already stored is still
                            # recognised by its id.
                            log.info("no update for a week or more; polling without the old offset")
                            offset = None
                    known = True
                except StorageError as trouble:
                    # Safe to poll without it: Telegram then resends what it has not seen confirmed, and
                    # anything already stored or handled is recognised by its id.
                    log.error("cannot read the update offset (%s); asking Telegram without it", trouble)
            # The offset confirms what was stored: only while the file it was stored in is still there.
            self.check_database()
            fetch = asyncio.ensure_future(self._fetch(offset))
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
                result = fetch.result()
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
            except Exception as odd:  # an answer the library could not even decode (nested too deep)
                log.error(
                    "getUpdates answered something unreadable (%s); retrying in %.1f s", type(odd).__name__, delay
                )
                await _sleep_or_stop(stop, delay)
                delay = min(delay * 2, MAX_POLL_RETRY_S)
                continue
            items: list[object] = result if isinstance(result, list) else [result]
            ids = [update_id for update_id in map(update_id_of, items) if update_id is not None]
            if items and len(ids) < len(items):
                log.error(
                    "getUpdates answered %d item(s) that are not updates with an id; ignoring them",
                    len(items) - len(ids),
                )
            if items and not ids:
                # Nothing can confirm what carries no id: Telegram would send it again at once, so wait
                # as after any refusal.
                await _sleep_or_stop(stop, delay)
                delay = min(delay * 2, MAX_POLL_RETRY_S)
                continue
            delay = FIRST_POLL_RETRY_S
            if not ids:
                continue
            arrivals = self.parse(items)
            try:
                await self.take(arrivals)
            except StorageError as trouble:
                store_failures += 1
                wait = FIRST_DATABASE_RETRY_S * 2 ** (store_failures - 1)
                if store_failures < STORE_ATTEMPTS:
                    # Not confirmed: the next getUpdates (same offset) brings the same updates again.
                    log.warning("could not store %d update(s) (%s); retrying in %.2f s", len(items), trouble, wait)
                    await _sleep_or_stop(stop, wait)
                    continue
                log.error("could not store %d update(s) (%s); telling their senders", len(items), trouble)
                await self._refuse(arrivals, trouble)
            store_failures = 0
            offset, known = max(ids) + 1, True

    async def _refuse(self, arrivals: list[Arrival], trouble: Exception) -> None:
        """Tell each sender (via the application's error handlers) that their message was not taken."""
        for arrival in arrivals:
            if arrival.update is not None and self._gatekeeper.admits(arrival.update):
                await self._application.process_error(arrival.update, trouble)


def _chat_of(update: Update) -> int:
    """The chat an update belongs to (0 for one that belongs to none), as the inbox files it."""
    return update.effective_chat.id if update.effective_chat else 0


async def _sleep_or_stop(stop: asyncio.Event, wait: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=wait)
