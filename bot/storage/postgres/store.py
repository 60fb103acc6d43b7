"""The PostgreSQL implementation of the storage Protocols (``bot.storage.protocols``), on an asyncpg pool.

``PostgresStorage.transaction()`` takes a connection from the pool and runs one READ COMMITTED transaction
on it; ``snapshot()`` a REPEATABLE READ, read-only one (a consistent view that blocks no writer). Every
method of ``PostgresTransaction`` mirrors ``bot.storage.repository.Repository``: same arguments, same
results (timestamps handed out as text are the same ISO 8601 UTC strings), same guarantees, which the
contract suite in ``tests/storage/contract/`` checks. Uniqueness is kept by constraints and
``ON CONFLICT``, so concurrent transactions (other tasks, other replicas) never double a claim, a nudge or
a revisit. Failures come out as ``bot.storage.errors`` types.

SQLite's checkpoint-after-removal has no counterpart here: PostgreSQL's own VACUUM reclaims deleted rows
(what /forget can promise on PostgreSQL, with its WAL and backups, is documented with the deployment).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg

from bot.checkins import CheckinSettings, CheckinState, PastLesson, PlannedStep
from bot.engine import CompletedRun, State
from bot.storage.errors import StorageError
from bot.storage.postgres.errors import DRIVER_ERRORS, storage_error, translating
from bot.storage.postgres.migrations import latest_version, migrate, refuse_newer, schema_version
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
from bot.storage.timestamps import from_db, to_db

HANDLED_KEPT = timedelta(hours=48)
"""As in the SQLite repository: Telegram resends nothing older than 24 hours, so ids are kept twice that."""

_CLAIMED_KEPT = 10_000

PERSON_LOCKS = 0x5B0A  # the first key of every person's advisory lock (the second is a hash of their id)
OUTBOX_CHANNEL = "springboard_outbox"
"""Notified with the chat id whenever replies are committed to the outbox."""

_ENTRY_COLUMNS = (
    "id, flow_id, flow_title, finished_at, lesson, next_step, feeling, feeling_before, feeling_after, "
    "next_step_outcome, next_step_due, next_step_let_go_at"
)

_EXPORTED_AS_THEY_ARE = ("id", "flow_id", "flow_version", "flow_title")
"""A run's columns an export copies unchanged; the timestamps that follow are written as ISO 8601 text."""

_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
"""A lower bound before every stored timestamp (``since=None``)."""

Record = asyncpg.Record


def _at(moment: datetime) -> datetime:
    """``moment`` for a ``timestamptz`` column; naive datetimes are refused, as in SQLite."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every timestamp must carry a timezone")
    return moment.astimezone(UTC)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _text(moment: datetime | None) -> str | None:
    """A stored timestamp as the ISO 8601 UTC text the SQLite repository hands out."""
    return None if moment is None else to_db(moment)


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _since(moment: datetime | None) -> datetime:
    return _EARLIEST if moment is None else _at(moment)


def _entry(r: Record) -> LessonEntry:
    return LessonEntry(
        run_id=int(r["id"]),
        flow_id=r["flow_id"],
        flow_title=r["flow_title"],
        finished_at=_utc(r["finished_at"]),
        lesson=r["lesson"],
        next_step=r["next_step"],
        feeling=r["feeling"],
        feeling_before=r["feeling_before"],
        feeling_after=r["feeling_after"],
        next_step_outcome=r["next_step_outcome"],
        next_step_due=r["next_step_due"],
        next_step_let_go_at=_utc(r["next_step_let_go_at"]) if r["next_step_let_go_at"] else None,
    )


def _text_or_none(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _json_int(kind: str | None, text: str | None) -> int | None:
    """A JSON value (``jsonb_typeof`` and its text) as an int when it is a whole number written as one."""
    if kind != "number" or text is None or not text.lstrip("-").isdigit():
        return None
    return int(text)


def _status(tag: str) -> int:
    """The row count of a command status such as ``UPDATE 1`` or ``INSERT 0 1``."""
    return int(tag.rsplit(" ", 1)[-1]) if tag and tag.rsplit(" ", 1)[-1].isdigit() else 0


class PostgresStorage:
    """A PostgreSQL database the bot runs on (``bot.storage.protocols.Storage``), over an asyncpg pool.

    Open it with ``open_postgres``; ``close()`` it when done.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        # Update ids claimed by transactions of this process that committed, until the intake asks.
        self._claimed: set[int] = set()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTransaction]:
        """One write transaction (READ COMMITTED); everything done on the yielded object commits together or
        not at all. A failure of the database raises a ``bot.storage.errors`` type."""
        tx: PostgresTransaction | None = None
        try:
            async with self._pool.acquire() as connection, connection.transaction():
                tx = PostgresTransaction(connection)
                yield tx
        except StorageError:
            raise
        except DRIVER_ERRORS as trouble:
            raise storage_error(trouble) from trouble
        if len(self._claimed) > _CLAIMED_KEPT:
            self._claimed.clear()  # ids nobody asked about (updates handled outside the intake)
        self._claimed.update(tx._claiming)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[PostgresTransaction]:
        """A consistent read-only view (REPEATABLE READ): every read sees the database as of the first one,
        and writers go on meanwhile. Use its read methods only."""
        try:
            async with (
                self._pool.acquire() as connection,
                connection.transaction(isolation="repeatable_read", readonly=True),
            ):
                yield PostgresTransaction(connection)
        except StorageError:
            raise
        except DRIVER_ERRORS as trouble:
            raise storage_error(trouble) from trouble

    def was_claimed(self, update_id: int) -> bool:
        """True (once) when a committed transaction of this process marked ``update_id`` handled."""
        if update_id in self._claimed:
            self._claimed.discard(update_id)
            return True
        return False

    async def close(self) -> None:
        """Close every connection of the pool."""
        try:
            await self._pool.close()
        except DRIVER_ERRORS as trouble:
            raise storage_error(trouble) from trouble


