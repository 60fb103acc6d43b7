"""SQLite storage on a real temp database: schema, file safety, saving and resuming, completed runs."""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import aiosqlite
import pytest

from bot import engine
from bot.engine import Answer, Finished, Skip
from bot.flows.catalog import Catalog
from bot.storage.database import open_database
from bot.storage.migrations import MIGRATIONS, latest_version, migrate
from bot.storage.repository import Repository
from tests.conftest import NOW

EXPECTED_TABLES = {"schema_migrations", "users", "active_runs", "runs", "run_answers"}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "springboard.sqlite3"


@pytest.fixture
async def connection(db_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    connection = await open_database(db_path, NOW)
    try:
        yield connection
    finally:
        await connection.close()


async def rows(connection: aiosqlite.Connection, sql: str, *params: object) -> list[tuple[object, ...]]:
    async with connection.execute(sql, params) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


async def test_a_new_database_gets_every_table_and_records_each_migration_once(
    connection: aiosqlite.Connection,
) -> None:
    tables = {name for (name,) in await rows(connection, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables >= EXPECTED_TABLES
    recorded = await rows(connection, "SELECT version, applied_at FROM schema_migrations ORDER BY version")
    assert [version for version, _ in recorded] == [migration.number for migration in MIGRATIONS]
    assert recorded[0][0] == 1
    assert latest_version() == MIGRATIONS[-1].number
    assert all(applied_at == NOW.isoformat() for _, applied_at in recorded)


async def test_reopening_applies_nothing_and_keeps_the_data(db_path: Path) -> None:
    first = await open_database(db_path, NOW)
    try:
        async with Repository(first).transaction() as repository:
            await repository.user("cli:ana", NOW)
    finally:
        await first.close()
    later = NOW + timedelta(days=3)
    second = await open_database(db_path, later)
    try:
        assert await migrate(second, later) == []
        recorded = await rows(second, "SELECT applied_at FROM schema_migrations")
        assert {applied_at for (applied_at,) in recorded} == {NOW.isoformat()}, "nothing re-applied on reopen"
        user = await Repository(second).find_user("cli:ana")
        assert user is not None and user.created_at == NOW
    finally:
        await second.close()


async def test_the_database_file_is_private_to_its_owner(db_path: Path, connection: aiosqlite.Connection) -> None:
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    # Write something so SQLite creates its write-ahead log; it must be just as private.
    async with Repository(connection).transaction() as repository:
        await repository.user("cli:ana", NOW)
    wal = db_path.with_name(db_path.name + "-wal")
    assert wal.exists()
    assert stat.S_IMODE(wal.stat().st_mode) & 0o077 == 0


async def test_wal_mode_and_foreign_keys_are_on(connection: aiosqlite.Connection) -> None:
    assert await rows(connection, "PRAGMA journal_mode") == [("wal",)]
    assert await rows(connection, "PRAGMA foreign_keys") == [(1,)]
    with pytest.raises(aiosqlite.IntegrityError):
        await connection.execute(
            "INSERT INTO active_runs (user_id, flow_id, flow_version, state, started_at, updated_at) "
            "VALUES (999, 'setback', 1, '{}', ?, ?)",
            (NOW.isoformat(), NOW.isoformat()),
        )


async def test_a_saved_position_resumes_at_the_same_step_after_a_restart(db_path: Path, catalog: Catalog) -> None:
    flow, texts = catalog.flows["setback"], catalog.texts
    state, _ = engine.start(flow, NOW, texts)
    assert state is not None
    for answer in ("I lost the match", "2"):
        state, _ = engine.advance(flow, state, Answer(answer), NOW, texts)
        assert state is not None
    first = await open_database(db_path, NOW)
    try:
        async with Repository(first).transaction() as repository:
            user = await repository.user("tg:42", NOW)
            await repository.save_state(user.id, state, NOW)
    finally:
        await first.close()

    restarted = await open_database(db_path, NOW)
    try:
        repository = Repository(restarted)
        user_again = await repository.find_user("tg:42")
        assert user_again is not None and user_again.id == user.id
        loaded = await repository.active_state(user.id)
        assert loaded == state
        assert loaded is not None and loaded.step == "intensity_before"
        # The reloaded state carries on exactly like the original would.
        assert engine.advance(flow, loaded, Answer("5"), NOW, texts) == engine.advance(
            flow, state, Answer("5"), NOW, texts
        )
        async with repository.transaction() as writing:
            await writing.save_state(user.id, None, NOW)
        assert await repository.active_state(user.id) is None
    finally:
        await restarted.close()


async def test_a_completed_run_is_stored_with_every_answer_and_utc_timestamps(
    connection: aiosqlite.Connection, catalog: Catalog
) -> None:
    flow, texts = catalog.flows["setback"], catalog.texts
    berlin = timezone(timedelta(hours=1))
    moment = datetime(2025, 3, 14, 10, 30, tzinfo=berlin)  # 09:30 UTC
    state, _ = engine.start(flow, moment, texts)
    effects: list[engine.Effect] = []
    for event in (
        "I lost the match",
        "2",
        "5",
        "I always choke",
        Skip(),  # no thinking trap
        "Everyone has off days",
        Skip(),
        "Rest before big games",
        "Sleep early on Friday",
        "3",
    ):
        assert state is not None
        state, effects = engine.advance(flow, state, Answer(event) if isinstance(event, str) else event, moment, texts)
    [done] = [effect for effect in effects if isinstance(effect, Finished)]
    repository = Repository(connection)
    async with repository.transaction() as writing:
        user = await writing.user("tg:7", moment)
        run_id = await writing.save_run(user.id, done.run)

    assert await repository.run_answers(run_id) == {
        "what_happened": "I lost the match",
        "feeling": "frustrated",
        "intensity_before": 5,
        "harsh_voice": "I always choke",
        "traps": None,
        "friend_voice": "Everyone has off days",
        "control": None,
        "lesson": "Rest before big games",
        "next_step": "Sleep early on Friday",
        "next_step_when": "wd:4",  # the day read from the step itself: not asked again
        "intensity_after": 3,
    }
    [(started, finished, lesson, next_step, feeling, before, after, meaning)] = await rows(
        connection,
        "SELECT started_at, finished_at, lesson, next_step, feeling, feeling_before, feeling_after, meaning "
        "FROM runs WHERE id = ?",
        run_id,
    )
    assert started == finished == "2025-03-14T09:30:00+00:00"
    assert (lesson, next_step, feeling, before, after) == (
        "Rest before big games", "Sleep early on Friday", "frustrated", 5, 3,
    )  # fmt: skip
    assert json.loads(str(meaning))["lesson"] == "Rest before big games"
    stamps = await rows(connection, "SELECT answered_at FROM run_answers WHERE run_id = ?", run_id)
    assert {stamp for (stamp,) in stamps} == {"2025-03-14T09:30:00+00:00"}
    shown = await rows(connection, "SELECT shown FROM run_answers WHERE run_id = ? AND step_id = 'feeling'", run_id)
    assert shown == [("😤 Frustrated",)]

    [entry] = await repository.lessons(user.id)
    assert entry.lesson == "Rest before big games"
    assert entry.finished_at == datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
    assert entry.finished_at.tzinfo is not None
    assert await repository.count_runs(user.id) == 1


async def test_naive_datetimes_are_refused_and_nothing_is_written(connection: aiosqlite.Connection) -> None:
    repository = Repository(connection)
    with pytest.raises(ValueError, match="naive"):
        async with repository.transaction() as writing:
            await writing.user("cli:naive", datetime(2025, 3, 14, 9, 30))
    assert await repository.find_user("cli:naive") is None


async def test_a_failing_transaction_rolls_back_everything_it_did(
    connection: aiosqlite.Connection, catalog: Catalog
) -> None:
    flow, texts = catalog.flows["quick"], catalog.texts
    state, _ = engine.start(flow, NOW, texts)
    repository = Repository(connection)

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with repository.transaction() as writing:
            user = await writing.user("tg:9", NOW)
            await writing.save_state(user.id, state, NOW)
            raise Boom
    assert await repository.find_user("tg:9") is None
    assert await rows(connection, "SELECT count(*) FROM active_runs") == [(0,)]
    # The connection is usable again straight away.
    async with repository.transaction() as writing:
        user = await writing.user("tg:9", NOW)
    assert user.is_new
