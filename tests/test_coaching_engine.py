"""The coaching in the shipped setback flow, driven through the engine: help offered once when someone is
stuck, a path for anger at others, thinking traps, gentle echoes and closing words that fit.

Synchronous and table-driven, like tests/test_engine.py (whose helpers it borrows).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot import engine
from bot.engine import Answer, Finished, Press, Skip, State
from bot.flows.catalog import Catalog
from bot.flows.model import Flow
from bot.flows.texts import Texts
from tests.conftest import NOW
from tests.test_engine import Person, asked, at, said

BEFORE_LESSON: dict[str, Any] = {
    "what_happened": "I snapped at my sister at dinner. She was only trying to help.",
    "feeling": "ashamed",
    "intensity_before": 6,
    "harsh_voice": "You're a terrible person",
    "traps": None,
    "friend_voice": "You were exhausted, and you can say sorry. That's what matters.",
    "control": "How tired I let myself get",
}


@pytest.fixture(scope="module")
def setback(catalog: Catalog) -> Flow:
    return catalog.flows["setback"]


@pytest.fixture(scope="module")
def quick(catalog: Catalog) -> Flow:
    return catalog.flows["quick"]


def person_at(flow: Flow, texts: Texts, step: str, answers: dict[str, Any]) -> Person:
    return Person(flow, texts, state=at(flow, step, answers))


# --- 1. scaffolding when stuck --------------------------------------------------------------------


def test_an_idk_lesson_gets_one_offer_built_from_their_own_words(setback: Flow, texts: Texts) -> None:
    person = person_at(setback, texts, "lesson", BEFORE_LESSON)
    offer = asked(person.send("idk"))
    assert person.step == "lesson" and person.state is not None
    assert "lesson" not in person.state.answers, "nothing is saved yet: this is help, not an answer"
    # Sentence starters from what they told the friend, what was in their hands, and what happened.
    assert "“You were exhausted, and you can say sorry.”" in offer.html
    assert "That's what matters" not in offer.html, "only the first sentence is quoted"
    assert "“How tired I let myself get”" in offer.html
    assert "“I snapped at my sister at dinner.”" in offer.html
    assert offer.html.count("•") >= 2
    assert "send your answer as it is" in offer.html


@pytest.mark.parametrize("again", ["idk", "still no idea", "?"])
def test_insisting_keeps_their_answer_as_it_is_without_another_word(setback: Flow, texts: Texts, again: str) -> None:
    person = person_at(setback, texts, "lesson", BEFORE_LESSON)
    person.send("dunno")
    effects = person.send(again)
    assert person.step == "next_step", "accepted as it is, even shorter than the usual minimum"
    assert person.state is not None and person.state.answers["lesson"] == again
    assert [html for html in said(effects) if "hardest question" in html] == [], "no second offer"


def test_after_the_offer_a_real_lesson_is_simply_taken(setback: Flow, texts: Texts) -> None:
    person = person_at(setback, texts, "lesson", BEFORE_LESSON)
    person.send("no idea")
    person.send("Next time I'm that tired, I'll step away first")
    assert person.state is not None
    assert person.state.answers["lesson"] == "Next time I'm that tired, I'll step away first"


def test_a_lesson_that_says_something_gets_no_offer(setback: Flow, texts: Texts) -> None:
    person = person_at(setback, texts, "lesson", BEFORE_LESSON)
    person.send("idk, maybe rest before big family dinners")
    assert person.step == "next_step"


def test_a_stuck_next_step_is_helped_once_then_not_asked_when(setback: Flow, texts: Texts) -> None:
    person = person_at(setback, texts, "next_step", BEFORE_LESSON | {"lesson": "Rest before I react"})
    offer = asked(person.send("nothing"))
    assert "To practise it this week" in offer.html and "“Rest before I react”" in offer.html
    effects = person.send("nothing")
    assert person.step == "intensity_after", "no 'when' for no step"
    effects = person.send("5")
    card = said(effects)[-1]
    assert "none for now, and that's fine" in card
    [done] = [effect for effect in effects if isinstance(effect, Finished)]
    assert done.run.meant("next_step") == "nothing" and done.run.meant("next_step_day") is None


def test_the_offer_is_remembered_across_a_restart(setback: Flow, texts: Texts) -> None:
    person = person_at(setback, texts, "lesson", BEFORE_LESSON)
    person.send("idk")
    assert person.state is not None
    person.state = State.from_json(json.loads(json.dumps(person.state.to_json())))
    person.send("idk")
    assert person.step == "next_step"


def test_a_state_saved_before_offers_existed_still_loads(setback: Flow, texts: Texts) -> None:
    saved = at(setback, "lesson", BEFORE_LESSON).to_json()
    del saved["asked"], saved["offered"]
    assert State.from_json(saved).offered == []


def test_quick_helps_a_stuck_person_once_too_and_its_card_does_not_praise_idk(quick: Flow, texts: Texts) -> None:
    person = Person(quick, texts)
    person.start()
    person.send("I forgot my mum's birthday")
    offer = asked(person.send("?"))
    assert "“I forgot my mum&#39;s birthday”" in offer.html  # escaped, as every answer is
    person.send("idk")
    person.send("idk")
    effects = person.send("idk")
    card = said(effects)[-1]
    assert "Not clear yet, and that's okay" in card and "No next step for now" in card
    assert "Short and honest is plenty" not in card


# --- 2. thinking traps ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trap", "question"),
    [
        ("all_or_nothing", "what still went fine"),
        ("catastrophising", "what's actually likely to happen"),
        ("mind_reading", "what they really know"),
        ("labelling", "who they are beyond it"),
        ("shoulds", "instead of “should”"),
        ("overgeneralising", "one time into “always”"),
        ("none", "What would you say to them?"),
    ],
)
def test_a_named_trap_shapes_the_friend_question(setback: Flow, texts: Texts, trap: str, question: str) -> None:
    person = person_at(setback, texts, "traps", {k: BEFORE_LESSON[k] for k in list(BEFORE_LESSON)[:4]})
    person.tap(trap)
    friend = asked(person.tap(engine.DONE_VALUE))
    assert friend.step_id == "friend_voice"
    assert question in friend.html


def test_traps_are_optional_explained_in_plain_words_and_typed_names_work(setback: Flow, texts: Texts) -> None:
    person = person_at(setback, texts, "harsh_voice", {k: BEFORE_LESSON[k] for k in list(BEFORE_LESSON)[:3]})
    traps = asked(person.send("I always ruin everything"))
    assert traps.step_id == "traps"
    assert "Skip" in [button.label for row in traps.buttons for button in row]
    assert "<b>Mind-reading</b>: being sure what others think of you." in traps.html
    friend = asked(person.send("overgeneralizing i guess"))
    assert "“always”" in friend.html
    assert person.state is not None and person.state.answers["traps"] == ["overgeneralising"]


# --- 3. a path for anger at others ----------------------------------------------------------------

BLAMED = {"what_happened": "My coworker took credit for my project in the team meeting", "feeling": "angry"}


def test_someone_blamed_is_asked_gently_and_may_skip_the_inner_critic(setback: Flow, texts: Texts) -> None:
    person = person_at(setback, texts, "intensity_before", BLAMED)
    critic = asked(person.send("7"))
    assert critic.step_id == "harsh_voice"
    assert "someone else had a big hand in this" in critic.html
    assert "harshest thing" not in critic.html
    own = asked(person.send(Skip()))
    assert own.step_id == "control"
    assert "This isn't about taking the blame" in own.html and "in your own hands" in own.html
    assert "kindness" not in own.html
    protect = asked(person.send("Not really"))
    assert protect.step_id == "protect" and "protect next time" in protect.html
    lesson = asked(person.send("My work and my credit"))
    assert lesson.step_id == "lesson"
    assert person.state is not None and "friend_voice" not in person.state.answers


def test_anger_at_others_typed_as_the_critic_goes_to_what_was_in_their_hands(setback: Flow, texts: Texts) -> None:
    told = {"what_happened": "The meeting went badly", "feeling": "angry", "intensity_before": 6}
    person = person_at(setback, texts, "harsh_voice", told)
    own = asked(person.send("HE is the problem, not me"))
    assert own.step_id == "control" and "This isn't about taking the blame" in own.html


def test_anyone_may_skip_the_inner_critic_and_still_meet_the_friend(setback: Flow, texts: Texts) -> None:
    person = person_at(setback, texts, "harsh_voice", {k: BEFORE_LESSON[k] for k in list(BEFORE_LESSON)[:3]})
    friend = asked(person.send(Skip()))
    assert friend.step_id == "friend_voice"
    assert "Now picture a good friend in the very same spot." in friend.html and "“" not in friend.html


# --- 4. echo gently -------------------------------------------------------------------------------


TOLD_AT_LENGTH = " ".join(["It started on Monday when the server went down and nobody knew why."] * 6)


@pytest.mark.parametrize(
    ("told", "thanks"),
    [
        ("Lost my keys", "Thanks for telling me."),
        (
            "I missed the deadline for the grant because I kept rewriting the intro and never asked anyone",
            "Thank you for putting that into words.",
        ),
        (TOLD_AT_LENGTH, "Thank you for writing all of that out"),
    ],
)
def test_the_thanks_fits_how_much_they_wrote(setback: Flow, texts: Texts, told: str, thanks: str) -> None:
    person = Person(setback, texts)
    person.start()
    assert asked(person.send(told)).html.startswith(thanks)


def test_a_long_critic_is_quoted_by_its_first_sentence(setback: Flow, texts: Texts) -> None:
    harsh = "You always let people down. " + "Everyone can see you don't belong there and never did. " * 5
    person = person_at(setback, texts, "harsh_voice", {k: BEFORE_LESSON[k] for k in list(BEFORE_LESSON)[:3]})
    person.send(harsh)
    friend = asked(person.send(Skip()))
    assert "<i>“You always let people down.”</i>" in friend.html
    assert "belong" not in friend.html


@pytest.mark.parametrize(("friend", "kindness"), [("You did your best with what you had", True), ("idk", False)])
def test_that_kindness_is_theirs_only_when_they_gave_some(
    setback: Flow, texts: Texts, friend: str, kindness: bool
) -> None:
    person = person_at(setback, texts, "friend_voice", {k: BEFORE_LESSON[k] for k in list(BEFORE_LESSON)[:5]})
    control = asked(person.send(friend))
    assert control.step_id == "control"
    assert ("That kindness is yours to keep" in control.html) is kindness


@pytest.mark.parametrize(
    ("before", "after", "said_", "not_said"),
    [
        (3, 3, [], ["courage", "shift", "eased", "heavier", "hasn't shifted"]),  # a parking ticket
        (5, 5, ["hasn't shifted yet, and that's okay"], ["courage"]),
        (8, 8, ["Facing this took courage, even if the feeling hasn't shifted yet."], []),
        (5, 4, ["It eased a little."], ["courage", "real shift"]),
        (8, 7, ["It eased a little. Facing this took courage."], ["real shift"]),
        (8, 5, ["That's a real shift. Facing this took courage."], ["a little"]),
        (6, 3, ["That's a real shift."], ["a little", "courage"]),
        (4, 6, ["It feels heavier right now"], ["brave"]),
        (7, 9, ["It feels heavier right now", "you did something brave", "/sos"], ["courage"]),
    ],
)
def test_closing_words_follow_the_change_and_the_weight(
    setback: Flow, texts: Texts, before: int, after: int, said_: list[str], not_said: list[str]
) -> None:
    answers = BEFORE_LESSON | {
        "intensity_before": before,
        "lesson": "Rest before I react",
        "next_step": "Text her tonight",
        "next_step_when": "today",
    }
    person = person_at(setback, texts, "intensity_after", answers)
    card = said(person.send(str(after)))[-1]
    for words in said_:
        assert words in card
    for words in not_said:
        assert words not in card


def test_a_press_at_a_text_question_with_an_offer_is_still_stale(setback: Flow, texts: Texts) -> None:
    state = at(setback, "lesson", BEFORE_LESSON)
    new, effects = engine.advance(setback, state, Press("idk", state.seq), NOW, texts)
    assert new is not None and new.offered == [] and isinstance(effects[0], engine.Stale)
    assert engine.advance(setback, state, Answer("idk"), NOW, texts)[0] is not None
