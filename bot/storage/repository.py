"""Every query the bot makes, behind methods named for what they are for. Parameterised SQL only."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import aiosqlite

from bot.checkins import CheckinSettings, CheckinState, PastLesson, PlannedStep
from bot.engine import CompletedRun, State
from bot.storage.database import write_transaction
from bot.storage.timestamps import from_db, to_db


@dataclass(frozen=True)
class User:
    """A person, known by an adapter-specific id such as ``tg:123`` or ``cli:alex``."""

    id: int
    external_id: str
    created_at: datetime
    is_new: bool
    onboarded: bool = False
    pending_flow: str | None = None
    safety_hold: str | None = None
    locale: str | None = None
    """The language the person's app is set to (Telegram's ``language_code``), for this message only; never stored."""
    awaiting: str | None = None
    """What their next typed message is read against outside a flow (JSON, see ``bot.conversation.Awaiting``)."""


@dataclass(frozen=True)
class LessonEntry:
    """One completed run, as lists and summaries show it."""

    run_id: int
    flow_id: str
    flow_title: str
    finished_at: datetime
    lesson: str | None
    next_step: str | None
    feeling: str | None
    feeling_before: int | None
    feeling_after: int | None
    next_step_outcome: str | None = None
    next_step_due: date | None = None
    next_step_let_go_at: datetime | None = None
    """When the step was set down: after the last "not yet", or dropped by the person (outcome ``dropped``)."""


_ENTRY_COLUMNS = (
    "id, flow_id, flow_title, finished_at, lesson, next_step, feeling, feeling_before, feeling_after, "
    "next_step_outcome, next_step_due, next_step_let_go_at"
)


def _entry(r: Any) -> LessonEntry:
    return LessonEntry(
        run_id=int(r[0]),
        flow_id=r[1],
        flow_title=r[2],
        finished_at=from_db(r[3]),
        lesson=r[4],
        next_step=r[5],
        feeling=r[6],
        feeling_before=r[7],
        feeling_after=r[8],
        next_step_outcome=r[9],
        next_step_due=_date_or_none(r[10]),
        next_step_let_go_at=from_db(r[11]) if r[11] else None,
    )


@dataclass(frozen=True)
class HeldLesson:
    """A lesson a revisit heard had helped: its words, and whether that was a week or a month on."""

    run_id: int
    lesson: str
    kind: str


@dataclass(frozen=True)
class LessonOverview:
    """Counts and averages over a user's lessons in a period."""

    count: int
    average_before: float | None
    average_after: float | None
    with_feelings: int = 0


_CLAIMED_KEPT = 10_000


@dataclass(frozen=True)
class HeavyRequest:
    """An export or a chart waiting to be built for a person."""

    id: int
    user_id: int
    external_id: str
    kind: str
    detail: str


