"""What services need from storage, as Protocols: they depend on these, never on a driver.

Two sides: what the conversation needs (people, flow state, lessons, check-ins, heavy requests:
``ConversationStore``) and what delivery needs (inbox, handled ids, offset, quarantine, outbox:
``DeliveryStore``). ``Storage`` hands out a ``Transaction`` (both sides, committed together) and read-only
snapshots; code that must share a transaction is given it as an argument. Failures are
``bot.storage.errors`` types. ``bot.storage.repository.Repository`` is the SQLite implementation;
``tests/storage/contract/`` checks every implementation against these.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from bot.checkins import PastLesson, PlannedStep
from bot.engine import CompletedRun, State
from bot.storage.records import (
    CheckinRow,
    DeliveryLag,
    HeavyRequest,
    HeldLesson,
    LessonEntry,
    LessonOverview,
    Revisit,
    User,
)


class PeopleStore(Protocol):
    """The people the bot knows and what it keeps about each between messages (safety hold, awaiting, onboarding)."""

    async def user(self, external_id: str, now: datetime) -> User:
        """The user with this external id, created on first sight."""
        ...

    async def find_user(self, external_id: str) -> User | None:
        """The user with this external id, or None (nothing is created)."""
        ...

    async def hold_for_safety(self, user_id: int, held: str | None) -> None:
        """Keep a message (as JSON) while the person answers the safety question; None lets it go."""
        ...

    async def keep_awaiting(self, user_id: int, awaiting: str | None, *, words_removed: bool = False) -> None:
        """Store what the person's next typed message is read against outside a flow (JSON); None: nothing."""
        ...

    async def mark_onboarded(self, user_id: int, now: datetime) -> None:
        """Record that the person read what the bot is and is not, and said yes."""
        ...

    async def remember_pending_flow(self, user_id: int, flow_id: str | None) -> None:
        """Remember which flow a person asked for before onboarding, to start it once they confirm."""
        ...

    async def forget_user(self, user_id: int) -> int:
        """Delete everything stored about a user, in every table; returns how many runs were deleted."""
        ...

    async def export_person(self, user_id: int) -> dict[str, Any]:
        """What an export holds besides the runs, as JSON-ready data: the person, a flow in progress, check-ins."""
        ...

    async def lock_person(self, external_id: str) -> None:
        """Hold this person's lock until the transaction ends, so their updates and check-ins apply one at a
        time even from several processes (a database with one writer at a time needs nothing more)."""
        ...


class FlowStore(Protocol):
    """Where each person is in a flow: the active one, one set aside, and completed runs."""

    async def active_state(self, user_id: int) -> State | None:
        """The user's in-progress flow, exactly as last saved, or None."""
        ...

    async def save_state(self, user_id: int, state: State | None, now: datetime) -> None:
        """Store the user's position in a flow (None: no flow in progress)."""
        ...

    async def active_touched_at(self, user_id: int) -> datetime | None:
        """When the person's flow in progress last moved (an answer, a step back), or None without one."""
        ...

    async def set_aside(self, user_id: int, state: State, touched_at: datetime, now: datetime) -> None:
        """Keep a flow in progress aside (resumable with ``take_set_aside``) and clear the active one."""
        ...

    async def set_aside_state(self, user_id: int) -> State | None:
        """The flow the person set aside (or that was set aside for them), or None."""
        ...

    async def take_set_aside(self, user_id: int) -> State | None:
        """The flow set aside, removed from where it was kept (the caller makes it the active one), or None."""
        ...

    async def save_run(self, user_id: int, run: CompletedRun) -> int:
        """Store a completed run with every answer; returns its id."""
        ...

    async def run_answers(self, run_id: int) -> dict[str, Any]:
        """Every stored answer of one run, by step id (values decoded from JSON)."""
        ...

    async def count_runs(self, user_id: int) -> int:
        """How many flows this user has completed."""
        ...


