"""Daily check-ins through the conversation service with a controllable clock: settings, nudges at the
person's local time across daylight saving, one per local date, back-off, grace after a restart, outcomes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.conversation import ONBOARD_OK, ButtonPress, Command, Conversations, Location, Reply, Text
from bot.engine import Say, State
from bot.flows.catalog import Catalog
from bot.render import html_to_plain
from bot.storage.database import open_database
from bot.storage.repository import Repository

WHO = "tg:5"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class World:
    def __init__(self, path: Path, catalog: Catalog, clock: Clock) -> None:
        self.path, self.catalog, self.clock = path, catalog, clock
        self.connection = None
        self.conversations: Conversations

    async def open(self) -> None:
        self.connection = await open_database(self.path, self.clock.now)
        self.conversations = Conversations(self.catalog, Repository(self.connection), self.clock, ZoneInfo("UTC"))

    async def restart(self) -> None:
        assert self.connection is not None
        await self.connection.close()
        await self.open()

    async def send(self, incoming: Command | Text | ButtonPress | Location) -> str:
        replies = await self.conversations.handle(WHO, incoming)
        self.last = replies
        return plain(replies)

    async def tick(self, at: datetime) -> list[Reply]:
        self.clock.now = at
        sent = await self.conversations.run_checkins()
        return [reply for who, replies in sent if who == WHO for reply in replies]

    def button(self, label: str) -> ButtonPress:
        for reply in reversed(self.last):
            if isinstance(reply, Say):
                for row in reply.buttons:
                    for button in row:
                        if button.label == label:
                            return ButtonPress(button.value, reply.seq)
        raise AssertionError(f"no button {label!r} in {plain(self.last)}")

    async def tap(self, label: str) -> str:
        return await self.send(self.button(label))


def plain(replies: list[Reply]) -> str:
    return "\n".join(html_to_plain(reply.html) for reply in replies if isinstance(reply, Say))


@pytest.fixture
async def world(tmp_path: Path, catalog: Catalog) -> AsyncIterator[World]:
    made = World(tmp_path / "db.sqlite3", catalog, Clock(datetime(2026, 3, 20, 10, 0, tzinfo=UTC)))
    await made.open()
    await made.conversations.handle(WHO, ButtonPress(ONBOARD_OK, 0))
    try:
        yield made
    finally:
        assert made.connection is not None
        await made.connection.close()


async def set_up(world: World, zone: str, at: str) -> None:
    assert "Off" in await world.send(Command("checkin"))
    await world.tap("Change time")
    asked = await world.send(Text(at))
    assert "which city are you in" in asked, asked  # no timezone yet: asked before check-ins start
    saved = await world.send(Text(zone))
    assert "Done." in saved, saved


async def test_settings_card_turns_on_and_off_and_reads_typed_times_and_places(world: World) -> None:
    assert "Off." in await world.send(Command("checkin"))
    asked = await world.tap("Turn on")
    assert "which city are you in" in asked and "Done." not in asked  # never 20:00 UTC without asking
    assert "every day at 20:00 (UTC)" in await world.send(Text("utc"))
    await world.send(Command("checkin"))
    await world.tap("Change timezone")
    assert "A few places are called “york”" in await world.send(Text("york"))
    assert "(York, Pennsylvania, US)" in await world.tap("York, Pennsylvania, US")
    await world.send(Command("checkin"))
    await world.tap("Change time")
    assert "couldn't read" in await world.send(Text("25:00"))
    assert "at 07:30 (York, Pennsylvania, US)" in await world.send(Text("7:30am"))
    await world.send(Command("checkin"))
    await world.tap("Change timezone")
    assert "(UTC+05:45)" in await world.send(Text("UTC+5:45"))
    await world.send(Command("checkin"))
    await world.tap("Change timezone")
    assert "(Berlin)" in await world.send(Location(52.52, 13.405))
    card = await world.send(Command("checkin"))
    assert "On: every day at 07:30 (Berlin)" in card
    assert "Check-ins are off" in await world.tap("Turn off")


async def test_opting_in_asks_the_timezone_and_starts_at_the_place_given(world: World) -> None:
    await world.send(Command("checkin"))
    asked = await world.send(Text("Turn on"))
    assert "which city are you in" in asked
    assert await checkin_row_enabled(world) is False  # nothing scheduled until we know where they are
    saved = await world.send(Text("columbus ohio"))
    assert "every day at 20:00 (Columbus, Ohio, US)" in saved
    assert await checkin_row_enabled(world) is True
    assert "On: every day at 20:00 (Columbus, Ohio, US)" in await world.send(Command("checkin"))
    await world.tap("Turn off")
    await world.send(Command("checkin"))
    assert "every day at 20:00 (Columbus, Ohio, US)" in await world.tap("Turn on")  # asked once, not again


async def test_an_ambiguous_city_is_a_choice_and_the_pick_is_what_is_shown(world: World) -> None:
    await world.send(Command("checkin"))
    await world.tap("Turn on")
    choice = await world.send(Text("Manchester"))
    assert "A few places are called “Manchester”" in choice
    labels = [button.label for reply in world.last if isinstance(reply, Say) for row in reply.buttons for button in row]
    assert labels == ["Manchester, England", "Manchester, New Hampshire, US"]
    saved = await world.tap("Manchester, New Hampshire, US")
    assert "(Manchester, New Hampshire, US)" in saved  # not "New York", though that is its zone
    assert await checkin_row_enabled(world) is True


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("the uk one", "Manchester, England"),
        ("england", "Manchester, England"),
        ("2", "Manchester, New Hampshire, US"),
        ("new hampshire", "Manchester, New Hampshire, US"),
        ("NH", "Manchester, New Hampshire, US"),
    ],
)
async def test_a_choice_of_places_can_be_answered_by_typing(world: World, typed: str, shown: str) -> None:
    await world.send(Command("checkin"))
    await world.tap("Turn on")
    await world.send(Text("manchester"))
    assert f"every day at 20:00 ({shown})" in await world.send(Text(typed))


async def test_a_timezone_set_while_check_ins_are_off_is_confirmed(world: World) -> None:
    await world.send(Command("checkin"))
    await world.tap("Change timezone")
    said = await world.send(Text("CET"))
    assert "Got it: Berlin" in said and "off for now" in said and "Europe/Brussels" not in said
    assert "every day at 20:00 (Berlin)" in await world.tap("Turn on")


async def test_a_fixed_offset_is_accepted_with_a_note_and_a_city_can_replace_it(world: World) -> None:
    await world.send(Command("checkin"))
    await world.tap("Turn on")
    said = await world.send(Text("UTC+1"))
    assert "every day at 20:00 (UTC+01:00)" in said and "stays the same all year" in said
    assert "(Lisbon)" in await world.send(Text("lisbon"))  # the offer to type a city instead
    await world.send(Command("checkin"))
    await world.tap("Change timezone")
    await world.send(Text("+0530"))
    assert "Thanks for putting that into words" not in await world.send(Text("thanks"))
    assert "couldn't find" not in await world.send(Text("ok thanks"))  # not read as a place


async def checkin_row_enabled(world: World) -> bool | None:
    user = await world.conversations.repository.find_user(WHO)
    row = await world.conversations.repository.checkin(user.id) if user is not None else None
    return None if row is None else row.settings.enabled


async def test_a_moved_on_person_is_not_asked_for_a_time_any_more(world: World) -> None:
    await world.send(Command("checkin"))
    await world.tap("Change time")
    await world.send(Command("quick"))
    answer = await world.send(Text("I missed the 9:30 train"))
    assert "What did it teach you?" in answer


@pytest.mark.parametrize(
    ("zone", "local", "before_utc", "due_utc", "next_utc"),
    [
        # Berlin springs forward on 2026-03-29: 09:00 local is 08:00Z before, 07:00Z after.
        ("Europe/Berlin", "09:00", "2026-03-28T07:59", "2026-03-28T08:00", "2026-03-29T07:00"),
        # New York falls back on 2026-11-01: 08:00 local is 12:00Z before, 13:00Z after.
        ("America/New_York", "08:00", "2026-10-31T11:59", "2026-10-31T12:00", "2026-11-01T13:00"),
        # Kathmandu is UTC+5:45 all year.
        ("Asia/Kathmandu", "20:00", "2026-03-28T14:14", "2026-03-28T14:15", "2026-03-29T14:15"),
    ],
)
async def test_one_nudge_at_local_time_across_daylight_saving(
    world: World, zone: str, local: str, before_utc: str, due_utc: str, next_utc: str
) -> None:
    world.clock.now = (
        datetime(2026, 3, 27, 0, 0, tzinfo=UTC)
        if zone != "America/New_York"
        else datetime(2026, 10, 30, 0, 0, tzinfo=UTC)
    )
    await set_up(world, zone, local)
    assert await world.tick(datetime.fromisoformat(before_utc).replace(tzinfo=UTC)) == []
    nudge = await world.tick(datetime.fromisoformat(due_utc).replace(tzinfo=UTC))
    assert "check-in time" in plain(nudge)
    assert await world.tick(datetime.fromisoformat(due_utc).replace(tzinfo=UTC) + timedelta(minutes=5)) == []
    next_due = datetime.fromisoformat(next_utc).replace(tzinfo=UTC)
    assert await world.tick(next_due - timedelta(minutes=1)) == []
    assert "check-in time" in plain(await world.tick(next_due))


async def test_an_unanswered_safety_question_holds_the_check_in_back_until_answered(world: World) -> None:
    await set_up(world, "UTC", "20:00")
    world.clock.now = datetime(2026, 3, 20, 19, 50, tzinfo=UTC)
    asked = await world.send(Text("honestly i could lay down and never get up again"))
    assert "Are you thinking about hurting yourself" in asked
    # Due now, but a check-in would bury the question, and its reply would be read as the answer.
    assert await world.tick(datetime(2026, 3, 20, 20, 0, tzinfo=UTC)) == []
    await world.tap("No, carry on")
    nudge = await world.tick(datetime(2026, 3, 20, 20, 5, tzinfo=UTC))
    assert "check-in time" in plain(nudge)


async def test_the_nudge_names_the_open_next_step_and_stores_how_it_went(world: World) -> None:
    await world.send(Command("quick"))
    await world.send(Text("I snapped at my sister"))
    await world.send(Text("I get short when I'm tired"))
    await world.send(Text("Call her tonight and apologise"))
    await set_up(world, "UTC", "20:00")
    nudge = await world.tick(datetime(2026, 3, 20, 20, 0, tzinfo=UTC))
    assert "Your next step was: Call her tonight and apologise" in plain(nudge)
    labels = [button.label for reply in nudge if isinstance(reply, Say) for row in reply.buttons for button in row]
    assert {"✅ Done", "🌓 Partly", "⏳ Not yet", "In an hour", "Skip today"} <= set(labels)
    world.last = nudge
    await world.tap("✅ Done")
    finish = await world.send(Text("4"))
    assert "You did it" in finish
    lessons = await world.send(Command("lessons"))
    assert "Call her tonight and apologise · done ✅" in lessons
    world.clock.now = datetime(2026, 3, 21, 20, 0, tzinfo=UTC)
    again = await world.tick(world.clock.now)
    assert "Your next step was" not in plain(again)  # nothing open any more: just how today feels


async def test_a_restart_inside_the_grace_window_still_sends_and_outside_it_skips_the_day(world: World) -> None:
    await set_up(world, "UTC", "09:00")
    await world.restart()
    assert "check-in time" in plain(await world.tick(datetime(2026, 3, 21, 10, 30, tzinfo=UTC)))  # 1.5 h late
    await world.restart()
    assert await world.tick(datetime(2026, 3, 22, 12, 0, tzinfo=UTC)) == []  # 3 h late: that day is skipped
    assert "check-in time" in plain(await world.tick(datetime(2026, 3, 23, 9, 0, tzinfo=UTC)))


async def test_ignored_nudges_back_off_with_one_notice_and_a_reply_resets(world: World) -> None:
    await set_up(world, "UTC", "09:00")
    nudged = []
    for day in range(21, 31):
        replies = await world.tick(datetime(2026, 3, day, 9, 0, tzinfo=UTC))
        if replies:
            nudged.append((day, "every other day" in plain(replies)))
    assert nudged == [(21, False), (22, False), (23, False), (25, True), (27, False), (29, False)]
    await world.send(Text("hi"))  # any reply resets the back-off
    assert "check-in time" in plain(await world.tick(datetime(2026, 3, 31, 9, 0, tzinfo=UTC)))
    assert "check-in time" in plain(await world.tick(datetime(2026, 4, 1, 9, 0, tzinfo=UTC)))


async def test_snooze_asks_again_in_an_hour_and_skip_drops_today(world: World) -> None:
    await set_up(world, "UTC", "09:00")
    world.last = await world.tick(datetime(2026, 3, 21, 9, 0, tzinfo=UTC))
    world.clock.now = datetime(2026, 3, 21, 9, 5, tzinfo=UTC)
    assert "in about an hour" in await world.tap("In an hour")
    assert await world.tick(datetime(2026, 3, 21, 9, 30, tzinfo=UTC)) == []
    assert "check-in time" in plain(await world.tick(datetime(2026, 3, 21, 10, 6, tzinfo=UTC)))
    world.last = await world.tick(datetime(2026, 3, 22, 9, 0, tzinfo=UTC))
    assert "no check-in today" in await world.tap("Skip today")


async def test_a_person_mid_flow_is_not_interrupted(world: World) -> None:
    await set_up(world, "UTC", "09:00")
    world.clock.now = datetime(2026, 3, 21, 8, 55, tzinfo=UTC)
    await world.send(Command("quick"))
    nudge = plain(await world.tick(datetime(2026, 3, 21, 9, 0, tzinfo=UTC)))
    assert nudge == ""  # held until the flow ends (tests/test_checkin_delivery.py), never "finish that first"
    assert "What did it teach you?" in await world.send(Text("The demo broke"))


async def test_check_ins_are_offered_once_after_onboarding(world: World) -> None:
    await world.conversations.handle("tg:77", Command("start"))
    world.last = await world.conversations.handle("tg:77", ButtonPress(ONBOARD_OK, 0))
    assert "daily check-in help" in plain(world.last)
    asked = await world.conversations.handle("tg:77", world.button("Yes, every day at 20:00"))
    assert "which city are you in" in plain(asked) and all(isinstance(say, Say) and say.edit for say in asked)
    replies = await world.conversations.handle("tg:77", Text("Austin"))
    assert "every day at 20:00 (Austin, Texas, US)" in plain(replies)
    again = await world.conversations.handle("tg:77", Command("start"))
    assert "daily check-in help" not in plain(again)


async def test_an_unanswered_check_in_never_blocks_working_through_something(world: World) -> None:
    await set_up(world, "UTC", "09:00")
    await world.tick(datetime(2026, 3, 21, 9, 0, tzinfo=UTC))
    assert "what happened" in await world.send(Command("quick"))  # not "we're in the middle of…"


async def test_skip_today_puts_the_question_away(world: World) -> None:
    await set_up(world, "UTC", "09:00")
    world.last = await world.tick(datetime(2026, 3, 21, 9, 0, tzinfo=UTC))
    await world.tap("Skip today")
    assert "I'm here whenever" in await world.send(Text("4"))  # not taken as a mood


async def test_a_forgotten_what_time_question_does_not_take_the_next_answer(world: World) -> None:
    await set_up(world, "UTC", "09:00")
    await world.send(Command("checkin"))
    await world.tap("Change time")  # …and walk away
    world.last = await world.tick(datetime(2026, 3, 21, 9, 0, tzinfo=UTC))
    answer = await world.send(Text("4"))
    assert "I'll check in every day at 04:00" not in answer
    assert "Rough days" not in answer and "Thanks for checking in" in answer  # 4 was today's mood


async def test_the_settings_card_can_be_answered_by_typing(world: World) -> None:
    await world.send(Command("checkin"))
    assert "which city are you in" in await world.send(Text("Turn on"))
    assert "every day at 20:00" in await world.send(Text("London"))
    await world.send(Command("checkin"))
    assert "Check-ins are off" in await world.send(Text("turn off"))
    await world.send(Command("checkin"))
    assert "every day at 20:00" in await world.send(Text("turn it on please"))
    await world.send(Command("checkin"))
    assert "Check-ins are off" in await world.send(Text("turn of"))  # one typo
    user = await world.conversations.repository.find_user(WHO)
    assert user is not None
    row = await world.conversations.repository.checkin(user.id)
    assert row is not None and not row.settings.enabled


async def test_a_typed_time_at_the_list_of_times_is_still_a_time(world: World) -> None:
    await world.send(Command("checkin"))
    await world.tap("Change time")
    assert "at 07:30" in await world.send(Text("7:30"))
    await world.send(Command("checkin"))
    await world.tap("Change time")
    assert "at 21:00" in await world.send(Text("21:00"))


@pytest.mark.parametrize("typed", ["Yes, every day at 20:00", "yes please", "sure"])
async def test_the_offer_after_onboarding_can_be_taken_by_typing(world: World, typed: str) -> None:
    await world.conversations.handle("tg:78", Command("start"))
    offered = await world.conversations.handle("tg:78", ButtonPress(ONBOARD_OK, 0))
    assert "daily check-in help" in plain(offered)
    asked = await world.conversations.handle("tg:78", Text(typed))
    assert "which city are you in" in plain(asked)
    replies = await world.conversations.handle("tg:78", Text("Berlin"))
    assert "every day at 20:00 (Berlin)" in plain(replies)
    user = await world.conversations.repository.find_user("tg:78")
    assert user is not None
    row = await world.conversations.repository.checkin(user.id)
    assert row is not None and row.settings.enabled


async def test_the_offer_can_be_declined_by_typing(world: World) -> None:
    await world.conversations.handle("tg:79", Command("start"))
    await world.conversations.handle("tg:79", ButtonPress(ONBOARD_OK, 0))
    replies = await world.conversations.handle("tg:79", Text("not now"))
    assert "/checkin is there if you change your mind" in plain(replies)


@pytest.mark.parametrize(("typed", "said"), [("later", "in about an hour"), ("skip today", "no check-in today")])
async def test_a_check_in_can_be_put_off_by_typing(world: World, typed: str, said: str) -> None:
    await set_up(world, "UTC", "09:00")
    await world.tick(datetime(2026, 3, 21, 9, 0, tzinfo=UTC))
    assert said in await world.send(Text(typed))
    user = await world.conversations.repository.find_user(WHO)
    assert user is not None
    assert await world.conversations.repository.active_state(user.id) is None, "the question is put away"


async def test_a_check_in_reads_how_it_went_in_words(world: World) -> None:
    await world.send(Command("quick"))
    for answer in ("I snapped at my sister", "I get short when I'm tired", "Call her tonight"):
        await world.send(Text(answer))
    await set_up(world, "UTC", "20:00")
    await world.tick(datetime(2026, 3, 20, 20, 0, tzinfo=UTC))
    assert "And how are you feeling today?" in await world.send(Text("i did it!"))
    assert "You did it" in await world.send(Text("four"))


async def _open_check_in(world: World) -> State | None:
    user = await world.conversations.repository.find_user(WHO)
    assert user is not None
    return await world.conversations.repository.active_state(user.id)


@pytest.mark.parametrize("typed", ["I did not", "i did not do it", "I did not finish", "I did nothing", "nothing done"])
async def test_a_denied_done_at_the_check_in_is_not_done(world: World, typed: str) -> None:
    await world.send(Command("quick"))
    for answer in ("I snapped at my sister", "I get short when I'm tired", "Call her tonight"):
        await world.send(Text(answer))
    await set_up(world, "UTC", "20:00")
    await world.tick(datetime(2026, 3, 20, 20, 0, tzinfo=UTC))
    assert "What got in the way?" in await world.send(Text(typed))
    state = await _open_check_in(world)
    assert state is not None and state.answers.get("how_it_went") == "not_yet"


async def test_snoozing_a_paused_check_in_puts_it_away(world: World) -> None:
    await set_up(world, "UTC", "09:00")
    nudge = await world.tick(datetime(2026, 3, 21, 9, 0, tzinfo=UTC))
    await world.send(Command("sos"))  # the check-in pauses for the crisis reply
    paused = await _open_check_in(world)
    assert paused is not None and paused.paused
    world.last = nudge
    assert "in about an hour" in await world.tap("In an hour")
    assert await _open_check_in(world) is None, "the question is put away"
    assert "I'm here whenever" in await world.send(Text("4"))  # not taken as a mood


async def test_in_the_terminal_the_computers_own_zone_is_offered(tmp_path: Path, catalog: Catalog) -> None:
    clock = Clock(datetime(2026, 3, 20, 10, 0, tzinfo=UTC))
    connection = await open_database(tmp_path / "terminal.sqlite3", clock.now)
    try:
        service = Conversations(catalog, Repository(connection), clock, ZoneInfo("UTC"), here="Europe/Berlin")
        await service.handle("cli:me", ButtonPress(ONBOARD_OK, 0))
        await service.handle("cli:me", Command("checkin"))
        asked = await service.handle("cli:me", ButtonPress("ci:on", 0))
        assert "This computer is set to Berlin" in plain(asked)
        labels = [button.label for reply in asked if isinstance(reply, Say) for row in reply.buttons for button in row]
        assert labels == ["Berlin (this computer)"]
        assert "every day at 20:00 (Berlin)" in plain(await service.handle("cli:me", Text("1")))
    finally:
        await connection.close()


async def test_the_nudge_starts_the_check_in_with_the_inputs_its_contract_names(world: World) -> None:
    # bot/flows/contract.py checks checkin.yaml against these names at load; this holds the code to them.
    from bot.flows.contract import CHECKIN_FLOW_ID, CHECKIN_INPUTS

    await world.send(Command("quick"))
    await world.send(Text("I snapped at my sister"))
    await world.send(Text("I get short when I'm tired"))
    await world.send(Text("Call her tonight and apologise"))
    await set_up(world, "UTC", "20:00")
    assert await world.tick(datetime(2026, 3, 20, 20, 0, tzinfo=UTC))
    state = await _open_check_in(world)
    assert state is not None and state.flow_id == CHECKIN_FLOW_ID
    assert sorted(state.inputs) == sorted(CHECKIN_INPUTS)
