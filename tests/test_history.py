"""/lessons, /export and /forget through the conversation service, on a temp database."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import history
from bot.conversation import ONBOARD_OK, ButtonPress, Command, Conversations, Reply, Text
from bot.engine import Say
from bot.flows.catalog import Catalog
from bot.history import SendFile
from bot.render import html_to_plain
from bot.storage.database import open_database, open_reader
from bot.storage.repository import Repository
from standin.htmltext import parse_html

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def service(tmp_path: Path, catalog: Catalog) -> AsyncIterator[tuple[Conversations, Clock, Path]]:
    clock = Clock()
    path = tmp_path / "db.sqlite3"
    connection = await open_database(path, START)
    reader = await open_reader(path)
    assert reader is not None
    try:
        yield Conversations(catalog, Repository(connection, reader), clock, ZoneInfo("Europe/Berlin")), clock, path
    finally:
        await reader.close()
        await connection.close()


async def quick(conversations: Conversations, who: str, happened: str, lesson: str, step: str) -> None:
    for message in (Command("quick"), Text(happened), Text(lesson), Text(step), Text("tomorrow")):
        await conversations.handle(who, message)


async def onboard(conversations: Conversations, who: str) -> None:
    await conversations.handle(who, ButtonPress(ONBOARD_OK, 0))


def says(replies: list[Reply]) -> list[Say]:
    return [reply for reply in replies if isinstance(reply, Say)]


def assert_telegram_would_accept(say: Say) -> None:
    parsed = parse_html(say.html)
    assert len(parsed.text.encode("utf-16-le")) // 2 <= 4096


async def test_an_empty_history_gets_an_encouraging_word(service: tuple[Conversations, Clock, Path]) -> None:
    conversations, _, _ = service
    await onboard(conversations, "tg:1")
    [reply] = says(await conversations.handle("tg:1", Command("lessons")))
    assert "/reframe" in reply.html and not reply.buttons


async def test_pages_hold_five_entries_and_turn_with_buttons(service: tuple[Conversations, Clock, Path]) -> None:
    conversations, clock, _ = service
    await onboard(conversations, "tg:1")
    for number in range(12):
        clock.now += timedelta(hours=1)
        await quick(conversations, "tg:1", f"Setback {number}", f"Lesson number {number}", f"Step {number}")
    [first] = says(await conversations.handle("tg:1", Command("lessons")))
    text = html_to_plain(first.html)
    assert "You worked through 12 setbacks." in text and "Page 1 of 3" in text
    assert "Lesson number 11" in text and "Lesson number 6" not in text  # newest first, five a page
    values = [button.value for row in first.buttons for button in row]
    assert "lessons:30d:2" in values and "lessons:30d:0" not in values
    [third] = says(await conversations.handle("tg:1", ButtonPress("lessons:30d:3", 0)))
    assert third.edit
    assert "Page 3 of 3" in html_to_plain(third.html) and "Lesson number 0" in html_to_plain(third.html)
    assert "lessons:30d:4" not in [button.value for row in third.buttons for button in row]
    [beyond] = says(await conversations.handle("tg:1", ButtonPress("lessons:30d:99", 0)))
    assert "Page 3 of 3" in html_to_plain(beyond.html)  # a forged page number shows the last page


async def test_periods_filter_by_the_persons_calendar(service: tuple[Conversations, Clock, Path]) -> None:
    conversations, clock, _ = service
    await onboard(conversations, "tg:1")
    clock.now = START - timedelta(days=60)
    await quick(conversations, "tg:1", "Long ago", "An old lesson", "Old step")
    clock.now = START
    await quick(conversations, "tg:1", "Today", "A new lesson", "New step")
    [recent] = says(await conversations.handle("tg:1", Command("lessons")))
    assert "A new lesson" in recent.html and "An old lesson" not in recent.html
    [everything] = says(await conversations.handle("tg:1", ButtonPress("lessons:all:1", 0)))
    assert "An old lesson" in everything.html and "all time" in everything.html


async def test_recurring_lessons_are_named(service: tuple[Conversations, Clock, Path]) -> None:
    conversations, clock, _ = service
    await onboard(conversations, "tg:1")
    for lesson in ("Ask for help earlier", "I should ask for help much earlier", "Sleep before exams"):
        clock.now += timedelta(hours=1)
        await quick(conversations, "tg:1", "Something happened", lesson, "A step")
    [page] = says(await conversations.handle("tg:1", Command("lessons")))
    assert "keep coming back" in page.html and "(2×)" in page.html
    assert "Sleep before exams (2×)" not in page.html


async def test_hostile_text_is_escaped_and_long_pages_stay_valid(service: tuple[Conversations, Clock, Path]) -> None:
    conversations, clock, _ = service
    await onboard(conversations, "tg:1")
    hostile = ["<b>bold</b> & <script>x</script>", "🙂" * 300, "שלום עולם، مرحبا", "a" * 1990]
    for text in hostile:
        clock.now += timedelta(minutes=5)
        await quick(conversations, "tg:1", text, text, text)
    replies = says(await conversations.handle("tg:1", Command("lessons")))
    for reply in replies:
        assert "<script>" not in reply.html
        assert "&lt;script&gt;" in reply.html
        # Over-long pages are split by the Telegram sender at paragraph boundaries; every part must parse.
        from bot.tg.payloads import split_html

        for part in split_html(reply.html):
            assert_telegram_would_accept(Say(part))


async def test_deleting_one_entry_asks_first(service: tuple[Conversations, Clock, Path]) -> None:
    conversations, _, _ = service
    await onboard(conversations, "tg:1")
    await quick(conversations, "tg:1", "Oops", "Keep this lesson", "Step")
    await quick(conversations, "tg:1", "Oops again", "Delete this lesson", "Step")
    [page] = says(await conversations.handle("tg:1", Command("lessons")))
    delete = next(b.value for row in page.buttons for b in row if b.label == "🗑 1")
    [confirm] = says(await conversations.handle("tg:1", ButtonPress(delete, 0)))
    assert "Delete this lesson" in confirm.html
    sure = next(b.value for row in confirm.buttons for b in row if b.label == "Yes, delete it")
    await conversations.handle("tg:1", ButtonPress(sure, 0))
    [after] = says(await conversations.handle("tg:1", Command("lessons")))
    assert "Delete this lesson" not in after.html and "Keep this lesson" in after.html


async def test_someone_elses_entry_cannot_be_deleted(service: tuple[Conversations, Clock, Path]) -> None:
    conversations, _, _ = service
    await onboard(conversations, "tg:1")
    await onboard(conversations, "tg:2")
    await quick(conversations, "tg:1", "Mine", "My own lesson", "Step")
    await conversations.handle("tg:2", ButtonPress("lessons:sure:1", 0))
    [page] = says(await conversations.handle("tg:1", Command("lessons")))
    assert "My own lesson" in page.html


async def test_export_holds_every_stored_answer(service: tuple[Conversations, Clock, Path], tmp_path: Path) -> None:
    conversations, _, path = service
    await onboard(conversations, "tg:1")
    await quick(conversations, "tg:1", "Missed the <train> & the bus", "Leave at 8", "Set an alarm")
    [coming] = says(await conversations.handle("tg:1", Command("export")))
    assert "files will follow" in coming.html
    files = [reply for reply in await conversations.build_now("tg:1", tmp_path / "new") if isinstance(reply, SendFile)]
    assert [file.filename for file in files] == ["springboard-2026-03-02.md", "springboard-2026-03-02.json"]
    assert all(isinstance(file.content, Path) and file.content.stat().st_mode & 0o077 == 0 for file in files)
    exported = json.loads(_content(files[1]))
    with sqlite3.connect(path) as db:
        stored = db.execute("SELECT step_id, value, answered_at FROM run_answers").fetchall()
    answers = [
        (a["step"], json.dumps(a["value"], ensure_ascii=False), a["answered_at"])
        for a in exported["runs"][0]["answers"]
    ]
    assert sorted(answers) == sorted(stored)
    assert (
        exported["runs"][0]["flow_id"] == "quick"
        and exported["runs"][0]["flow_version"] == conversations.catalog.flows["quick"].version
    )
    assert exported["runs"][0]["next_step_due"] == "2026-03-03"  # "tomorrow", in Berlin
    assert exported["set_aside"] is None and exported["checkin"]["enabled"] is False
    markdown = _content(files[0]).decode()
    assert "Missed the <train> & the bus" in markdown  # plain Markdown: nothing HTML-escaped
    assert "planned for 2026-03-03" in markdown
    assert await conversations.build_now("tg:1", tmp_path / "new") == []  # built once, then the request is done


async def test_a_long_history_is_exported_page_by_page_whole_and_in_order(
    service: tuple[Conversations, Clock, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversations, clock, _ = service
    monkeypatch.setattr(history, "EXPORT_PAGE", 2)  # five entries come in three pages
    await onboard(conversations, "tg:1")
    for number in range(5):
        clock.now += timedelta(minutes=1)
        await quick(conversations, "tg:1", f"Setback {number}", f"Lesson {number}", f"Step {number}")
    await conversations.handle("tg:1", Command("reframe"))
    await conversations.handle("tg:1", Text("Half-way through this one"))
    await conversations.handle("tg:1", Command("export"))
    markdown, data = [file for file in await conversations.build_now("tg:1", tmp_path) if isinstance(file, SendFile)]
    exported = json.loads(_content(data))
    assert [run["lesson"] for run in exported["runs"]] == [f"Lesson {number}" for number in range(5)]
    assert exported["in_progress"] is not None and exported["user"]["created_at"]
    text = _content(markdown).decode()
    assert text.startswith("# Springboard: everything you wrote")
    positions = [text.index(f"Lesson {number}") for number in range(5)]
    assert positions == sorted(positions)


async def test_asking_for_an_export_again_while_one_is_coming_queues_no_second(
    service: tuple[Conversations, Clock, Path], tmp_path: Path
) -> None:
    conversations, _, path = service
    await onboard(conversations, "tg:1")
    await quick(conversations, "tg:1", "Missed it", "Leave earlier", "Set an alarm")
    await conversations.handle("tg:1", Command("export"))
    [again] = says(await conversations.handle("tg:1", Command("export")))
    assert "already on its way" in again.html
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM heavy_requests").fetchone() == (1,)
    assert len([r for r in await conversations.build_now("tg:1", tmp_path) if isinstance(r, SendFile)]) == 2


async def test_nothing_to_export_is_said_at_once(service: tuple[Conversations, Clock, Path]) -> None:
    conversations, _, path = service
    await onboard(conversations, "tg:1")
    [empty] = says(await conversations.handle("tg:1", Command("export")))
    assert "nothing to export" in empty.html
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM heavy_requests").fetchone() == (0,)


async def test_an_export_requested_before_forget_is_never_delivered(
    service: tuple[Conversations, Clock, Path], tmp_path: Path
) -> None:
    conversations, _, _ = service
    await onboard(conversations, "tg:1")
    await quick(conversations, "tg:1", "Missed it", "Leave earlier", "Set an alarm")
    await conversations.handle("tg:1", Command("export"))
    [request] = await conversations.heavy_requests()
    built = await conversations.build_heavy(request, tmp_path)  # built, then the person forgets everything
    await conversations.handle("tg:1", Command("forget"))
    await conversations.handle("tg:1", ButtonPress("forget:yes", 0))
    assert len(built) == 2
    assert await conversations.finish_heavy(request, (1, ["{}"])) is False
    assert await conversations.heavy_requests() == []


async def test_the_feelings_chart_follows_the_first_page_as_a_photo(
    service: tuple[Conversations, Clock, Path], tmp_path: Path
) -> None:
    conversations, _, path = service
    await onboard(conversations, "tg:1")
    _seed_feelings(path, "tg:1", [(8, 4), (7, 3), (6, 6)])
    page = await conversations.handle("tg:1", Command("lessons"))
    assert not any(isinstance(reply, SendFile) for reply in page)  # the page is not held up by the drawing
    [chart] = await conversations.build_now("tg:1", tmp_path)
    assert isinstance(chart, SendFile) and chart.kind == "photo"
    assert isinstance(chart.content, bytes) and chart.content.startswith(b"\x89PNG")
    await conversations.handle("tg:1", ButtonPress("lessons:all:1", 0))  # turning pages draws nothing new
    assert await conversations.heavy_requests() == []


async def test_no_chart_is_drawn_from_fewer_than_two_points(
    service: tuple[Conversations, Clock, Path], tmp_path: Path
) -> None:
    conversations, _, path = service
    await onboard(conversations, "tg:1")
    _seed_feelings(path, "tg:1", [(8, 4)])
    await conversations.handle("tg:1", Command("lessons"))
    assert await conversations.heavy_requests() == []


def _content(file: SendFile) -> bytes:
    return file.content.read_bytes() if isinstance(file.content, Path) else file.content


def _seed_feelings(path: Path, who: str, feelings: list[tuple[int, int]]) -> None:
    """Completed entries with a feeling before and after, a day apart, ending yesterday."""
    with sqlite3.connect(path) as db:
        (user_id,) = db.execute("SELECT id FROM users WHERE external_id = ?", (who,)).fetchone()
        for days_ago, (before, after) in enumerate(reversed(feelings), start=1):
            finished = (START - timedelta(days=days_ago)).isoformat()
            db.execute(
                "INSERT INTO runs (user_id, flow_id, flow_version, flow_title, started_at, finished_at, lesson, "
                "next_step, feeling, feeling_before, feeling_after, meaning, inputs) "
                "VALUES (?, 'setback', 1, 'Work through a setback', ?, ?, 'A lesson', 'A step', 'sad', ?, ?, "
                "'{}', '{}')",
                (user_id, finished, finished, before, after),
            )


async def test_forget_removes_every_row_of_that_person_only(service: tuple[Conversations, Clock, Path]) -> None:
    conversations, _, path = service
    for who in ("tg:1", "tg:2"):
        await onboard(conversations, who)
        await quick(conversations, who, f"{who} happened", f"{who} lesson", f"{who} step")
        await conversations.handle(who, Command("reframe"))
        await conversations.handle(who, Text(f"{who} is mid-way"))
    [confirm] = says(await conversations.handle("tg:1", Command("forget")))
    assert "can't be undone" in confirm.html
    [done] = says(await conversations.handle("tg:1", ButtonPress("forget:yes", 0)))
    assert "1 entry" in done.html
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            rows = db.execute(f"SELECT * FROM {table}").fetchall()
            assert not any("tg:1" in json.dumps(row, default=str) for row in rows), table
        assert db.execute("SELECT count(*) FROM runs").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM active_runs").fetchone() == (1,)
    raw = path.read_bytes() + (
        path.with_name(path.name + "-wal").read_bytes() if path.with_name(path.name + "-wal").exists() else b""
    )
    assert b"tg:1 lesson" not in raw  # secure_delete overwrote it
    fresh = says(await conversations.handle("tg:1", Text("hello again")))
    assert "not a therapist" in fresh[0].html  # the next message starts fresh


async def test_forget_can_be_declined(service: tuple[Conversations, Clock, Path]) -> None:
    conversations, _, _ = service
    await onboard(conversations, "tg:1")
    await quick(conversations, "tg:1", "Happened", "Kept lesson", "Step")
    await conversations.handle("tg:1", Command("forget"))
    [kept] = says(await conversations.handle("tg:1", ButtonPress("forget:no", 0)))
    assert "Nothing was deleted" in kept.html
    [page] = says(await conversations.handle("tg:1", Command("lessons")))
    assert "Kept lesson" in page.html


async def test_typing_yes_at_forget_deletes_everything(service: tuple[Conversations, Clock, Path]) -> None:
    conversations, _, path = service
    await onboard(conversations, "tg:1")
    await quick(conversations, "tg:1", "Happened", "A lesson to lose", "Step")
    await conversations.handle("tg:1", Command("forget"))
    [done] = says(await conversations.handle("tg:1", Text("yes")))
    assert "I've deleted everything" in done.html and "1 entry" in done.html
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM runs").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)


@pytest.mark.parametrize("typed", ["yes?", "yse", "yes but keep my lessons", "hmm", "ok"])
async def test_forget_deletes_nothing_without_an_unambiguous_yes_and_says_so(
    service: tuple[Conversations, Clock, Path], typed: str
) -> None:
    conversations, _, _ = service
    await onboard(conversations, "tg:1")
    await quick(conversations, "tg:1", "Happened", "Kept lesson", "Step")
    await conversations.handle("tg:1", Command("forget"))
    [hint] = says(await conversations.handle("tg:1", Text(typed)))
    assert "Nothing is deleted yet" in hint.html and "Yes, delete everything" in hint.html
    assert [button.value for row in hint.buttons for button in row] == ["forget:yes", "forget:no"]
    [page] = says(await conversations.handle("tg:1", Command("lessons")))
    assert "Kept lesson" in page.html


async def test_typing_no_at_forget_keeps_everything(service: tuple[Conversations, Clock, Path]) -> None:
    conversations, _, _ = service
    await onboard(conversations, "tg:1")
    await conversations.handle("tg:1", Command("forget"))
    [kept] = says(await conversations.handle("tg:1", Text("No, keep it")))
    assert "Nothing was deleted" in kept.html
    # The question is answered: a later "yes" deletes nothing.
    later = says(await conversations.handle("tg:1", Text("yes")))
    assert not any("deleted everything" in reply.html for reply in later)


async def test_a_forget_question_still_reads_yes_after_a_restart(
    service: tuple[Conversations, Clock, Path], catalog: Catalog
) -> None:
    conversations, clock, path = service
    await onboard(conversations, "tg:1")
    await conversations.handle("tg:1", Command("forget"))
    connection = await open_database(path, START)  # a second run of the process, on the same file
    try:
        again = Conversations(catalog, Repository(connection), clock, ZoneInfo("Europe/Berlin"))
        [done] = says(await again.handle("tg:1", Text("Yes")))
    finally:
        await connection.close()
    assert "I've deleted everything" in done.html


async def test_lessons_periods_pages_and_deleting_can_be_typed(service: tuple[Conversations, Clock, Path]) -> None:
    conversations, clock, _ = service
    await onboard(conversations, "tg:1")
    clock.now = START - timedelta(days=20)
    await quick(conversations, "tg:1", "Long ago", "An older lesson", "Step")
    clock.now = START
    await quick(conversations, "tg:1", "Today", "A fresh lesson", "Step")
    await conversations.handle("tg:1", Command("lessons"))
    [week] = says(await conversations.handle("tg:1", Text("this week")))
    assert "this week" in week.html and "A fresh lesson" in week.html and "An older lesson" not in week.html
    [everything] = says(await conversations.handle("tg:1", Text("All time")))
    assert "all time" in everything.html and "An older lesson" in everything.html
    [confirm] = says(await conversations.handle("tg:1", Text("delete 2")))
    assert "An older lesson" in confirm.html and "can't be undone" in confirm.html
    [hint] = says(await conversations.handle("tg:1", Text("yes?")))
    assert "Nothing is deleted yet" in hint.html
    [deleted] = says(await conversations.handle("tg:1", Text("yes")))
    assert "Deleted" in deleted.html
    [after] = says(await conversations.handle("tg:1", Command("lessons")))
    assert "An older lesson" not in after.html and "A fresh lesson" in after.html


async def test_other_words_after_lessons_are_just_free_text(service: tuple[Conversations, Clock, Path]) -> None:
    conversations, _, _ = service
    await onboard(conversations, "tg:1")
    await quick(conversations, "tg:1", "Happened", "Lesson", "Step")
    await conversations.handle("tg:1", Command("lessons"))
    [idle] = says(await conversations.handle("tg:1", Text("thanks, that helps")))
    assert "I'm here whenever" in idle.html  # /lessons asked nothing, so this is not a wrong answer to it