class LessonStore(Protocol):
    """What people learned: lessons, next steps and corrections, for /lessons, /done, /edit and /export."""

    async def lessons(
        self, user_id: int, limit: int = 50, *, since: datetime | None = None, offset: int = 0
    ) -> list[LessonEntry]:
        """The user's completed runs that named a lesson, newest first (from ``since`` on, if given)."""
        ...

    async def lesson_overview(self, user_id: int, since: datetime | None = None) -> LessonOverview:
        """How many lessons, and the average feeling before and after, from ``since`` on."""
        ...

    async def lesson_texts(self, user_id: int, since: datetime | None = None, limit: int = 2000) -> list[str]:
        """The newest lessons' texts (at most ``limit``), for finding lessons that recur."""
        ...

    async def lesson(self, user_id: int, run_id: int) -> LessonEntry | None:
        """One of the user's own runs (None for someone else's or a missing one)."""
        ...

    async def checkin_times(self, user_id: int, since: datetime) -> list[datetime]:
        """When the user finished a check-in, from ``since`` on."""
        ...

    async def checkin_moods(self, user_id: int, since: datetime | None = None) -> list[tuple[datetime, int]]:
        """How each check-in from ``since`` on said the day felt (1 rough … 5 great), oldest first."""
        ...

    async def held_lessons(self, user_id: int, since: datetime | None = None, limit: int = 3) -> list[HeldLesson]:
        """Lessons a revisit heard had helped ("yes") from ``since`` on, newest answer first, each once."""
        ...

    async def settle_next_step(self, user_id: int, run_id: int, outcome: str, at: datetime) -> bool:
        """The person says how one of their next steps went (done, partly) or sets it down (``dropped``): it is no
        longer asked about. False when the entry is not theirs or has no next step."""
        ...

    async def reopen_next_step(self, user_id: int, run_id: int, due: date) -> bool:
        """Keep a next step open after all: no outcome, asked about from ``due`` on. False when not theirs."""
        ...

    async def correct_entry(self, user_id: int, run_id: int, part: str, text: str, at: datetime) -> bool:
        """Replace an entry's lesson or next step (``part``) with the person's corrected words. The answers as first
        given stay with the entry (the export shows both). False when the entry is not theirs."""
        ...

    async def delete_run(self, user_id: int, run_id: int) -> bool:
        """Delete one of the user's runs with all its answers; False when there was none."""
        ...

    async def export_runs(
        self, user_id: int, after: tuple[str, int] | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` of the person's runs, oldest first, each with every answer and time, as JSON-ready data."""
        ...

    async def export(self, user_id: int) -> dict[str, Any]:
        """Everything stored about a user in one piece (the person, every run with every answer, check-ins)."""
        ...


class CheckinStore(Protocol):
    """Daily check-ins: settings and schedule, each day's nudge, next steps asked about, lessons revisited."""

    async def checkin(self, user_id: int) -> CheckinRow | None:
        """The person's check-in settings and schedule, or None before they ever opened /checkin."""
        ...

    async def save_checkin(self, user_id: int, row: CheckinRow) -> None:
        """Store the person's check-in settings and schedule (wake_at is indexed for the periodic job)."""
        ...

    async def claim_checkin(self, user_id: int) -> bool:
        """Take the person's check-in row for this transaction; False when another transaction holds it (it
        is nudging them now), so two schedulers never nudge the same person at once."""
        ...

    async def due_checkins(
        self, now: datetime, limit: int = 500, after: tuple[str, int] | None = None
    ) -> list[tuple[int, str, str]]:
        """People whose check-in schedule needs attention at ``now`` (user id, external id, wake_at), oldest first;
        ``after`` (the wake_at and user id of the last one of the previous page) pages through them."""
        ...

    async def record_nudge(self, user_id: int, day: date, now: datetime, run_id: int | None, reminder: bool) -> bool:
        """Record the nudge for a local date; False when that date already had one (nothing is written)."""
        ...

    async def open_next_steps(self, user_id: int, limit: int = 50) -> list[PlannedStep]:
        """The person's next steps still open, newest first: none reported done or partly done, none let go."""
        ...

    async def plan_next_step(self, run_id: int, due: date) -> None:
        """Store the local day a run's next step is due: check-ins ask about it from that day on."""
        ...

    async def record_not_yet(self, run_id: int, at: datetime, ask_again: date | None) -> None:
        """A check-in heard "not yet" about a run's next step: it stays open and is asked about again on ``ask_again``,
        or with None it is let go (no longer asked about; its outcome stays "not yet")."""
        ...

    async def record_outcome(self, run_id: int, outcome: str, at: datetime) -> None:
        """Store how a run's next step went (done, partly, not_yet), as a check-in reported it."""
        ...

    async def past_lessons(self, user_id: int, earliest: datetime, latest: datetime) -> list[PastLesson]:
        """Entries written between ``earliest`` and ``latest`` with a lesson, and the revisits already asked about each
        (for ``checkins.revisit_to_ask``)."""
        ...

    async def revisit_on(self, user_id: int, day: date) -> Revisit | None:
        """The revisit brought back on local date ``day``, or None."""
        ...

    async def ask_revisit(self, user_id: int, run_id: int, kind: str, day: date, at: datetime) -> int | None:
        """Record that a check-in on local date ``day`` brings a lesson back; its id, or None when that lesson was
        already brought back for ``kind`` (the unique constraint keeps it to once)."""
        ...

    async def answer_revisit(self, user_id: int, revisit_id: int, answer: str, at: datetime) -> None:
        """Store whether a lesson brought back has helped since (yes, not_yet, changed)."""
        ...

    async def switch_off_checkins_for(self, external_id: str) -> bool:
        """Turn check-ins off for someone who blocked the bot; True when they were on."""
        ...


class HeavyStore(Protocol):
    """Exports and charts waiting to be built off the event loop."""

    async def request_heavy(self, user_id: int, kind: str, detail: str, now: datetime) -> bool:
        """Ask for a heavy piece of work for a person; False when one of this kind is already waiting."""
        ...

    async def heavy_requests(self, limit: int = 100) -> list[HeavyRequest]:
        """Waiting heavy requests, oldest first."""
        ...

    async def take_heavy(self, request_id: int) -> bool:
        """Remove a request whose result is being delivered; False when it is gone already (/forget)."""
        ...


class DeliveryStore(Protocol):
    """Delivery that loses nothing and doubles nothing: the inbox of received updates, the ids already
    handled, the update offset, quarantined updates, and the outbox of replies."""

    async def record_updates(
        self, updates: list[tuple[int, int | None, str]], next_offset: int | None, now: datetime
    ) -> None:
        """Durably keep received updates (id, chat id, JSON) not yet handled, and advance the offset."""
        ...

    async def next_update_offset(self) -> int | None:
        """The getUpdates offset that confirms every update already stored, or None before the first."""
        ...

    async def forget_update_offset(self) -> None:
        """Drop the stored getUpdates offset (and when updates were last seen): the next batch sets them anew."""
        ...

    async def last_update_seen(self) -> tuple[int, datetime] | None:
        """The highest update id recorded and when updates were last recorded; None before the first (or when an older
        version recorded the offset without the time)."""
        ...

    async def pending_updates(self, chat_id: int | None = None) -> list[tuple[int, str]]:
        """Stored updates not handled yet, oldest first: (update id, JSON); with ``chat_id`` only that chat's
        (0 for updates that belong to no chat)."""
        ...

    async def chats_with_pending_updates(self, received_before: datetime) -> list[int]:
        """The chats with updates stored before ``received_before`` and not handled yet (0: no chat)."""
        ...

    async def claim_update(self, update_id: int, now: datetime) -> bool:
        """Mark an update handled; False when it already was (a duplicate to ignore)."""
        ...

    async def count_attempt(self, update_id: int, now: datetime, apart: timedelta) -> tuple[int, datetime | None]:
        """Count one more attempt at handling a stored update, begun ``now``, unless the last one counted began
        less than ``apart`` before (another process beginning it at the same time, not a new try); returns the
        attempts so far and when it was first stored (0 and None once it is no longer in the inbox)."""
        ...

    async def quarantine_update(
        self, update_id: int, chat_id: int | None, payload: str, reason: str, now: datetime
    ) -> bool:
        """Keep an update that could not be parsed or handled (its raw JSON and why), and mark it handled so it is
        never tried again; False when it was already in quarantine."""
        ...

    async def quarantined_among(self, update_ids: list[int]) -> set[int]:
        """Which of these updates are in quarantine (they must not be tried again)."""
        ...

    async def count_quarantined(self) -> int:
        """How many updates are kept in quarantine."""
        ...

    async def enqueue_replies(self, chat_id: int, payloads: list[str], now: datetime) -> list[int]:
        """Add replies for a chat to the outbox (sent after the transaction commits); returns their ids."""
        ...

    async def pending_replies(self, chat_id: int | None = None) -> list[tuple[int, int, str]]:
        """Replies committed but not yet sent, in order: (outbox id, chat id, JSON)."""
        ...

    async def chats_with_pending_replies(self) -> list[int]:
        """The chats that have replies committed but not yet sent, the one whose reply has waited longest first."""
        ...

    async def mark_replies_sent(self, outbox_ids: list[int]) -> None:
        """Remove replies from the outbox once Telegram has them (or will never take them)."""
        ...

    async def forget_chat(self, chat_id: int) -> None:
        """Delete what delivery keeps for a chat: its queued updates, unsent replies and quarantined updates."""
        ...

    async def delivery_lag(self) -> DeliveryLag:
        """How many updates wait in the inbox and replies in the outbox, and when the oldest of each arrived."""
        ...


class ConversationStore(PeopleStore, FlowStore, LessonStore, CheckinStore, HeavyStore, Protocol):
    """Everything the conversation service and its features read and write about people."""


class Transaction(ConversationStore, DeliveryStore, Protocol):
    """One unit of work: everything done on it commits together, or none of it does."""


class Storage(Protocol):
    """A database the bot runs on: transactions, read-only snapshots, and which updates were just claimed."""

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """One write transaction; a failure raises a ``bot.storage.errors`` type and keeps nothing of it."""
        ...

    def snapshot(self) -> AbstractAsyncContextManager[Transaction]:
        """A consistent read-only view (use its read methods only); other writers go on meanwhile where the
        implementation can offer that."""
        ...

    def was_claimed(self, update_id: int) -> bool:
        """True (once) when a committed transaction of this process marked ``update_id`` handled."""
        ...
