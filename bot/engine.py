"""The flow engine: a pure state machine over a Flow.

``start(flow, now, texts)`` and ``advance(flow, state, event, now, texts)`` return the new state (None
when the flow has ended) and a list of effects: messages to show, with their buttons, and a completed run
to store. No I/O, no clock, no Telegram and no database here; adapters turn effects into I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.cues import reader_of
from bot.days import PICK_SPECS, day_words, describe, find_day, is_spec, read_day

# Re-exported: the engine's effects are the bot's effects (the adapters once imported them from here).
from bot.effects import Button as Button
from bot.effects import Say as Say
from bot.effects import Stale as Stale
from bot.flows.model import (
    ASKED_BEFORE,
    FINISH,
    ChoiceStep,
    DayStep,
    Flow,
    MessageStep,
    QuestionStep,
    ScaleStep,
    TextStep,
)
from bot.flows.texts import Texts
from bot.matching import Choice, Picked, Several, read_choice, read_number, words_of
from bot.render import READERS, evaluate, render, render_authored

AnswerValue = str | int | list[str] | None

SKIP_VALUE = "__skip"
DONE_VALUE = "__done"
CONTINUE_VALUE = "__go"
PICKED_MARK = "✓ "


# --- events -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """Typed text: an answer to a text step, or a choice/scale given by number or label."""

    text: str


@dataclass(frozen=True)
class Press:
    """A button press; ``seq`` is the state sequence the button was shown at (None: trust it)."""

    value: str
    seq: int | None = None


@dataclass(frozen=True)
class Back:
    """Go back to the previous answered question."""


@dataclass(frozen=True)
class Skip:
    """Leave out the current (optional) question."""


@dataclass(frozen=True)
class Cancel:
    """Stop the flow; nothing of it is stored."""


@dataclass(frozen=True)
class Repeat:
    """Show the current question again (after a restart, a pause, or a message the engine cannot use)."""


Event = Answer | Press | Back | Skip | Cancel | Repeat


# --- effects ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredAnswer:
    """One answer of a completed run, with the moment it was given (UTC)."""

    value: AnswerValue
    shown: str
    answered_at: datetime


@dataclass(frozen=True)
class CompletedRun:
    """Everything a finished flow leaves behind, ready to be stored."""

    flow_id: str
    flow_version: int
    flow_title: str
    started_at: datetime
    finished_at: datetime
    answers: Mapping[str, StoredAnswer]
    inputs: Mapping[str, Any]
    meaning: Mapping[str, AnswerValue]

    def meant(self, role: str) -> AnswerValue:
        """The answer that plays ``role`` (lesson, next_step, feeling_before, …), or None."""
        return self.meaning.get(role)


@dataclass(frozen=True)
class Finished:
    """The flow reached its end; ``run`` should be stored."""

    run: CompletedRun


Effect = Say | Finished | Stale


# --- state --------------------------------------------------------------------------------------------


@dataclass
class State:
    """Where a person is in a flow. Plain data: ``to_json``/``from_json`` round-trip it exactly."""

    flow_id: str
    flow_version: int
    step: str
    started_at: datetime
    answers: dict[str, AnswerValue] = field(default_factory=dict)
    answered_at: dict[str, datetime] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)
    selection: list[str] = field(default_factory=list)
    seq: int = 0
    paused: bool = False
    asked: list[str] = field(default_factory=list)
    """Questions already shown in this run (their acknowledgements are not said again)."""
    offered: list[str] = field(default_factory=list)
    """Questions whose ``offer`` of help was made (it is made once; the next answer is taken as it is)."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; datetimes become ISO 8601 strings with their offset."""
        return {
            "flow_id": self.flow_id,
            "flow_version": self.flow_version,
            "step": self.step,
            "started_at": self.started_at.isoformat(),
            "answers": self.answers,
            "answered_at": {key: moment.isoformat() for key, moment in self.answered_at.items()},
            "path": self.path,
            "inputs": self.inputs,
            "selection": self.selection,
            "seq": self.seq,
            "paused": self.paused,
            "asked": self.asked,
            "offered": self.offered,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> State:
        """Rebuild a State from ``to_json`` output."""
        return cls(
            flow_id=data["flow_id"],
            flow_version=data["flow_version"],
            step=data["step"],
            started_at=datetime.fromisoformat(data["started_at"]),
            answers=dict(data.get("answers", {})),
            answered_at={key: datetime.fromisoformat(value) for key, value in data.get("answered_at", {}).items()},
            path=list(data.get("path", [])),
            inputs=dict(data.get("inputs", {})),
            selection=list(data.get("selection", [])),
            seq=int(data.get("seq", 0)),
            paused=bool(data.get("paused", False)),
            asked=list(data.get("asked", [])),
            offered=list(data.get("offered", [])),
        )


Outcome = tuple[State | None, list[Effect]]


# --- the machine --------------------------------------------------------------------------------------


def start(flow: Flow, now: datetime, texts: Texts, inputs: Mapping[str, Any] | None = None) -> Outcome:
    """Begin ``flow`` at its first step; ``inputs`` fills its declared inputs (missing ones are None)."""
    values = {name: None for name in flow.inputs} | dict(inputs or {})
    # Each run numbers its questions from its own starting point, so a button left on screen by an
    # earlier (cancelled or finished) run can never match a question of this one.
    first_seq = int(now.timestamp() * 10) % 10**9
    state = State(flow.id, flow.version, flow.steps[0].id, now, inputs=values, seq=first_seq)
    return _enter(flow, state, flow.steps[0].id, now, texts, [])


def advance(flow: Flow, state: State, event: Event, now: datetime, texts: Texts) -> Outcome:
    """Apply one event to ``state`` and return the new state and effects.

    Never mutates ``state``. An invalid answer re-asks with a hint and leaves the state as it was.
    """
    state = _copy(state)
    if isinstance(event, Cancel):
        # Even when the flow changed since this person started: stopping must always stop.
        return None, [Say(render(texts.cancelled, {"title": flow.title}))]
    if state.flow_version != flow.version or flow.step(state.step) is None:
        return _resume_updated(flow, state, now, texts)
    if isinstance(event, Press) and event.seq is not None and event.seq != state.seq:
        return state, [Stale()]
    if isinstance(event, Press) and event.value == SKIP_VALUE:
        event = Skip()
    if isinstance(event, Repeat):
        return state, [_ask(flow, state, texts)]
    if isinstance(event, Back):
        return _back(flow, state, texts)
    step = flow.step(state.step)
    assert step is not None
    if isinstance(step, MessageStep):
        # A pause: its button, /skip, or anything typed ("ok", "done", "ready") goes on. A button from
        # somewhere else is stale.
        if isinstance(event, Press) and event.value != CONTINUE_VALUE:
            return state, [Stale()]
        return _continue_after_pause(flow, state, step, now, texts)
    if isinstance(event, Skip):
        if not step.optional:
            return state, [_hint(flow, state, render(texts.cannot_skip, {"kind": step.kind}), texts)]
        return _accept(flow, state, step, None, now, texts)
    if isinstance(step, ChoiceStep) and step.multiple and isinstance(event, Press):
        return _toggle(flow, state, step, event.value, now, texts)
    if isinstance(step, TextStep) and isinstance(event, Press):
        return state, [Stale()]  # a text question has no answer buttons: this one is from elsewhere
    raw = event.text if isinstance(event, Answer) else event.value
    if isinstance(step, TextStep) and step.offer is not None and _offer_fits(flow, state, step, raw.strip(), texts):
        if step.id not in state.offered:
            state.offered.append(step.id)
            context = _context(flow, state, texts) | {step.id: raw.strip()}
            return state, [Say(render_authored(step.offer.prompt, context), (), step.id, state.seq)]
        # Help was offered once already: these words are their answer, as they are (no nagging).
        return _accept(flow, state, step, raw.strip()[: step.max_length], now, texts)
    value, problem = _parse(step, raw, isinstance(event, Press), texts, now)
    if problem is not None:
        return state, [_hint(flow, state, problem, texts)]
    return _accept(flow, state, step, value, now, texts)


def current_question(flow: Flow, state: State, texts: Texts) -> Say:
    """The message that asks the current step again, exactly as it was first shown."""
    return _ask(flow, state, texts)


def display(flow: Flow, step_id: str, value: AnswerValue, texts: Texts) -> str:
    """How an answer reads to a person: an option's label, a number, or the text itself."""
    step = flow.step(step_id)
    if value is None:
        return render(texts.skipped_answer, {})
    if isinstance(step, DayStep) and is_spec(value):
        return render(texts.day_shown, describe(str(value))).strip()
    if isinstance(step, ChoiceStep):
        values = value if isinstance(value, list) else [str(value)]
        labels = [option.label if (option := step.option(item)) else item for item in values]
        return ", ".join(labels)
    return str(value)


# --- helpers ------------------------------------------------------------------------------------------


def _copy(state: State) -> State:
    return replace(
        state,
        answers=dict(state.answers),
        answered_at=dict(state.answered_at),
        path=list(state.path),
        inputs=dict(state.inputs),
        selection=list(state.selection),
        asked=list(state.asked),
        offered=list(state.offered),
    )


def _context(flow: Flow, state: State, texts: Texts) -> dict[str, Any]:
    context: dict[str, Any] = {step_id: None for step_id in flow.answer_ids}
    context.update(state.inputs)
    context.update(state.answers)
    shown = {step_id: "" for step_id in flow.answer_ids}
    for step_id, value in state.answers.items():
        shown[step_id] = "" if value is None else display(flow, step_id, value, texts)
    context["shown"] = shown
    context[READERS] = reader_of(texts)  # what `is stuck` and `is blaming_others` read answers with
    return context


def _offer_fits(flow: Flow, state: State, step: TextStep, typed: str, texts: Texts) -> bool:
    """True when ``step``'s offer condition holds for ``typed`` as its answer (empty text never)."""
    if not typed or step.offer is None:
        return False
    return evaluate(step.offer.when, _context(flow, state, texts) | {step.id: typed})


def _enter(flow: Flow, state: State, target: str, now: datetime, texts: Texts, said: list[Effect]) -> Outcome:
    """Move to ``target``, saying every plain message on the way, until a question or the finish."""
    state.seq += 1
    state.selection = []
    while target != FINISH:
        step = flow.step(target)
        assert step is not None
        state.step = target
        if isinstance(step, MessageStep) and step.button is None:
            said.append(Say(render_authored(step.prompt, _context(flow, state, texts))))
            target = _next(flow, state, step.id, texts)
            continue
        if isinstance(step, DayStep) and (named := _day_named_before(step, state, texts)) is not None:
            # "Call her tonight": the day is already said, so it is not asked again.
            state.answers[step.id], state.answered_at[step.id] = named, now
            state.path.append(step.id)
            target = _next(flow, state, step.id, texts)
            continue
        if _kept_from_before_update(step, state):
            # Answered before the flow was updated and still fits: not asked again.
            state.path.append(step.id)
            target = _next(flow, state, step.id, texts)
            continue
        said.append(_ask_marked(flow, state, texts))
        return state, said
    return _finish(flow, state, now, texts, said)


def _ask_marked(flow: Flow, state: State, texts: Texts) -> Say:
    """Ask the current question and remember that it was shown (``state`` is the engine's own copy)."""
    question = _ask(flow, state, texts)
    if state.step not in state.asked:
        state.asked.append(state.step)
    return question


def _ask(flow: Flow, state: State, texts: Texts) -> Say:
    step = flow.step(state.step)
    assert step is not None
    context = _context(flow, state, texts) | {ASKED_BEFORE: state.step in state.asked}
    parts = [render_authored(step.prompt, context)]
    if isinstance(step, ScaleStep):
        parts.append(render(texts.scale_legend, step.model_dump()))
    if isinstance(step, ChoiceStep) and step.multiple:
        parts.append(render(texts.multi_note, {}))
    if not isinstance(step, MessageStep) and step.optional:
        parts.append(render(texts.optional_note, {}))
    return Say("\n\n".join(part for part in parts if part), _buttons(step, state, texts), step.id, state.seq)


def _hint(flow: Flow, state: State, hint: str, texts: Texts) -> Say:
    step = flow.step(state.step)
    assert step is not None
    return Say(hint, _buttons(step, state, texts), step.id, state.seq)


def _buttons(step: QuestionStep | MessageStep, state: State, texts: Texts) -> tuple[tuple[Button, ...], ...]:
    rows: list[tuple[Button, ...]] = []
    if isinstance(step, MessageStep):
        if step.button is not None:
            rows.append((Button(step.button, CONTINUE_VALUE),))
        return tuple(rows)
    if isinstance(step, ChoiceStep):
        buttons = [
            Button((PICKED_MARK if option.value in state.selection else "") + option.label, option.value)
            for option in step.options
        ]
        per_row = 2 if all(len(option.label) <= 18 for option in step.options) else 1
        rows.extend(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))
        if step.multiple:
            rows.append((Button(render(texts.done_button, {}), DONE_VALUE),))
    elif isinstance(step, DayStep):
        picks = [Button(render(getattr(texts, f"day_{pick}_button"), {}), PICK_SPECS[pick]) for pick in step.picks]
        rows.extend(tuple(picks[i : i + 2]) for i in range(0, len(picks), 2))
    elif isinstance(step, ScaleStep):
        numbers = [Button(str(n), str(n)) for n in range(step.min, step.max + 1)]
        per_row = 6 if len(numbers) > 7 else len(numbers)
        rows.extend(tuple(numbers[i : i + per_row]) for i in range(0, len(numbers), per_row))
    if step.optional:
        rows.append((Button(render(texts.skip_button, {}), SKIP_VALUE),))
    return tuple(rows)


