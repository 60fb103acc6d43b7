"""End to end: saying yes to check-ins asks where the person is, and a city name several places share is a
short choice that typing answers; what is shown afterwards is the place they picked."""

from __future__ import annotations

from standin.server import StandIn
from tests.e2e.harness import BotProcess, Chat


async def test_yes_to_check_ins_asks_where_and_a_shared_city_name_is_a_choice(
    standin: StandIn, bot_process: BotProcess
) -> None:
    await bot_process.start()
    chat = Chat(standin, 911)
    await chat.begin("/start", expect="daily check-in help")
    await chat.say("yes please", expect="which city are you in")
    assert bot_process.rows("SELECT enabled FROM checkins") == [(0,)]  # nothing at 20:00 UTC meanwhile

    choice = await chat.say("manchester", expect="A few places are called")
    assert choice.button_texts[:2] == ["Manchester, England", "Manchester, New Hampshire, US"]
    await chat.say("the uk one", expect="every day at 20:00 (Manchester, England)")
    assert bot_process.rows("SELECT enabled, timezone, place FROM checkins") == [
        (1, "Europe/London", "Manchester, England")
    ]
    card = await chat.say("/checkin", expect="Daily check-in")
    assert "(Manchester, England)" in card.shown_text
    await bot_process.stop()


async def test_turning_check_ins_on_by_typing_asks_the_timezone_and_reads_a_city_with_its_state(
    standin: StandIn, bot_process: BotProcess
) -> None:
    await bot_process.start()
    chat = Chat(standin, 912)
    await chat.begin("/start", expect="daily check-in help")
    await chat.say("not now", expect="change your mind")
    await chat.say("/checkin", expect="Daily check-in")
    await chat.say("turn on", expect="which city are you in")
    await chat.say("columbus ohio", expect="every day at 20:00 (Columbus, Ohio, US)")
    assert bot_process.rows("SELECT enabled, timezone, place FROM checkins") == [
        (1, "America/New_York", "Columbus, Ohio, US")
    ]
    await chat.say("/checkin", expect="Daily check-in")
    await chat.tap("Change timezone", expect="Which city")
    said = await chat.say("UTC+1", expect="every day at 20:00 (UTC+01:00)")
    assert "stays the same all year" in said.shown_text
    await chat.say("lisbon", expect="every day at 20:00 (Lisbon)")
    await bot_process.stop()
