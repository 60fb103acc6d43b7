"""Whatever a person types, at whatever question, the bot answers sensibly and nothing breaks.

Every question a person can face (onboarding, each step of a flow, the check-in and its offer, the
/lessons, /forget and /checkin menus, the offer to work through a setback, the safety question, a paused
flow) gets typed text through the conversation service: digits in other scripts ("²", "٣"), numbers longer
than Python converts (4,300 digits), lone surrogates, anything hypothesis can write. It must not raise
(which a person would see as "Sorry, something went wrong"), must reply, and must leave a sound state.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.conversation import ONBOARD_OK, ButtonPress, Command, Conversations, Incoming, Reply, Text
from bot.engine import Say, State
from bot.flows.catalog import Catalog
from bot.safety import Assessment, Level, Safety
from bot.storage.database import open_database
from bot.storage.repository import Repository
from tests.sound_state import assert_sound

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class MarkedSafety(Safety):
    """The shipped screen, with markers that reach the two tiers for certain (as tests/safety does)."""

    def assess(self, text: str) -> Assessment:
        if "TIER-CLEAR" in text:
            return Assessment(Level.CLEAR)
        if "TIER-MAYBE" in text:
            return Assessment(Level.POSSIBLE)
        return super().assess(text)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    conversations: Conversations
    clock: Clock
    catalog: Catalog
    people: itertools.count[int]

    def newcomer(self) -> str:
        return f"tg:{next(self.people)}"

    async def send(self, who: str, incoming: Incoming | str) -> list[Reply]:
        if isinstance(incoming, str):
            incoming = Command(incoming[1:]) if incoming.startswith("/") else Text(incoming)
        return await self.conversations.handle(who, incoming)

    async def state(self, who: str) -> State | None:
        user = await self.conversations.repository.find_user(who)
        return None if user is None else await self.conversations.repository.active_state(user.id)


@pytest.fixture
async def world(tmp_path: Path, catalog: Catalog) -> AsyncIterator[World]:
    clock = Clock()
    marked = replace(catalog, safety=MarkedSafety(catalog.safety.screen, catalog.safety.helplines))
    connection = await open_database(tmp_path / "db.sqlite3", START)
    try:
        yield World(
            Conversations(marked, Repository(connection), clock, ZoneInfo("UTC")), clock, catalog, itertools.count(1)
        )
    finally:
        await connection.close()


Walk = Callable[[World, str], Awaitable[None]]


async def _onboarded(world: World, who: str) -> None:
    await world.send(who, ButtonPress(ONBOARD_OK, 0))
    await world.send(who, "hello")  # past the check-in offer: nothing is on screen


def _messages(*moves: Incoming | str, onboard: bool = True) -> Walk:
    async def walk(world: World, who: str) -> None:
        if onboard:
            await _onboarded(world, who)
        for move in moves:
            await world.send(who, move)

    return walk


SETBACK = [
    "/reframe",
    "I froze in my exam",
    "anxious",
    "9",
    ButtonPress("__go", None),
    "I'm hopeless",
    "labelling",
    "You tried",
]


async def _lessons_entry(world: World, who: str) -> None:
    await _onboarded(world, who)
    for move in ("/quick", "I missed the deadline", "Start a day earlier", "Block an hour for it", "today"):
        await world.send(who, move)


async def _delete_confirm(world: World, who: str) -> None:
    await _lessons_entry(world, who)
    page = await world.send(who, "/lessons")
    delete = next(b.value for r in page if isinstance(r, Say) for row in r.buttons for b in row if ":del:" in b.value)
    await world.send(who, ButtonPress(delete, 0))


def _check_in(at_step: str) -> Walk:
    async def walk(world: World, who: str) -> None:
        await _lessons_entry(world, who)
        world.clock.now += timedelta(days=1)  # the step is asked about from its day on, not minutes later
        await world.send(who, "/checkin")
        await world.send(who, ButtonPress("ci:on", 0))
        await world.send(who, "UTC")
        user = await world.conversations.repository.find_user(who)
        assert user is not None
        row = await world.conversations.repository.checkin(user.id)
        assert row is not None and row.state.due_at is not None
        world.clock.now = max(world.clock.now, row.state.due_at)
        await world.conversations.run_checkins()
        if at_step in {"obstacle", "mood"}:
            await world.send(who, "not yet" if at_step == "obstacle" else "done")
        state = await world.state(who)
        assert state is not None and state.step == at_step, state

    return walk


QUESTIONS: dict[str, Walk] = {
    "onboarding card": _messages("/start", onboard=False),
    "onboarding reminder": _messages("/reframe", "hello", onboard=False),
    "check-in offer": _messages("/start", ButtonPress(ONBOARD_OK, 0), onboard=False),
    "nothing in progress": _messages(),
    **{
        f"setback: {step}": _messages(*SETBACK[:count])
        for count, step in [
            (1, "what_happened"),
            (2, "feeling"),
            (3, "intensity_before"),
            (4, "grounding"),
            (5, "harsh_voice"),
            (6, "traps"),
            (7, "friend_voice"),
            (8, "control"),
        ]
    },
    "setback: intensity_after": _messages(*SETBACK, "/skip", "Practise out loud", "Rehearse on Wednesday"),
    "check-in: how_it_went": _check_in("how_it_went"),
    "check-in: obstacle": _check_in("obstacle"),
    "check-in: mood": _check_in("mood"),
    "lessons page": _messages("/quick", "Lost my keys", "Use a hook", "Buy a hook today", "/lessons"),
    "delete an entry?": _delete_confirm,
    "forget everything?": _messages("/forget"),
    "check-in card": _messages("/checkin"),
    "list of times": _messages("/checkin", ButtonPress("ci:time", 0)),
    "timezone suggestions": _messages("/checkin", ButtonPress("ci:tz", 0), "york"),
    "offer to work through it": _messages("i failed my driving test again"),
    "safety question": _messages("/quick", "it all went wrong TIER-MAYBE"),
    "paused after a crisis reply": _messages("/quick", "TIER-CLEAR"),
}


def sound(world: World, state: State | None) -> None:
    """A stored state on a real step of a real flow, holding only answers that fit their questions."""
    assert_sound(world.catalog, state)


async def type_at(world: World, question: str, typed: str) -> None:
    who = world.newcomer()
    await QUESTIONS[question](world, who)
    replies = await world.send(who, Text(typed))
    assert any(isinstance(reply, Say) and reply.html for reply in replies), f"no reply to {typed[:40]!r}"
    for reply in replies:
        if isinstance(reply, Say):
            reply.html.encode("utf-8")  # every reply can be sent
    sound(world, await world.state(who))


NASTY = [
    "²",
    "٣",
    "⑦",
    "9" * 5000,
    "٣" * 4400,
    "0" * 4400 + "7",
    "\ud800",
    "\udfff yes \ud83d",
    "eight",
]


@pytest.mark.parametrize("question", list(QUESTIONS))
async def test_odd_numbers_and_broken_characters_at_every_question(world: World, question: str) -> None:
    for typed in NASTY:  # each typed by a new person who has just reached this question
        await type_at(world, question, typed)


numbers_in_any_script = st.builds(
    lambda digit, count: digit * count,
    st.characters(categories=["Nd", "No"]),
    st.integers(min_value=1, max_value=5000),
)
any_character = st.one_of(st.characters(), st.characters(categories=["Cs"]))
typed_text = st.one_of(
    st.text(alphabet=any_character, max_size=200),
    numbers_in_any_script,
    st.sampled_from([*NASTY, "yes", "no", "   ", "🗑", "😳😤", "1, 2", "-" + "9" * 4301]),
)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(question=st.sampled_from(list(QUESTIONS)), typed=typed_text)
@example(question="setback: feeling", typed="²")
@example(question="setback: intensity_before", typed="9" * 4301)
async def test_no_typed_text_at_any_question_goes_wrong(world: World, question: str, typed: str) -> None:
    # Each example is a new person on the shared database, so examples never see each other's state.
    await type_at(world, question, typed)


@pytest.mark.parametrize("typed", ["no one cares", "it's one of the worst days", "It's been two weeks and still bad"])
async def test_a_number_word_in_a_sentence_does_not_answer_a_scale(world: World, typed: str) -> None:
    who = world.newcomer()
    await _messages(*SETBACK[:3])(world, who)
    replies = await world.send(who, Text(typed))
    assert "whole number from 0" in " ".join(reply.html for reply in replies if isinstance(reply, Say))
    state = await world.state(who)
    assert state is not None and state.step == "intensity_before" and "intensity_before" not in state.answers


async def test_a_fraction_of_another_scale_does_not_answer_a_scale(world: World) -> None:
    who = world.newcomer()
    await _messages(*SETBACK[:3])(world, who)
    await world.send(who, Text("4/5"))
    state = await world.state(who)
    assert state is not None and "intensity_before" not in state.answers
    await world.send(who, Text("eight"))
    state = await world.state(who)
    assert state is not None and state.answers.get("intensity_before") == 8


async def _check_ins_enabled(world: World, who: str) -> bool:
    user = await world.conversations.repository.find_user(who)
    assert user is not None
    row = await world.conversations.repository.checkin(user.id)
    return row is not None and row.settings.enabled


@pytest.mark.parametrize("typed", ["ok so I failed my exam", "please help, I messed up"])
async def test_a_setback_typed_at_the_check_in_offer_is_offered_a_flow(world: World, typed: str) -> None:
    who = world.newcomer()
    await world.send(who, "/start")
    offered = await world.send(who, ButtonPress(ONBOARD_OK, 0))
    assert any("daily check-in" in reply.html for reply in offered if isinstance(reply, Say))
    replies = await world.send(who, Text(typed))
    assert not await _check_ins_enabled(world, who)
    said = " ".join(reply.html for reply in replies if isinstance(reply, Say))
    assert "look at it together" in said  # the setback is offered a flow, its words kept
    started = await world.send(who, Text("yes"))
    assert typed in " ".join(reply.html for reply in started if isinstance(reply, Say))


async def test_a_sentence_with_a_yes_word_does_not_take_the_check_in_offer(world: World) -> None:
    who = world.newcomer()
    await world.send(who, "/start")
    await world.send(who, ButtonPress(ONBOARD_OK, 0))
    await world.send(who, Text("I'm fine, just tired"))
    assert not await _check_ins_enabled(world, who)