def _parse(
    step: QuestionStep, raw: str, pressed: bool, texts: Texts, now: datetime | None = None
) -> tuple[AnswerValue, str | None]:
    """Read an answer for ``step``; returns (value, None) or (None, a hint saying what would work)."""
    if isinstance(step, DayStep):
        return _parse_day(step, raw, pressed, texts, now)
    if isinstance(step, TextStep):
        text = raw.strip()
        if not text:
            return None, render(texts.hint_text_empty, {})
        if len(text) < step.min_length:
            return None, render(texts.hint_text_too_short, {"min": step.min_length, "length": len(text)})
        if len(text) > step.max_length:
            return None, render(texts.hint_text_too_long, {"max": step.max_length, "length": len(text)})
        return text, None
    if isinstance(step, ScaleStep):
        number = (
            _pressed_number(raw)
            if pressed
            else read_number(raw, step.min, step.max, words_of(texts), step.min_label, step.max_label)
        )
        if number is not None and step.min <= number <= step.max:
            return number, None
        return None, render(texts.hint_scale, step.model_dump())
    labels = [option.label for option in step.options]
    if pressed:
        if step.option(raw) is not None:
            return raw, None
        return None, render(texts.hint_choice, {"options": labels, "multiple": step.multiple})
    reading = read_choice(raw, choices_of(step), words_of(texts), multiple=step.multiple)
    if isinstance(reading, Picked):
        return (list(reading.values) if step.multiple else reading.values[0]), None
    if isinstance(reading, Several):
        named = [option.label for option in step.options if option.value in reading.values]
        return None, render(texts.hint_several, {"named": named, "options": labels})
    return None, render(texts.hint_choice, {"options": labels, "multiple": step.multiple})


