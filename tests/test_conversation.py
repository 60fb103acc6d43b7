"""The conversation service end to end: commands, flows, storage and restarts, on a temp database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiosqlite
import pytest

from bot.conversation import ONBOARD_OK, ButtonPress, Command, Conversations, Incoming, NotText, Reply, Resume, Text
from bot.engine import CONTINUE_VALUE, Say, Stale
from bot.flows.catalog import Catalog
from bot.render import html_to_plain, render
from bot.storage.database import open_database
from bot.storage.repository import Repository
from tests.conftest import NOW

PERSON = "tg:1001"


@dataclass
class FakeClock:
    """A clock that moves only when told to."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def tick(self, minutes: int = 1) -> None:
        self.now += timedelta(minutes=minutes)


@dataclass
class Bot:
    """One Conversations service on its own connection, as one run of the process would have it."""

    conversations: Conversations
    connection: aiosqlite.Connection
    clock: FakeClock
    onboarded: set[str] = field(default_factory=set)

    async def send(self, incoming: Incoming | str, who: str = PERSON) -> list[Reply]:
        self.clock.tick()
        if who not in self.onboarded:
            # Every person first confirms onboarding (tests/test_onboarding.py covers that step itself).
            self.onboarded.add(who)
            await self.conversations.handle(who, ButtonPress(ONBOARD_OK, 0))
        if isinstance(incoming, str):
            incoming = Command(incoming[1:]) if incoming.startswith("/") else Text(incoming)
        return await self.conversations.handle(who, incoming)

    async def text_of(self, incoming: Incoming | str, who: str = PERSON) -> str:
        """Everything the person reads in reply, as plain text."""
        replies = await self.send(incoming, who)
        return "\n".join(html_to_plain(reply.html) for reply in replies if isinstance(reply, Say))

    def question(self, replies: list[Reply]) -> Say:
        questions = [reply for reply in replies if isinstance(reply, Say) and reply.step_id is not None]
        assert questions, replies
        return questions[-1]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "springboard.sqlite3"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def start_bot(db_path: Path, catalog: Catalog, clock: FakeClock) -> Bot:
    connection = await open_database(db_path, clock())
    conversations = Conversations(catalog, Repository(connection), clock, ZoneInfo("Europe/Berlin"))
    return Bot(conversations, connection, clock)


@pytest.fixture
async def bot(db_path: Path, catalog: Catalog, clock: FakeClock) -> AsyncIterator[Bot]:
    running = await start_bot(db_path, catalog, clock)
    try:
        yield running
    finally:
        await running.connection.close()


def commands_in(text: str) -> set[str]:
    return {word.rstrip(":,.") for word in text.split() if word.startswith("/")}


async def test_reframe_from_start_to_finish_then_lessons_lists_the_lesson(bot: Bot, catalog: Catalog) -> None:
    welcome = await bot.text_of("/start")
    assert "/reframe" in welcome and "/quick" in welcome
    first = await bot.send("/reframe")
    assert bot.question(first).step_id == "what_happened"
    for answer in ("I snapped at my sister", "6", "4", "I'm a terrible person", "You were exhausted, apologise"):
        replies = await bot.send(answer)
    assert bot.question(replies).step_id == "control"
    await bot.send("/skip")
    await bot.send("Tiredness makes me short-tempered")
    await bot.send("Call her tonight and say sorry")
    finish = await bot.text_of("2")
    assert "Your springboard" in finish
    assert "Lesson: Tiredness makes me short-tempered" in finish
    assert "😠 Angry: 4 → 2" in finish

    lessons = await bot.text_of("/lessons")
    assert "You worked through 1 setback." in lessons
    assert "💡 Tiredness makes me short-tempered" in lessons
    assert "👣 Call her tonight and say sorry" in lessons
    assert "14 Mar 2025 · Work through a setback" in lessons  # the local date, in the bot's timezone
    # Nothing is left in progress.
    assert await bot.text_of("hello again") == html_to_plain(
        render(catalog.texts.no_active_flow, {"flows": _flows(catalog)})
    )


