"""Onboarding: a first-time person reads what the bot is and is not, and confirms before a flow starts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.conversation import ONBOARD_OK, ButtonPress, Command, Conversations, Resume, Text
from bot.engine import Say
from bot.flows.catalog import Catalog
from bot.render import html_to_plain
from bot.storage.database import open_database
from bot.storage.repository import Repository

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def conversations(tmp_path: Path, catalog: Catalog) -> AsyncIterator[Conversations]:
    connection = await open_database(tmp_path / "db.sqlite3", NOW)
    try:
        yield Conversations(catalog, Repository(connection), lambda: NOW, ZoneInfo("UTC"))
    finally:
        await connection.close()


def _plain(replies: list) -> str:
    return "\n".join(html_to_plain(reply.html) for reply in replies if isinstance(reply, Say))


async def test_a_first_flow_waits_for_a_confirmation_then_starts(conversations: Conversations) -> None:
    card = await conversations.handle("tg:1", Command("reframe"))
    text = _plain(card)
    assert "not a therapist" in text and "/sos" in text and "database" in text
    assert [[button.value for button in row] for row in card[0].buttons] == [[ONBOARD_OK]]

    started = await conversations.handle("tg:1", ButtonPress(ONBOARD_OK, 0))
    assert "What happened?" in _plain(started)  # the flow they asked for, not a menu


async def test_typing_instead_of_tapping_is_kept_and_answers_the_first_question(conversations: Conversations) -> None:
    await conversations.handle("cli:sam", Command("quick"))
    again = await conversations.handle("cli:sam", Text("my boss shouted at me"))
    reminder = _plain(again)
    assert "not a therapist" not in reminder, "the whole card is not sent again"
    assert "I understand, let's begin" in reminder and "kept what you wrote" in reminder
    assert [[button.value for button in row] for row in again[0].buttons] == [[ONBOARD_OK]]
    started = await conversations.handle("cli:sam", Text("yes"))
    assert "my boss shouted at me" in _plain(started)  # shown back as the first answer
    assert "What did it teach you?" in _plain(started), "the story answered “what happened?”"
    state_user = await conversations.repository.find_user("cli:sam")
    assert state_user is not None and state_user.onboarded


async def test_confirming_without_a_requested_flow_shows_where_to_start(conversations: Conversations) -> None:
    await conversations.handle("tg:2", Command("start"))
    done = await conversations.handle("tg:2", ButtonPress(ONBOARD_OK, 0))
    assert "/reframe" in _plain(done) and "/quick" in _plain(done)


async def test_sos_works_before_onboarding_too(conversations: Conversations) -> None:
    replies = await conversations.handle("tg:3", Command("sos"))
    assert "988" in _plain(replies)


async def answers_of(conversations: Conversations, who: str) -> dict[str, object]:
    user = await conversations.repository.find_user(who)
    assert user is not None
    state = await conversations.repository.active_state(user.id)
    return {} if state is None else dict(state.answers)


async def test_a_newcomers_first_words_answer_what_happened_once_they_confirm(conversations: Conversations) -> None:
    card = _plain(await conversations.handle("tg:4", Text("i failed my nclex again")))
    assert "not a therapist" in card and "I've kept what you wrote" in card
    reminder = _plain(await conversations.handle("tg:4", Text("third time this year")))
    assert "not a therapist" not in reminder and "kept what you wrote" in reminder
    started = _plain(await conversations.handle("tg:4", Text("I understand, let's begin")))
    assert "What are you feeling most right now?" in started, "no need to tell it again"
    assert "i failed my nclex again" in started
    assert await answers_of(conversations, "tg:4") == {"what_happened": "i failed my nclex again"}


async def test_first_words_go_to_the_flow_that_was_asked_for(conversations: Conversations) -> None:
    await conversations.handle("tg:5", Text("I snapped at my sister and feel awful"))
    await conversations.handle("tg:5", Command("quick"))
    started = _plain(await conversations.handle("tg:5", Text("1")))
    assert "What did it teach you?" in started
    assert await answers_of(conversations, "tg:5") == {"what_happened": "I snapped at my sister and feel awful"}


async def test_a_greeting_is_not_taken_as_what_happened(conversations: Conversations) -> None:
    card = _plain(await conversations.handle("tg:6", Text("hi")))
    assert "not a therapist" in card and "kept what you wrote" not in card
    done = _plain(await conversations.handle("tg:6", Text("ok")))
    assert "/reframe" in done and "What happened" not in done  # nothing to start from: where to start


async def test_the_card_comes_once_and_again_on_start(conversations: Conversations) -> None:
    assert "not a therapist" in _plain(await conversations.handle("tg:7", Command("reframe")))
    assert "Before we start" in _plain(await conversations.handle("tg:7", Command("reframe")))
    assert "Before we start" in _plain(await conversations.handle("tg:7", Text("what is this?")))
    assert "not a therapist" in _plain(await conversations.handle("tg:7", Command("start")))


@pytest.mark.parametrize("typed", ["no", "what is this?", "😶", "²"])
async def test_other_replies_do_not_confirm(conversations: Conversations, typed: str) -> None:
    await conversations.handle("tg:8", Command("start"))
    await conversations.handle("tg:8", Text(typed))
    user = await conversations.repository.find_user("tg:8")
    assert user is not None and not user.onboarded


async def test_words_after_the_first_command_are_kept_for_its_first_question(conversations: Conversations) -> None:
    card = _plain(await conversations.handle("tg:9", Command("quick", "I overslept and missed my exam")))
    assert "not a therapist" in card and "I've kept what you wrote" in card
    started = _plain(await conversations.handle("tg:9", ButtonPress(ONBOARD_OK, 0)))
    assert "What did it teach you?" in started
    assert await answers_of(conversations, "tg:9") == {"what_happened": "I overslept and missed my exam"}


async def test_a_typed_yes_without_the_card_on_screen_shows_the_card(conversations: Conversations) -> None:
    await conversations.handle("tg:10", Command("start"))
    await conversations.handle("tg:10", ButtonPress(ONBOARD_OK, 0))
    await conversations.handle("tg:10", Command("forget"))
    await conversations.handle("tg:10", Text("yes"))  # everything deleted: a newcomer again
    user = await conversations.repository.find_user("tg:10")
    assert user is None or not user.onboarded
    card = _plain(await conversations.handle("tg:10", Text("ok, thank you")))
    assert "not a therapist" in card
    user = await conversations.repository.find_user("tg:10")
    assert user is not None and not user.onboarded


@pytest.mark.parametrize("typed", ["I failed, I understand nothing", "ok, thank you", "yes but what is this"])
async def test_only_a_whole_confirmation_confirms(conversations: Conversations, typed: str) -> None:
    await conversations.handle("tg:11", Command("start"))
    await conversations.handle("tg:11", Text(typed))
    user = await conversations.repository.find_user("tg:11")
    assert user is not None and not user.onboarded


async def test_a_setback_typed_at_the_card_is_kept_not_taken_as_a_confirmation(conversations: Conversations) -> None:
    await conversations.handle("tg:12", Command("start"))
    kept = _plain(await conversations.handle("tg:12", Text("I failed, I understand nothing")))
    assert "kept what you wrote" in kept
    started = _plain(await conversations.handle("tg:12", Text("I understand")))
    assert "I failed, I understand nothing" in started


async def test_back_in_a_new_terminal_session_before_confirming_the_card_comes_again(
    conversations: Conversations,
) -> None:
    await conversations.handle("cli:ana", Command("quick"))
    await conversations.handle("cli:ana", Text("my boss shouted at me"))
    back = await conversations.handle("cli:ana", Resume())
    text = _plain(back)
    assert "not a therapist" in text and "note above" not in text, "the note itself, not a pointer to it"
    assert "kept what you wrote" in text
    started = await conversations.handle("cli:ana", Text("yes"))
    assert "my boss shouted at me" in _plain(started)
