"""End to end: a check-in that falls due while a flow is open is held, not lost, and arrives as one message
as soon as the flow ends; the "when?" answered in the flow is stored with the entry."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime, timedelta

from standin.server import StandIn
from tests.e2e.harness import REPLY_CEILING_S, BotProcess, Chat


async def _until(what: str, check: object) -> None:
    """Wait (looking every 50 ms, up to the reply ceiling) until ``check()`` is true."""
    assert callable(check)
    deadline = time.monotonic() + REPLY_CEILING_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} never happened")
        await asyncio.sleep(0.05)


async def test_a_check_in_due_mid_flow_arrives_once_as_one_message_when_the_flow_ends(
    standin: StandIn, bot_process: BotProcess
) -> None:
    bot_process.extra_env["CHECKIN_POLL_SECONDS"] = "0.3"
    await bot_process.start()
    chat = Chat(standin, 902)
    await chat.begin("/quick", expect="what happened")
    [(user_id,)] = bot_process.rows("SELECT id FROM users")
    # Check-ins on, due a second ago (as if the person's 20:00 had just come), while /quick is open.
    due = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    with sqlite3.connect(bot_process.database) as db:
        db.execute(
            "INSERT INTO checkins (user_id, enabled, local_time, timezone, due_at, wake_at, offered) "
            "VALUES (?, 1, '20:00', 'UTC', ?, ?, 1)",
            (user_id, due, due),
        )

    await _until("the check-in being held", lambda: bot_process.rows("SELECT held_date FROM checkins")[0][0])
    assert bot_process.rows("SELECT count(*) FROM nudges") == [(0,)], "held, not recorded as sent"
    assert not any("check-in time" in message.shown_text for message in chat.messages())

    await chat.say("I froze in the standup", expect="teach you")
    await chat.say("Write three bullet points first", expect="next step")
    await chat.say("Prepare notes", expect="When would you like")
    finish = await chat.say("tmrw", expect="Saved")
    assert "Prepare notes · tomorrow" in finish.shown_text
    after_finish = len(chat.messages())

    nudge = await chat.next_reply(expect="how are you feeling today", after=after_finish)
    assert "check-in time" in nudge.shown_text, "the greeting and the question come together"
    assert "How did it go?" not in nudge.shown_text, "the step is due tomorrow, not today"
    assert len(chat.messages()) == after_finish + 1, "one message, one notification"
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    today = datetime.now(UTC).date().isoformat()
    [(stored_due,)] = bot_process.rows("SELECT next_step_due FROM runs WHERE flow_id = 'quick'")
    assert stored_due in {tomorrow, (datetime.fromisoformat(today) + timedelta(days=1)).date().isoformat()}
    assert bot_process.rows("SELECT count(*) FROM nudges") == [(1,)]

    await chat.tap("4", expect="Thanks for checking in", on=nudge)
    await bot_process.stop()