def _flows(catalog: Catalog) -> list[dict[str, str | None]]:
    return [
        {"command": flow.command, "title": flow.title, "description": flow.description} for flow in catalog.commanded
    ]


async def test_a_restart_resumes_at_the_same_step(db_path: Path, catalog: Catalog, clock: FakeClock) -> None:
    before = await start_bot(db_path, catalog, clock)
    try:
        await before.send("/reframe")
        await before.send("My flight was cancelled")
        replies = await before.send("1")
        asked_before = before.question(replies)
    finally:
        await before.connection.close()

    after = await start_bot(db_path, catalog, clock)
    try:
        replies = await after.send(Resume())
        lead, *_ = replies
        assert isinstance(lead, Say)
        assert lead.html == render(catalog.texts.welcome_back, {"title": "Work through a setback"})
        question = after.question(replies)
        assert question.step_id == asked_before.step_id == "intensity_before"
        assert question.html == asked_before.html
        # A button shown before the restart still works afterwards.
        replies = await after.send(ButtonPress("3", question.seq))
        assert after.question(replies).step_id == "harsh_voice"
    finally:
        await after.connection.close()


async def test_free_text_without_a_flow_suggests_what_to_start(bot: Bot, catalog: Catalog) -> None:
    second = await bot.text_of("I had an awful day")
    assert {"/reframe", "/quick"} <= commands_in(second)
    assert second == html_to_plain(render(catalog.texts.no_active_flow, {"flows": _flows(catalog)}))
    sticker = await bot.text_of(NotText("sticker"))
    assert sticker == html_to_plain(catalog.texts.text_only)


async def test_cancel_stores_nothing(bot: Bot, catalog: Catalog) -> None:
    await bot.send("/quick")
    await bot.send("I forgot my friend's birthday")
    await bot.send("Put birthdays in my calendar")
    cancelled = await bot.text_of("/cancel")
    assert cancelled == html_to_plain(render(catalog.texts.cancelled, {"title": "Quick reflection"}))
    assert await bot.text_of("/lessons") == html_to_plain(catalog.texts.lessons_empty)
    user = await bot.conversations.repository.find_user(PERSON)
    assert user is not None
    assert await bot.conversations.repository.count_runs(user.id) == 0
    assert await bot.conversations.repository.active_state(user.id) is None
    assert await bot.text_of("/cancel") == catalog.texts.nothing_to_cancel


async def test_starting_another_flow_midway_is_refused_kindly_and_the_place_is_kept(bot: Bot, catalog: Catalog) -> None:
    await bot.send("/reframe")
    await bot.send("I failed the exam")
    busy, question = await bot.send("/quick")
    assert isinstance(busy, Say)
    assert busy.html == render(
        catalog.texts.busy_with_other_flow, {"title": "Work through a setback", "requested": "Quick reflection"}
    )
    assert isinstance(question, Say) and question.step_id == "feeling", "the question is shown again"
    # Still at the same question: the next answer is taken as the feeling.
    replies = await bot.send("Ashamed")
    assert bot.question(replies).step_id == "intensity_before"
    again = await bot.send("/reframe")
    assert bot.question(again).step_id == "intensity_before", "the same command just shows the question again"


async def test_each_person_has_their_own_place(bot: Bot) -> None:
    await bot.send("/reframe", who="tg:1")
    await bot.send("/quick", who="tg:2")
    replies = await bot.send("Lost my keys", who="tg:1")
    assert bot.question(replies).step_id == "feeling"
    replies = await bot.send("Lost my wallet", who="tg:2")
    assert bot.question(replies).step_id == "lesson"


async def test_an_old_button_after_the_flow_ended_changes_nothing(bot: Bot) -> None:
    await bot.send("/quick")
    for answer in ("Missed the bus", "Leave earlier", "Set an alarm for 7"):
        await bot.send(answer)
    assert await bot.send(ButtonPress(CONTINUE_VALUE, 3)) == [Stale()]


async def test_unknown_commands_point_to_help(bot: Bot, catalog: Catalog) -> None:
    assert await bot.text_of("/frobnicate") == html_to_plain(
        render(catalog.texts.unknown_command, {"command": "frobnicate"})
    )