def _day_named_before(step: DayStep, state: State, texts: Texts) -> str | None:
    """The day an earlier answer (``read_from``) already names, when this question has no answer yet."""
    earlier = state.answers.get(step.read_from) if step.read_from else None
    if not isinstance(earlier, str) or step.id in state.answers:
        return None
    return find_day(earlier, day_words(texts))


def _parse_day(
    step: DayStep, raw: str, pressed: bool, texts: Texts, now: datetime | None
) -> tuple[AnswerValue, str | None]:
    """A day, tapped (a pick's spec) or typed ("tmrw", "sat", "dec 3", or a pick's label with a typo)."""
    labels = [render(getattr(texts, f"day_{pick}_button"), {}) for pick in step.picks]
    spec: str | None
    if pressed:
        spec = raw if raw in {PICK_SPECS[pick] for pick in step.picks} else None
    else:
        spec = read_day(raw, day_words(texts))
        if spec is None:
            picks = [Choice(PICK_SPECS[pick], label) for pick, label in zip(step.picks, labels, strict=True)]
            reading = read_choice(raw, picks, words_of(texts))
            spec = reading.values[0] if isinstance(reading, Picked) else None
    if spec is None:
        return None, render(texts.hint_day, {"options": labels})
    # The engine knows no timezone: a date is "past" only when it is before yesterday everywhere on Earth.
    if spec.startswith("date:") and now is not None and spec[5:] < (now - timedelta(days=1)).date().isoformat():
        return None, render(texts.hint_day_past, {"options": labels})
    return spec, None