async def open_postgres(
    url: str,
    now: datetime,
    *,
    apply_migrations: bool = True,
    min_size: int = 1,
    max_size: int = 10,
    server_settings: dict[str, str] | None = None,
) -> PostgresStorage:
    """Connect to the database at ``url`` (``postgresql://…``) and bring its schema up to date.

    With ``apply_migrations`` False the schema must already be current (``springboard migrate`` as a deploy
    step); either way a schema newer than this code is refused (``SchemaNewerThanCode``).
    """
    try:
        pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, server_settings=server_settings)
    except DRIVER_ERRORS as trouble:
        raise storage_error(trouble) from trouble
    try:
        async with pool.acquire() as connection:
            if apply_migrations:
                await migrate(connection, now)
            else:
                version = await schema_version(connection)
                refuse_newer(version)
                if version < latest_version():
                    raise StorageError(
                        f"the database schema is at version {version}, this code needs {latest_version()}: "
                        "run `springboard migrate` first"
                    )
    except BaseException as trouble:
        await pool.close()
        if isinstance(trouble, DRIVER_ERRORS) and not isinstance(trouble, StorageError):
            raise storage_error(trouble) from trouble
        raise
    return PostgresStorage(pool)


async def migrate_postgres(url: str, now: datetime) -> tuple[list[int], int]:
    """``springboard migrate``: apply every migration the database at ``url`` lacks, under the advisory lock;
    returns their numbers and the version the schema is at now."""
    try:
        connection = await asyncpg.connect(url)
    except DRIVER_ERRORS as trouble:
        raise storage_error(trouble) from trouble
    try:
        applied = await migrate(connection, now)
        return applied, await schema_version(connection)
    except StorageError:
        raise
    except DRIVER_ERRORS as trouble:
        raise storage_error(trouble) from trouble
    finally:
        await connection.close()


