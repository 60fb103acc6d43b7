"""The real command line, run as a person (or a deployer) would: ``python -m bot chat`` and ``check``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.chat import format_reply, machine_zone
from bot.engine import DONE_VALUE, Button, Say
from bot.flows.catalog import Catalog
from tests.conftest import REPO_ROOT

SETTINGS = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_URL", "DATABASE_PATH", "FLOWS_DIR", "DEFAULT_TIMEZONE")


def run_bot(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    environment["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=REPO_ROOT,
        env=environment,
        timeout=60,
        check=False,
    )


def chat(db: Path, *lines: str, user: str = "sam") -> str:
    finished = run_bot("chat", "--db", str(db), "--user", user, stdin="".join(f"{line}\n" for line in lines))
    assert finished.returncode == 0, finished.stderr
    assert "Traceback" not in finished.stderr
    return finished.stdout


def after(transcript: str, line: str) -> str:
    """What the bot said in reply to the typed ``line`` (up to the next typed line)."""
    marker = f"\n› {line}\n"
    assert marker in transcript, f"{line!r} was not echoed"
    return transcript.split(marker, 1)[1].split("\n› ", 1)[0]


def test_a_whole_setback_in_the_terminal_then_the_lesson_is_listed(tmp_path: Path) -> None:
    db = tmp_path / "chat.sqlite3"
    transcript = chat(
        db,
        "/reframe",
        "yes",  # confirms onboarding: what the bot is and is not
        "I got turned down for the job",
        "purple",  # not one of the options
        "1",
        "9",
        "",  # Enter ends the grounding pause
        "I'll never get hired",
        "/back",
        "Nobody will ever hire me",
        "6",  # a thinking trap: overgeneralising
        "One no isn't every no",
        "/skip",
        "Ask for feedback after interviews",
        "Email the recruiter on Monday",
        "5",
    )
    assert transcript.lstrip().startswith("Hi, I'm Springboard")
    assert "not a therapist" in transcript.split("\n› /reframe\n", 1)[0], "the card comes first, once"
    assert "Before we start" in after(transcript, "/reframe"), "then a short reminder, not the card again"
    assert "What happened?" in after(transcript, "yes")
    assert "Which comes closest?" in after(transcript, "purple")
    assert "  1. 😞 Disappointed" in after(transcript, "purple")
    assert "(type a number from 0 to 10)" in after(transcript, "1")
    pause = after(transcript, "9")
    assert "That's a lot to carry." in pause
    assert "(press Enter when you're ready: I'm ready to go on)" in pause
    assert "harshest thing you're telling yourself" in after(transcript, "")
    went_back = after(transcript, "/back")
    assert "Your earlier answer was: I'll never get hired" in went_back
    assert "Does it sound like any of these?" in after(transcript, "Nobody will ever hire me")
    friend = after(transcript, "6")
    assert "“Nobody will ever hire me”" in friend
    assert "turning one time into “always”" in friend, "the trap they named shapes the friend question"
    assert "What has this taught you?" in after(transcript, "/skip")
    card = after(transcript, "5")
    assert "Lesson: Ask for feedback after interviews" in card
    assert "Next step: Email the recruiter on Monday" in card
    assert "😞 Disappointed: 9 → 5" in card

    lessons = after(chat(db, "/lessons"), "/lessons")
    assert "You worked through 1 setback." in lessons
    assert "💡 Ask for feedback after interviews" in lessons
    assert "👣 Email the recruiter on Monday" in lessons
    # Its delete button is named in words: a bare "🗑 1" under a numbered list reads as a second number.
    assert "  1. Delete entry 1" in lessons.splitlines()
    # Shown again in the next session, it still is.
    assert "  1. Delete entry 1" in chat(db).splitlines()
    # One entry, so /edit asks straight away what to change: the entry, then the question, each on its line.
    asked = after(chat(db, "/edit"), "/edit").splitlines()
    assert asked[2:5] == [
        "💡 Ask for feedback after interviews",
        "👣 Email the recruiter on Monday",
        "What would you like to change?",
    ]


def test_a_second_session_started_midway_welcomes_the_person_back(tmp_path: Path) -> None:
    db = tmp_path / "chat.sqlite3"
    chat(db, "/quick", "yes", "I overslept and missed class")
    resumed = chat(db, "Alarms only work if I go to bed on time", "In bed by 11 tonight")
    opening = resumed.split("\n› ", 1)[0]
    assert "Welcome back. We were in the middle of “Quick reflection”" in opening
    assert "What did it teach you?" in opening
    assert "Saved. 🌱" in after(resumed, "In bed by 11 tonight")
    assert "Hi, I'm Springboard" not in resumed


def test_check_on_the_shipped_flows_prints_one_line_and_succeeds() -> None:
    finished = run_bot("check", "conversations/")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert finished.stdout.splitlines() == ["conversations: 3 flows OK (checkin, quick, setback); texts OK"]
    assert finished.stderr == ""


@pytest.mark.parametrize(
    ("fixture", "lines"),
    [
        (
            "tests/flows/broken/optional_yes.yaml",
            [
                "tests/flows/broken/optional_yes.yaml:9: optional_yes.first: 'optional' must be true or false "
                "(got 'yes'); write true or false, not yes/no"
            ],
        ),
        (
            "tests/flows/broken/three_problems.yaml",
            [
                "tests/flows/broken/three_problems.yaml:9: three_problems.first: unknown key 'colour'; allowed "
                "here: id, prompt, next, optional, kind, min_length, max_length, offer",
                "tests/flows/broken/three_problems.yaml:14: three_problems.second: 'multiple' must be true or "
                "false (got 'yes'); write true or false, not yes/no",
                "tests/flows/broken/three_problems.yaml:15: three_problems.third: 'min_label' is missing; add it",
            ],
        ),
    ],
)
def test_check_on_a_broken_flow_prints_file_line_problems_and_fails(fixture: str, lines: list[str]) -> None:
    finished = run_bot("check", fixture)
    assert finished.returncode == 1
    assert finished.stdout.splitlines() == lines
    count = len(lines)
    assert finished.stderr.strip() == f"{count} problem{'s' if count != 1 else ''} found"
    assert "Traceback" not in finished.stderr


def test_a_pick_several_question_in_the_terminal_says_how_to_type_several(catalog: Catalog) -> None:
    question = Say(
        "Which fit?",
        ((Button("Alpha", "alpha"), Button("Beta", "beta")), (Button("Done ✓", DONE_VALUE),)),
        step_id="tags",
        seq=1,
    )
    assert format_reply(question, catalog.texts).splitlines() == [
        "Which fit?",
        "  1. Alpha",
        "  2. Beta",
        "  (type the numbers of all that fit, for example 1, 3)",
    ]


def test_the_terminal_numbers_menus_and_the_bot_reads_them_even_in_a_later_session(tmp_path: Path) -> None:
    db = tmp_path / "chat.sqlite3"
    first = chat(db, "1", "/quick", "Missed my train", "Leave ten minutes earlier", "Set an alarm", "today", "/forget")
    assert "Delete everything?" in after(first, "/forget")
    assert "  1. Yes, delete everything" in after(first, "/forget")
    # The question is stored with the person, not in the terminal: a new session shows it again, and reads
    # "1" against it.
    second = chat(db, "1")
    shown_again = second.split("\n› 1\n", 1)[0]
    assert "Here's where we left off:" in shown_again and "Delete everything?" in shown_again
    assert "  1. Yes, delete everything" in shown_again
    assert "I've deleted everything stored about you: 1 entry" in after(second, "1")


def test_the_list_of_times_is_shown_as_times_to_type(catalog: Catalog) -> None:
    times = Say("What time suits you?", ((Button("08:00", "ci:at:08:00"), Button("21:00", "ci:at:21:00")),), seq=0)
    assert format_reply(times, catalog.texts).splitlines() == [
        "What time suits you?",
        "  (08:00 · 21:00, or any other time)",
    ]


def test_any_whitespace_ends_a_command_name() -> None:
    from bot.chat import parse_line
    from bot.conversation import Command as Said

    assert parse_line("/reframe\tI missed it", False) == Said("reframe", "I missed it")


def test_the_computers_own_timezone_is_read_from_tz_or_etc(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    assert machine_zone({}, etc) is None
    (etc / "localtime").symlink_to("/usr/share/zoneinfo/Europe/Berlin")
    assert machine_zone({}, etc) == "Europe/Berlin"
    (etc / "timezone").write_text("America/Chicago\n", encoding="utf-8")
    assert machine_zone({}, etc) == "America/Chicago"
    assert machine_zone({"TZ": ":Asia/Calcutta"}, etc) == "Asia/Kolkata"
    assert machine_zone({"TZ": "CET-1CEST"}, etc) == "America/Chicago"  # a POSIX rule names no place


def _strings(value: object) -> list[str]:
    """Every string inside a loaded YAML document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def test_no_text_of_the_bot_asks_the_terminal_to_tap_or_to_choose_a_done_it_does_not_show() -> None:
    import re

    import yaml

    from bot.chat import for_the_terminal

    folder = REPO_ROOT / "conversations"
    texts = [
        text
        for path in [*folder.glob("*.yaml"), *(folder / "texts").glob("*.yaml")]
        for text in _strings(yaml.safe_load(path.read_text(encoding="utf-8")))
    ]
    tapping = [text for text in texts if re.search(r"\btap\b", text, re.IGNORECASE)]
    assert len(tapping) >= 10, "the texts offer taps in many places"
    for text in tapping:
        shown = for_the_terminal(text)
        assert not re.search(r"\btap\b|choose Done", shown, re.IGNORECASE), shown
        assert re.search(r"\btype\b", shown, re.IGNORECASE), f"the way to answer was lost: {shown}"


def test_a_reply_offering_taps_reads_as_typing_in_the_terminal(catalog: Catalog) -> None:
    reply = Say("Did it help? Tap one, or type a word.", ((Button("Yes", "yes"), Button("No", "no")),), seq=1)
    assert format_reply(reply, catalog.texts).splitlines() == ["Did it help? Type a word.", "  1. Yes", "  2. No"]


@pytest.mark.parametrize(
    "words", ["I had to tap my card, or type the PIN", "tap below the knee hurts", "then choose Done-ish later"]
)
def test_a_persons_own_words_quoted_back_are_not_reworded_for_the_terminal(words: str) -> None:
    from bot.chat import for_the_terminal

    assert for_the_terminal(f"You wrote: {words}") == f"You wrote: {words}"
