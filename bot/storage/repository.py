"""The SQLite implementation of the storage Protocols (``bot.storage.protocols``): every query the bot
makes, behind methods named for what they are for. Parameterised SQL only; rows are read by column name.

``transaction()`` and ``snapshot()`` hand out an object of their own for the work that must share them:
code inside uses that object, never the repository it came from, so what belongs to one transaction is
always visible in the code. Failures of the database come out as ``bot.storage.errors`` types.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

import aiosqlite

from bot.checkins import CheckinSettings, CheckinState, PastLesson, PlannedStep
from bot.engine import CompletedRun, State
from bot.storage.database import storage_error, write_transaction
from bot.storage.errors import StorageError, translating

# Re-exported: callers written before the records had a module of their own import them from here.
from bot.storage.records import CheckinRow as CheckinRow
from bot.storage.records import DeliveryLag, Revisit
from bot.storage.records import HeavyRequest as HeavyRequest
from bot.storage.records import HeldLesson as HeldLesson
from bot.storage.records import LessonEntry as LessonEntry
from bot.storage.records import LessonOverview as LessonOverview
from bot.storage.records import User as User
from bot.storage.timestamps import from_db, to_db

HANDLED_KEPT = timedelta(hours=48)
"""How long a handled update's id is kept to recognise a repeat. Telegram keeps an unconfirmed update for
24 hours at most, so an id older than twice that can never come back."""

_ENTRY_COLUMNS = (
    "id, flow_id, flow_title, finished_at, lesson, next_step, feeling, feeling_before, feeling_after, "
    "next_step_outcome, next_step_due, next_step_let_go_at"
)


def _entry(r: Any) -> LessonEntry:
    return LessonEntry(
        run_id=int(r["id"]),
        flow_id=r["flow_id"],
        flow_title=r["flow_title"],
        finished_at=from_db(r["finished_at"]),
        lesson=r["lesson"],
        next_step=r["next_step"],
        feeling=r["feeling"],
        feeling_before=r["feeling_before"],
        feeling_after=r["feeling_after"],
        next_step_outcome=r["next_step_outcome"],
        next_step_due=_date_or_none(r["next_step_due"]),
        next_step_let_go_at=from_db(r["next_step_let_go_at"]) if r["next_step_let_go_at"] else None,
    )


_EXPORTED_BEFORE = (
    "id",
    "flow_id",
    "flow_version",
    "flow_title",
    "started_at",
    "finished_at",
    "lesson",
    "next_step",
    "feeling",
    "feeling_before",
    "feeling_after",
)
"""A run's columns an export copies as they are, in the order the export shows them (decoded ones follow)."""


_CLAIMED_KEPT = 10_000


def _from_sqlite(trouble: BaseException) -> StorageError:
    assert isinstance(trouble, sqlite3.Error)  # only sqlite3 errors are translated (see the decorator below)
    return storage_error(trouble)


