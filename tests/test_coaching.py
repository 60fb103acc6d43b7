"""The coaching of /reframe through the conversation service, on a temp database: a stuck person is helped
once and not nagged, an angry person is not pushed into self-blame, and the bot's words fit what was said."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.conversation import ButtonPress
from bot.engine import CONTINUE_VALUE
from bot.flows.catalog import Catalog
from tests.test_conversation import Bot, FakeClock, start_bot


@pytest.fixture
async def bot(tmp_path: Path, catalog: Catalog) -> AsyncIterator[Bot]:
    running = await start_bot(tmp_path / "springboard.sqlite3", catalog, FakeClock())
    try:
        yield running
    finally:
        await running.connection.close()


async def talk(bot: Bot, *moves: str | ButtonPress) -> list[str]:
    """What the person reads after each move, as plain text."""
    return [await bot.text_of(move) for move in moves]


async def stored(bot: Bot) -> dict[str, object]:
    """The answers of the person's last saved run, by step id."""
    async with bot.connection.execute(
        "SELECT step_id, value FROM run_answers WHERE run_id = (SELECT max(id) FROM runs)"
    ) as cursor:
        return {step: json.loads(value) for step, value in await cursor.fetchall()}


async def test_a_stuck_person_is_helped_once_per_question_and_their_words_are_kept(bot: Bot) -> None:
    replies = await talk(
        bot,
        "/reframe",
        "I messed up the client call today",
        "numb",
        "3",
        "idk",  # the inner critic
        "dunno",  # the friend
        "/skip",  # what was in their control
        "idk",  # the lesson: one offer
        "idk",  # …and it is their answer
        "nothing",  # the next step: one offer
        "nothing",  # …and it is their answer
        "3",
    )
    transcript = "\n".join(replies)
    friend = replies[4]
    assert "Now picture a good friend in the very same spot." in friend and "“idk”" not in friend
    assert "kindness" not in transcript, "no praise for kindness that wasn't given"
    lesson_offer, next_offer = replies[7], replies[9]
    assert "hardest question" in lesson_offer and "“I messed up the client call today”" in lesson_offer
    assert "it can be tiny" in next_offer
    assert transcript.count("send your answer as it is") == 2, "one offer each, never twice"
    assert "next step" in replies[8].lower()
    assert "how strong is it now" in replies[10], "no 'when' for a step they haven't got yet"
    card = replies[11]
    assert "Lesson: not clear yet, and that's okay" in card
    assert "Next step: none for now" in card
    assert "courage" not in card and "eased" not in card, "3 → 3 on a small thing gets no big words"
    assert (await stored(bot))["lesson"] == "idk"


async def test_an_angry_person_is_asked_what_was_in_their_hands_never_pushed_to_blame_themselves(bot: Bot) -> None:
    replies = await talk(
        bot,
        "/reframe",
        "My manager blamed me in front of everyone for his own mistake",
        "angry",
        "8",
        ButtonPress(CONTINUE_VALUE, None),
        "/skip",  # no inner critic: that's fine
        "I could have kept the emails that show what happened",
        "my reputation",
        "Keep a paper trail when things get tense",
        "Forward the key emails to myself tomorrow",
        "5",
    )
    transcript = "\n".join(replies)
    assert "someone else had a big hand in this" in replies[4]
    assert "harshest" not in transcript and "I'd like to keep this one" not in transcript
    assert "This isn't about taking the blame" in replies[5]
    assert "in your own hands" in replies[5] and "angry" in replies[5]
    assert "protect next time" in replies[6]
    assert "What has this taught you?" in replies[7]
    card = replies[10]
    assert "Keep a paper trail when things get tense" in card
    assert "That's a real shift. Facing this took courage." in card
    answers = await stored(bot)
    assert answers["harsh_voice"] is None and answers["protect"] == "my reputation"
    assert "friend_voice" not in answers and "traps" not in answers


async def test_going_back_does_not_thank_them_twice(bot: Bot) -> None:
    first = await talk(bot, "/reframe", "Lost my keys again")
    assert "Thanks for telling me." in first[1]
    back, answered_again = await talk(bot, "/back", "Lost my keys and my wallet")
    assert "Thanks" not in back and "Thank you" not in back
    assert "What are you feeling most right now?" in answered_again
    assert "Thanks" not in answered_again and "Thank you" not in answered_again
