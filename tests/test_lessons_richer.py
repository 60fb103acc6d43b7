"""/lessons kinder and richer, /done and /edit, and lessons that come back a week and a month on (issue 14,
items 5 and 7), through the conversation service with a controllable clock on a temp database.

Entries are written straight into storage (the flows that make them are tested elsewhere and change on their
own); the check-in, /done, /edit, /lessons and /export are driven as a person would.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import checkins
from bot.checkins import CheckinSettings, PastLesson
from bot.conversation import ONBOARD_OK, ButtonPress, Command, Conversations, Text
from bot.flows.catalog import Catalog
from bot.history import SendFile
from bot.storage.database import open_database, open_reader
from bot.storage.repository import Repository
from bot.storage.timestamps import to_db
from bot.summaries import about_the_same, mood_trend
from tests.test_checkin_delivery import WHO, Clock, World, at, plain

UTC_SETTINGS = CheckinSettings(True, time(20, 0), "UTC")


@pytest.fixture
async def world(tmp_path: Path, catalog: Catalog) -> AsyncIterator[World]:
    clock = Clock(at(20, 10))
    path = tmp_path / "db.sqlite3"
    connection = await open_database(path, clock.now)
    reader = await open_reader(path)
    made = World(Conversations(catalog, Repository(connection, reader), clock, ZoneInfo("UTC")), clock)
    await made.conversations.handle(WHO, ButtonPress(ONBOARD_OK, 0))
    try:
        yield made
    finally:
        if reader is not None:
            await reader.close()
        await connection.close()


async def entry(
    world: World,
    finished: datetime,
    lesson: str,
    step: str | None = "Call Sam",
    *,
    before: int | None = None,
    after: int | None = None,
    due: date | None = None,
) -> int:
    """A completed /quick entry, finished at ``finished``; its next step due the day after unless ``due``."""
    async with world.repository.transaction() as repository:
        user = await repository.user(WHO, finished)
        cursor = await repository._db.execute(
            "INSERT INTO runs (user_id, flow_id, flow_version, flow_title, started_at, finished_at, lesson, "
            "next_step, feeling_before, feeling_after, next_step_due) "
            "VALUES (?, 'quick', 1, 'Quick reflection', ?, ?, ?, ?, ?, ?, ?)",
            (
                user.id,
                to_db(finished - timedelta(minutes=5)),
                to_db(finished),
                lesson,
                step,
                before,
                after,
                (due or finished.date() + timedelta(days=1)).isoformat() if step else None,
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid


async def mood(world: World, finished: datetime, value: int) -> None:
    """A check-in answered at ``finished`` with this mood (1 rough … 5 great)."""
    async with world.repository.transaction() as repository:
        user = await repository.user(WHO, finished)
        await repository._db.execute(
            "INSERT INTO runs (user_id, flow_id, flow_version, flow_title, started_at, finished_at, meaning) "
            "VALUES (?, 'checkin', 4, 'Daily check-in', ?, ?, ?)",
            (user.id, to_db(finished), to_db(finished), json.dumps({"mood": value})),
        )


async def rows(world: World, sql: str) -> list[tuple[object, ...]]:
    async with world.repository._db.execute(sql) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


# --- item 5: /lessons kinder and richer -------------------------------------------------------------------


async def test_a_step_is_planned_then_not_checked_in_yet_never_still_open(world: World) -> None:
    await entry(world, at(20, 9), "Leave ten minutes earlier", "Set two alarms", due=date(2026, 3, 22))
    page = await world.send(Command("lessons"), at=at(20, 10))
    assert "Set two alarms · planned for 22 Mar 2026" in page
    page = await world.send(Command("lessons"), at=at(23, 10))
    assert "Set two alarms · not checked in yet" in page
    assert "still open" not in page


async def test_equal_averages_read_about_the_same_never_from_five_to_five(world: World) -> None:
    await entry(world, at(18, 9), "Breathe before I react", before=6, after=5)
    await entry(world, at(19, 9), "Ask for help sooner", before=5, after=6)
    page = await world.send(Command("lessons"))
    assert "about the same before and after (around 5.5)" in page
    assert "went from 5.5 to 5.5" not in page
    assert about_the_same(5.3, 5.3) and about_the_same(5.26, 5.6) and not about_the_same(7.7, 4.3)


async def test_check_in_moods_show_as_a_trend_in_text_and_chart(world: World, tmp_path: Path) -> None:
    await entry(world, at(10, 9), "Ask for help sooner")
    for day, value in ((11, 2), (12, 2), (14, 3), (16, 4), (18, 4)):
        await mood(world, at(day, 20), value)
    page = await world.send(Command("lessons"), at=at(20, 10))
    assert "How your days felt at check-ins (1 rough · 5 great): ▃▃▄▆▆ 3 on average, lighter lately." in page
    # One entry has no before → after to draw, but the moods alone make a chart, built off the event loop.
    built = await world.conversations.build_now(WHO, tmp_path / "files")
    [chart] = [reply for reply in built if isinstance(reply, SendFile)]
    assert chart.kind == "photo" and "How your days felt at check-ins" in chart.caption_html
    assert isinstance(chart.content, bytes) and chart.content.startswith(b"\x89PNG")


def test_mood_trend_needs_two_check_ins_and_says_which_way_gently() -> None:
    day = datetime(2026, 3, 1, tzinfo=UTC)
    assert mood_trend([(day, 3)]) is None
    heavier = mood_trend([(day, 5), (day, 4), (day, 2), (day, 2)])
    assert heavier is not None and heavier["direction"] == "down" and heavier["bars"] == "█▆▃▃"
    steady = mood_trend([(day, 3), (day, 3)])
    assert steady is not None and steady["direction"] == "steady" and steady["average"] == "3"


async def test_done_marks_a_next_step_done_and_it_is_not_asked_about_again(world: World) -> None:
    first = await entry(world, at(17, 9), "Ask for help sooner", "Email Dana on Monday")
    await entry(world, at(18, 9), "Sleep before exams", "Bed by 23:00 tonight")
    listed = await world.send(Command("done"))
    assert "1. Bed by 23:00 tonight" in listed and "2. Email Dana on Monday" in listed
    asked = await world.tap("👣 2")
    assert "Email Dana on Monday" in asked and "How did it go?" in asked
    assert "Marked done" in await world.tap("✅ Done")
    assert await rows(world, f"SELECT next_step_outcome FROM runs WHERE id = {first}") == [("done",)]
    user = await world.repository.find_user(WHO)
    assert user is not None
    assert [step.text for step in await world.repository.open_next_steps(user.id)] == ["Bed by 23:00 tonight"]
    assert "Email Dana on Monday · done ✅" in await world.send(Command("lessons"))


async def test_done_by_number_can_let_a_step_go_kindly_or_keep_it_open(world: World) -> None:
    await entry(world, at(17, 9), "Ask for help sooner", "Email Dana on Monday")
    await entry(world, at(18, 9), "Sleep before exams", "Bed by 23:00 tonight")
    assert "Bed by 23:00 tonight" in await world.send(Command("done", "1"))
    said = await world.tap("🍃 Let it go")
    assert "Set down" in said and "isn't failing" in said
    assert "Bed by 23:00 tonight · set down for now 🍃" in await world.send(Command("lessons"))
    # The only step left goes straight to the question; typing the button's words works like a tap.
    assert "Email Dana on Monday" in await world.send(Command("done"))
    assert "Kept open" in await world.send(Text("keep it open"))
    assert await rows(world, "SELECT next_step_outcome FROM runs WHERE next_step = 'Email Dana on Monday'") == [(None,)]


async def test_done_with_nothing_open_says_so_without_a_list(world: World) -> None:
    await entry(world, at(17, 9), "Ask for help sooner", None)
    assert "no next step waiting" in await world.send(Command("done"))


async def test_an_entry_s_lesson_is_corrected_by_typing_and_the_export_shows_it(world: World, tmp_path: Path) -> None:
    await entry(world, at(17, 9), "idk", "nothing")
    await entry(world, at(18, 9), "Sleep before exams", "Bed by 23:00")
    assert "Which entry" in await world.send(Command("edit"))
    which = await world.tap("✏️ 2")
    assert "idk" in which and "What would you like to change?" in which
    assert "Type the new lesson" in await world.tap("💡 The lesson")
    # A sentence with a word of the button's label ("keep") is the new lesson, not a tap on "keep it".
    assert "Changed. 💡 Keep a list of who can help" in await world.send(Text("Keep a list of who can help"))
    page = await world.send(Command("lessons"))
    assert "💡 Keep a list of who can help" in page and "💡 idk" not in page
    await world.send(Command("export"))
    files = [r for r in await world.conversations.build_now(WHO, tmp_path / "x") if isinstance(r, SendFile)]
    assert isinstance(files[0].content, Path) and isinstance(files[1].content, Path)
    markdown = files[0].content.read_text(encoding="utf-8")
    exported = json.loads(files[1].content.read_text(encoding="utf-8"))
    assert "**Lesson:** Keep a list of who can help (changed 2026-03-20)" in markdown
    [corrected] = [run for run in exported["runs"] if run["lesson"] == "Keep a list of who can help"]
    assert corrected["lesson_corrected_at"].startswith("2026-03-20")
    assert [answer["shown"] for answer in corrected["answers"]] == []  # seeded without answers: nothing invented


async def test_a_correction_can_be_kept_as_it_was_and_other_messages_end_the_question(world: World) -> None:
    await entry(world, at(18, 9), "Sleep before exams", "Bed by 23:00")
    assert "What would you like to change?" in await world.send(Command("edit"))
    await world.tap("👣 The next step")
    assert "Kept as it was" in await world.send(Text("keep it"))
    await world.send(Command("edit", "1"))
    await world.tap("💡 The lesson")
    await world.send(Command("help"))  # something else on screen: the next message is not the new lesson
    assert "Changed" not in await world.send(Text("Sleep well the night before an exam"))
    assert await rows(world, "SELECT lesson FROM runs") == [("Sleep before exams",)]


# --- item 7: lessons that come back ------------------------------------------------------------------------


def test_a_lesson_comes_back_a_week_and_a_month_on_once_each_and_never_twice_a_day() -> None:
    written = datetime(2026, 3, 1, 9, tzinfo=UTC)
    lesson = PastLesson(1, "Ask for help sooner", written)
    ask = checkins.revisit_to_ask
    assert ask([lesson], UTC_SETTINGS, date(2026, 3, 7), asked_today=False) is None  # six days: too soon
    week = ask([lesson], UTC_SETTINGS, date(2026, 3, 8), asked_today=False)
    assert week is not None and (week.run_id, week.kind) == (1, "week")
    assert ask([lesson], UTC_SETTINGS, date(2026, 3, 8), asked_today=True) is None
    asked_week = PastLesson(1, "Ask for help sooner", written, frozenset({"week"}))
    assert ask([asked_week], UTC_SETTINGS, date(2026, 3, 9), asked_today=False) is None
    month = ask([asked_week], UTC_SETTINGS, date(2026, 3, 31), asked_today=False)
    assert month is not None and month.kind == "month"
    changed = PastLesson(1, "Ask for help sooner", written, frozenset({"week"}), changed=True)
    assert ask([changed], UTC_SETTINGS, date(2026, 3, 31), asked_today=False) is None
    assert ask([PastLesson(2, "idk", written)], UTC_SETTINGS, date(2026, 3, 8), asked_today=False) is None
    # Two due the same day: the month one (rarer) first; the other waits for another day.
    both = [lesson, PastLesson(3, "Sleep before exams", written - timedelta(days=23))]
    first = ask(both, UTC_SETTINGS, date(2026, 3, 8), asked_today=False)
    assert first is not None and first.run_id == 3 and first.kind == "month"


async def test_the_check_in_brings_a_lesson_back_a_week_on_and_it_shows_as_held(world: World) -> None:
    await entry(world, at(13, 9), "Start earlier and ask for help sooner", None)
    await entry(world, at(13, 10), "Sleep before exams", None)
    await world.switch_on(at=time(20, 0))
    nudge = plain(await world.tick(at(20, 20, 0)))
    assert "A week ago you wrote: “Start earlier and ask for help sooner”" in nudge
    assert "Has it helped since?" in nudge
    assert nudge.count("A week ago") == 1  # one lesson, in the one check-in message
    assert "how are you feeling today" in await world.send(Text("yes it has"), at=at(20, 20, 5))
    assert "lesson is holding" in await world.send(Text("4"), at=at(20, 20, 6))
    assert await rows(world, "SELECT kind, answer FROM revisits") == [("week", "yes")]
    page = await world.send(Command("lessons"), at=at(20, 21))
    assert "Lessons that held" in page and "🌳 Start earlier and ask for help sooner (helping a week on)" in page
    # The next day brings back the other one (never two a day), and the first never again for its week.
    nudge = plain(await world.tick(at(21, 20, 0)))
    assert "Sleep before exams" in nudge and "Start earlier" not in nudge


async def test_a_lesson_that_changed_is_not_brought_back_a_month_on(world: World) -> None:
    await entry(world, at(13, 9), "Start earlier and ask for help sooner", None)
    await world.switch_on(at=time(20, 0))
    await world.tick(at(20, 20, 0))
    await world.send(Text("🔄 It changed"), at=at(20, 20, 5))
    assert "/edit changes it" in await world.send(Text("3"))
    # A month on (13 April; the days between were missed while away), the check-in comes without it.
    await world.tick(datetime(2026, 4, 12, 20, tzinfo=UTC))
    nudge = plain(await world.tick(datetime(2026, 4, 13, 20, tzinfo=UTC)))
    assert "check-in time" in nudge and "you wrote" not in nudge
    assert await rows(world, "SELECT kind, answer FROM revisits") == [("week", "changed")]


async def test_no_lesson_comes_back_with_check_ins_off(world: World) -> None:
    await entry(world, at(13, 9), "Start earlier and ask for help sooner", None)
    assert await world.tick(at(20, 20, 0)) == []
    assert await rows(world, "SELECT count(*) FROM revisits") == [(0,)]


async def test_the_export_holds_moods_and_revisits(world: World, tmp_path: Path) -> None:
    await entry(world, at(13, 9), "Start earlier and ask for help sooner", None)
    await world.switch_on(at=time(20, 0))
    await world.tick(at(20, 20, 0))
    await world.send(Text("⏳ Not yet"), at=at(20, 20, 5))
    await world.send(Text("2"))
    await world.send(Command("export"))
    files = [r for r in await world.conversations.build_now(WHO, tmp_path / "x") if isinstance(r, SendFile)]
    assert isinstance(files[0].content, Path) and isinstance(files[1].content, Path)
    markdown = files[0].content.read_text(encoding="utf-8")
    assert "**Looked back a week later:** not yet" in markdown and "**Mood:** 2 of 5" in markdown
    exported = json.loads(files[1].content.read_text(encoding="utf-8"))
    [lesson] = [run for run in exported["runs"] if run["flow_id"] == "quick"]
    assert [(r["kind"], r["answer"]) for r in lesson["revisits"]] == [("week", "not_yet")]
