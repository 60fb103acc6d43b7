"""Typing instead of tapping, through the real ``springboard run`` process and the Bot API stand-in: a
newcomer's first words kept, labels, typos, number words and captions read, /forget answered in words."""

from __future__ import annotations

from standin.server import StandIn
from tests.e2e.harness import BotProcess, Chat


async def test_a_person_who_only_types_gets_through_a_setback_and_can_forget_it(
    standin: StandIn, bot_process: BotProcess
) -> None:
    await bot_process.start()
    chat = Chat(standin, 601)
    card = await chat.say("i failed my nclex again", expect="not a therapist")
    assert "I've kept what you wrote" in card.shown_text
    reminder = await chat.say("third time", expect="Before we start")
    assert "not a therapist" not in reminder.shown_text, "the card is not sent again"
    await chat.say("yes", expect="What are you feeling most right now?")
    await chat.say("ashamd i guess", expect="How strong")
    await chat.say("eight", expect="slow down")
    await chat.say("ok", expect="harshest")
    await chat.say("You always fail", expect="Does it sound like any of these?")
    await chat.say("none of these", expect="What would you say")
    standin.user_sends_photo(601, caption="Three tries is not the end of anything")
    await chat.next_reply(expect="in your control")
    answers = dict(
        bot_process.rows(
            "SELECT json_extract(state, '$.answers.what_happened'), json_extract(state, '$.answers.friend_voice') "
            "FROM active_runs"
        )
    )
    assert answers == {"i failed my nclex again": "Three tries is not the end of anything"}

    await chat.say("/cancel", expect="we've stopped")
    await chat.say("/forget", expect="Delete everything?")
    await chat.say("yes?", expect="Nothing is deleted yet")
    await chat.say("Yes", expect="I've deleted everything")
    assert bot_process.rows("SELECT count(*) FROM users") == [(0,)]
    assert await bot_process.stop() == 0
