"""A full disk or a read-only database: a short apology, the others still served, nothing half-written.

The bot runs in-process with its real Intake, polling a fake getUpdates. The database is broken for
real: read-only (``PRAGMA query_only``), full (``PRAGMA max_page_count``), or failing one person's writes
through a trigger whose function raises, so SQLite itself aborts the statement mid-transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.storage.database import open_database, write_transaction
from bot.tg import intake as intake_module
from tests.reliability.inprocess import USER, Rig, rig

OTHER = USER + 1
APOLOGY = "something went wrong on my side"


def apologies(session: Rig, user: int = USER) -> int:
    return sum(APOLOGY in text for text in session.texts_shown(user))


def asked(session: Rig, words: str, user: int = USER) -> Callable[[], object]:
    async def shown() -> bool:
        return any(words in text for text in session.texts_shown(user))

    return shown


async def fail_writes_for(session: Rig, chat_id: int, failures: int | None) -> list[int]:
    """Make the next ``failures`` (None: all) outbox writes for ``chat_id`` fail inside SQLite.

    The outbox row is the last write of a handled update (after its new state and any completed run),
    so a failure there shows whether the whole transaction was undone. Returns a list that counts them.
    """
    failed: list[int] = []

    def disk_full(row_chat: int) -> int:
        if row_chat == chat_id and (failures is None or len(failed) < failures):
            failed.append(row_chat)
            raise OSError("No space left on device")
        return 0

    await session.connection.create_function("disk_full", 1, disk_full)
    await session.connection.execute(
        "CREATE TEMP TRIGGER full_disk BEFORE INSERT ON outbox WHEN disk_full(NEW.chat_id) BEGIN SELECT 1; END"
    )
    return failed


async def heal(session: Rig) -> None:
    await session.connection.execute("DROP TRIGGER IF EXISTS temp.full_disk")


async def fill_the_disk(session: Rig) -> None:
    """Let the database grow no more, then fill every free byte: the next sizeable write finds the disk full."""
    await session.connection.execute("CREATE TABLE filler (junk TEXT)")
    pages = await session.scalar("PRAGMA page_count")
    await session.connection.execute(f"PRAGMA max_page_count = {pages}")
    for size in (4000, 1000, 200, 20):
        while True:
            try:
                await session.connection.execute("INSERT INTO filler VALUES (?)", ("x" * size,))
            except sqlite3.OperationalError as full:
                assert "full" in str(full)
                break


async def at_last_question_of_quick(session: Rig, user: int) -> None:
    await session.start_flow("/quick", user)
    await session.say(f"My flat flooded ({user})", user)
    await session.say(f"Check the insurance papers every year ({user})", user)


async def test_a_brief_failure_is_retried_quietly_while_others_are_served() -> None:
    async with rig() as session:
        await at_last_question_of_quick(session, USER)
        await session.start_flow("/quick", OTHER)
        failed = await fail_writes_for(session, USER, failures=2)
        before = len(session.calls)

        await session.deliver(
            session.message("Call the insurer on Monday", USER), session.message("I lost my bag", OTHER)
        )

        assert len(failed) == 2
        [answers] = await session.runs(USER)
        assert answers["next_step"] == "Call the insurer on Monday"
        assert apologies(session) == 0, "the person was told of a failure that the retry fixed"
        texts = [call.params["text"] for call in session.calls[before:] if call.method == "sendMessage"]
        summary = next(i for i, text in enumerate(texts) if "Saved." in text)
        question = next(i for i, text in enumerate(texts) if "teach you" in text)
        assert question < summary, "the other person waited for this one's retries"
        assert await session.scalar("SELECT count(*) FROM inbox") == 0
        assert session.problems == []


async def test_a_lasting_failure_gets_one_apology_undoes_everything_and_the_answer_works_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(intake_module, "FIRST_DATABASE_RETRY_S", 0.01)
    async with rig() as session:
        await at_last_question_of_quick(session, USER)
        await session.start_flow("/quick", OTHER)
        state_before = await session.state(USER)
        failed = await fail_writes_for(session, USER, failures=None)

        await session.deliver(
            session.message("Call the insurer on Monday", USER), session.message("I lost my bag", OTHER)
        )

        assert len(failed) == intake_module.DATABASE_ATTEMPTS
        assert apologies(session) == 1
        # Nothing half-written: the completed run and the cleared state were rolled back with the reply.
        assert await session.runs(USER) == []
        assert await session.state(USER) == state_before
        assert await session.scalar("SELECT count(*) FROM outbox") == 0
        assert await session.scalar("SELECT count(*) FROM inbox") == 0, "a failing update was kept for ever"
        other = await session.state(OTHER)
        assert other is not None and other.answers == {"what_happened": "I lost my bag"}

        await heal(session)
        await session.say("Call the insurer on Monday", USER)
        [answers] = await session.runs(USER)
        assert answers["next_step"] == "Call the insurer on Monday"
        assert apologies(session) == 1
        assert session.problems == []


async def test_a_read_only_database_gets_one_apology_and_takes_the_message_once_writable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(intake_module, "FIRST_DATABASE_RETRY_S", 0.01)
    async with rig() as session:
        await session.start_flow("/quick", USER)
        async with session.polling():
            await session.wait_for(session.polled)
            await session.connection.execute("PRAGMA query_only = ON")
            session.feed(session.message("The train was late and I missed the interview", USER))

            async def told() -> bool:
                return apologies(session) == 1

            await session.wait_for(told)
            state = await session.state(USER)
            assert state is not None and state.answers == {}, "an answer was applied while nothing could be saved"

            await session.connection.execute("PRAGMA query_only = OFF")
            session.feed(session.message("The train was late and I missed the interview", USER))
            await session.wait_for(asked(session, "teach you"))
        state = await session.state(USER)
        assert state is not None and state.answers == {"what_happened": "The train was late and I missed the interview"}
        assert apologies(session) == 1
        assert session.errors.records, "the failure was not logged for the person running the bot"
        assert session.problems == []


async def test_a_full_disk_gets_one_apology_keeps_the_file_sound_and_recovers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(intake_module, "FIRST_DATABASE_RETRY_S", 0.01)
    async with rig() as session:
        await at_last_question_of_quick(session, USER)
        # Too big for the free space left in any page: storing it needs new pages, and there are none.
        answer = "Call the insurer on Monday 🌱" + " 🌱" * 900
        async with session.polling():
            await session.wait_for(session.polled)
            await fill_the_disk(session)
            session.feed(session.message(answer, USER))

            async def told() -> bool:
                return apologies(session) == 1

            await session.wait_for(told)
            assert await session.runs(USER) == []
            await session.connection.execute("PRAGMA max_page_count = 1000000")
            session.feed(session.message(answer, USER))
            await session.wait_for(asked(session, "Saved."))
        [answers] = await session.runs(USER)
        assert answers["next_step"] == answer
        assert await session.scalar("PRAGMA integrity_check") == "ok"
        assert apologies(session) == 1
        assert session.problems == []


async def test_a_full_disk_mid_transaction_reports_itself_and_the_next_write_works(tmp_path: Path) -> None:
    # SQLite undoes the transaction by itself on a full disk; the error the operator sees must be that,
    # not a failed ROLLBACK, and the connection must not be left inside a transaction.
    connection = await open_database(tmp_path / "bot.sqlite3", datetime(2026, 3, 1, tzinfo=UTC))
    try:
        pages = (await (await connection.execute("PRAGMA page_count")).fetchone() or [0])[0]
        await connection.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(sqlite3.OperationalError, match="full"):
            async with write_transaction(connection):
                await connection.execute("INSERT INTO bot_state (key, value) VALUES ('a', ?)", ("x" * 50_000,))
        assert not connection.in_transaction
        async with write_transaction(connection):
            await connection.execute("INSERT INTO bot_state (key, value) VALUES ('b', 'small')")
        rows = await (await connection.execute("SELECT key FROM bot_state")).fetchall()
        assert [tuple(row) for row in rows] == [("b",)]
    finally:
        await connection.close()
