"""Forward-only, numbered schema migrations, each recorded in ``schema_migrations`` when applied.

Never edit a migration that has shipped; add a new one with the next number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.storage.timestamps import to_db


@dataclass(frozen=True)
class Migration:
    """One schema change: its number, a short name and the statements it runs, in order."""

    number: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "users, in-progress runs, completed runs and their answers",
        (
            """CREATE TABLE users (
                id INTEGER PRIMARY KEY,
                external_id TEXT NOT NULL UNIQUE,
                created_at TEXT NOT NULL
            )""",
            """CREATE TABLE active_runs (
                user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
                flow_id TEXT NOT NULL,
                flow_version INTEGER NOT NULL,
                state TEXT NOT NULL,
                started_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )""",
            """CREATE TABLE runs (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                flow_id TEXT NOT NULL,
                flow_version INTEGER NOT NULL,
                flow_title TEXT NOT NULL,
                started_at TEXT NOT NULL,
                finished_at TEXT NOT NULL,
                lesson TEXT,
                next_step TEXT,
                feeling TEXT,
                feeling_before INTEGER,
                feeling_after INTEGER,
                meaning TEXT NOT NULL DEFAULT '{}',
                inputs TEXT NOT NULL DEFAULT '{}'
            )""",
            "CREATE INDEX runs_by_user_and_time ON runs(user_id, finished_at)",
            """CREATE TABLE run_answers (
                run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                step_id TEXT NOT NULL,
                value TEXT NOT NULL,
                shown TEXT NOT NULL,
                answered_at TEXT NOT NULL,
                PRIMARY KEY (run_id, step_id)
            )""",
        ),
    ),
    Migration(
        2,
        "Telegram delivery: inbox of received updates, handled update ids, outbox of replies",
        (
            """CREATE TABLE inbox (
                update_id INTEGER PRIMARY KEY,
                chat_id INTEGER,
                payload TEXT NOT NULL,
                received_at TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0
            )""",
            """CREATE TABLE handled_updates (
                update_id INTEGER PRIMARY KEY,
                handled_at TEXT NOT NULL
            )""",
            """CREATE TABLE outbox (
                id INTEGER PRIMARY KEY,
                chat_id INTEGER NOT NULL,
                payload TEXT NOT NULL,
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX outbox_by_chat ON outbox(chat_id, id)",
            """CREATE TABLE bot_state (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL
            )""",
        ),
    ),
    Migration(
        3,
        "onboarding: when a person confirmed what the bot is, and the flow they asked for before that",
        (
            "ALTER TABLE users ADD COLUMN onboarded_at TEXT",
            "ALTER TABLE users ADD COLUMN pending_flow TEXT",
            # People who were already using the bot have seen it; don't stop them with onboarding again.
            "UPDATE users SET onboarded_at = created_at",
        ),
    ),
    Migration(
        4,
        "how each next step went (from check-ins), and a lessons index for fast summaries",
        (
            "ALTER TABLE runs ADD COLUMN next_step_outcome TEXT",
            "ALTER TABLE runs ADD COLUMN outcome_at TEXT",
            "CREATE INDEX runs_by_user_flow_and_time ON runs(user_id, flow_id, finished_at)",
        ),
    ),
    Migration(
        5,
        "daily check-ins: each person's settings and schedule, and one row per nudge and local date",
        (
            """CREATE TABLE checkins (
                user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
                enabled INTEGER NOT NULL DEFAULT 0,
                local_time TEXT NOT NULL,
                timezone TEXT NOT NULL,
                due_at TEXT,
                snoozed_until TEXT,
                wake_at TEXT,
                unanswered INTEGER NOT NULL DEFAULT 0,
                last_nudge_date TEXT,
                skipped_date TEXT,
                offered INTEGER NOT NULL DEFAULT 0,
                awaiting TEXT
            )""",
            "CREATE INDEX checkins_by_wake_at ON checkins(wake_at) WHERE wake_at IS NOT NULL",
            """CREATE TABLE nudges (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                local_date TEXT NOT NULL,
                sent_at TEXT NOT NULL,
                run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
                reminders INTEGER NOT NULL DEFAULT 0,
                UNIQUE (user_id, local_date)
            )""",
        ),
    ),
    Migration(
        6,
        "a message held back while the safety question is open (the person's words, kept until they answer)",
        ("ALTER TABLE users ADD COLUMN safety_hold TEXT",),
    ),
    Migration(
        7,
        "quarantine: updates that could not be parsed or handled, kept with their raw JSON",
        (
            """CREATE TABLE dead_letters (
                update_id INTEGER PRIMARY KEY,
                chat_id INTEGER,
                payload TEXT NOT NULL,
                reason TEXT NOT NULL,
                quarantined_at TEXT NOT NULL
            )""",
            # /forget removes a person's quarantined updates with the rest of what they wrote.
            "CREATE INDEX dead_letters_by_chat ON dead_letters(chat_id)",
        ),
    ),
    Migration(
        8,
        "what a person's next typed message is read against outside a flow (JSON): the buttons last shown, "
        "and words kept for the flow they may start",
        ("ALTER TABLE users ADD COLUMN awaiting TEXT",),
    ),
    Migration(
        9,
        "heavy requests (an export, a chart) waiting to be built off the event loop, one of each kind per person",
        (
            """CREATE TABLE heavy_requests (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                kind TEXT NOT NULL,
                detail TEXT NOT NULL DEFAULT '',
                requested_at TEXT NOT NULL,
                UNIQUE (user_id, kind)
            )""",
        ),
    ),
    Migration(
        10,
        "check-ins that always arrive: the day each next step is due and its 'not yet' answers, a check-in "
        "held back by an open flow, and flows set aside (kept, resumable)",
        (
            "ALTER TABLE runs ADD COLUMN next_step_due TEXT",
            "ALTER TABLE runs ADD COLUMN next_step_not_yet INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE runs ADD COLUMN next_step_let_go_at TEXT",
            # Steps planned before days were asked: due the day after they were planned (never minutes later).
            "UPDATE runs SET next_step_due = date(finished_at, '+1 day') "
            "WHERE next_step IS NOT NULL AND flow_id != 'checkin'",
            # "Not yet" used to close a step for good; it keeps it open now, asked about again two days on.
            "UPDATE runs SET next_step_not_yet = 1, next_step_due = date(coalesce(outcome_at, finished_at), '+2 days') "
            "WHERE next_step_outcome = 'not_yet'",
            "ALTER TABLE checkins ADD COLUMN held_date TEXT",
            """CREATE TABLE set_aside_runs (
                user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
                flow_id TEXT NOT NULL,
                flow_version INTEGER NOT NULL,
                state TEXT NOT NULL,
                touched_at TEXT NOT NULL,
                set_aside_at TEXT NOT NULL
            )""",
        ),
    ),
    Migration(
        11,
        "the place a person gave for their check-in timezone, shown back to them ('Manchester, England'); "
        "NULL until they choose one",
        (
            "ALTER TABLE checkins ADD COLUMN place TEXT",
            # Before this, a person who turned check-ins on was asked their timezone (or changed it on purpose
            # from the bot's default): '' means "chosen, show the zone's own city".
            "UPDATE checkins SET place = '' WHERE enabled = 1 OR timezone != 'UTC'",
        ),
    ),
    Migration(
        12,
        "lesson revisits (a past lesson brought back by a check-in a week and a month on, and the answer), and "
        "when an entry's lesson or next step was corrected",
        (
            """CREATE TABLE revisits (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                kind TEXT NOT NULL,
                asked_on TEXT NOT NULL,
                asked_at TEXT NOT NULL,
                answer TEXT,
                answered_at TEXT,
                UNIQUE (run_id, kind)
            )""",
            # "At most one a day" and "lessons that held" both look a person's revisits up by date.
            "CREATE INDEX revisits_by_user_and_day ON revisits(user_id, asked_on)",
            "ALTER TABLE runs ADD COLUMN lesson_corrected_at TEXT",
            "ALTER TABLE runs ADD COLUMN next_step_corrected_at TEXT",
        ),
    ),
    Migration(
        13,
        "handled update ids are forgotten after 48 hours (Telegram resends nothing older): looked up by age",
        ("CREATE INDEX IF NOT EXISTS handled_updates_by_age ON handled_updates(handled_at)",),
    ),
    Migration(
        14,
        "when a stored update's last counted attempt began: processes beginning it at once count one attempt",
        ("ALTER TABLE inbox ADD COLUMN attempted_at TEXT",),
    ),
)


async def migrate(connection: aiosqlite.Connection, now: datetime) -> list[int]:
    """Apply every migration the database lacks, each in its own write transaction; returns their numbers."""
    await connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    applied: list[int] = []
    for migration in MIGRATIONS:
        await connection.execute("BEGIN IMMEDIATE")
        try:
            async with connection.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.number,)
            ) as cursor:
                done = await cursor.fetchone() is not None
            if not done:
                for statement in migration.statements:
                    await connection.execute(statement)
                await connection.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.number, migration.name, to_db(now)),
                )
                applied.append(migration.number)
            await connection.execute("COMMIT")
        except BaseException:
            # On a full disk SQLite has already rolled back by itself; a second ROLLBACK would hide why.
            if connection.in_transaction:
                await connection.execute("ROLLBACK")
            raise
    return applied


def latest_version() -> int:
    """The number of the newest migration this code knows."""
    return MIGRATIONS[-1].number
