"""The flow engine, driven synchronously: what a person sees and what is kept after each message.

The engine never reads the clock: every call gets the same fixed, aware ``NOW`` (or one derived from it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import engine
from bot.engine import (
    CONTINUE_VALUE,
    DONE_VALUE,
    SKIP_VALUE,
    Answer,
    Back,
    Cancel,
    Effect,
    Event,
    Finished,
    Press,
    Repeat,
    Say,
    Skip,
    Stale,
    State,
)
from bot.flows.catalog import Catalog
from bot.flows.loader import load_flows
from bot.flows.model import Flow
from bot.flows.texts import Texts
from bot.render import render
from tests.conftest import CONVERSATIONS, NOW

SHIPPED_SETBACK = yaml.safe_load((CONVERSATIONS / "setback.yaml").read_text(encoding="utf-8"))["version"]

SAMPLER: dict[str, Any] = {
    "id": "sampler",
    "version": 1,
    "title": "Sampler",
    "description": "One step of each kind.",
    "steps": [
        {"id": "name", "kind": "text", "prompt": "Your name?", "min_length": 3, "max_length": 10},
        {
            "id": "colour",
            "kind": "choice",
            "prompt": "Hello {{ name }}. A colour?",
            "options": ["Red", "Green", {"value": "blue", "label": "🌊 Deep Blue"}],
        },
        {
            "id": "tags",
            "kind": "choice",
            "prompt": "You picked {{ shown.colour }}. Tags?",
            "multiple": True,
            "options": ["Alpha", "Beta", "Gamma"],
        },
        {
            "id": "level",
            "kind": "scale",
            "prompt": "Level?",
            "min": 1,
            "max": 10,
            "min_label": "low",
            "max_label": "high",
            "optional": True,
            "next": [{"if": "level >= 8", "goto": "pause"}, {"goto": "note"}],
        },
        {"id": "pause", "kind": "message", "prompt": "Breathe.", "button": "Go on"},
        {"id": "note", "kind": "text", "prompt": "Anything else?", "optional": True},
    ],
    "finish": "Done, {{ name }}: {{ shown.tags }} / {{ level }} / {{ note }}.",
}


@pytest.fixture(scope="module")
def sampler() -> Flow:
    return Flow.model_validate(SAMPLER)


@pytest.fixture(scope="module")
def setback(catalog: Catalog) -> Flow:
    return catalog.flows["setback"]


@pytest.fixture(scope="module")
def checkin(catalog: Catalog) -> Flow:
    return catalog.flows["checkin"]


def at(flow: Flow, step: str, answers: dict[str, Any] | None = None, seq: int = 7) -> State:
    """A person who reached ``step`` with ``answers`` (in the order given)."""
    answers = dict(answers or {})
    return State(
        flow.id,
        flow.version,
        step,
        NOW,
        answers=answers,
        answered_at=dict.fromkeys(answers, NOW),
        path=list(answers),
        inputs={name: None for name in flow.inputs},
        seq=seq,
    )


def said(effects: list[Effect]) -> list[str]:
    return [effect.html for effect in effects if isinstance(effect, Say)]


def asked(effects: list[Effect]) -> Say:
    """The question the person is looking at after these effects."""
    questions = [effect for effect in effects if isinstance(effect, Say) and effect.step_id is not None]
    assert questions, f"no question among {effects}"
    return questions[-1]


def labels(say: Say) -> list[str]:
    return [button.label for row in say.buttons for button in row]


def values(say: Say) -> list[str]:
    return [button.value for row in say.buttons for button in row]


@dataclass
class Person:
    """Drives one flow through the engine, keeping the state the way an adapter would store it."""

    flow: Flow
    texts: Texts
    state: State | None = None
    now_minutes: int = 0

    def start(self, inputs: dict[str, Any] | None = None) -> list[Effect]:
        state, effects = engine.start(self.flow, NOW, self.texts, inputs)
        self.state = state
        return effects

    def send(self, event: Event | str) -> list[Effect]:
        assert self.state is not None, "the flow has already ended"
        self.now_minutes += 1
        message = Answer(event) if isinstance(event, str) else event
        now = NOW + timedelta(minutes=self.now_minutes)
        self.state, effects = engine.advance(self.flow, self.state, message, now, self.texts)
        return effects

    def tap(self, value: str) -> list[Effect]:
        assert self.state is not None
        return self.send(Press(value, self.state.seq))

    @property
    def step(self) -> str | None:
        return self.state.step if self.state else None


# --- each step kind: what is accepted, and what is re-asked with which hint -------------------------


@pytest.mark.parametrize(
    ("step", "before", "event", "stored"),
    [
        pytest.param("name", {}, Answer("  Sam  "), "Sam", id="text-trimmed"),
        pytest.param("name", {}, Answer("Samantha J"), "Samantha J", id="text-at-max"),
        pytest.param("colour", {"name": "Sam"}, Press("green"), "green", id="choice-button"),
        pytest.param("colour", {"name": "Sam"}, Answer("2"), "green", id="choice-typed-number"),
        pytest.param("colour", {"name": "Sam"}, Answer("RED"), "red", id="choice-typed-label-any-case"),
        pytest.param("colour", {"name": "Sam"}, Answer("deep blue"), "blue", id="choice-label-without-emoji"),
        pytest.param("tags", {"name": "Sam", "colour": "red"}, Answer("1, 3"), ["alpha", "gamma"], id="multi-typed"),
        pytest.param("tags", {"name": "Sam", "colour": "red"}, Answer("beta"), ["beta"], id="multi-one-label"),
        pytest.param("level", {"name": "Sam"}, Answer("7"), 7, id="scale-number"),
        pytest.param("level", {"name": "Sam"}, Answer("7/10"), 7, id="scale-out-of-ten"),
        pytest.param("level", {"name": "Sam"}, Answer(" 1. "), 1, id="scale-lowest"),
        pytest.param("level", {"name": "Sam"}, Press("10"), 10, id="scale-button"),
    ],
)
def test_a_fitting_answer_is_kept_and_the_flow_moves_on(
    sampler: Flow, texts: Texts, step: str, before: dict[str, Any], event: Event, stored: Any
) -> None:
    state = at(sampler, step, before)
    new, effects = engine.advance(sampler, state, event, NOW, texts)
    assert new is not None
    assert new.answers[step] == stored
    assert new.answered_at[step] == NOW
    assert new.step != step
    assert new.seq == state.seq + 1
    assert asked(effects).step_id == new.step


def _hint(texts: Texts, name: str, **context: Any) -> str:
    return render(getattr(texts, name), context)


@pytest.mark.parametrize(
    ("step", "event", "hint"),
    [
        pytest.param("name", Answer("   "), ("hint_text_empty", {}), id="text-empty"),
        pytest.param("name", Answer("Al"), ("hint_text_too_short", {"min": 3, "length": 2}), id="text-short"),
        pytest.param("name", Answer("Alexandra Q"), ("hint_text_too_long", {"max": 10, "length": 11}), id="text-long"),
        pytest.param("colour", Answer("4"), ("hint_choice", {"multiple": False}), id="choice-number-too-big"),
        pytest.param("colour", Answer("purple"), ("hint_choice", {"multiple": False}), id="choice-unknown"),
        pytest.param("colour", Press("purple"), ("hint_choice", {"multiple": False}), id="choice-bad-button"),
        pytest.param("tags", Answer("1, 9"), ("hint_choice", {"multiple": True}), id="multi-one-unknown"),
        pytest.param("tags", Press(DONE_VALUE), ("hint_multi_empty", {}), id="multi-done-with-nothing"),
        pytest.param("level", Answer("11"), ("hint_scale", {}), id="scale-above"),
        pytest.param("level", Answer("0"), ("hint_scale", {}), id="scale-below"),
        pytest.param("level", Answer("eleven"), ("hint_scale", {}), id="scale-word-above"),
        pytest.param("level", Answer("7.5"), ("hint_scale", {}), id="scale-fraction"),
        pytest.param("name", Skip(), ("cannot_skip", {}), id="required-cannot-be-skipped"),
    ],
)
def test_an_answer_that_does_not_fit_re_asks_with_its_hint_and_changes_nothing(
    sampler: Flow, texts: Texts, step: str, event: Event, hint: tuple[str, dict[str, Any]]
) -> None:
    answers: dict[str, Any] = {"name": "Sam", "colour": "red", "tags": ["beta"], "level": 9}
    order = [s.id for s in sampler.steps]
    state = at(sampler, step, {k: v for k, v in answers.items() if order.index(k) < order.index(step)})
    before = json.dumps(state.to_json())
    new, effects = engine.advance(sampler, state, event, NOW, texts)
    assert new is not None
    assert json.dumps(new.to_json()) == before
    assert json.dumps(state.to_json()) == before, "advance must not change the state it was given"
    [message] = effects
    assert isinstance(message, Say)
    name, context = hint
    step_model = sampler.step(step)
    assert step_model is not None
    labels = [option["label"] for option in step_model.model_dump().get("options", [])]
    full = step_model.model_dump() | {"options": labels} | context
    assert message.html == _hint(texts, name, **full)
    # The buttons come again with the hint, still valid for this question.
    assert message.step_id == step and message.seq == state.seq
    assert message.buttons == asked(engine.advance(sampler, state, Repeat(), NOW, texts)[1]).buttons


def test_multi_select_toggles_show_ticks_and_done_keeps_the_options_in_their_order(sampler: Flow, texts: Texts) -> None:
    person = Person(sampler, texts, at(sampler, "tags", {"name": "Sam", "colour": "red"}))
    shown = asked(person.tap("gamma"))
    assert shown.edit, "a toggle updates the question in place"
    assert labels(shown)[:3] == ["Alpha", "Beta", "✓ Gamma"]
    assert labels(asked(person.tap("alpha")))[:3] == ["✓ Alpha", "Beta", "✓ Gamma"]
    assert labels(asked(person.tap("gamma")))[:3] == ["✓ Alpha", "Beta", "Gamma"]
    person.tap("beta")
    assert person.step == "tags"
    effects = person.tap(DONE_VALUE)
    assert person.state is not None and person.state.answers["tags"] == ["alpha", "beta"]
    assert person.step == "level"
    assert asked(effects).step_id == "level"


def test_the_choice_a_person_made_shows_as_its_label_in_the_next_prompt(sampler: Flow, texts: Texts) -> None:
    person = Person(sampler, texts, at(sampler, "colour", {"name": "Sam"}))
    assert asked(person.send("3")).html.startswith("You picked 🌊 Deep Blue. Tags?")


def test_a_scale_question_shows_its_legend_and_one_button_per_number(sampler: Flow, texts: Texts) -> None:
    question = asked(engine.advance(sampler, at(sampler, "level", {"name": "Sam"}), Repeat(), NOW, texts)[1])
    legend = render(texts.scale_legend, {"min": 1, "max": 10, "min_label": "low", "max_label": "high"})
    assert legend in question.html
    assert values(question) == [str(n) for n in range(1, 11)] + [SKIP_VALUE]
    assert render(texts.optional_note, {}) in question.html


# --- skipping, going back, cancelling, stale buttons ---------------------------------------------------


def test_skipping_an_optional_question_keeps_nothing_for_it_and_moves_on(sampler: Flow, texts: Texts) -> None:
    for event in (Skip(), Press(SKIP_VALUE, 7)):
        new, effects = engine.advance(sampler, at(sampler, "level", {"name": "Sam"}), event, NOW, texts)
        assert new is not None and new.step == "note"
        assert new.answers["level"] is None
        assert asked(effects).step_id == "note"


def test_back_returns_to_the_previous_question_and_shows_the_earlier_answer(setback: Flow, texts: Texts) -> None:
    person = Person(setback, texts)
    person.start()
    person.send("I missed the deadline")
    person.send("2")
    assert person.step == "intensity_before"
    effects = person.send(Back())
    assert person.step == "feeling"
    first, question = said(effects)
    assert first == render(texts.earlier_answer, {"answer": "😤 Frustrated"})
    # Asked again after /back: the question alone, without thanking them for the same words twice.
    assert question.startswith("<b>What are you feeling most right now?</b>")
    effects = person.send(Back())
    assert person.step == "what_happened"
    assert said(effects)[0] == render(texts.earlier_answer, {"answer": "I missed the deadline"})
    # Answering again carries on from there, and the changed answer is the one kept.
    again = said(person.send("I missed the deadline again"))
    assert again[-1].startswith("<b>What are you feeling most right now?</b>")
    person.send("1")
    assert person.state is not None
    assert person.state.answers == {"what_happened": "I missed the deadline again", "feeling": "disappointed"}
    assert person.state.path == ["what_happened", "feeling"]


def test_back_at_the_first_question_says_there_is_nothing_before(setback: Flow, texts: Texts) -> None:
    person = Person(setback, texts)
    person.start()
    before = person.state
    effects = person.send(Back())
    assert said(effects) == [render(texts.nothing_before, {})]
    assert person.state == before


def test_back_from_a_pause_returns_to_the_question_before_it(setback: Flow, texts: Texts) -> None:
    person = Person(setback, texts, at(setback, "intensity_before", {"what_happened": "x", "feeling": "sad"}))
    person.send("9")
    assert person.step == "grounding"
    effects = person.send(Back())
    assert person.step == "intensity_before"
    assert said(effects)[0] == render(texts.earlier_answer, {"answer": "9"})


def test_cancel_ends_the_flow_and_says_nothing_was_saved(setback: Flow, texts: Texts) -> None:
    person = Person(setback, texts, at(setback, "feeling", {"what_happened": "x"}))
    effects = person.send(Cancel())
    assert person.state is None
    assert effects == [Say(render(texts.cancelled, {"title": setback.title}))]
    assert not any(isinstance(effect, Finished) for effect in effects)


def test_a_button_from_an_earlier_question_changes_nothing(setback: Flow, texts: Texts) -> None:
    state = at(setback, "intensity_before", {"what_happened": "x", "feeling": "sad"}, seq=4)
    before = json.dumps(state.to_json())
    for press in (Press("angry", 3), Press("5", 3), Press("5", 5)):
        new, effects = engine.advance(setback, state, press, NOW, texts)
        assert effects == [Stale()]
        assert new is not None and json.dumps(new.to_json()) == before


def test_a_stray_button_on_a_text_question_is_not_taken_as_the_answer(setback: Flow, texts: Texts) -> None:
    state = at(setback, "harsh_voice", {"what_happened": "x", "feeling": "sad", "intensity_before": 3})
    new, effects = engine.advance(setback, state, Press(CONTINUE_VALUE, None), NOW, texts)
    assert effects == [Stale()]
    assert new is not None and "harsh_voice" not in new.answers


def test_repeat_shows_the_current_question_exactly_as_before(setback: Flow, texts: Texts) -> None:
    state = at(setback, "feeling", {"what_happened": "x"})
    new, effects = engine.advance(setback, state, Repeat(), NOW, texts)
    assert new == state
    assert effects == [engine.current_question(setback, state, texts)]


# --- branching -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("intensity", "next_step"),
    [("8", "grounding"), ("10", "grounding"), ("7", "harsh_voice"), ("0", "harsh_voice")],
)
def test_a_strong_feeling_gets_a_grounding_pause_first(
    setback: Flow, texts: Texts, intensity: str, next_step: str
) -> None:
    person = Person(setback, texts, at(setback, "intensity_before", {"what_happened": "x", "feeling": "sad"}))
    question = asked(person.send(intensity))
    assert person.step == next_step
    if next_step == "grounding":
        assert question.html.startswith("That's a lot to carry.")
        assert labels(question) == ["I'm ready to go on"]
        assert person.state is not None and "grounding" not in person.state.answers
        assert asked(person.tap(CONTINUE_VALUE)).step_id == "harsh_voice"


def test_typing_at_a_pause_means_ready_and_goes_on(setback: Flow, texts: Texts) -> None:
    person = Person(
        setback, texts, at(setback, "grounding", {"what_happened": "x", "feeling": "sad", "intensity_before": 9})
    )
    person.send(Answer("ok, I did the breathing"))
    assert person.step == "harsh_voice"


def test_skip_at_a_pause_goes_on(setback: Flow, texts: Texts) -> None:
    person = Person(
        setback, texts, at(setback, "grounding", {"what_happened": "x", "feeling": "sad", "intensity_before": 9})
    )
    person.send(Skip())
    assert person.step == "harsh_voice"


@pytest.mark.parametrize(
    ("last_next_step", "taps", "end_step", "finished"),
    [
        (None, ["3"], None, True),
        ("Call Sam on Monday", ["done"], "mood", False),
        ("Call Sam on Monday", ["done", "3"], None, True),
        ("Call Sam on Monday", ["partly", "3"], None, True),
        ("Call Sam on Monday", ["not_yet"], "obstacle", False),
    ],
)
def test_the_checkin_asks_about_the_next_step_only_when_there_is_one(
    checkin: Flow, texts: Texts, last_next_step: str | None, taps: list[str], end_step: str | None, finished: bool
) -> None:
    person = Person(checkin, texts)
    opening = person.start({"last_next_step": last_next_step, "last_run_id": 7 if last_next_step else None})
    if last_next_step:
        assert "Your next step was: <i>Call Sam on Monday</i>" in asked(opening).html
    effects: list[Effect] = []
    for value in taps:
        effects = person.tap(value)
    assert person.step == end_step
    assert any(isinstance(effect, Finished) for effect in effects) == finished


def test_checkin_not_yet_asks_what_got_in_the_way_and_keeps_it(checkin: Flow, texts: Texts) -> None:
    person = Person(checkin, texts)
    person.start({"last_next_step": "Go for a walk", "last_run_id": 3})
    person.tap("not_yet")
    person.send("It rained all week")
    effects = person.tap("2")
    [done] = [effect for effect in effects if isinstance(effect, Finished)]
    assert done.run.meant("next_step_outcome") == "not_yet"
    assert done.run.meant("obstacle") == "It rained all week"
    assert done.run.meant("mood") == 2
    assert done.run.inputs == {
        "last_next_step": "Go for a walk",
        "last_run_id": 3,
        "not_yet_before": None,
        "last_ask": None,
        "revisit_lesson": None,
        "revisit_when": None,
        "revisit_id": None,
    }
    assert "It's still open: I'll ask again in a couple of days" in said(effects)[-1]


def test_a_condition_on_a_skipped_answer_falls_through_instead_of_crashing(sampler: Flow, texts: Texts) -> None:
    # "level >= 8" cannot compare a skipped (None) level with 8: that counts as false.
    new, _ = engine.advance(sampler, at(sampler, "level", {"name": "Sam"}), Skip(), NOW, texts)
    assert new is not None and new.step == "note"


# --- escaping and the whole run -------------------------------------------------------------------


def test_what_a_person_types_is_shown_back_escaped(setback: Flow, texts: Texts) -> None:
    state = at(setback, "harsh_voice", {"what_happened": "x", "feeling": "sad", "intensity_before": 3})
    state, _ = engine.advance(setback, state, Answer("I'm <b>useless</b> & a fraud"), NOW, texts)
    assert state is not None and state.step == "traps"
    _, effects = engine.advance(setback, state, Skip(), NOW, texts)
    html = asked(effects).html
    assert "“I&#39;m &lt;b&gt;useless&lt;/b&gt; &amp; a fraud”" in html
    assert "<b>useless</b>" not in html
    assert "<b>What would you say to them?</b>" in html  # the flow's own markup stays


def test_a_whole_setback_run_finishes_with_every_answer_and_its_meaning(setback: Flow, texts: Texts) -> None:
    person = Person(setback, texts)
    effects = person.start()
    assert asked(effects).step_id == "what_happened"
    script: list[Event | str] = [
        "I froze in my presentation",
        "3",  # anxious
        "9",
        Press(CONTINUE_VALUE, None),
        "I'm hopeless at this",
        Skip(),  # no thinking trap named
        "You prepared well and one bad moment doesn't define you",
        Skip(),
        "Nerves pass if I pause and breathe",
        "Practise the intro with Ana",
        "thursday",
    ]
    for event in script:
        effects = person.send(event)
        assert not any(isinstance(effect, Finished) for effect in effects)
    effects = person.send("4")
    assert person.state is None
    [done] = [effect for effect in effects if isinstance(effect, Finished)]
    run = done.run
    assert (run.flow_id, run.flow_version, run.flow_title) == ("setback", SHIPPED_SETBACK, "Work through a setback")
    assert run.started_at == NOW
    assert run.finished_at == NOW + timedelta(minutes=len(script) + 1)
    assert {step: answer.value for step, answer in run.answers.items()} == {
        "what_happened": "I froze in my presentation",
        "feeling": "anxious",
        "intensity_before": 9,
        "harsh_voice": "I'm hopeless at this",
        "traps": None,
        "friend_voice": "You prepared well and one bad moment doesn't define you",
        "control": None,
        "lesson": "Nerves pass if I pause and breathe",
        "next_step": "Practise the intro with Ana",
        "next_step_when": "wd:3",
        "intensity_after": 4,
    }
    assert run.answers["next_step_when"].shown == "on Thursday"
    assert run.answers["feeling"].shown == "😟 Anxious"
    assert run.answers["control"].shown == render(texts.skipped_answer, {})
    assert run.answers["what_happened"].answered_at == NOW + timedelta(minutes=1)
    assert all(answer.answered_at.tzinfo is not None for answer in run.answers.values())
    assert dict(run.meaning) == {
        "feeling": "anxious",
        "feeling_before": 9,
        "feeling_after": 4,
        "lesson": "Nerves pass if I pause and breathe",
        "next_step": "Practise the intro with Ana",
        "next_step_day": "wd:3",
    }
    card = said(effects)[-1]
    assert "💡 <b>Lesson:</b> Nerves pass if I pause and breathe" in card
    assert "👣 <b>Next step:</b> Practise the intro with Ana · on Thursday" in card
    assert "😟 Anxious: 9 → 4" in card
    assert "That's a real shift. Facing this took courage." in card  # 9 → 4: a lot, after something heavy


def test_a_skipped_answer_reads_as_nothing_in_a_template_not_as_none(sampler: Flow, texts: Texts) -> None:
    state = at(sampler, "note", {"name": "Sam", "colour": "red", "tags": ["beta"], "level": None})
    person = Person(sampler, texts, state)
    effects = person.send(Skip())
    assert said(effects)[-1] == "Done, Sam: Beta /  / ."


# --- state as plain data ----------------------------------------------------------------------------


def test_state_survives_a_json_round_trip_exactly(sampler: Flow, texts: Texts) -> None:
    person = Person(sampler, texts)
    person.start()
    for event in ("Sam", "2"):
        person.send(event)
    person.tap("beta")
    assert person.state is not None
    assert person.state.selection == ["beta"]
    stored = json.loads(json.dumps(person.state.to_json()))
    assert State.from_json(stored) == person.state
    # And the restored state carries on exactly like the original.
    original = engine.advance(sampler, person.state, Press(DONE_VALUE, person.state.seq), NOW, texts)
    restored = engine.advance(sampler, State.from_json(stored), Press(DONE_VALUE, person.state.seq), NOW, texts)
    assert original == restored


# --- the flow changes while someone is in the middle of it --------------------------------------------


def _edited_setback(tmp_path: Path, edit: Any) -> Flow:
    data = yaml.safe_load((CONVERSATIONS / "setback.yaml").read_text(encoding="utf-8"))
    edit(data)
    (tmp_path / "setback.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return load_flows(tmp_path)["setback"]


def _remove_harsh_voice_add_where(data: dict[str, Any]) -> None:
    data["version"] += 1
    steps = data["steps"]
    # The inner critic goes, and with it the thinking traps that only follow it.
    steps[:] = [step for step in steps if step["id"] not in {"harsh_voice", "traps"}]
    friend = next(step for step in steps if step["id"] == "friend_voice")
    friend["prompt"] = "What would a good friend say to you?"
    control = next(step for step in steps if step["id"] == "control")
    control["prompt"] = control["prompt"].replace(" or harsh_voice is blaming_others", "")
    for rule in control["next"]:
        rule["if"] = rule.get("if", "true").replace(" or harsh_voice is blaming_others", "")
    steps.insert(1, {"id": "where", "kind": "text", "prompt": "Where were you?", "optional": True})
    intensity = next(step for step in steps if step["id"] == "intensity_before")
    intensity["next"] = [{"if": "intensity_before >= 8", "goto": "grounding"}, {"goto": "friend_voice"}]


def _drop_the_sad_option(data: dict[str, Any]) -> None:
    data["version"] += 1
    feeling = next(step for step in data["steps"] if step["id"] == "feeling")
    feeling["options"] = [option for option in feeling["options"] if option["value"] != "sad"]


@pytest.mark.parametrize(
    ("edit", "feeling", "resumes_at", "kept_before", "answer_again", "dropped"),
    [
        pytest.param(
            _remove_harsh_voice_add_where,
            "2",
            "where",
            ["what_happened"],
            "At the station",
            "harsh_voice",
            id="step-added-and-step-removed",
        ),
        pytest.param(
            _drop_the_sad_option,
            "5",
            "feeling",
            ["what_happened"],
            "2",
            None,
            id="answer-no-longer-fits",
        ),
    ],
)
def test_a_new_version_keeps_the_answers_that_still_fit_says_so_and_can_finish(
    setback: Flow,
    texts: Texts,
    tmp_path: Path,
    edit: Any,
    feeling: str,
    resumes_at: str,
    kept_before: list[str],
    answer_again: str,
    dropped: str | None,
) -> None:
    updated = _edited_setback(tmp_path, edit)
    person = Person(setback, texts)
    person.start()
    for answer in ("My bike was stolen", feeling, "6", "I'm so careless", Skip(), "You couldn't have known"):
        person.send(answer)
    assert person.step == "control"
    assert person.state is not None
    old = dict(person.state.answers)

    person.flow = updated
    effects = person.send("This message arrives just after the update")
    assert said(effects)[0] == render(texts.flow_updated, {"title": updated.title})
    assert person.step == resumes_at
    assert person.state is not None and person.state.flow_version == SHIPPED_SETBACK + 1
    assert person.state.path == kept_before

    # Once the person has answered what the new version needs, the answers that still fit are not
    # asked again: straight on to where they were.
    effects = person.send(answer_again)
    assert person.step == "control"
    assert asked(effects).html.startswith("That kindness is yours to keep, too.")
    for answer in ("Not much", "Lock it properly", "Buy a lock", "friday"):
        person.send(answer)
    effects = person.send("3")
    [done] = [effect for effect in effects if isinstance(effect, Finished)]
    assert done.run.flow_version == SHIPPED_SETBACK + 1
    expected = {step: value for step, value in old.items() if step != dropped and updated.step(step) is not None}
    expected |= {resumes_at: done.run.answers[resumes_at].value}
    assert {step: done.run.answers[step].value for step in expected} == expected
    assert dropped is None or dropped not in done.run.answers
    assert done.run.meant("lesson") == "Lock it properly"


def test_after_an_update_a_person_past_the_pause_keeps_everything_and_resumes_where_they_were(
    setback: Flow, texts: Texts, tmp_path: Path
) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["version"] += 1
        lesson = next(step for step in data["steps"] if step["id"] == "lesson")
        lesson["prompt"] = "<b>What is the lesson here?</b>"

    updated = _edited_setback(tmp_path, edit)
    person = Person(setback, texts)
    person.start()
    for event in (
        "My bike was stolen",
        "2",
        "9",
        Press(CONTINUE_VALUE, None),
        "I'm so careless",
        Skip(),  # no thinking trap
        "You couldn't have known",
        "The lock",
    ):
        person.send(event)
    assert person.step == "lesson"
    assert person.state is not None
    kept = dict(person.state.answers)

    person.flow = updated
    effects = person.send(Repeat())
    assert said(effects) == [render(texts.flow_updated, {"title": updated.title}), "<b>What is the lesson here?</b>"]
    assert person.step == "lesson"
    assert person.state is not None and person.state.answers == kept
    for answer in ("Lock it properly", "Buy a lock", "on friday", "3"):
        effects = person.send(answer)
    assert any(isinstance(effect, Finished) for effect in effects)


def test_cancel_works_even_after_the_flow_was_updated(setback: Flow, texts: Texts, tmp_path: Path) -> None:
    updated = _edited_setback(tmp_path, lambda data: data.update(version=data["version"] + 1))
    state = at(setback, "feeling", {"what_happened": "x"})
    new, effects = engine.advance(updated, state, Cancel(), NOW, texts)
    assert new is None
    assert effects == [Say(render(texts.cancelled, {"title": updated.title}))]


def test_the_cannot_skip_text_can_fit_the_kind_of_question(sampler: Flow, texts: Texts) -> None:
    custom = texts.model_copy(
        update={"cannot_skip": "{% if kind == 'text' %}A few words are enough.{% else %}Pick the closest.{% endif %}"}
    )
    _, on_choice = engine.advance(sampler, at(sampler, "colour", {"name": "Sam"}), Skip(), NOW, custom)
    _, on_text = engine.advance(sampler, at(sampler, "name"), Skip(), NOW, custom)
    assert said(on_choice) == ["Pick the closest."]
    assert said(on_text) == ["A few words are enough."]