@translating
class PostgresTransaction:
    """Reads and writes inside one transaction on one connection (``bot.storage.protocols.Transaction``)."""

    def __init__(self, connection: asyncpg.pool.PoolConnectionProxy[Record] | asyncpg.Connection[Record]) -> None:
        self._db = connection
        self._claiming: list[int] = []

    async def _one(self, sql: str, *parameters: Any) -> Record | None:
        return await self._db.fetchrow(sql, *parameters)

    async def _all(self, sql: str, *parameters: Any) -> list[Record]:
        return list(await self._db.fetch(sql, *parameters))

    async def _run(self, sql: str, *parameters: Any) -> int:
        """Run a statement; how many rows it touched."""
        return _status(await self._db.execute(sql, *parameters))

    # --- people ----------------------------------------------------------------------------------------

    async def user(self, external_id: str, now: datetime) -> User:
        """The user with this external id, created on first sight."""
        found = await self.find_user(external_id)
        if found is not None:
            return found
        created = await self._one(
            "INSERT INTO users (external_id, created_at) VALUES ($1, $2) ON CONFLICT (external_id) DO NOTHING "
            "RETURNING id",
            external_id,
            _at(now),
        )
        if created is None:  # another transaction created them meanwhile
            again = await self.find_user(external_id)
            assert again is not None
            return again
        return User(int(created["id"]), external_id, now, is_new=True)

    async def find_user(self, external_id: str) -> User | None:
        """The user with this external id, or None (nothing is created)."""
        row = await self._one(
            "SELECT id, created_at, onboarded_at, pending_flow, safety_hold, awaiting FROM users "
            "WHERE external_id = $1",
            external_id,
        )
        if row is None:
            return None
        return User(
            int(row["id"]),
            external_id,
            _utc(row["created_at"]),
            False,
            row["onboarded_at"] is not None,
            row["pending_flow"],
            row["safety_hold"],
            awaiting=row["awaiting"],
        )

    async def hold_for_safety(self, user_id: int, held: str | None) -> None:
        """Keep a message (as JSON) while the person answers the safety question; None lets it go."""
        await self._run(
            "UPDATE users SET safety_hold = $1 WHERE id = $2 AND safety_hold IS DISTINCT FROM $1", held, user_id
        )

    async def keep_awaiting(self, user_id: int, awaiting: str | None, *, words_removed: bool = False) -> None:
        """Store what the person's next typed message is read against outside a flow (JSON); None: nothing."""
        await self._run("UPDATE users SET awaiting = $1 WHERE id = $2", awaiting, user_id)

    async def mark_onboarded(self, user_id: int, now: datetime) -> None:
        """Record that the person read what the bot is and is not, and said yes."""
        await self._run("UPDATE users SET onboarded_at = $1, pending_flow = NULL WHERE id = $2", _at(now), user_id)

    async def remember_pending_flow(self, user_id: int, flow_id: str | None) -> None:
        """Remember which flow a person asked for before onboarding, to start it once they confirm."""
        await self._run("UPDATE users SET pending_flow = $1 WHERE id = $2", flow_id, user_id)

    async def forget_user(self, user_id: int) -> int:
        """Delete everything stored about a user, in every table (foreign keys cascade); returns how many runs
        were deleted. What an adapter keeps per chat goes with ``forget_chat``."""
        runs = await self.count_runs(user_id)
        await self._run("DELETE FROM users WHERE id = $1", user_id)
        return runs

    async def lock_person(self, external_id: str) -> None:
        """Take the person's advisory lock until the transaction ends (another replica's transaction for them
        waits here): their updates and check-ins apply one at a time across the deployment."""
        await self._db.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", PERSON_LOCKS, external_id)

    async def export_person(self, user_id: int) -> dict[str, Any]:
        """What an export holds besides the runs, as JSON-ready data: the person, a flow in progress, check-ins."""
        user = await self._one("SELECT created_at, onboarded_at FROM users WHERE id = $1", user_id)
        state = await self.active_state(user_id)
        aside = await self.set_aside_state(user_id)
        checkin = await self.checkin(user_id)
        return {
            "user": {"created_at": _text(user["created_at"]), "onboarded_at": _text(user["onboarded_at"])}
            if user
            else None,
            "in_progress": state.to_json() if state else None,
            "set_aside": aside.to_json() if aside else None,
            "checkin": checkin.exported() if checkin else None,
        }

    # --- flows -----------------------------------------------------------------------------------------

    async def active_state(self, user_id: int) -> State | None:
        """The user's in-progress flow, exactly as last saved, or None."""
        row = await self._one("SELECT state FROM active_runs WHERE user_id = $1", user_id)
        return None if row is None else State.from_json(json.loads(row["state"]))

    async def save_state(self, user_id: int, state: State | None, now: datetime) -> None:
        """Store the user's position in a flow (None: no flow in progress)."""
        if state is None:
            await self._run("DELETE FROM active_runs WHERE user_id = $1", user_id)
            return
        await self._run(
            "INSERT INTO active_runs (user_id, flow_id, flow_version, state, started_at, updated_at) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id) DO UPDATE SET flow_id = excluded.flow_id, "
            "flow_version = excluded.flow_version, state = excluded.state, started_at = excluded.started_at, "
            "updated_at = excluded.updated_at",
            user_id,
            state.flow_id,
            state.flow_version,
            json.dumps(state.to_json(), ensure_ascii=False),
            _at(state.started_at),
            _at(now),
        )

    async def active_touched_at(self, user_id: int) -> datetime | None:
        """When the person's flow in progress last moved (an answer, a step back), or None without one."""
        row = await self._one("SELECT updated_at FROM active_runs WHERE user_id = $1", user_id)
        return None if row is None else _utc(row["updated_at"])

    async def set_aside(self, user_id: int, state: State, touched_at: datetime, now: datetime) -> None:
        """Keep a flow in progress aside (resumable with ``take_set_aside``) and clear the active one; one is
        kept per person: setting another aside replaces the earlier one."""
        await self._run(
            "INSERT INTO set_aside_runs (user_id, flow_id, flow_version, state, touched_at, set_aside_at) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id) DO UPDATE SET flow_id = excluded.flow_id, "
            "flow_version = excluded.flow_version, state = excluded.state, touched_at = excluded.touched_at, "
            "set_aside_at = excluded.set_aside_at",
            user_id,
            state.flow_id,
            state.flow_version,
            json.dumps(state.to_json(), ensure_ascii=False),
            _at(touched_at),
            _at(now),
        )
        await self._run("DELETE FROM active_runs WHERE user_id = $1", user_id)

    async def set_aside_state(self, user_id: int) -> State | None:
        """The flow the person set aside (or that was set aside for them), or None."""
        row = await self._one("SELECT state FROM set_aside_runs WHERE user_id = $1", user_id)
        return None if row is None else State.from_json(json.loads(row["state"]))

    async def take_set_aside(self, user_id: int) -> State | None:
        """The flow set aside, removed from where it was kept (the caller makes it the active one), or None."""
        row = await self._one("DELETE FROM set_aside_runs WHERE user_id = $1 RETURNING state", user_id)
        return None if row is None else State.from_json(json.loads(row["state"]))

    async def save_run(self, user_id: int, run: CompletedRun) -> int:
        """Store a completed run with every answer; returns its id."""
        row = await self._one(
            "INSERT INTO runs (user_id, flow_id, flow_version, flow_title, started_at, finished_at, lesson, "
            "next_step, feeling, feeling_before, feeling_after, meaning, inputs) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
            user_id,
            run.flow_id,
            run.flow_version,
            run.flow_title,
            _at(run.started_at),
            _at(run.finished_at),
            _text_or_none(run.meant("lesson")),
            _text_or_none(run.meant("next_step")),
            _text_or_none(run.meant("feeling")),
            _int_or_none(run.meant("feeling_before")),
            _int_or_none(run.meant("feeling_after")),
            json.dumps(dict(run.meaning), ensure_ascii=False),
            json.dumps(dict(run.inputs), ensure_ascii=False),
        )
        assert row is not None
        run_id = int(row["id"])
        if run.answers:
            await self._db.executemany(
                "INSERT INTO run_answers (run_id, step_id, value, shown, answered_at) VALUES ($1, $2, $3, $4, $5)",
                [
                    (
                        run_id,
                        step_id,
                        json.dumps(answer.value, ensure_ascii=False),
                        answer.shown,
                        _at(answer.answered_at),
                    )
                    for step_id, answer in run.answers.items()
                ],
            )
        return run_id

    async def run_answers(self, run_id: int) -> dict[str, Any]:
        """Every stored answer of one run, by step id (values decoded from JSON)."""
        rows = await self._all("SELECT step_id, value FROM run_answers WHERE run_id = $1", run_id)
        return {row["step_id"]: json.loads(row["value"]) for row in rows}

    async def count_runs(self, user_id: int) -> int:
        """How many flows this user has completed."""
        return int(await self._db.fetchval("SELECT count(*) FROM runs WHERE user_id = $1", user_id) or 0)

    # --- lessons ---------------------------------------------------------------------------------------

    async def lessons(
        self, user_id: int, limit: int = 50, *, since: datetime | None = None, offset: int = 0
    ) -> list[LessonEntry]:
        """The user's completed runs that named a lesson, newest first (from ``since`` on, if given)."""
        rows = await self._all(
            f"SELECT {_ENTRY_COLUMNS} FROM runs WHERE user_id = $1 AND finished_at >= $2 "  # noqa: S608 (constant)
            "AND lesson IS NOT NULL ORDER BY finished_at DESC, id DESC LIMIT $3 OFFSET $4",
            user_id,
            _since(since),
            limit,
            offset,
        )
        return [_entry(r) for r in rows]

    async def lesson_overview(self, user_id: int, since: datetime | None = None) -> LessonOverview:
        """How many lessons, and the average feeling before and after, from ``since`` on."""
        row = await self._one(
            "SELECT count(*) AS lessons, avg(feeling_before)::float8 AS before, avg(feeling_after)::float8 AS after, "
            "count(*) FILTER (WHERE feeling_before IS NOT NULL AND feeling_after IS NOT NULL) AS paired FROM runs "
            "WHERE user_id = $1 AND finished_at >= $2 AND lesson IS NOT NULL",
            user_id,
            _since(since),
        )
        assert row is not None
        return LessonOverview(int(row["lessons"]), row["before"], row["after"], int(row["paired"]))

    async def lesson_texts(self, user_id: int, since: datetime | None = None, limit: int = 2000) -> list[str]:
        """The newest lessons' texts (at most ``limit``), for finding lessons that recur."""
        rows = await self._all(
            "SELECT lesson FROM runs WHERE user_id = $1 AND finished_at >= $2 AND lesson IS NOT NULL "
            "ORDER BY finished_at DESC LIMIT $3",
            user_id,
            _since(since),
            limit,
        )
        return [str(row["lesson"]) for row in rows]

    async def lesson(self, user_id: int, run_id: int) -> LessonEntry | None:
        """One of the user's own runs (None for someone else's or a missing one)."""
        r = await self._one(
            f"SELECT {_ENTRY_COLUMNS} FROM runs WHERE user_id = $1 AND id = $2 AND flow_id != 'checkin'",  # noqa: S608
            user_id,
            run_id,
        )
        return None if r is None else _entry(r)

    async def checkin_times(self, user_id: int, since: datetime) -> list[datetime]:
        """When the user finished a check-in, from ``since`` on."""
        rows = await self._all(
            "SELECT finished_at FROM runs WHERE user_id = $1 AND flow_id = 'checkin' AND finished_at >= $2",
            user_id,
            _at(since),
        )
        return [_utc(row["finished_at"]) for row in rows]

    async def checkin_moods(self, user_id: int, since: datetime | None = None) -> list[tuple[datetime, int]]:
        """How each check-in from ``since`` on said the day felt (1 rough … 5 great), oldest first."""
        rows = await self._all(
            "SELECT finished_at, jsonb_typeof(meaning -> 'mood') AS kind, meaning ->> 'mood' AS mood FROM runs "
            "WHERE user_id = $1 AND flow_id = 'checkin' AND finished_at >= $2 ORDER BY finished_at",
            user_id,
            _since(since),
        )
        moods = []
        for row in rows:
            mood = _json_int(row["kind"], row["mood"])
            if mood is not None:
                moods.append((_utc(row["finished_at"]), mood))
        return moods

    async def held_lessons(self, user_id: int, since: datetime | None = None, limit: int = 3) -> list[HeldLesson]:
        """Lessons a revisit heard had helped ("yes") from ``since`` on, newest answer first, each once."""
        rows = await self._all(
            "SELECT r.id, r.lesson, v.kind FROM revisits v JOIN runs r ON r.id = v.run_id "
            "WHERE v.user_id = $1 AND v.answer = 'yes' AND v.answered_at >= $2 AND r.lesson IS NOT NULL "
            "ORDER BY v.answered_at DESC, v.id DESC",
            user_id,
            _since(since),
        )
        held: dict[int, HeldLesson] = {}
        for row in rows:
            held.setdefault(int(row["id"]), HeldLesson(int(row["id"]), str(row["lesson"]), str(row["kind"])))
        return list(held.values())[:limit]

    async def settle_next_step(self, user_id: int, run_id: int, outcome: str, at: datetime) -> bool:
        """The person says how one of their next steps went (done, partly) or sets it down (``dropped``).
        False when the entry is not theirs or has no next step."""
        return (
            await self._run(
                "UPDATE runs SET next_step_outcome = $1, outcome_at = $2, "
                "next_step_let_go_at = CASE WHEN $1::text = 'dropped' THEN $2::timestamptz END "
                "WHERE user_id = $3 AND id = $4 AND next_step IS NOT NULL AND flow_id != 'checkin'",
                outcome,
                _at(at),
                user_id,
                run_id,
            )
            == 1
        )

    async def reopen_next_step(self, user_id: int, run_id: int, due: date) -> bool:
        """Keep a next step open after all: no outcome, asked about from ``due`` on. False when not theirs."""
        return (
            await self._run(
                "UPDATE runs SET next_step_outcome = NULL, outcome_at = NULL, next_step_let_go_at = NULL, "
                "next_step_not_yet = 0, next_step_due = $1 "
                "WHERE user_id = $2 AND id = $3 AND next_step IS NOT NULL AND flow_id != 'checkin'",
                due,
                user_id,
                run_id,
            )
            == 1
        )

    async def correct_entry(self, user_id: int, run_id: int, part: str, text: str, at: datetime) -> bool:
        """Replace an entry's lesson or next step (``part``) with the person's corrected words. False when the
        entry is not theirs."""
        column = {"lesson": "lesson", "next_step": "next_step"}[part]
        return (
            await self._run(
                f"UPDATE runs SET {column} = $1, {column}_corrected_at = $2 "  # noqa: S608 (a fixed column name)
                "WHERE user_id = $3 AND id = $4 AND flow_id != 'checkin'",
                text,
                _at(at),
                user_id,
                run_id,
            )
            == 1
        )

    async def delete_run(self, user_id: int, run_id: int) -> bool:
        """Delete one of the user's runs with all its answers; False when there was none."""
        return await self._run("DELETE FROM runs WHERE user_id = $1 AND id = $2", user_id, run_id) == 1

    async def export_runs(
        self, user_id: int, after: tuple[str, int] | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` of the person's runs, oldest first, each with every answer and time, as JSON-ready
        data; ``after`` is the (``finished_at`` text, ``id``) of the last run of the previous page."""
        finished, last_id = (from_db(after[0]) if after[0] else _EARLIEST, after[1]) if after else (_EARLIEST, 0)
        runs = await self._all(
            "SELECT id, flow_id, flow_version, flow_title, started_at, finished_at, lesson, next_step, feeling, "
            "feeling_before, feeling_after, meaning, inputs, next_step_outcome, outcome_at, next_step_due, "
            "next_step_not_yet, next_step_let_go_at, lesson_corrected_at, next_step_corrected_at FROM runs "
            "WHERE user_id = $1 AND (finished_at, id) > ($2, $3) ORDER BY finished_at, id LIMIT $4",
            user_id,
            finished,
            last_id,
            limit,
        )
        if not runs:
            return []
        ids = [int(r["id"]) for r in runs]
        by_run: dict[int, list[dict[str, Any]]] = {}
        for a in await self._all(
            "SELECT run_id, step_id, value, shown, answered_at FROM run_answers WHERE run_id = ANY($1::bigint[]) "
            "ORDER BY run_id, answered_at",
            ids,
        ):
            by_run.setdefault(int(a["run_id"]), []).append(
                {
                    "step": a["step_id"],
                    "value": json.loads(a["value"]),
                    "shown": a["shown"],
                    "answered_at": _text(a["answered_at"]),
                }
            )
        revisits: dict[int, list[dict[str, Any]]] = {}
        for v in await self._all(
            "SELECT run_id, kind, asked_at, answer, answered_at FROM revisits WHERE run_id = ANY($1::bigint[]) "
            "ORDER BY run_id, asked_at",
            ids,
        ):
            revisits.setdefault(int(v["run_id"]), []).append(
                {
                    "kind": v["kind"],
                    "asked_at": _text(v["asked_at"]),
                    "answer": v["answer"],
                    "answered_at": _text(v["answered_at"]),
                }
            )
        return [
            {
                **{key: r[key] for key in _EXPORTED_AS_THEY_ARE},
                "started_at": _text(r["started_at"]),
                "finished_at": _text(r["finished_at"]),
                "lesson": r["lesson"],
                "next_step": r["next_step"],
                "feeling": r["feeling"],
                "feeling_before": r["feeling_before"],
                "feeling_after": r["feeling_after"],
                "meaning": json.loads(r["meaning"]),
                "inputs": json.loads(r["inputs"]),
                "next_step_outcome": r["next_step_outcome"],
                "outcome_at": _text(r["outcome_at"]),
                "next_step_due": _day(r["next_step_due"]),
                "next_step_not_yet_answers": r["next_step_not_yet"],
                "next_step_let_go_at": _text(r["next_step_let_go_at"]),
                "lesson_corrected_at": _text(r["lesson_corrected_at"]),
                "next_step_corrected_at": _text(r["next_step_corrected_at"]),
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

    # --- check-ins -------------------------------------------------------------------------------------

    async def checkin(self, user_id: int) -> CheckinRow | None:
        """The person's check-in settings and schedule, or None before they ever opened /checkin."""
        row = await self._one(
            "SELECT enabled, local_time, timezone, due_at, snoozed_until, unanswered, last_nudge_date, skipped_date, "
            "offered, awaiting, held_date, place FROM checkins WHERE user_id = $1",
            user_id,
        )
        if row is None:
            return None
        local_time: time = row["local_time"]
        settings = CheckinSettings(bool(row["enabled"]), local_time, row["timezone"])
        state = CheckinState(
            due_at=_utc(row["due_at"]) if row["due_at"] else None,
            snoozed_until=_utc(row["snoozed_until"]) if row["snoozed_until"] else None,
            unanswered=int(row["unanswered"]),
            last_nudge_date=row["last_nudge_date"],
            skipped_date=row["skipped_date"],
            held_date=row["held_date"],
        )
        return CheckinRow(settings, state, bool(row["offered"]), row["awaiting"], row["place"])

    async def claim_checkin(self, user_id: int) -> bool:
        """Lock the person's check-in row (``FOR UPDATE SKIP LOCKED``); False when another transaction holds it."""
        claimed = await self._db.fetchval(
            "SELECT user_id FROM checkins WHERE user_id = $1 FOR UPDATE SKIP LOCKED", user_id
        )
        return claimed is not None

    async def save_checkin(self, user_id: int, row: CheckinRow) -> None:
        """Store the person's check-in settings and schedule (wake_at is indexed for the periodic job)."""
        state, settings = row.state, row.settings
        wake = state.wake_at
        await self._run(
            "INSERT INTO checkins (user_id, enabled, local_time, timezone, due_at, snoozed_until, wake_at, unanswered, "
            "last_nudge_date, skipped_date, offered, awaiting, held_date, place) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
            "ON CONFLICT (user_id) DO UPDATE SET enabled = excluded.enabled, local_time = excluded.local_time, "
            "timezone = excluded.timezone, due_at = excluded.due_at, snoozed_until = excluded.snoozed_until, "
            "wake_at = excluded.wake_at, unanswered = excluded.unanswered, last_nudge_date = excluded.last_nudge_date, "
            "skipped_date = excluded.skipped_date, offered = excluded.offered, awaiting = excluded.awaiting, "
            "held_date = excluded.held_date, place = excluded.place",
            user_id,
            settings.enabled,
            # Minutes only, as SQLite keeps it ('HH:MM').
            settings.local_time.replace(second=0, microsecond=0, tzinfo=None),
            settings.timezone,
            _at(state.due_at) if state.due_at else None,
            _at(state.snoozed_until) if state.snoozed_until else None,
            _at(wake) if wake else None,
            state.unanswered,
            state.last_nudge_date,
            state.skipped_date,
            row.offered,
            row.awaiting,
            state.held_date,
            row.place,
        )

    async def due_checkins(
        self, now: datetime, limit: int = 500, after: tuple[str, int] | None = None
    ) -> list[tuple[int, str, str]]:
        """People whose check-in schedule needs attention at ``now`` (user id, external id, wake_at as ISO 8601
        text), oldest first; ``after`` (the wake_at and user id of the last one of the previous page) pages."""
        wake_at, user_id = (from_db(after[0]) if after[0] else _EARLIEST, after[1]) if after else (_EARLIEST, 0)
        rows = await self._all(
            "SELECT c.user_id, u.external_id, c.wake_at FROM checkins c JOIN users u ON u.id = c.user_id "
            "WHERE c.wake_at IS NOT NULL AND c.wake_at <= $1 AND (c.wake_at, c.user_id) > ($2, $3) "
            "ORDER BY c.wake_at, c.user_id LIMIT $4",
            _at(now),
            wake_at,
            user_id,
            limit,
        )
        return [(int(row["user_id"]), str(row["external_id"]), to_db(row["wake_at"])) for row in rows]

    async def record_nudge(self, user_id: int, day: date, now: datetime, run_id: int | None, reminder: bool) -> bool:
        """Record the nudge for a local date; False when that date already had one (nothing is written). The
        unique (user, local date) constraint keeps it to one even when two replicas race."""
        if reminder:
            await self._run(
                "UPDATE nudges SET reminders = reminders + 1 WHERE user_id = $1 AND local_date = $2", user_id, day
            )
            return True
        row = await self._one(
            "INSERT INTO nudges (user_id, local_date, sent_at, run_id) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT DO NOTHING RETURNING id",
            user_id,
            day,
            _at(now),
            run_id,
        )
        return row is not None

    async def open_next_steps(self, user_id: int, limit: int = 50) -> list[PlannedStep]:
        """The person's next steps still open, newest first: none reported done or partly done, none let go."""
        rows = await self._all(
            "SELECT id, next_step, next_step_due, finished_at, next_step_not_yet FROM runs "
            "WHERE user_id = $1 AND flow_id != 'checkin' AND next_step IS NOT NULL "
            "AND (next_step_outcome IS NULL OR next_step_outcome = 'not_yet') AND next_step_let_go_at IS NULL "
            "ORDER BY finished_at DESC, id DESC LIMIT $2",
            user_id,
            limit,
        )
        steps = []
        for row in rows:
            planned_at = _utc(row["finished_at"])
            due = row["next_step_due"] or date.fromordinal(planned_at.date().toordinal() + 1)
            steps.append(
                PlannedStep(int(row["id"]), str(row["next_step"]), due, planned_at, int(row["next_step_not_yet"]))
            )
        return steps

    async def plan_next_step(self, run_id: int, due: date) -> None:
        """Store the local day a run's next step is due: check-ins ask about it from that day on."""
        await self._run("UPDATE runs SET next_step_due = $1 WHERE id = $2", due, run_id)

    async def record_not_yet(self, run_id: int, at: datetime, ask_again: date | None) -> None:
        """A check-in heard "not yet" about a run's next step: asked about again on ``ask_again``, or let go."""
        await self._run(
            "UPDATE runs SET next_step_outcome = 'not_yet', outcome_at = $1, "
            "next_step_not_yet = next_step_not_yet + 1, "
            "next_step_due = coalesce($2, next_step_due), next_step_let_go_at = $3 WHERE id = $4",
            _at(at),
            ask_again,
            None if ask_again else _at(at),
            run_id,
        )

    async def record_outcome(self, run_id: int, outcome: str, at: datetime) -> None:
        """Store how a run's next step went (done, partly, not_yet), as a check-in reported it."""
        await self._run(
            "UPDATE runs SET next_step_outcome = $1, outcome_at = $2 WHERE id = $3", outcome, _at(at), run_id
        )

    async def past_lessons(self, user_id: int, earliest: datetime, latest: datetime) -> list[PastLesson]:
        """Entries written between ``earliest`` and ``latest`` with a lesson, and the revisits already asked
        about each (for ``checkins.revisit_to_ask``)."""
        rows = await self._all(
            "SELECT r.id, r.lesson, r.finished_at, array_remove(array_agg(v.kind), NULL) AS kinds, "
            "coalesce(bool_or(v.answer = 'changed'), false) AS changed FROM runs r "
            "LEFT JOIN revisits v ON v.run_id = r.id WHERE r.user_id = $1 AND r.flow_id != 'checkin' "
            "AND r.lesson IS NOT NULL AND r.finished_at >= $2 AND r.finished_at <= $3 GROUP BY r.id",
            user_id,
            _at(earliest),
            _at(latest),
        )
        return [
            PastLesson(
                int(r["id"]), str(r["lesson"]), _utc(r["finished_at"]), frozenset(r["kinds"]) - {""}, bool(r["changed"])
            )
            for r in rows
        ]

    async def revisit_on(self, user_id: int, day: date) -> Revisit | None:
        """The revisit brought back on local date ``day``, or None."""
        row = await self._one(
            "SELECT v.id, v.run_id, r.lesson, v.kind, v.answer FROM revisits v JOIN runs r ON r.id = v.run_id "
            "WHERE v.user_id = $1 AND v.asked_on = $2 ORDER BY v.id LIMIT 1",
            user_id,
            day,
        )
        if row is None:
            return None
        return Revisit(int(row["id"]), int(row["run_id"]), str(row["lesson"]), str(row["kind"]), row["answer"])

    async def ask_revisit(self, user_id: int, run_id: int, kind: str, day: date, at: datetime) -> int | None:
        """Record that a check-in on local date ``day`` brings a lesson back; its id, or None when that lesson
        was already brought back for ``kind``."""
        row = await self._one(
            "INSERT INTO revisits (user_id, run_id, kind, asked_on, asked_at) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT DO NOTHING RETURNING id",
            user_id,
            run_id,
            kind,
            day,
            _at(at),
        )
        return None if row is None else int(row["id"])

    async def answer_revisit(self, user_id: int, revisit_id: int, answer: str, at: datetime) -> None:
        """Store whether a lesson brought back has helped since (yes, not_yet, changed)."""
        await self._run(
            "UPDATE revisits SET answer = $1, answered_at = $2 WHERE id = $3 AND user_id = $4",
            answer,
            _at(at),
            revisit_id,
            user_id,
        )

    async def switch_off_checkins_for(self, external_id: str) -> bool:
        """Turn check-ins off for someone who blocked the bot; True when they were on."""
        return (
            await self._run(
                "UPDATE checkins SET enabled = false, due_at = NULL, snoozed_until = NULL, wake_at = NULL "
                "WHERE enabled AND user_id = (SELECT id FROM users WHERE external_id = $1)",
                external_id,
            )
            == 1
        )

    # --- heavy requests --------------------------------------------------------------------------------

    async def request_heavy(self, user_id: int, kind: str, detail: str, now: datetime) -> bool:
        """Ask for a heavy piece of work for a person; False when one of this kind is already waiting (it keeps
        its place in the queue and takes the newest ``detail``)."""
        row = await self._one(
            "INSERT INTO heavy_requests (user_id, kind, detail, requested_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (user_id, kind) DO UPDATE SET detail = excluded.detail RETURNING (xmax = 0) AS inserted",
            user_id,
            kind,
            detail,
            _at(now),
        )
        assert row is not None
        return bool(row["inserted"])

    async def heavy_requests(self, limit: int = 100) -> list[HeavyRequest]:
        """Waiting heavy requests, oldest first."""
        rows = await self._all(
            "SELECT h.id, h.user_id, u.external_id, h.kind, h.detail FROM heavy_requests h "
            "JOIN users u ON u.id = h.user_id ORDER BY h.id LIMIT $1",
            limit,
        )
        return [HeavyRequest(int(r["id"]), int(r["user_id"]), r["external_id"], r["kind"], r["detail"]) for r in rows]

    async def take_heavy(self, request_id: int) -> bool:
        """Remove a request whose result is being delivered; False when it is gone already (/forget)."""
        return await self._run("DELETE FROM heavy_requests WHERE id = $1", request_id) == 1

    # --- delivery: inbox, handled updates, offset, quarantine, outbox ---------------------------------

    async def record_updates(
        self, updates: list[tuple[int, int | None, str]], next_offset: int | None, now: datetime
    ) -> None:
        """Durably keep received updates (id, chat id, JSON) not yet handled, and advance the offset (None keeps
        it); storing an offset also forgets handled ids older than ``HANDLED_KEPT``."""
        if updates:
            await self._run(
                "INSERT INTO inbox (update_id, chat_id, payload, received_at) "
                "SELECT u.update_id, u.chat_id, u.payload, $4 "
                "FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS u(update_id, chat_id, payload) "
                "WHERE NOT EXISTS (SELECT 1 FROM handled_updates h WHERE h.update_id = u.update_id) "
                "ON CONFLICT DO NOTHING",
                [update_id for update_id, _, _ in updates],
                [chat_id for _, chat_id, _ in updates],
                [payload for _, _, payload in updates],
                _at(now),
            )
        if next_offset is None:
            return
        await self._run(
            "INSERT INTO bot_state (key, value) VALUES ('update_offset', $1) ON CONFLICT (key) DO UPDATE "
            "SET value = greatest(bot_state.value::bigint, excluded.value::bigint)::text",
            str(next_offset),
        )
        await self._run(
            "INSERT INTO bot_state (key, value) VALUES ('update_seen_at', $1) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            to_db(now),
        )
        await self._run("DELETE FROM handled_updates WHERE handled_at < $1", _at(now - HANDLED_KEPT))

    async def next_update_offset(self) -> int | None:
        """The getUpdates offset that confirms every update already stored, or None before the first."""
        value = await self._db.fetchval("SELECT value FROM bot_state WHERE key = 'update_offset'")
        return None if value is None else int(value)

    async def forget_update_offset(self) -> None:
        """Drop the stored getUpdates offset (and when updates were last seen): the next batch sets them anew."""
        await self._run("DELETE FROM bot_state WHERE key IN ('update_offset', 'update_seen_at')")

    async def last_update_seen(self) -> tuple[int, datetime] | None:
        """The highest update id recorded and when updates were last recorded; None before the first."""
        rows = await self._all("SELECT key, value FROM bot_state WHERE key IN ('update_offset', 'update_seen_at')")
        values = {str(row["key"]): str(row["value"]) for row in rows}
        if "update_offset" not in values or "update_seen_at" not in values:
            return None
        return int(values["update_offset"]) - 1, from_db(values["update_seen_at"])

    async def pending_updates(self, chat_id: int | None = None) -> list[tuple[int, str]]:
        """Stored updates not handled yet, oldest first: (update id, JSON); with ``chat_id`` only that chat's
        (0 for updates that belong to no chat)."""
        if chat_id is None:
            rows = await self._all("SELECT update_id, payload FROM inbox ORDER BY update_id")
        else:
            # Written apart so that a chat's lookup uses the (chat_id, update_id) index.
            where = "chat_id = $1" if chat_id else "chat_id IS NULL AND $1 = 0"
            rows = await self._all(f"SELECT update_id, payload FROM inbox WHERE {where} ORDER BY update_id", chat_id)  # noqa: S608
        return [(int(row["update_id"]), str(row["payload"])) for row in rows]

    async def chats_with_pending_updates(self, received_before: datetime) -> list[int]:
        """The chats with updates stored before ``received_before`` and not handled yet (0: no chat)."""
        rows = await self._all(
            "SELECT DISTINCT coalesce(chat_id, 0) AS chat FROM inbox WHERE received_at < $1", _at(received_before)
        )
        return sorted(int(row["chat"]) for row in rows)

    async def claim_update(self, update_id: int, now: datetime) -> bool:
        """Mark an update handled; False when it already was (a duplicate to ignore). Two transactions claiming
        the same id at once: the second waits on the first's row and claims nothing if it commits."""
        row = await self._one(
            "INSERT INTO handled_updates (update_id, handled_at) VALUES ($1, $2) ON CONFLICT DO NOTHING "
            "RETURNING update_id",
            update_id,
            _at(now),
        )
        await self._run("DELETE FROM inbox WHERE update_id = $1", update_id)
        self._claiming.append(update_id)
        return row is not None

    async def count_attempt(self, update_id: int, now: datetime, apart: timedelta) -> tuple[int, datetime | None]:
        """Count one more attempt at handling a stored update, begun ``now``, unless the last one counted began
        less than ``apart`` before (another process beginning it at the same time, not a new try); returns the
        attempts so far and when it was first stored (0 and None once it is no longer in the inbox)."""
        # One statement on the row's own values (both SETs read the row as it was): a process beginning the
        # update at the same moment waits on the row, then reads the count this one left.
        # (One stamped "in the future" by a replica whose clock ran ahead does not stop the counting.)
        due = "attempted_at IS NULL OR attempted_at <= $3 OR attempted_at > $2"
        row = await self._db.fetchrow(
            f"UPDATE inbox SET attempts = attempts + CASE WHEN {due} THEN 1 ELSE 0 END, "  # noqa: S608
            f"attempted_at = CASE WHEN {due} THEN $2 ELSE attempted_at END "
            "WHERE update_id = $1 RETURNING attempts, received_at",
            update_id,
            _at(now),
            _at(now - apart),
        )
        return (0, None) if row is None else (int(row["attempts"]), row["received_at"])

    async def quarantine_update(
        self, update_id: int, chat_id: int | None, payload: str, reason: str, now: datetime
    ) -> bool:
        """Keep an update that could not be parsed or handled (its raw JSON and why), and mark it handled so it
        is never tried again; False when it was already in quarantine."""
        row = await self._one(
            "INSERT INTO dead_letters (update_id, chat_id, payload, reason, quarantined_at) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING update_id",
            update_id,
            chat_id,
            payload,
            reason,
            _at(now),
        )
        await self.claim_update(update_id, now)
        return row is not None

    async def quarantined_among(self, update_ids: list[int]) -> set[int]:
        """Which of these updates are in quarantine (they must not be tried again)."""
        if not update_ids:
            return set()
        rows = await self._all("SELECT update_id FROM dead_letters WHERE update_id = ANY($1::bigint[])", update_ids)
        return {int(row["update_id"]) for row in rows}

    async def count_quarantined(self) -> int:
        """How many updates are kept in quarantine."""
        return int(await self._db.fetchval("SELECT count(*) FROM dead_letters") or 0)

    async def enqueue_replies(self, chat_id: int, payloads: list[str], now: datetime) -> list[int]:
        """Add replies for a chat to the outbox (sent after the transaction commits); returns their ids, which
        follow the order of ``payloads``."""
        if not payloads:
            return []
        rows = await self._all(
            "INSERT INTO outbox (chat_id, payload, created_at) "
            "SELECT $1, p.payload, $3 FROM unnest($2::text[]) WITH ORDINALITY AS p(payload, n) ORDER BY p.n "
            "RETURNING id",
            chat_id,
            payloads,
            _at(now),
        )
        # Wakes the replica that sends (it LISTENs, see bot.storage.postgres.leadership) once this commits.
        await self._db.execute("SELECT pg_notify($1, $2)", OUTBOX_CHANNEL, str(chat_id))
        return sorted(int(row["id"]) for row in rows)  # identities are drawn in the order the rows are inserted

    async def pending_replies(self, chat_id: int | None = None) -> list[tuple[int, int, str]]:
        """Replies committed but not yet sent, in order: (outbox id, chat id, JSON)."""
        if chat_id is None:
            rows = await self._all("SELECT id, chat_id, payload FROM outbox ORDER BY id")
        else:
            rows = await self._all("SELECT id, chat_id, payload FROM outbox WHERE chat_id = $1 ORDER BY id", chat_id)
        return [(int(row["id"]), int(row["chat_id"]), str(row["payload"])) for row in rows]

    async def chats_with_pending_replies(self) -> list[int]:
        """The chats that have replies committed but not yet sent, the one whose reply has waited longest first."""
        rows = await self._all("SELECT chat_id FROM outbox GROUP BY chat_id ORDER BY min(id)")
        return [int(row["chat_id"]) for row in rows]

    async def mark_replies_sent(self, outbox_ids: list[int]) -> None:
        """Remove replies from the outbox once Telegram has them (or will never take them)."""
        if outbox_ids:
            await self._run("DELETE FROM outbox WHERE id = ANY($1::bigint[])", list(outbox_ids))

    async def forget_chat(self, chat_id: int) -> None:
        """Delete what delivery keeps for a chat: its queued updates, unsent replies and quarantined updates."""
        await self._run("DELETE FROM inbox WHERE chat_id = $1", chat_id)
        await self._run("DELETE FROM outbox WHERE chat_id = $1", chat_id)
        await self._run("DELETE FROM dead_letters WHERE chat_id = $1", chat_id)

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
            None if row["inbox_oldest"] is None else _utc(row["inbox_oldest"]),
            int(row["outbox_pending"]),
            None if row["outbox_oldest"] is None else _utc(row["outbox_oldest"]),
        )