def choices_of(step: ChoiceStep) -> list[Choice]:
    """The step's options as typed replies are read against them."""
    return [Choice(option.value, option.label, tuple(option.also)) for option in step.options]


def _pressed_number(value: str) -> int | None:
    """The number a scale button carries (ASCII digits only: button values are the bot's own)."""
    return int(value) if re.fullmatch(r"-?[0-9]{1,4}", value) else None


def _toggle(flow: Flow, state: State, step: ChoiceStep, value: str, now: datetime, texts: Texts) -> Outcome:
    if value == DONE_VALUE:
        if not state.selection:
            return state, [_hint(flow, state, render(texts.hint_multi_empty, {}), texts)]
        chosen = [option.value for option in step.options if option.value in state.selection]
        return _accept(flow, state, step, chosen, now, texts)
    if step.option(value) is None:
        return state, [Stale()]
    if value in state.selection:
        state.selection.remove(value)
    else:
        state.selection.append(value)
    return state, [replace(_ask(flow, state, texts), edit=True)]


def _continue_after_pause(flow: Flow, state: State, step: MessageStep, now: datetime, texts: Texts) -> Outcome:
    return _enter(flow, state, _next(flow, state, step.id, texts), now, texts, [])


def _accept(flow: Flow, state: State, step: QuestionStep, value: AnswerValue, now: datetime, texts: Texts) -> Outcome:
    state.answers[step.id] = value
    state.answered_at[step.id] = now
    if step.id in state.path:
        state.path = state.path[: state.path.index(step.id)]
    state.path.append(step.id)
    return _enter(flow, state, _next(flow, state, step.id, texts), now, texts, [])


