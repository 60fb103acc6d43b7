"""PostgreSQL's own forward-only, numbered migrations, recorded in ``schema_migrations``.

They are numbered independently of SQLite's (``bot/storage/migrations.py``): the first one is today's
whole schema in PostgreSQL's terms (``timestamptz``, ``date``, ``jsonb``, identity columns). Every process
that opens the database applies what is missing under one advisory lock, so two replicas starting at once
never race; a database migrated by newer code than this is refused. Never edit a migration that has
shipped; add a new one with the next number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

import asyncpg

from bot.storage.postgres.errors import SchemaNewerThanCode

Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"
"""A connection of its own or one taken from a pool."""


@dataclass(frozen=True)
class Migration:
    """One schema change: its number, a short name and the statements it runs, in order (one transaction)."""

    number: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "the schema of SQLite's migrations 1-13: people, flows and runs, check-ins, revisits, heavy requests, "
        "and delivery (inbox, handled ids, quarantine, outbox, bot state)",
        (
            """CREATE TABLE users (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                external_id text NOT NULL UNIQUE,
                created_at timestamptz NOT NULL,
                onboarded_at timestamptz,
                pending_flow text,
                safety_hold text,
                awaiting text
            )""",
            # A flow's position is kept as ``json``, not ``jsonb``: it comes back exactly as saved (key order
            # included), as the Protocol promises; nothing queries inside it.
            """CREATE TABLE active_runs (
                user_id bigint PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
                flow_id text NOT NULL,
                flow_version integer NOT NULL,
                state json NOT NULL,
                started_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL
            )""",
            """CREATE TABLE set_aside_runs (
                user_id bigint PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
                flow_id text NOT NULL,
                flow_version integer NOT NULL,
                state json NOT NULL,
                touched_at timestamptz NOT NULL,
                set_aside_at timestamptz NOT NULL
            )""",
            """CREATE TABLE runs (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                flow_id text NOT NULL,
                flow_version integer NOT NULL,
                flow_title text NOT NULL,
                started_at timestamptz NOT NULL,
                finished_at timestamptz NOT NULL,
                lesson text,
                next_step text,
                feeling text,
                feeling_before integer,
                feeling_after integer,
                meaning jsonb NOT NULL DEFAULT '{}',
                inputs jsonb NOT NULL DEFAULT '{}',
                next_step_outcome text,
                outcome_at timestamptz,
                next_step_due date,
                next_step_not_yet integer NOT NULL DEFAULT 0,
                next_step_let_go_at timestamptz,
                lesson_corrected_at timestamptz,
                next_step_corrected_at timestamptz
            )""",
            "CREATE INDEX runs_by_user_and_time ON runs (user_id, finished_at, id)",
            "CREATE INDEX runs_by_user_flow_and_time ON runs (user_id, flow_id, finished_at)",
            """CREATE TABLE run_answers (
                run_id bigint NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                step_id text NOT NULL,
                value jsonb NOT NULL,
                shown text NOT NULL,
                answered_at timestamptz NOT NULL,
                PRIMARY KEY (run_id, step_id)
            )""",
            """CREATE TABLE checkins (
                user_id bigint PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
                enabled boolean NOT NULL DEFAULT false,
                local_time time NOT NULL,
                timezone text NOT NULL,
                due_at timestamptz,
                snoozed_until timestamptz,
                wake_at timestamptz,
                unanswered integer NOT NULL DEFAULT 0,
                last_nudge_date date,
                skipped_date date,
                held_date date,
                offered boolean NOT NULL DEFAULT false,
                awaiting text,
                place text
            )""",
            "CREATE INDEX checkins_by_wake_at ON checkins (wake_at, user_id) WHERE wake_at IS NOT NULL",
            """CREATE TABLE nudges (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                local_date date NOT NULL,
                sent_at timestamptz NOT NULL,
                run_id bigint REFERENCES runs(id) ON DELETE SET NULL,
                reminders integer NOT NULL DEFAULT 0,
                UNIQUE (user_id, local_date)
            )""",
            """CREATE TABLE revisits (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                run_id bigint NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                kind text NOT NULL,
                asked_on date NOT NULL,
                asked_at timestamptz NOT NULL,
                answer text,
                answered_at timestamptz,
                UNIQUE (run_id, kind)
            )""",
            "CREATE INDEX revisits_by_user_and_day ON revisits (user_id, asked_on)",
            """CREATE TABLE heavy_requests (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                kind text NOT NULL,
                detail text NOT NULL DEFAULT '',
                requested_at timestamptz NOT NULL,
                UNIQUE (user_id, kind)
            )""",
            """CREATE TABLE inbox (
                update_id bigint PRIMARY KEY,
                chat_id bigint,
                payload text NOT NULL,
                received_at timestamptz NOT NULL,
                attempts integer NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX inbox_by_chat ON inbox (chat_id, update_id)",
            """CREATE TABLE handled_updates (
                update_id bigint PRIMARY KEY,
                handled_at timestamptz NOT NULL
            )""",
            "CREATE INDEX handled_updates_by_age ON handled_updates (handled_at)",
            """CREATE TABLE dead_letters (
                update_id bigint PRIMARY KEY,
                chat_id bigint,
                payload text NOT NULL,
                reason text NOT NULL,
                quarantined_at timestamptz NOT NULL
            )""",
            "CREATE INDEX dead_letters_by_chat ON dead_letters (chat_id)",
            """CREATE TABLE outbox (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                chat_id bigint NOT NULL,
                payload text NOT NULL,
                created_at timestamptz NOT NULL
            )""",
            "CREATE INDEX outbox_by_chat ON outbox (chat_id, id)",
            """CREATE TABLE bot_state (
                key text PRIMARY KEY,
                value text NOT NULL
            )""",
        ),
    ),
    Migration(
        2,
        "when a stored update's last counted attempt began (SQLite's 14): replicas beginning it at once count one",
        ("ALTER TABLE inbox ADD COLUMN attempted_at timestamptz",),
    ),
)

MIGRATION_LOCK = 0x5B_0017
"""The advisory lock (one bigint key) every process holds while it migrates."""


def latest_version() -> int:
    """The number of the newest migration this code knows."""
    return MIGRATIONS[-1].number


async def schema_version(connection: Connection) -> int:
    """The newest migration applied to the database ``connection`` reaches (0 for an empty one)."""
    exists = await connection.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return 0
    version = await connection.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
    return int(version)


def refuse_newer(version: int) -> None:
    """Raise ``SchemaNewerThanCode`` when the database is ahead of the migrations this code knows."""
    if version > latest_version():
        raise SchemaNewerThanCode(
            f"the database schema is at version {version}, newer than this code knows ({latest_version()}): "
            "run the newer version of the bot, or restore a backup made for this one"
        )


async def migrate(connection: Connection, now: datetime) -> list[int]:
    """Apply every migration the database lacks, each in its own transaction, under the advisory lock;
    returns their numbers. Refuses (``SchemaNewerThanCode``) a schema newer than this code knows."""
    await connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)"
        )
        refuse_newer(await schema_version(connection))
        applied: list[int] = []
        for migration in MIGRATIONS:
            async with connection.transaction():
                done = await connection.fetchval("SELECT 1 FROM schema_migrations WHERE version = $1", migration.number)
                if done:
                    continue
                for statement in migration.statements:
                    await connection.execute(statement)
                await connection.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    migration.number,
                    migration.name,
                    now,
                )
                applied.append(migration.number)
        return applied
    finally:
        await connection.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
