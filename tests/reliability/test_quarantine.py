"""An update that cannot be read or handled is quarantined: kept with its raw JSON, counted, logged by id
only, and confirmed, so the ones after it flow and a restart does not trip over it again.

The first test runs the real process against the stand-in (where the crash loop was found); the rest
run the real Intake in-process. The webhook side is in tests/e2e/test_webhook_hardening.py.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.conversation import Conversations
from bot.tg import intake as intake_module
from standin.server import StandIn
from tests.e2e.harness import REPLY_CEILING_S, Chat
from tests.malformed import SECRET_WORDS, malformed_updates
from tests.reliability.conftest import KillableBot
from tests.reliability.inprocess import USER, rig

APOLOGY = "something went wrong on my side"


async def test_malformed_updates_by_polling_are_quarantined_and_the_next_ones_flow(
    standin: StandIn, bot: KillableBot
) -> None:
    bot.extra_env["LOG_LEVEL"] = "INFO"  # what the README promises is about INFO and above
    await bot.start()
    bad = {what: standin.queue_raw_update(body) for what, body in malformed_updates(811).items()}

    chat = Chat(standin, 811)
    await chat.say("/help", expect=None)  # before: the bot died on the batch, and on every restart

    for update_id in bad.values():
        await standin.wait_for_confirmation(update_id, timeout=REPLY_CEILING_S)
    kept = bot.rows("SELECT update_id, chat_id, payload, reason FROM dead_letters ORDER BY update_id")
    assert [row[0] for row in kept] == sorted(bad.values()), kept
    assert all(row[1] == 811 for row in kept)
    by_id = {row[0]: row for row in kept}
    undated = by_id[bad["a message without a date"]]
    assert json.loads(undated[2])["message"]["text"] == SECRET_WORDS  # the raw JSON, for whoever runs the bot
    assert undated[3].startswith("KeyError")
    assert by_id[bad["a poll answer without option_ids"]][3].startswith("TypeError")

    log = bot.log()
    for what, update_id in bad.items():
        assert f"quarantined update {update_id}:" in log, what
    assert "3 update(s) in quarantine" in log
    assert SECRET_WORDS not in log and "Received data was" not in log and "CRITICAL" not in log

    assert await bot.stop() == 0
    await bot.start()
    await chat.say("/sos", expect="findahelpline")
    assert bot.rows("SELECT count(*) FROM dead_letters") == [(3,)]
    assert bot.process is not None and bot.process.returncode is None


async def test_malformed_updates_by_polling_in_process_are_confirmed_with_their_batch() -> None:
    async with rig() as session:
        bodies = list(malformed_updates(USER).values())
        raw = [{"update_id": 500 + number, **body} for number, body in enumerate(bodies)]
        good = session.message("/help", update_id=510)
        session.feed_raw(*raw, good.to_dict())
        async with session.polling():
            await session.wait_for(lambda: _sent_anything(session))
            await session.wait_for(lambda: _polled_past(session, 510))
        assert await session.scalar("SELECT count(*) FROM dead_letters") == 3
        assert await session.scalar("SELECT count(*) FROM handled_updates WHERE update_id BETWEEN 500 AND 502") == 3
        assert await session.scalar("SELECT value FROM bot_state WHERE key = 'update_offset'") == "511"
        assert session.errors.records == []


async def _sent_anything(session: Any) -> bool:
    return bool(session.sent(user=USER))


async def _polled_past(session: Any, update_id: int) -> bool:
    offsets = [int(call.params.get("offset") or 0) for call in session.calls if call.method == "getUpdates"]
    return any(offset > update_id for offset in offsets)


async def test_an_update_whose_handling_fails_is_quarantined_once_and_the_chat_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = Conversations.handle_update

    async def fails_on_boom(self: Conversations, external_id: str, incoming: Any, **kwargs: Any) -> Any:
        if getattr(incoming, "text", None) == "boom":
            raise RuntimeError("a bug met this message")
        return await real(self, external_id, incoming, **kwargs)

    monkeypatch.setattr(Conversations, "handle_update", fails_on_boom)
    async with rig() as session:
        await session.start_flow("/quick")
        failing = session.message("boom")
        await session.deliver(failing)
        assert sum(APOLOGY in text for text in session.texts_shown()) == 1

        row = await _dead_letter(session, failing.update_id)
        assert row is not None and row["reason"].startswith("RuntimeError") and row["chat_id"] == USER
        assert json.loads(row["payload"])["message"]["text"] == "boom"
        assert await session.scalar("SELECT count(*) FROM inbox") == 0

        await session.deliver(failing)  # Telegram sends it again: already settled, nothing happens twice
        assert sum(APOLOGY in text for text in session.texts_shown()) == 1
        await session.say("My bike was stolen")
        assert "teach you" in session.texts_shown()[-1]
        assert await session.scalar("SELECT count(*) FROM dead_letters") == 1


async def test_an_unreadable_update_left_in_the_inbox_is_quarantined_at_start() -> None:
    async with rig() as session:
        unreadable = json.dumps({"update_id": 77, **malformed_updates(USER)["a message without a date"]})
        async with session.repository.transaction() as repository:
            await repository.record_updates([(77, USER, unreadable)], 78, _now())
        assert await session.intake.replay_pending() == 1
        row = await _dead_letter(session, 77)
        assert row is not None and row["reason"].startswith("KeyError")
        assert await session.scalar("SELECT count(*) FROM inbox") == 0


async def test_an_update_that_stopped_the_bot_at_every_start_is_quarantined_with_an_apology() -> None:
    async with rig() as session:
        stuck, _ = await _stored_long_ago(session, "This one crashed the bot each time")
        await session.connection.execute(
            "UPDATE inbox SET attempts = ? WHERE update_id = ?", (intake_module.MAX_REPLAYS, stuck.update_id)
        )
        await session.intake.replay_pending()
        await session.intake.drain(30)
        await _let_go_with_one_apology(session, stuck.update_id)


async def test_two_replicas_letting_one_update_go_at_once_apologise_once() -> None:
    async with rig() as session:
        stuck, long_ago = await _stored_long_ago(session, "This one crashed every replica that began it")
        # Both read it as stuck before either had let it go.
        attempts = intake_module.MAX_REPLAYS + 1
        let_go = [session.intake._let_go_if_stuck(stuck, stuck.to_json(), attempts, long_ago) for _ in range(2)]
        assert await asyncio.gather(*let_go) == [True, True]
        await _let_go_with_one_apology(session, stuck.update_id)


async def test_an_update_begun_as_often_but_stored_moments_ago_is_handled_not_let_go() -> None:
    """Restarts in quick succession (a deploy gone wrong, replicas killed every few seconds) begin an update
    that only waited its turn as often as a poison one: it is handled, with no apology."""
    async with rig() as session:
        await session.start_flow("/quick")
        waiting = session.message("Missed the train and the interview with it")
        async with session.repository.transaction() as repository:
            await repository.record_updates(
                [(waiting.update_id, USER, waiting.to_json())], waiting.update_id + 1, _now()
            )
        await session.connection.execute(
            "UPDATE inbox SET attempts = ? WHERE update_id = ?", (intake_module.MAX_REPLAYS * 2, waiting.update_id)
        )
        await session.intake.replay_pending()
        await session.intake.drain(30)
        assert await _dead_letter(session, waiting.update_id) is None
        assert not any(APOLOGY in text for text in session.texts_shown())
        assert await session.scalar("SELECT count(*) FROM inbox") == 0


async def test_forget_removes_the_persons_quarantined_updates() -> None:
    async with rig() as session:
        await session.start_flow("/quick")
        other = USER + 1
        raw = [
            {"update_id": 900, **malformed_updates(USER)["a message without a date"]},
            {"update_id": 901, **malformed_updates(other)["a message without a date"]},
        ]
        await session.intake.take(session.intake.parse(raw))
        assert await session.scalar("SELECT count(*) FROM dead_letters") == 2

        await session.say("/forget")
        await session.tap("Yes, delete everything")
        assert await session.scalar("SELECT count(*) FROM dead_letters WHERE chat_id = ?", USER) == 0
        assert await session.scalar("SELECT count(*) FROM dead_letters WHERE chat_id = ?", other) == 1


async def test_a_quarantine_the_database_refuses_is_settled_with_the_next_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with rig() as session:
        raw = {"update_id": 600, **malformed_updates(USER)["a poll answer without option_ids"]}
        await session.connection.execute(
            "CREATE TEMP TRIGGER refuse BEFORE INSERT ON dead_letters BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
        )
        with pytest.raises(sqlite3.Error):
            await session.intake.take(session.intake.parse([raw]))  # not stored, so not confirmed either
        await session.connection.execute("DROP TRIGGER temp.refuse")
        await session.intake.take(session.intake.parse([raw]))
        assert await session.scalar("SELECT count(*) FROM dead_letters") == 1


async def _stored_long_ago(session: Any, text: str) -> tuple[Any, datetime]:
    """A message in a flow, stored (not handled) longer ago than an update is kept trying; and when."""
    await session.start_flow("/quick")
    stuck = session.message(text)
    long_ago = _now() - intake_module.LET_GO_AFTER - timedelta(seconds=1)
    async with session.repository.transaction() as repository:
        await repository.record_updates([(stuck.update_id, USER, stuck.to_json())], stuck.update_id + 1, long_ago)
    return stuck, long_ago


async def _let_go_with_one_apology(session: Any, update_id: int) -> None:
    row = await _dead_letter(session, update_id)
    assert row is not None and "without finishing" in row["reason"]
    assert sum(APOLOGY in text for text in session.texts_shown()) == 1


def _now() -> datetime:
    return datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def _dead_letter(session: Any, update_id: int) -> dict[str, Any] | None:
    async with session.connection.execute(
        "SELECT chat_id, payload, reason FROM dead_letters WHERE update_id = ?", (update_id,)
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else {"chat_id": row[0], "payload": row[1], "reason": row[2]}


async def test_an_offset_left_by_a_forged_update_id_is_dropped_instead_of_confirming_everything() -> None:
    async with rig() as session:
        async with session.repository.transaction() as repository:
            await repository.record_updates([], 2**63 - 1, _now())  # what a forged 2^63 - 2 once left behind
        session.feed(session.message("/help", update_id=510))
        async with session.polling():
            await session.wait_for(lambda: _sent_anything(session))
            await session.wait_for(lambda: _polled_past(session, 510))
        first_poll = next(call for call in session.calls if call.method == "getUpdates")
        assert "offset" not in first_poll.params
        assert await session.scalar("SELECT value FROM bot_state WHERE key = 'update_offset'") == "511"


@pytest.mark.parametrize(("quiet_days", "uses_offset", "next_id"), [(8, False, 510), (1, True, 5001)])
async def test_after_a_quiet_week_polling_starts_without_the_old_offset(
    quiet_days: int, uses_offset: bool, next_id: int
) -> None:
    async with rig() as session:
        async with session.repository.transaction() as repository:
            # Telegram may number updates from anywhere after a week without any: an old offset would drop them.
            await repository.record_updates([], 5000, _now() - timedelta(days=quiet_days))
        session.feed(session.message("/help", update_id=next_id))
        async with session.polling():
            await session.wait_for(lambda: _sent_anything(session))
        first_poll = next(call for call in session.calls if call.method == "getUpdates")
        assert ("offset" in first_poll.params) is uses_offset