def _next(flow: Flow, state: State, step_id: str, texts: Texts) -> str:
    step = flow.step(step_id)
    assert step is not None
    if isinstance(step.next, str):
        return step.next
    if isinstance(step.next, list):
        context = _context(flow, state, texts)
        for branch in step.next:
            if branch.when is None or evaluate(branch.when, context):
                return branch.goto
    return flow.following(step_id)


def _back(flow: Flow, state: State, texts: Texts) -> Outcome:
    if not state.path:
        return state, [_hint(flow, state, render(texts.nothing_before, {}), texts)]
    target = state.path.pop()
    for step_id in list(state.answers):
        if step_id not in state.path and step_id != target:
            state.answers.pop(step_id, None)
            state.answered_at.pop(step_id, None)
    state.step = target
    state.seq += 1
    state.selection = []
    earlier = state.answers.get(target)
    step = flow.step(target)
    if isinstance(step, ChoiceStep) and step.multiple and isinstance(earlier, list):
        state.selection = list(earlier)
    shown = display(flow, target, earlier, texts)
    return state, [Say(render(texts.earlier_answer, {"answer": shown})), _ask_marked(flow, state, texts)]


def _finish(flow: Flow, state: State, now: datetime, texts: Texts, said: list[Effect]) -> Outcome:
    context = _context(flow, state, texts)
    said.append(Say(render_authored(flow.finish, context)))
    answers = {
        step_id: StoredAnswer(value, display(flow, step_id, value, texts), state.answered_at.get(step_id, now))
        for step_id, value in state.answers.items()
        if step_id in state.path
    }
    meaning = {
        role: (answers[step_id].value if step_id in answers else None)
        for role, step_id in flow.meaning.model_dump().items()
        if step_id is not None
    }
    run = CompletedRun(
        flow_id=flow.id,
        flow_version=flow.version,
        flow_title=flow.title,
        started_at=state.started_at,
        finished_at=now,
        answers=answers,
        inputs=dict(state.inputs),
        meaning=meaning,
    )
    said.append(Finished(run))
    return None, said


