"""End to end through the stand-in: a lesson comes back in the daily check-in a week on and is shown as one that
held; /done sets a next step down (issue 14, items 5 and 7)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from standin.server import StandIn
from tests.e2e.harness import REPLY_CEILING_S, BotProcess, Chat


def _seed(bot_process: BotProcess, user_id: int, age: timedelta, lesson: str, step: str) -> None:
    """A /quick entry written ``age`` ago, its next step due the day after."""
    finished = datetime.now(UTC) - age
    with sqlite3.connect(bot_process.database) as db:
        (person,) = db.execute("SELECT id FROM users WHERE external_id = ?", (f"tg:{user_id}",)).fetchone()
        db.execute(
            "INSERT INTO runs (user_id, flow_id, flow_version, flow_title, started_at, finished_at, lesson, "
            "next_step, next_step_due) VALUES (?, 'quick', 1, 'Quick reflection', ?, ?, ?, ?, ?)",
            (
                person,
                finished.isoformat(),
                finished.isoformat(),
                lesson,
                step,
                (finished + timedelta(days=1)).date().isoformat(),
            ),
        )


async def test_a_week_old_lesson_comes_back_in_the_check_in_and_done_sets_a_step_down(
    standin: StandIn, bot_process: BotProcess
) -> None:
    bot_process.extra_env["CHECKIN_POLL_SECONDS"] = "0.3"
    await bot_process.start()
    chat = Chat(standin, 902)
    await chat.begin("/start", expect="Thank you")
    _seed(bot_process, 902, timedelta(days=8), "Start earlier and ask for help sooner", "Ask Dana for a check-in")

    card = await chat.say("/checkin", expect="Daily check-in")
    await chat.tap("Change time", expect="What time suits you", on=card)
    await chat.say("8:30", expect="which city are you in")
    await chat.say("UTC", expect="every day at 08:30 (UTC)")
    seen = len(chat.messages())
    due = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    with sqlite3.connect(bot_process.database) as db:
        db.execute("UPDATE checkins SET due_at = ?, wake_at = ?", (due, due))
    nudge = await chat.next_reply(expect="How did it go?", after=seen)
    assert "Ask Dana for a check-in" in nudge.shown_text
    revisit = await chat.tap("✅ Done", expect="Has it helped since?", on=nudge)
    assert "A week ago you wrote: “Start earlier and ask for help sooner”" in revisit.shown_text
    mood = await chat.tap("🌳 Yes", expect="how are you feeling today", on=revisit)
    await chat.tap("4", expect="lesson is holding", on=mood)
    assert bot_process.rows("SELECT kind, answer FROM revisits") == [("week", "yes")]
    assert bot_process.rows("SELECT count(*) FROM nudges") == [(1,)]  # one check-in message that day

    lessons = await chat.say("/lessons", expect="Lessons that held")
    assert "Start earlier and ask for help sooner" in lessons.shown_text
    assert "How your days felt at check-ins" not in lessons.shown_text  # one check-in is not a trend

    _seed(bot_process, 902, timedelta(days=2), "Sleep before exams", "Bed by 23:00 on Sunday")
    asked = await chat.say("/done", expect="How did it go?")
    assert "Bed by 23:00 on Sunday" in asked.shown_text
    # The answer replaces the question in place (an edit, not a new message).
    standin.user_presses_button(902, asked.message_id, text="🍃 Let it go")
    await standin.wait_until(
        lambda: next((m for m in chat.messages() if "Set down" in m.shown_text), None),
        timeout=REPLY_CEILING_S,
        chat_id=902,
        what="the question replaced by 'Set down'",
    )
    assert bot_process.rows("SELECT next_step_outcome FROM runs WHERE next_step = 'Bed by 23:00 on Sunday'") == [
        ("dropped",)
    ]
    await bot_process.stop()
