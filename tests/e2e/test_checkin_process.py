"""End to end: a person of the stand-in receives one check-in at their local time and answers it."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta

from standin.server import StandIn
from tests.e2e.harness import BotProcess, Chat


async def test_one_nudge_at_local_time_answered_and_stored(standin: StandIn, bot_process: BotProcess) -> None:
    bot_process.extra_env["CHECKIN_POLL_SECONDS"] = "0.3"
    await bot_process.start()
    chat = Chat(standin, 901)
    await chat.begin("/quick", expect="what happened")
    await chat.say("I froze in the standup", expect="teach you")
    await chat.say("Write three bullet points before meetings", expect="next step")
    await chat.say("Prepare notes for Thursday's standup", expect="When would you like")
    await chat.say("today", expect="Saved")
    # Planned a day ago: a step is asked about from its day on, never minutes after it was planned.
    yesterday = datetime.now(UTC) - timedelta(days=1)
    with sqlite3.connect(bot_process.database) as db:
        db.execute(
            "UPDATE runs SET finished_at = ?, next_step_due = ?",
            (yesterday.isoformat(), yesterday.date().isoformat()),
        )

    card = await chat.say("/checkin", expect="Daily check-in")
    await chat.tap("Change time", expect="What time suits you", on=card)
    await chat.say("8:30", expect="which city are you in")  # no timezone yet: asked before check-ins start
    await chat.say("UTC", expect="every day at 08:30 (UTC)")
    rows = bot_process.rows("SELECT due_at FROM checkins")
    assert rows and rows[0][0] is not None

    # The person's local 08:30 arrives: move the stored due time to a second ago, as the clock would.
    seen = len(chat.messages())
    due = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    with sqlite3.connect(bot_process.database) as db:
        db.execute("UPDATE checkins SET due_at = ?, wake_at = ?", (due, due))
    nudge = await chat.next_reply(expect="How did it go?", after=seen)
    assert "Prepare notes for Thursday's standup" in nudge.shown_text
    assert {"✅ Done", "In an hour", "Skip today"} <= set(nudge.button_texts)

    await chat.tap("✅ Done", expect="how are you feeling today", on=nudge)
    await chat.tap("4", expect="You did it")
    assert bot_process.rows("SELECT next_step_outcome FROM runs WHERE flow_id = 'quick'") == [("done",)]
    assert bot_process.rows("SELECT count(*) FROM nudges") == [(1,)]
    # Only one nudge for that local date, however often the job runs.
    before = len(chat.messages())
    await asyncio.sleep(1.0)
    assert len(chat.messages()) == before
    lessons = await chat.say("/lessons", expect="What you've learned")
    assert "done ✅" in lessons.shown_text
    stored = json.loads(bot_process.rows("SELECT meaning FROM runs WHERE flow_id = 'checkin'")[0][0])
    assert stored["mood"] == 4
    await bot_process.stop()