@translating((sqlite3.Error,), _from_sqlite)
class Repository:
    """Reads and writes on one open connection (and an optional read-only one for snapshots).

    Used directly, each call commits on its own; group the calls a handled message makes in
    ``transaction()`` and make them on the object it yields.
    """

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

    def _joined(self) -> Repository:
        """A repository on the same connection with bookkeeping of its own: what one transaction hands out."""
        return Repository(self._db)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Repository]:
        """One write transaction (BEGIN IMMEDIATE); everything done on the yielded object commits together
        or not at all. A failure of the database raises a ``bot.storage.errors`` type.

        Transactions on one Repository run one at a time; keep network I/O outside them.
        """
        async with self._lock:
            tx = self._joined()
            try:
                async with write_transaction(self._db):
                    yield tx
                    tx._checkpoint_after_commit |= bool(tx._flows_ended)
            except sqlite3.Error as trouble:
                self._checkpoint_after_commit = False
                if isinstance(trouble, StorageError):
                    raise
                raise storage_error(trouble) from trouble
            except BaseException:
                self._checkpoint_after_commit = False
                raise
            if len(self._claimed) > _CLAIMED_KEPT:
                self._claimed.clear()  # ids nobody asked about (updates handled outside the intake)
            self._claimed.update(tx._claiming)
            if tx._checkpoint_after_commit or self._checkpoint_after_commit:
                # Text the person removed (a cancelled flow, an answer replaced after /back, a deleted entry,
                # a held message let go, /forget) still sits in earlier page images in the write-ahead log:
                # a checkpoint copies the pages back (cells zeroed by secure_delete) and truncates the log.
                self._checkpoint_after_commit = False
                try:
                    await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error as trouble:
                    raise storage_error(trouble) from trouble

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Repository]:
        """A consistent read-only view for long reads (an export, a chart), to use with read methods only.

        With a second (read-only) connection the view takes no lock, so other people's writes go on while
        it is read; without one (an in-memory database) it waits for, and then holds, the write lock.
        """
        try:
            if self._reader is None:
                async with self._lock:
                    await self._db.execute("BEGIN")
                    try:
                        yield self._joined()
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
        except sqlite3.Error as trouble:
            if isinstance(trouble, StorageError):
                raise
            raise storage_error(trouble) from trouble

    async def _one(self, sql: str, parameters: Iterable[Any] = ()) -> sqlite3.Row | None:
        """The first row ``sql`` returns (read by column name), or None."""
        rows = await self._all(sql, parameters)
        return rows[0] if rows else None

    async def _all(self, sql: str, parameters: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Every row ``sql`` returns (read by column name).

        One trip to the connection's thread (execute and fetch together): each trip is a hand-off between
        the event loop and aiosqlite's thread, which is most of what a query costs here.
        """
        rows = await self._db.execute_fetchall(sql, list(parameters))
        return list(rows)  # sqlite3.Row: the connections are opened with it as their row factory

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
        row = await self._one(
            "SELECT id, created_at, onboarded_at, pending_flow, safety_hold, awaiting FROM users WHERE external_id = ?",
            (external_id,),
        )
        if row is None:
            return None
        return User(
            int(row["id"]),
            external_id,
            from_db(row["created_at"]),
            False,
            row["onboarded_at"] is not None,
            row["pending_flow"],
            row["safety_hold"],
            awaiting=row["awaiting"],
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
        row = await self._one("SELECT state FROM active_runs WHERE user_id = ?", (user_id,))
        state = None if row is None else State.from_json(json.loads(row["state"]))
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
        rows = await self._all(
            f"SELECT {_ENTRY_COLUMNS} FROM runs WHERE user_id = ? AND finished_at >= ? "  # noqa: S608 (constant)
            "AND lesson IS NOT NULL ORDER BY finished_at DESC, id DESC LIMIT ? OFFSET ?",
            (user_id, _since(since), limit, offset),
        )
        return [_entry(r) for r in rows]

    async def lesson_overview(self, user_id: int, since: datetime | None = None) -> LessonOverview:
        """How many lessons, and the average feeling before and after, from ``since`` on."""
        row = await self._one(
            "SELECT count(*) AS lessons, avg(feeling_before) AS before, avg(feeling_after) AS after, "
            "count(CASE WHEN feeling_before IS NOT NULL AND feeling_after IS NOT NULL THEN 1 END) AS paired FROM runs "
            "WHERE user_id = ? AND finished_at >= ? AND lesson IS NOT NULL",
            (user_id, _since(since)),
        )
        assert row is not None
        return LessonOverview(int(row["lessons"]), row["before"], row["after"], int(row["paired"]))

    async def lesson_texts(self, user_id: int, since: datetime | None = None, limit: int = 2000) -> list[str]:
        """The newest lessons' texts (at most ``limit``), for finding lessons that recur."""
        rows = await self._all(
            "SELECT lesson FROM runs WHERE user_id = ? AND finished_at >= ? AND lesson IS NOT NULL "
            "ORDER BY finished_at DESC LIMIT ?",
            (user_id, _since(since), limit),
        )
        return [str(row["lesson"]) for row in rows]

    async def checkin_times(self, user_id: int, since: datetime) -> list[datetime]:
        """When the user finished a check-in, from ``since`` on."""
        rows = await self._all(
            "SELECT finished_at FROM runs WHERE user_id = ? AND flow_id = 'checkin' AND finished_at >= ?",
            (user_id, _since(since)),
        )
        return [from_db(row["finished_at"]) for row in rows]

    async def lesson(self, user_id: int, run_id: int) -> LessonEntry | None:
        """One of the user's own runs (None for someone else's or a missing one)."""
        r = await self._one(
            f"SELECT {_ENTRY_COLUMNS} FROM runs WHERE user_id = ? AND id = ? AND flow_id != 'checkin'",  # noqa: S608
            (user_id, run_id),
        )
        return None if r is None else _entry(r)

    async def checkin_moods(self, user_id: int, since: datetime | None = None) -> list[tuple[datetime, int]]:
        """How each check-in from ``since`` on said the day felt (1 rough … 5 great), oldest first."""
        rows = await self._all(
            "SELECT finished_at, json_extract(meaning, '$.mood') AS mood FROM runs "
            "WHERE user_id = ? AND flow_id = 'checkin' AND finished_at >= ? ORDER BY finished_at",
            (user_id, _since(since)),
        )
        return [(from_db(row["finished_at"]), int(row["mood"])) for row in rows if isinstance(row["mood"], int)]

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
        rows = await self._all(
            "SELECT r.id, r.lesson, r.finished_at, group_concat(v.kind) AS kinds, max(v.answer = 'changed') AS changed "
            "FROM runs r "
            "LEFT JOIN revisits v ON v.run_id = r.id WHERE r.user_id = ? AND r.flow_id != 'checkin' "
            "AND r.lesson IS NOT NULL AND r.finished_at >= ? AND r.finished_at <= ? GROUP BY r.id",
            (user_id, to_db(earliest), to_db(latest)),
        )
        return [
            PastLesson(
                int(r["id"]),
                str(r["lesson"]),
                from_db(r["finished_at"]),
                frozenset((r["kinds"] or "").split(",")) - {""},
                bool(r["changed"]),
            )
            for r in rows
        ]

    async def revisit_on(self, user_id: int, day: date) -> Revisit | None:
        """The revisit brought back on local date ``day``, or None."""
        row = await self._one(
            "SELECT v.id, v.run_id, r.lesson, v.kind, v.answer FROM revisits v JOIN runs r ON r.id = v.run_id "
            "WHERE v.user_id = ? AND v.asked_on = ? ORDER BY v.id LIMIT 1",
            (user_id, day.isoformat()),
        )
        if row is None:
            return None
        return Revisit(int(row["id"]), int(row["run_id"]), str(row["lesson"]), str(row["kind"]), row["answer"])

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
        rows = await self._all(
            "SELECT r.id, r.lesson, v.kind FROM revisits v JOIN runs r ON r.id = v.run_id "
            "WHERE v.user_id = ? AND v.answer = 'yes' AND v.answered_at >= ? AND r.lesson IS NOT NULL "
            "ORDER BY v.answered_at DESC, v.id DESC",
            (user_id, _since(since)),
        )
        held: dict[int, HeldLesson] = {}
        for row in rows:
            held.setdefault(int(row["id"]), HeldLesson(int(row["id"]), str(row["lesson"]), str(row["kind"])))
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

    async def forget_user(self, user_id: int) -> int:
        """Delete everything stored about a user, in every table; returns how many runs were deleted.

        Rows that hang off the user go with it (foreign keys cascade). With secure_delete on, the text is
        overwritten, not just unlinked. What an adapter keeps per chat goes with ``forget_chat``.
        """
        runs = await self.count_runs(user_id)
        await self._db.execute("DELETE FROM users WHERE id = ?", (user_id,))
        self._checkpoint_after_commit = True
        return runs

    async def lock_person(self, external_id: str) -> None:
        """Nothing to take: a write transaction here (BEGIN IMMEDIATE) already excludes every other writer."""

    async def export_person(self, user_id: int) -> dict[str, Any]:
        """What an export holds besides the runs, as JSON-ready data: the person, a flow in progress, check-ins."""
        user = await self._one("SELECT external_id, created_at, onboarded_at FROM users WHERE id = ?", (user_id,))
        state = await self.active_state(user_id)
        aside = await self.set_aside_state(user_id)
        checkin = await self.checkin(user_id)
        return {
            "user": {"created_at": user["created_at"], "onboarded_at": user["onboarded_at"]} if user else None,
            "in_progress": state.to_json() if state else None,
            "set_aside": aside.to_json() if aside else None,
            "checkin": checkin.exported() if checkin else None,
        }

    async def export_runs(
        self, user_id: int, after: tuple[str, int] | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` of the person's runs, oldest first, each with every answer and time, as JSON-ready data.

        ``after`` is the (``finished_at``, ``id``) of the last run of the previous page: an export reads its
        runs page by page, so a person with years of entries never sits in memory all at once.
        """
        finished, last_id = after or ("", 0)
        runs = await self._all(
            "SELECT id, flow_id, flow_version, flow_title, started_at, finished_at, lesson, next_step, feeling, "
            "feeling_before, feeling_after, meaning, inputs, next_step_outcome, outcome_at, next_step_due, "
            "next_step_not_yet, next_step_let_go_at, lesson_corrected_at, next_step_corrected_at FROM runs "
            "WHERE user_id = ? AND (finished_at > ? OR (finished_at = ? AND id > ?)) ORDER BY finished_at, id LIMIT ?",
            (user_id, finished, finished, last_id, limit),
        )
        if not runs:
            return []
        marks = ",".join("?" * len(runs))  # placeholders only: the ids themselves are bound parameters
        answers = await self._all(
            f"SELECT run_id, step_id, value, shown, answered_at FROM run_answers WHERE run_id IN ({marks}) "  # noqa: S608
            "ORDER BY run_id, answered_at",
            [int(r["id"]) for r in runs],
        )
        by_run: dict[int, list[dict[str, Any]]] = {}
        for a in answers:
            by_run.setdefault(int(a["run_id"]), []).append(
                {
                    "step": a["step_id"],
                    "value": json.loads(a["value"]),
                    "shown": a["shown"],
                    "answered_at": a["answered_at"],
                }
            )
        revisited = await self._all(
            f"SELECT run_id, kind, asked_at, answer, answered_at FROM revisits WHERE run_id IN ({marks}) "  # noqa: S608
            "ORDER BY run_id, asked_at",
            [int(r["id"]) for r in runs],
        )
        revisits: dict[int, list[dict[str, Any]]] = {}
        for v in revisited:
            revisits.setdefault(int(v["run_id"]), []).append(
                {"kind": v["kind"], "asked_at": v["asked_at"], "answer": v["answer"], "answered_at": v["answered_at"]}
            )
        return [
            {
                **{key: r[key] for key in _EXPORTED_BEFORE},
                "meaning": json.loads(r["meaning"]),
                "inputs": json.loads(r["inputs"]),
                "next_step_outcome": r["next_step_outcome"],
                "outcome_at": r["outcome_at"],
                "next_step_due": r["next_step_due"],
                "next_step_not_yet_answers": r["next_step_not_yet"],
                "next_step_let_go_at": r["next_step_let_go_at"],
                "lesson_corrected_at": r["lesson_corrected_at"],
                "next_step_corrected_at": r["next_step_corrected_at"],
                "revisits": revisits.get(int(r["id"]), []),
                "answers": by_run.get(int(r["id"]), []),
            }
            for r in runs
        ]

    async def export(self, user_id: int) -> dict[str, Any]:
        """Everything stored about a user in one piece (the person, every run with every answer, check-ins)."""
        runs: list[dict[str, Any]] = []
        while page := await self.export_runs(user_id, (runs[-1]["finished_at"], runs[-1]["id"]) if runs else None):
            runs.extend(page)
        return {**await self.export_person(user_id), "runs": runs}

    async def run_answers(self, run_id: int) -> dict[str, Any]:
        """Every stored answer of one run, by step id (values decoded from JSON)."""
        rows = await self._all("SELECT step_id, value FROM run_answers WHERE run_id = ?", (run_id,))
        return {row["step_id"]: json.loads(row["value"]) for row in rows}

    # --- heavy requests (exports, charts), built off the event loop ----------------------------------

    async def request_heavy(self, user_id: int, kind: str, detail: str, now: datetime) -> bool:
        """Ask for a heavy piece of work for a person; False when one of this kind is already waiting.

        A waiting request keeps its place in the queue and takes the newest ``detail`` (a chart's period).
        """
        waiting = (
            await self._one("SELECT 1 FROM heavy_requests WHERE user_id = ? AND kind = ?", (user_id, kind)) is not None
        )
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
        rows = await self._all(
            "SELECT h.id, h.user_id, u.external_id, h.kind, h.detail FROM heavy_requests h "
            "JOIN users u ON u.id = h.user_id ORDER BY h.id LIMIT ?",
            (limit,),
        )
        return [HeavyRequest(int(r["id"]), int(r["user_id"]), r["external_id"], r["kind"], r["detail"]) for r in rows]

    async def take_heavy(self, request_id: int) -> bool:
        """Remove a request whose result is being delivered; False when it is gone already (/forget)."""
        cursor = await self._db.execute("DELETE FROM heavy_requests WHERE id = ?", (request_id,))
        return cursor.rowcount == 1

    async def count_runs(self, user_id: int) -> int:
        """How many flows this user has completed."""
        row = await self._one("SELECT count(*) AS runs FROM runs WHERE user_id = ?", (user_id,))
        return int(row["runs"]) if row else 0

    # --- check-ins -------------------------------------------------------------------------------------

    async def checkin(self, user_id: int) -> CheckinRow | None:
        """The person's check-in settings and schedule, or None before they ever opened /checkin."""
        row = await self._one(
            "SELECT enabled, local_time, timezone, due_at, snoozed_until, unanswered, last_nudge_date, skipped_date, "
            "offered, awaiting, held_date, place FROM checkins WHERE user_id = ?",
            (user_id,),
        )
        if row is None:
            return None
        settings = CheckinSettings(bool(row["enabled"]), time.fromisoformat(row["local_time"]), row["timezone"])
        state = CheckinState(
            due_at=from_db(row["due_at"]) if row["due_at"] else None,
            snoozed_until=from_db(row["snoozed_until"]) if row["snoozed_until"] else None,
            unanswered=int(row["unanswered"]),
            last_nudge_date=_date_or_none(row["last_nudge_date"]),
            skipped_date=_date_or_none(row["skipped_date"]),
            held_date=_date_or_none(row["held_date"]),
        )
        return CheckinRow(settings, state, bool(row["offered"]), row["awaiting"], row["place"])

    async def claim_checkin(self, user_id: int) -> bool:
        """Always True: with one writer at a time no other transaction can be nudging them."""
        return True

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
        rows = await self._all(
            "SELECT c.user_id, u.external_id, c.wake_at FROM checkins c JOIN users u ON u.id = c.user_id "
            "WHERE c.wake_at IS NOT NULL AND c.wake_at <= ? AND (c.wake_at, c.user_id) > (?, ?) "
            "ORDER BY c.wake_at, c.user_id LIMIT ?",
            (to_db(now), wake_at, user_id, limit),
        )
        return [(int(row["user_id"]), str(row["external_id"]), str(row["wake_at"])) for row in rows]

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
        rows = await self._all(
            "SELECT id, next_step, next_step_due, finished_at, next_step_not_yet FROM runs "
            "WHERE user_id = ? AND flow_id != 'checkin' AND next_step IS NOT NULL "
            "AND (next_step_outcome IS NULL OR next_step_outcome = 'not_yet') AND next_step_let_go_at IS NULL "
            "ORDER BY finished_at DESC, id DESC LIMIT ?",
            (user_id, limit),
        )
        steps = []
        for row in rows:
            planned_at = from_db(row["finished_at"])
            due = _date_or_none(row["next_step_due"]) or date.fromordinal(planned_at.date().toordinal() + 1)
            not_yet = int(row["next_step_not_yet"])
            steps.append(PlannedStep(int(row["id"]), str(row["next_step"]), due, planned_at, not_yet))
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
        row = await self._one("SELECT updated_at FROM active_runs WHERE user_id = ?", (user_id,))
        return None if row is None else from_db(row["updated_at"])

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
        row = await self._one("SELECT state FROM set_aside_runs WHERE user_id = ?", (user_id,))
        return None if row is None else State.from_json(json.loads(row["state"]))

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

    async def forget_chat(self, chat_id: int) -> None:
        """Delete what delivery keeps for a chat: its queued updates, unsent replies and quarantined updates."""
        await self._db.execute("DELETE FROM inbox WHERE chat_id = ?", (chat_id,))
        await self._db.execute("DELETE FROM outbox WHERE chat_id = ?", (chat_id,))
        await self._db.execute("DELETE FROM dead_letters WHERE chat_id = ?", (chat_id,))
        self._checkpoint_after_commit = True

    async def next_update_offset(self) -> int | None:
        """The getUpdates offset that confirms every update already stored, or None before the first."""
        row = await self._one("SELECT value FROM bot_state WHERE key = 'update_offset'")
        return None if row is None else int(row["value"])

    async def record_updates(
        self, updates: list[tuple[int, int | None, str]], next_offset: int | None, now: datetime
    ) -> None:
        """Durably keep received updates (id, chat id, JSON) not yet handled, and advance the offset.

        ``next_offset`` None keeps the offset (and the time updates were last seen) as they are. Storing an
        offset also forgets handled ids older than ``HANDLED_KEPT`` (Telegram can no longer resend those).
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
        await self._db.execute("DELETE FROM handled_updates WHERE handled_at < ?", (to_db(now - HANDLED_KEPT),))

    async def forget_update_offset(self) -> None:
        """Drop the stored getUpdates offset (and when updates were last seen): the next batch sets them anew."""
        await self._db.execute("DELETE FROM bot_state WHERE key IN ('update_offset', 'update_seen_at')")

    async def last_update_seen(self) -> tuple[int, datetime] | None:
        """The highest update id recorded and when updates were last recorded; None before the first
        (or when an older version recorded the offset without the time)."""
        rows = await self._all("SELECT key, value FROM bot_state WHERE key IN ('update_offset', 'update_seen_at')")
        values = {str(row["key"]): str(row["value"]) for row in rows}
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
        rows = await self._all(
            f"SELECT update_id FROM dead_letters WHERE update_id IN ({marks})",  # noqa: S608 (only placeholders)
            update_ids,
        )
        return {int(row["update_id"]) for row in rows}

    async def count_quarantined(self) -> int:
        """How many updates are kept in quarantine."""
        row = await self._one("SELECT count(*) AS kept FROM dead_letters")
        return int(row["kept"]) if row else 0

    async def pending_updates(self, chat_id: int | None = None) -> list[tuple[int, str]]:
        """Stored updates not handled yet, oldest first: (update id, JSON); with ``chat_id`` only that chat's
        (0 for updates that belong to no chat)."""
        if chat_id is None:
            rows = await self._all("SELECT update_id, payload FROM inbox ORDER BY update_id")
        else:
            rows = await self._all(
                "SELECT update_id, payload FROM inbox WHERE coalesce(chat_id, 0) = ? ORDER BY update_id", (chat_id,)
            )
        return [(int(row["update_id"]), str(row["payload"])) for row in rows]

    async def chats_with_pending_updates(self, received_before: datetime) -> list[int]:
        """The chats with updates stored before ``received_before`` and not handled yet (0: no chat)."""
        rows = await self._all(
            "SELECT DISTINCT coalesce(chat_id, 0) AS chat FROM inbox WHERE received_at < ?", (to_db(received_before),)
        )
        return sorted(int(row["chat"]) for row in rows)

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

    async def count_attempt(self, update_id: int, now: datetime, apart: timedelta) -> tuple[int, datetime | None]:
        """Count one more attempt at handling a stored update, begun ``now``, unless the last one counted began
        less than ``apart`` before (another process beginning it at the same time, not a new try); returns the
        attempts so far and when it was first stored (0 and None once it is no longer in the inbox)."""
        row = await self._one("SELECT attempts, received_at, attempted_at FROM inbox WHERE update_id = ?", (update_id,))
        if row is None:
            return 0, None
        attempts = int(row["attempts"])
        last = None if row["attempted_at"] is None else from_db(row["attempted_at"])
        if last is None or now - last >= apart or last > now:  # a stamp "in the future" does not stop counting
            attempts += 1
            await self._db.execute(
                "UPDATE inbox SET attempts = ?, attempted_at = ? WHERE update_id = ?", (attempts, to_db(now), update_id)
            )
        return attempts, from_db(row["received_at"])

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
        rows = await self._all(query, params)
        return [(int(row["id"]), int(row["chat_id"]), str(row["payload"])) for row in rows]

    async def chats_with_pending_replies(self) -> list[int]:
        """The chats that have replies committed but not yet sent, the one whose reply has waited longest first."""
        rows = await self._all("SELECT chat_id FROM outbox GROUP BY chat_id ORDER BY min(id)")
        return [int(row["chat_id"]) for row in rows]

    async def mark_replies_sent(self, outbox_ids: list[int]) -> None:
        """Remove replies from the outbox once Telegram has them (or will never take them)."""
        await self._db.executemany("DELETE FROM outbox WHERE id = ?", [(outbox_id,) for outbox_id in outbox_ids])

    async def delivery_lag(self) -> DeliveryLag:
        """How many updates wait in the inbox and replies in the outbox, and when the oldest of each arrived."""
        row = await self._one(
            "SELECT (SELECT count(*) FROM inbox) AS inbox_pending,"
            " (SELECT min(received_at) FROM inbox) AS inbox_oldest,"
            " (SELECT count(*) FROM outbox) AS outbox_pending,"
            " (SELECT min(created_at) FROM outbox) AS outbox_oldest"
        )
        assert row is not None
        return DeliveryLag(
            int(row["inbox_pending"]),
            None if row["inbox_oldest"] is None else from_db(str(row["inbox_oldest"])),
            int(row["outbox_pending"]),
            None if row["outbox_oldest"] is None else from_db(str(row["outbox_oldest"])),
        )


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