def _resume_updated(flow: Flow, state: State, now: datetime, texts: Texts) -> Outcome:
    """The flow changed since this person started: keep every answer that still fits, resume at the
    first question the new version still needs, and say so."""
    kept: dict[str, AnswerValue] = {}
    path: list[str] = []
    target = flow.steps[0].id
    fresh = State(flow.id, flow.version, target, state.started_at, inputs=state.inputs, seq=state.seq)
    fresh.asked, fresh.offered = list(state.asked), list(state.offered)
    while target != FINISH:
        step = flow.step(target)
        assert step is not None
        if isinstance(step, MessageStep):
            # Pauses on the way were already passed; stop at one only if the person was waiting there.
            if step.button is not None and target == state.step:
                break
            target = _next(flow, fresh, target, texts)
            continue
        if target not in state.answers or not _still_valid(step, state.answers[target]):
            break
        kept[target] = state.answers[target]
        path.append(target)
        fresh.answers = dict(kept)
        fresh.answered_at = {key: state.answered_at.get(key, now) for key in kept}
        fresh.path = list(path)
        target = _next(flow, fresh, target, texts)
    # Later answers that still fit are kept too (outside the path): once the person has answered what
    # the new version needs first, ``_enter`` walks past them instead of asking again.
    for step_id, value in state.answers.items():
        later = flow.step(step_id)
        if step_id in kept or later is None or isinstance(later, MessageStep) or step_id == target:
            continue
        if _still_valid(later, value):
            fresh.answers[step_id] = value
            fresh.answered_at[step_id] = state.answered_at.get(step_id, now)
    notice = Say(render(texts.flow_updated, {"title": flow.title}))
    return _enter(flow, fresh, target, now, texts, [notice])


def _kept_from_before_update(step: QuestionStep | MessageStep, state: State) -> bool:
    """True for a question answered before the flow changed, not yet passed again, whose answer fits."""
    if isinstance(step, MessageStep) or step.id in state.path or step.id not in state.answers:
        return False
    return _still_valid(step, state.answers[step.id])


def _still_valid(step: QuestionStep, value: AnswerValue) -> bool:
    if value is None:
        return step.optional
    if isinstance(step, TextStep):
        return isinstance(value, str)
    if isinstance(step, ScaleStep):
        return isinstance(value, int) and step.min <= value <= step.max
    if isinstance(step, DayStep):
        return is_spec(value)
    values = value if isinstance(value, list) else [value]
    return all(isinstance(item, str) and step.option(item) is not None for item in values)