class Repository:
    """Reads and writes for one open connection. Group a handled message's calls in ``transaction()``."""

    def __init__(self, connection: aiosqlite.Connection, reader: aiosqlite.Connection | None = None) -> None:
        self._db = connection
        self._reader = reader
        self._reader_lock = asyncio.Lock()
        # One connection serves every chat: transactions from concurrent tasks must not interleave on it.
        self._lock = asyncio.Lock()
        self._checkpoint_after_commit = False
        # Within one transaction: the answers each person's flow held when read, and the people whose flow
        # ended without a completed run (cancelled). Both tell whether something they wrote was removed.
        self._answers_read: dict[int, dict[str, Any]] = {}
        self._flows_ended: set[int] = set()
        # Update ids claimed by transactions that committed, until the intake asks (see ``was_claimed``), and
        # those claimed by the transaction under way.
        self._claimed: set[int] = set()
        self._claiming: list[int] = []

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Repository]:
        """One write transaction (BEGIN IMMEDIATE); everything inside commits together or not at all.

        Transactions on one Repository run one at a time; keep network I/O outside them.
        """
        async with self._lock:
            self._answers_read.clear()
            self._flows_ended.clear()
            self._claiming.clear()
            try:
                async with write_transaction(self._db):
                    yield self
                    self._checkpoint_after_commit |= bool(self._flows_ended)
            except BaseException:
                self._checkpoint_after_commit = False
                raise
            if len(self._claimed) > _CLAIMED_KEPT:
                self._claimed.clear()  # ids nobody asked about (updates handled outside the intake)
            self._claimed.update(self._claiming)
            if self._checkpoint_after_commit:
                # Text the person removed (a cancelled flow, an answer replaced after /back, a deleted entry,
                # a held message let go, /forget) still sits in earlier page images in the write-ahead log:
                # a checkpoint copies the pages back (cells zeroed by secure_delete) and truncates the log.
                self._checkpoint_after_commit = False
                await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Repository]:
        """A consistent read-only view for long reads (an export, a chart), to use with read methods only.

        With a second (read-only) connection the view takes no lock, so other people's writes go on while
        it is read; without one (an in-memory database) it waits for, and then holds, the write lock.
        """
        if self._reader is None:
            async with self._lock:
                await self._db.execute("BEGIN")
                try:
                    yield self
                finally:
                    await self._db.execute("COMMIT")
            return
        view = Repository(self._reader)
        # One view at a time on the read connection (a transaction cannot open inside another); reads are
        # short, and the long ones (exports, charts) use connections of their own in worker processes.
        async with self._reader_lock:
            # A deferred BEGIN: every read until COMMIT sees the database as it was at the first one.
            await self._reader.execute("BEGIN")
            try:
                yield view
            finally:
                await self._reader.execute("COMMIT")

    async def user(self, external_id: str, now: datetime) -> User:
        """The user with this external id, created on first sight."""
        found = await self.find_user(external_id)
        if found is not None:
            return found
        cursor = await self._db.execute(
            "INSERT INTO users (external_id, created_at) VALUES (?, ?)", (external_id, to_db(now))
        )
        assert cursor.lastrowid is not None
        return User(cursor.lastrowid, external_id, now, is_new=True)

    async def find_user(self, external_id: str) -> User | None:
        """The user with this external id, or None (nothing is created)."""
        async with self._db.execute(
            "SELECT id, created_at, onboarded_at, pending_flow, safety_hold, awaiting FROM users WHERE external_id = ?",
            (external_id,),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return User(
            int(row[0]), external_id, from_db(row[1]), False, row[2] is not None, row[3], row[4], awaiting=row[5]
        )

    async def hold_for_safety(self, user_id: int, held: str | None) -> None:
        """Keep a message (as JSON) while the person answers the safety question; None lets it go."""
        cursor = await self._db.execute(
            "UPDATE users SET safety_hold = ? WHERE id = ? AND safety_hold IS NOT ?", (held, user_id, held)
        )
        # A held message let go (Yes, a command, or expiry) may have been the only copy of those words.
        self._checkpoint_after_commit |= held is None and cursor.rowcount > 0

    async def keep_awaiting(self, user_id: int, awaiting: str | None, *, words_removed: bool = False) -> None:
        """Store what the person's next typed message is read against outside a flow (JSON); None: nothing.

        ``words_removed``: the earlier value held words the person wrote that are no longer kept.
        """
        cursor = await self._db.execute("UPDATE users SET awaiting = ? WHERE id = ?", (awaiting, user_id))
        # Like a held message let go: the earlier JSON may have been the only copy of those words.
        self._checkpoint_after_commit |= words_removed and cursor.rowcount > 0

    async def mark_onboarded(self, user_id: int, now: datetime) -> None:
        """Record that the person read what the bot is and is not, and said yes."""
        await self._db.execute(
            "UPDATE users SET onboarded_at = ?, pending_flow = NULL WHERE id = ?", (to_db(now), user_id)
        )

    async def remember_pending_flow(self, user_id: int, flow_id: str | None) -> None:
        """Remember which flow a person asked for before onboarding, to start it once they confirm."""
        await self._db.execute("UPDATE users SET pending_flow = ? WHERE id = ?", (flow_id, user_id))

    async def active_state(self, user_id: int) -> State | None:
        """The user's in-progress flow, exactly as last saved, or None."""
        async with self._db.execute("SELECT state FROM active_runs WHERE user_id = ?", (user_id,)) as cursor:
            row = await cursor.fetchone()
        state = None if row is None else State.from_json(json.loads(row[0]))
        if state is not None:
            self._answers_read[user_id] = dict(state.answers)
        return state

    async def save_state(self, user_id: int, state: State | None, now: datetime) -> None:
        """Store the user's position in a flow (None: no flow in progress).

        When this removes or replaces an answer read earlier in the transaction, the commit is followed by
        a checkpoint, so the removed text leaves the write-ahead log too.
        """
        before = self._answers_read.pop(user_id, None)
        if before:
            if state is None:
                self._flows_ended.add(user_id)  # kept only if a completed run is saved in this transaction
            elif any(state.answers.get(step) != answer for step, answer in before.items()):
                self._checkpoint_after_commit = True
        if state is None:
            await self._db.execute("DELETE FROM active_runs WHERE user_id = ?", (user_id,))
            return
        await self._db.execute(
            "INSERT INTO active_runs (user_id, flow_id, flow_version, state, started_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET flow_id = excluded.flow_id, "
            "flow_version = excluded.flow_version, state = excluded.state, started_at = excluded.started_at, "
            "updated_at = excluded.updated_at",
            (
                user_id,
                state.flow_id,
                state.flow_version,
                json.dumps(state.to_json(), ensure_ascii=False),
                to_db(state.started_at),
                to_db(now),
            ),
        )

    async def save_run(self, user_id: int, run: CompletedRun) -> int:
        """Store a completed run with every answer; returns its id."""
        self._flows_ended.discard(user_id)
        feeling = run.meant("feeling")
        cursor = await self._db.execute(
            "INSERT INTO runs (user_id, flow_id, flow_version, flow_title, started_at, finished_at, lesson, "
            "next_step, feeling, feeling_before, feeling_after, meaning, inputs) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                user_id,
                run.flow_id,
                run.flow_version,
                run.flow_title,
                to_db(run.started_at),
                to_db(run.finished_at),
                _text_or_none(run.meant("lesson")),
                _text_or_none(run.meant("next_step")),
                _text_or_none(feeling),
                _int_or_none(run.meant("feeling_before")),
                _int_or_none(run.meant("feeling_after")),
                json.dumps(dict(run.meaning), ensure_ascii=False),
                json.dumps(dict(run.inputs), ensure_ascii=False),
            ),
        )
        run_id = cursor.lastrowid
        assert run_id is not None
        await self._db.executemany(
            "INSERT INTO run_answers (run_id, step_id, value, shown, answered_at) VALUES (?, ?, ?, ?, ?)",
            [
                (
                    run_id,
                    step_id,
                    json.dumps(answer.value, ensure_ascii=False),
                    answer.shown,
                    to_db(answer.answered_at),
                )
                for step_id, answer in run.answers.items()
            ],
        )
        return run_id

    async def lessons(
        self, user_id: int, limit: int = 50, *, since: datetime | None = None, offset: int = 0
    ) -> list[LessonEntry]:
        """The user's completed runs that named a lesson, newest first (from ``since`` on, if given)."""
        async with self._db.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM runs WHERE user_id = ? AND finished_at >= ? "  # noqa: S608 (constant)
            "AND lesson IS NOT NULL ORDER BY finished_at DESC, id DESC LIMIT ? OFFSET ?",
            (user_id, _since(since), limit, offset),
        ) as cursor:
            rows = await cursor.fetchall()
        return [_entry(r) for r in rows]

    async def lesson_overview(self, user_id: int, since: datetime | None = None) -> LessonOverview:
        """How many lessons, and the average feeling before and after, from ``since`` on."""
        async with self._db.execute(
            "SELECT count(*), avg(feeling_before), avg(feeling_after), "
            "count(CASE WHEN feeling_before IS NOT NULL AND feeling_after IS NOT NULL THEN 1 END) FROM runs "
            "WHERE user_id = ? AND finished_at >= ? AND lesson IS NOT NULL",
            (user_id, _since(since)),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return LessonOverview(int(row[0]), row[1], row[2], int(row[3]))

    async def lesson_texts(self, user_id: int, since: datetime | None = None, limit: int = 2000) -> list[str]:
        """The newest lessons' texts (at most ``limit``), for finding lessons that recur."""
        async with self._db.execute(
            "SELECT lesson FROM runs WHERE user_id = ? AND finished_at >= ? AND lesson IS NOT NULL "
            "ORDER BY finished_at DESC LIMIT ?",
            (user_id, _since(since), limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [str(row[0]) for row in rows]

    async def checkin_times(self, user_id: int, since: datetime) -> list[datetime]:
        """When the user finished a check-in, from ``since`` on."""
        async with self._db.execute(
            "SELECT finished_at FROM runs WHERE user_id = ? AND flow_id = 'checkin' AND finished_at >= ?",
            (user_id, _since(since)),
        ) as cursor:
            rows = await cursor.fetchall()
        return [from_db(row[0]) for row in rows]

    async def lesson(self, user_id: int, run_id: int) -> LessonEntry | None:
        """One of the user's own runs (None for someone else's or a missing one)."""
        async with self._db.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM runs WHERE user_id = ? AND id = ? AND flow_id != 'checkin'",  # noqa: S608
            (user_id, run_id),
        ) as cursor:
            r = await cursor.fetchone()
        return None if r is None else _entry(r)

    async def checkin_moods(self, user_id: int, since: datetime | None = None) -> list[tuple[datetime, int]]:
        """How each check-in from ``since`` on said the day felt (1 rough … 5 great), oldest first."""
        async with self._db.execute(
            "SELECT finished_at, json_extract(meaning, '$.mood') FROM runs WHERE user_id = ? AND flow_id = 'checkin' "
            "AND finished_at >= ? ORDER BY finished_at",
            (user_id, _since(since)),
        ) as cursor:
            rows = await cursor.fetchall()
        return [(from_db(row[0]), int(row[1])) for row in rows if isinstance(row[1], int)]

    async def settle_next_step(self, user_id: int, run_id: int, outcome: str, at: datetime) -> bool:
        """The person says how one of their next steps went (done, partly) or sets it down (``dropped``): it is
        no longer asked about. False when the entry is not theirs or has no next step."""
        cursor = await self._db.execute(
            "UPDATE runs SET next_step_outcome = ?, outcome_at = ?, "
            "next_step_let_go_at = CASE WHEN ? = 'dropped' THEN ? ELSE NULL END "
            "WHERE user_id = ? AND id = ? AND next_step IS NOT NULL AND flow_id != 'checkin'",
            (outcome, to_db(at), outcome, to_db(at), user_id, run_id),
        )
        return cursor.rowcount == 1

    async def reopen_next_step(self, user_id: int, run_id: int, due: date) -> bool:
        """Keep a next step open after all: no outcome, asked about from ``due`` on. False when not theirs."""
        cursor = await self._db.execute(
            "UPDATE runs SET next_step_outcome = NULL, outcome_at = NULL, next_step_let_go_at = NULL, "
            "next_step_not_yet = 0, next_step_due = ? "
            "WHERE user_id = ? AND id = ? AND next_step IS NOT NULL AND flow_id != 'checkin'",
            (due.isoformat(), user_id, run_id),
        )
        return cursor.rowcount == 1

    async def correct_entry(self, user_id: int, run_id: int, part: str, text: str, at: datetime) -> bool:
        """Replace an entry's lesson or next step (``part``) with the person's corrected words. The answers as
        first given stay with the entry (the export shows both). False when the entry is not theirs."""
        column = {"lesson": "lesson", "next_step": "next_step"}[part]
        cursor = await self._db.execute(
            f"UPDATE runs SET {column} = ?, {column}_corrected_at = ? "  # noqa: S608 (a fixed column name)
            "WHERE user_id = ? AND id = ? AND flow_id != 'checkin'",
            (text, to_db(at), user_id, run_id),
        )
        return cursor.rowcount == 1

    # --- lesson revisits -------------------------------------------------------------------------------

    async def past_lessons(self, user_id: int, earliest: datetime, latest: datetime) -> list[PastLesson]:
        """Entries written between ``earliest`` and ``latest`` with a lesson, and the revisits already asked
        about each (for ``checkins.revisit_to_ask``)."""
        async with self._db.execute(
            "SELECT r.id, r.lesson, r.finished_at, group_concat(v.kind), max(v.answer = 'changed') FROM runs r "
            "LEFT JOIN revisits v ON v.run_id = r.id WHERE r.user_id = ? AND r.flow_id != 'checkin' "
            "AND r.lesson IS NOT NULL AND r.finished_at >= ? AND r.finished_at <= ? GROUP BY r.id",
            (user_id, to_db(earliest), to_db(latest)),
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            PastLesson(int(r[0]), str(r[1]), from_db(r[2]), frozenset((r[3] or "").split(",")) - {""}, bool(r[4]))
            for r in rows
        ]

    async def revisit_on(self, user_id: int, day: date) -> tuple[int, int, str, str, str | None] | None:
        """The revisit brought back on local date ``day`` (id, run id, lesson, kind, answer), or None."""
        async with self._db.execute(
            "SELECT v.id, v.run_id, r.lesson, v.kind, v.answer FROM revisits v JOIN runs r ON r.id = v.run_id "
            "WHERE v.user_id = ? AND v.asked_on = ? ORDER BY v.id LIMIT 1",
            (user_id, day.isoformat()),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else (int(row[0]), int(row[1]), str(row[2]), str(row[3]), row[4])

    async def ask_revisit(self, user_id: int, run_id: int, kind: str, day: date, at: datetime) -> int | None:
        """Record that a check-in on local date ``day`` brings a lesson back; its id, or None when that lesson
        was already brought back for ``kind`` (the unique constraint keeps it to once)."""
        cursor = await self._db.execute(
            "INSERT INTO revisits (user_id, run_id, kind, asked_on, asked_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (user_id, run_id, kind, day.isoformat(), to_db(at)),
        )
        return cursor.lastrowid if cursor.rowcount == 1 else None

    async def answer_revisit(self, user_id: int, revisit_id: int, answer: str, at: datetime) -> None:
        """Store whether a lesson brought back has helped since (yes, not_yet, changed)."""
        await self._db.execute(
            "UPDATE revisits SET answer = ?, answered_at = ? WHERE id = ? AND user_id = ?",
            (answer, to_db(at), revisit_id, user_id),
        )

    async def held_lessons(self, user_id: int, since: datetime | None = None, limit: int = 3) -> list[HeldLesson]:
        """Lessons a revisit heard had helped ("yes") from ``since`` on, newest answer first, each once."""
        async with self._db.execute(
            "SELECT r.id, r.lesson, v.kind FROM revisits v JOIN runs r ON r.id = v.run_id "
            "WHERE v.user_id = ? AND v.answer = 'yes' AND v.answered_at >= ? AND r.lesson IS NOT NULL "
            "ORDER BY v.answered_at DESC, v.id DESC",
            (user_id, _since(since)),
        ) as cursor:
            rows = await cursor.fetchall()
        held: dict[int, HeldLesson] = {}
        for row in rows:
            held.setdefault(int(row[0]), HeldLesson(int(row[0]), str(row[1]), str(row[2])))
        return list(held.values())[:limit]

    async def delete_run(self, user_id: int, run_id: int) -> bool:
        """Delete one of the user's runs with all its answers; False when there was none."""
        cursor = await self._db.execute("DELETE FROM runs WHERE user_id = ? AND id = ?", (user_id, run_id))
        deleted = cursor.rowcount == 1
        self._checkpoint_after_commit |= deleted
        return deleted

    async def record_outcome(self, run_id: int, outcome: str, at: datetime) -> None:
        """Store how a run's next step went (done, partly, not_yet), as a check-in reported it."""
        await self._db.execute(
            "UPDATE runs SET next_step_outcome = ?, outcome_at = ? WHERE id = ?", (outcome, to_db(at), run_id)
        )

    async def forget_user(self, user_id: int, chat_id: int | None) -> int:
        """Delete everything stored about a user, in every table; returns how many runs were deleted.

        Rows that hang off the user go with it (foreign keys cascade); the chat's queued updates, replies
        and quarantined updates are removed too. With secure_delete on, the text is overwritten, not just unlinked.
        """
        runs = await self.count_runs(user_id)
        await self._db.execute("DELETE FROM users WHERE id = ?", (user_id,))
        self._checkpoint_after_commit = True
        if chat_id is not None:
            await self._db.execute("DELETE FROM inbox WHERE chat_id = ?", (chat_id,))
            await self._db.execute("DELETE FROM outbox WHERE chat_id = ?", (chat_id,))
            await self._db.execute("DELETE FROM dead_letters WHERE chat_id = ?", (chat_id,))
        return runs

    async def export_person(self, user_id: int) -> dict[str, Any]:
        """What an export holds besides the runs, as JSON-ready data: the person, a flow in progress, check-ins."""
        async with self._db.execute(
            "SELECT external_id, created_at, onboarded_at FROM users WHERE id = ?", (user_id,)
        ) as cursor:
            user = await cursor.fetchone()
        state = await self.active_state(user_id)
        aside = await self.set_aside_state(user_id)
        return {
            "user": {"created_at": user[1], "onboarded_at": user[2]} if user else None,
            "in_progress": state.to_json() if state else None,
            "set_aside": aside.to_json() if aside else None,
            "checkin": await self._checkin_export(user_id),
        }

    async def export_runs(
        self, user_id: int, after: tuple[str, int] | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` of the person's runs, oldest first, each with every answer and time, as JSON-ready data.

        ``after`` is the (``finished_at``, ``id``) of the last run of the previous page: an export reads its
        runs page by page, so a person with years of entries never sits in memory all at once.
        """
        finished, last_id = after or ("", 0)
        async with self._db.execute(
            "SELECT id, flow_id, flow_version, flow_title, started_at, finished_at, lesson, next_step, feeling, "
            "feeling_before, feeling_after, meaning, inputs, next_step_outcome, outcome_at, next_step_due, "
            "next_step_not_yet, next_step_let_go_at, lesson_corrected_at, next_step_corrected_at FROM runs "
            "WHERE user_id = ? AND (finished_at > ? OR (finished_at = ? AND id > ?)) ORDER BY finished_at, id LIMIT ?",
            (user_id, finished, finished, last_id, limit),
        ) as cursor:
            runs = list(await cursor.fetchall())
        if not runs:
            return []
        marks = ",".join("?" * len(runs))  # placeholders only: the ids themselves are bound parameters
        async with self._db.execute(
            f"SELECT run_id, step_id, value, shown, answered_at FROM run_answers WHERE run_id IN ({marks}) "  # noqa: S608
            "ORDER BY run_id, answered_at",
            [int(r[0]) for r in runs],
        ) as cursor:
            answers = await cursor.fetchall()
        by_run: dict[int, list[dict[str, Any]]] = {}
        for run_id, step_id, value, shown, answered_at in answers:
            by_run.setdefault(int(run_id), []).append(
                {"step": step_id, "value": json.loads(value), "shown": shown, "answered_at": answered_at}
            )
        async with self._db.execute(
            f"SELECT run_id, kind, asked_at, answer, answered_at FROM revisits WHERE run_id IN ({marks}) "  # noqa: S608
            "ORDER BY run_id, asked_at",
            [int(r[0]) for r in runs],
        ) as cursor:
            revisited = await cursor.fetchall()
        revisits: dict[int, list[dict[str, Any]]] = {}
        for run_id, kind, asked_at, answer, answered_at in revisited:
            revisits.setdefault(int(run_id), []).append(
                {"kind": kind, "asked_at": asked_at, "answer": answer, "answered_at": answered_at}
            )
        return [
            {
                "id": r[0],
                "flow_id": r[1],
                "flow_version": r[2],
                "flow_title": r[3],
                "started_at": r[4],
                "finished_at": r[5],
                "lesson": r[6],
                "next_step": r[7],
                "feeling": r[8],
                "feeling_before": r[9],
                "feeling_after": r[10],
                "meaning": json.loads(r[11]),
                "inputs": json.loads(r[12]),
                "next_step_outcome": r[13],
                "outcome_at": r[14],
                "next_step_due": r[15],
                "next_step_not_yet_answers": r[16],
                "next_step_let_go_at": r[17],
                "lesson_corrected_at": r[18],
                "next_step_corrected_at": r[19],
                "revisits": revisits.get(int(r[0]), []),
                "answers": by_run.get(int(r[0]), []),
            }
            for r in runs
        ]

    async def export(self, user_id: int) -> dict[str, Any]:
        """Everything stored about a user in one piece (the person, every run with every answer, check-ins)."""
        runs: list[dict[str, Any]] = []
        while page := await self.export_runs(user_id, (runs[-1]["finished_at"], runs[-1]["id"]) if runs else None):
            runs.extend(page)
        return {**await self.export_person(user_id), "runs": runs}

    async def _checkin_export(self, user_id: int) -> dict[str, Any] | None:
        row = await self.checkin(user_id)
        if row is None:
            return None
        return {
            "enabled": row.settings.enabled,
            "local_time": row.settings.local_time.strftime("%H:%M"),
            "timezone": row.settings.timezone,
            "place": row.place or None,
            "next_due_at": to_db(row.state.due_at) if row.state.due_at else None,
            "unanswered_in_a_row": row.state.unanswered,
        }

    async def run_answers(self, run_id: int) -> dict[str, Any]:
        """Every stored answer of one run, by step id (values decoded from JSON)."""
        async with self._db.execute("SELECT step_id, value FROM run_answers WHERE run_id = ?", (run_id,)) as cursor:
            rows = await cursor.fetchall()
        return {row[0]: json.loads(row[1]) for row in rows}

    # --- heavy requests (exports, charts), built off the event loop ----------------------------------

    async def request_heavy(self, user_id: int, kind: str, detail: str, now: datetime) -> bool:
        """Ask for a heavy piece of work for a person; False when one of this kind is already waiting.

        A waiting request keeps its place in the queue and takes the newest ``detail`` (a chart's period).
        """
        async with self._db.execute(
            "SELECT 1 FROM heavy_requests WHERE user_id = ? AND kind = ?", (user_id, kind)
        ) as cursor:
            waiting = await cursor.fetchone() is not None
        if waiting:
            await self._db.execute(
                "UPDATE heavy_requests SET detail = ? WHERE user_id = ? AND kind = ?", (detail, user_id, kind)
            )
            return False
        await self._db.execute(
            "INSERT INTO heavy_requests (user_id, kind, detail, requested_at) VALUES (?, ?, ?, ?)",
            (user_id, kind, detail, to_db(now)),
        )
        return True

    async def heavy_requests(self, limit: int = 100) -> list[HeavyRequest]:
        """Waiting heavy requests, oldest first."""
        async with self._db.execute(
            "SELECT h.id, h.user_id, u.external_id, h.kind, h.detail FROM heavy_requests h "
            "JOIN users u ON u.id = h.user_id ORDER BY h.id LIMIT ?",
            (limit,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [HeavyRequest(int(r[0]), int(r[1]), r[2], r[3], r[4]) for r in rows]

    async def take_heavy(self, request_id: int) -> bool:
        """Remove a request whose result is being delivered; False when it is gone already (/forget)."""
        cursor = await self._db.execute("DELETE FROM heavy_requests WHERE id = ?", (request_id,))
        return cursor.rowcount == 1

    async def count_runs(self, user_id: int) -> int:
        """How many flows this user has completed."""
        async with self._db.execute("SELECT count(*) FROM runs WHERE user_id = ?", (user_id,)) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    # --- check-ins -------------------------------------------------------------------------------------

    async def checkin(self, user_id: int) -> CheckinRow | None:
        """The person's check-in settings and schedule, or None before they ever opened /checkin."""
        async with self._db.execute(
            "SELECT enabled, local_time, timezone, due_at, snoozed_until, unanswered, last_nudge_date, skipped_date, "
            "offered, awaiting, held_date, place FROM checkins WHERE user_id = ?",
            (user_id,),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        settings = CheckinSettings(bool(row[0]), time.fromisoformat(row[1]), row[2])
        state = CheckinState(
            due_at=from_db(row[3]) if row[3] else None,
            snoozed_until=from_db(row[4]) if row[4] else None,
            unanswered=int(row[5]),
            last_nudge_date=_date_or_none(row[6]),
            skipped_date=_date_or_none(row[7]),
            held_date=_date_or_none(row[10]),
        )
        return CheckinRow(settings, state, bool(row[8]), row[9], row[11])

    async def save_checkin(self, user_id: int, row: CheckinRow) -> None:
        """Store the person's check-in settings and schedule (wake_at is indexed for the periodic job)."""
        state, settings = row.state, row.settings
        wake = state.wake_at
        await self._db.execute(
            "INSERT INTO checkins (user_id, enabled, local_time, timezone, due_at, snoozed_until, wake_at, unanswered, "
            "last_nudge_date, skipped_date, offered, awaiting, held_date, place) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(user_id) DO UPDATE SET enabled = excluded.enabled, local_time = excluded.local_time, "
            "timezone = excluded.timezone, due_at = excluded.due_at, snoozed_until = excluded.snoozed_until, "
            "wake_at = excluded.wake_at, unanswered = excluded.unanswered, last_nudge_date = excluded.last_nudge_date, "
            "skipped_date = excluded.skipped_date, offered = excluded.offered, awaiting = excluded.awaiting, "
            "held_date = excluded.held_date, place = excluded.place",
            (
                user_id,
                int(settings.enabled),
                settings.local_time.strftime("%H:%M"),
                settings.timezone,
                to_db(state.due_at) if state.due_at else None,
                to_db(state.snoozed_until) if state.snoozed_until else None,
                to_db(wake) if wake else None,
                state.unanswered,
                state.last_nudge_date.isoformat() if state.last_nudge_date else None,
                state.skipped_date.isoformat() if state.skipped_date else None,
                int(row.offered),
                row.awaiting,
                state.held_date.isoformat() if state.held_date else None,
                row.place,
            ),
        )

    async def due_checkins(
        self, now: datetime, limit: int = 500, after: tuple[str, int] | None = None
    ) -> list[tuple[int, str, str]]:
        """People whose check-in schedule needs attention at ``now`` (user id, external id, wake_at), oldest
        first; ``after`` (the wake_at and user id of the last one of the previous page) pages through them."""
        wake_at, user_id = after or ("", 0)
        async with self._db.execute(
            "SELECT c.user_id, u.external_id, c.wake_at FROM checkins c JOIN users u ON u.id = c.user_id "
            "WHERE c.wake_at IS NOT NULL AND c.wake_at <= ? AND (c.wake_at, c.user_id) > (?, ?) "
            "ORDER BY c.wake_at, c.user_id LIMIT ?",
            (to_db(now), wake_at, user_id, limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [(int(row[0]), str(row[1]), str(row[2])) for row in rows]

    async def record_nudge(self, user_id: int, day: date, now: datetime, run_id: int | None, reminder: bool) -> bool:
        """Record the nudge for a local date; False when that date already had one (nothing is written).

        The unique (user, local date) constraint makes "exactly one nudge a day" hold even if two jobs race.
        A reminder (after snooze) updates the date's row instead.
        """
        if reminder:
            await self._db.execute(
                "UPDATE nudges SET reminders = reminders + 1 WHERE user_id = ? AND local_date = ?",
                (user_id, day.isoformat()),
            )
            return True
        cursor = await self._db.execute(
            "INSERT INTO nudges (user_id, local_date, sent_at, run_id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (user_id, day.isoformat(), to_db(now), run_id),
        )
        return cursor.rowcount == 1

    async def open_next_steps(self, user_id: int, limit: int = 50) -> list[PlannedStep]:
        """The person's next steps still open, newest first: none reported done or partly done, none let go.

        A step answered "not yet" stays open (it is asked about again later). Each comes with the local day it
        is due (a step stored without one is due the day after it was planned).
        """
        async with self._db.execute(
            "SELECT id, next_step, next_step_due, finished_at, next_step_not_yet FROM runs "
            "WHERE user_id = ? AND flow_id != 'checkin' AND next_step IS NOT NULL "
            "AND (next_step_outcome IS NULL OR next_step_outcome = 'not_yet') AND next_step_let_go_at IS NULL "
            "ORDER BY finished_at DESC, id DESC LIMIT ?",
            (user_id, limit),
        ) as cursor:
            rows = await cursor.fetchall()
        steps = []
        for row in rows:
            planned_at = from_db(row[3])
            due = _date_or_none(row[2]) or date.fromordinal(planned_at.date().toordinal() + 1)
            steps.append(PlannedStep(int(row[0]), str(row[1]), due, planned_at, int(row[4])))
        return steps

    async def plan_next_step(self, run_id: int, due: date) -> None:
        """Store the local day a run's next step is due: check-ins ask about it from that day on."""
        await self._db.execute("UPDATE runs SET next_step_due = ? WHERE id = ?", (due.isoformat(), run_id))

    async def record_not_yet(self, run_id: int, at: datetime, ask_again: date | None) -> None:
        """A check-in heard "not yet" about a run's next step: it stays open and is asked about again on
        ``ask_again``, or with None it is let go (no longer asked about; its outcome stays "not yet")."""
        await self._db.execute(
            "UPDATE runs SET next_step_outcome = 'not_yet', outcome_at = ?, next_step_not_yet = next_step_not_yet + 1, "
            "next_step_due = coalesce(?, next_step_due), next_step_let_go_at = ? WHERE id = ?",
            (to_db(at), ask_again.isoformat() if ask_again else None, None if ask_again else to_db(at), run_id),
        )

    async def active_touched_at(self, user_id: int) -> datetime | None:
        """When the person's flow in progress last moved (an answer, a step back), or None without one."""
        async with self._db.execute("SELECT updated_at FROM active_runs WHERE user_id = ?", (user_id,)) as cursor:
            row = await cursor.fetchone()
        return None if row is None else from_db(row[0])

    async def set_aside(self, user_id: int, state: State, touched_at: datetime, now: datetime) -> None:
        """Keep a flow in progress aside (resumable with ``take_set_aside``) and clear the active one.

        One is kept per person: setting another aside replaces the earlier one.
        """
        replaced = await self.set_aside_state(user_id)
        self._checkpoint_after_commit |= replaced is not None  # the earlier one's answers are gone
        await self._db.execute(
            "INSERT INTO set_aside_runs (user_id, flow_id, flow_version, state, touched_at, set_aside_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET flow_id = excluded.flow_id, "
            "flow_version = excluded.flow_version, state = excluded.state, touched_at = excluded.touched_at, "
            "set_aside_at = excluded.set_aside_at",
            (
                user_id,
                state.flow_id,
                state.flow_version,
                json.dumps(state.to_json(), ensure_ascii=False),
                to_db(touched_at),
                to_db(now),
            ),
        )
        self._answers_read.pop(user_id, None)  # the answers are kept, not removed
        await self._db.execute("DELETE FROM active_runs WHERE user_id = ?", (user_id,))

    async def set_aside_state(self, user_id: int) -> State | None:
        """The flow the person set aside (or that was set aside for them), or None."""
        async with self._db.execute("SELECT state FROM set_aside_runs WHERE user_id = ?", (user_id,)) as cursor:
            row = await cursor.fetchone()
        return None if row is None else State.from_json(json.loads(row[0]))

    async def take_set_aside(self, user_id: int) -> State | None:
        """The flow set aside, removed from where it was kept (the caller makes it the active one), or None."""
        state = await self.set_aside_state(user_id)
        if state is not None:
            await self._db.execute("DELETE FROM set_aside_runs WHERE user_id = ?", (user_id,))
        return state

    async def switch_off_checkins_for(self, external_id: str) -> bool:
        """Turn check-ins off for someone who blocked the bot; True when they were on."""
        cursor = await self._db.execute(
            "UPDATE checkins SET enabled = 0, due_at = NULL, snoozed_until = NULL, wake_at = NULL "
            "WHERE enabled = 1 AND user_id = (SELECT id FROM users WHERE external_id = ?)",
            (external_id,),
        )
        return cursor.rowcount == 1

    # --- Telegram delivery: inbox, handled updates, outbox -------------------------------------------

    async def next_update_offset(self) -> int | None:
        """The getUpdates offset that confirms every update already stored, or None before the first."""
        async with self._db.execute("SELECT value FROM bot_state WHERE key = 'update_offset'") as cursor:
            row = await cursor.fetchone()
        return None if row is None else int(row[0])

    async def record_updates(
        self, updates: list[tuple[int, int | None, str]], next_offset: int | None, now: datetime
    ) -> None:
        """Durably keep received updates (id, chat id, JSON) not yet handled, and advance the offset.

        ``next_offset`` None keeps the offset (and the time updates were last seen) as they are.
        """
        await self._db.executemany(
            "INSERT INTO inbox (update_id, chat_id, payload, received_at) SELECT ?, ?, ?, ? "
            "WHERE NOT EXISTS (SELECT 1 FROM handled_updates WHERE update_id = ?) ON CONFLICT DO NOTHING",
            [(update_id, chat_id, payload, to_db(now), update_id) for update_id, chat_id, payload in updates],
        )
        if next_offset is None:
            return
        await self._db.execute(
            "INSERT INTO bot_state (key, value) VALUES ('update_offset', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
            (str(next_offset),),
        )
        await self._db.execute(
            "INSERT INTO bot_state (key, value) VALUES ('update_seen_at', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (to_db(now),),
        )

    async def forget_update_offset(self) -> None:
        """Drop the stored getUpdates offset (and when updates were last seen): the next batch sets them anew."""
        await self._db.execute("DELETE FROM bot_state WHERE key IN ('update_offset', 'update_seen_at')")

    async def last_update_seen(self) -> tuple[int, datetime] | None:
        """The highest update id recorded and when updates were last recorded; None before the first
        (or when an older version recorded the offset without the time)."""
        async with self._db.execute(
            "SELECT key, value FROM bot_state WHERE key IN ('update_offset', 'update_seen_at')"
        ) as cursor:
            values = {str(row[0]): str(row[1]) for row in await cursor.fetchall()}
        if "update_offset" not in values or "update_seen_at" not in values:
            return None
        return int(values["update_offset"]) - 1, from_db(values["update_seen_at"])

    async def quarantine_update(
        self, update_id: int, chat_id: int | None, payload: str, reason: str, now: datetime
    ) -> bool:
        """Keep an update that could not be parsed or handled (its raw JSON and why), and mark it handled
        so it is never tried again; False when it was already in quarantine."""
        cursor = await self._db.execute(
            "INSERT INTO dead_letters (update_id, chat_id, payload, reason, quarantined_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (update_id, chat_id, payload, reason, to_db(now)),
        )
        await self.claim_update(update_id, now)
        return cursor.rowcount == 1

    async def quarantined_among(self, update_ids: list[int]) -> set[int]:
        """Which of these updates are in quarantine (they must not be tried again)."""
        if not update_ids:
            return set()
        marks = ", ".join("?" for _ in update_ids)
        async with self._db.execute(
            f"SELECT update_id FROM dead_letters WHERE update_id IN ({marks})",  # noqa: S608 (only placeholders)
            update_ids,
        ) as cursor:
            return {int(row[0]) for row in await cursor.fetchall()}

    async def count_quarantined(self) -> int:
        """How many updates are kept in quarantine."""
        async with self._db.execute("SELECT count(*) FROM dead_letters") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def pending_updates(self) -> list[tuple[int, str]]:
        """Stored updates not handled yet, oldest first: (update id, JSON)."""
        async with self._db.execute("SELECT update_id, payload FROM inbox ORDER BY update_id") as cursor:
            rows = await cursor.fetchall()
        return [(int(row[0]), str(row[1])) for row in rows]

    async def claim_update(self, update_id: int, now: datetime) -> bool:
        """Mark an update handled; False when it already was (a duplicate to ignore)."""
        cursor = await self._db.execute(
            "INSERT INTO handled_updates (update_id, handled_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (update_id, to_db(now)),
        )
        await self._db.execute("DELETE FROM inbox WHERE update_id = ?", (update_id,))
        self._claiming.append(update_id)
        return cursor.rowcount == 1

    def was_claimed(self, update_id: int) -> bool:
        """True (once) when a committed transaction of this process marked ``update_id`` handled: the intake
        then needs no write of its own to settle it."""
        if update_id in self._claimed:
            self._claimed.discard(update_id)
            return True
        return False

    async def count_attempt(self, update_id: int) -> int:
        """Count one more failed attempt at handling an update; returns the attempts so far."""
        await self._db.execute("UPDATE inbox SET attempts = attempts + 1 WHERE update_id = ?", (update_id,))
        async with self._db.execute("SELECT attempts FROM inbox WHERE update_id = ?", (update_id,)) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def enqueue_replies(self, chat_id: int, payloads: list[str], now: datetime) -> list[int]:
        """Add replies for a chat to the outbox (sent after the transaction commits); returns their ids."""
        ids: list[int] = []
        for payload in payloads:
            cursor = await self._db.execute(
                "INSERT INTO outbox (chat_id, payload, created_at) VALUES (?, ?, ?)", (chat_id, payload, to_db(now))
            )
            assert cursor.lastrowid is not None
            ids.append(cursor.lastrowid)
        return ids

    async def pending_replies(self, chat_id: int | None = None) -> list[tuple[int, int, str]]:
        """Replies committed but not yet sent, in order: (outbox id, chat id, JSON)."""
        params: tuple[int, ...] = ()
        if chat_id is None:
            query = "SELECT id, chat_id, payload FROM outbox ORDER BY id"
        else:
            query, params = "SELECT id, chat_id, payload FROM outbox WHERE chat_id = ? ORDER BY id", (chat_id,)
        async with self._db.execute(query, params) as cursor:
            rows = await cursor.fetchall()
        return [(int(row[0]), int(row[1]), str(row[2])) for row in rows]

    async def chats_with_pending_replies(self) -> list[int]:
        """The chats that have replies committed but not yet sent."""
        async with self._db.execute("SELECT DISTINCT chat_id FROM outbox") as cursor:
            rows = await cursor.fetchall()
        return [int(row[0]) for row in rows]

    async def mark_replies_sent(self, outbox_ids: list[int]) -> None:
        """Remove replies from the outbox once Telegram has them (or will never take them)."""
        await self._db.executemany("DELETE FROM outbox WHERE id = ?", [(outbox_id,) for outbox_id in outbox_ids])


@dataclass(frozen=True)
class CheckinRow:
    """A person's check-in settings and schedule, as stored."""

    settings: CheckinSettings
    state: CheckinState
    offered: bool
    awaiting: str | None
    place: str | None = None
    """The place the person gave for their timezone, shown back to them; '' shows the zone's own city; None
    until they choose a timezone (the bot's default is then in use, and turning check-ins on asks for one)."""


def _date_or_none(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _since(moment: datetime | None) -> str:
    """A lower bound for finished_at; the empty string sorts before every stored timestamp."""
    return "" if moment is None else to_db(moment)


def _text_or_none(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
