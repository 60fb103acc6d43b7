"""The check-in flow's contract with the code that starts it and reads its answers.

``conversations/checkin.yaml`` is the deployer's to word as they like, but the daily nudge finds it by its
id, starts it with a fixed set of inputs, and stores the values of the answers its meaning names: how a
next step went (done, partly, not yet), how a lesson brought back has held (yes, not yet, changed) and the
day's mood on a 1..5 scale. A flow that breaks this would load and run but silently record nothing (or
something /lessons cannot show), so the loader checks it and reports ``file:line: what is wrong``.

The code that keeps the other side of the contract: ``bot/features/checkins.py`` (``nudge`` passes the
inputs, ``_after_run`` reads the outcome and the revisit answer), ``bot/storage/repository.py``
(``checkin_moods``, ``lessons_that_held``) and ``bot/history.py`` (``OUTCOME_TEXT``); the rest finds the
check-in by ``CHECKIN_FLOW_ID``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from bot.flows.errors import FlowError
from bot.flows.model import ChoiceStep, Flow, ScaleStep
from bot.flows.yaml_source import Path, YamlDocument

CHECKIN_FLOW_ID = "checkin"
"""The id the daily nudge starts; the check-in flow's file is ``checkin.yaml``."""

CHECKIN_INPUTS = (
    "last_next_step",
    "last_run_id",
    "not_yet_before",
    "last_ask",
    "revisit_lesson",
    "revisit_when",
    "revisit_id",
)
"""Every input the nudge starts the check-in with; a flow may declare any of them, and no other."""

OUTCOME_VALUES = ("done", "partly", "not_yet")
"""What ``meaning.next_step_outcome`` may answer: stored on the entry and worded by /lessons."""

REVISIT_VALUES = ("yes", "not_yet", "changed")
"""What ``meaning.revisit`` may answer: "yes" makes a lesson one that held; "changed" ends its revisits."""

MOOD_RANGE = (1, 5)
"""The scale ``meaning.mood`` must use: /lessons and its chart show moods as 1 (rough) to 5 (great)."""


def check_checkin_file(flow: Flow, file: str, stem: str, document: YamlDocument) -> list[FlowError]:
    """Contract problems of one loaded flow: a file named ``checkin.yaml`` must keep ``id: checkin``, and the
    flow with that id must keep the inputs, meanings and answer values the code relies on. Empty when sound
    (and for every other flow)."""
    if flow.id != CHECKIN_FLOW_ID:
        if stem != CHECKIN_FLOW_ID:
            return []
        message = (
            f"the daily check-in is found by its id: keep 'id: {CHECKIN_FLOW_ID}' in this file "
            f"(with '{flow.id}', no check-in would ever start)"
        )
        return [FlowError(file, document.line_of(("id",)), flow.id, None, message)]
    return list(_check(flow, file, document))


def missing_checkin(flow_ids: set[str], folder: str) -> FlowError | None:
    """The problem when a conversations folder has no check-in flow at all (None when it has one)."""
    if CHECKIN_FLOW_ID in flow_ids:
        return None
    message = (
        f"no flow has 'id: {CHECKIN_FLOW_ID}', so /checkin could be turned on but no check-in would ever come; "
        f"restore {CHECKIN_FLOW_ID}.yaml"
    )
    return FlowError(folder, 1, CHECKIN_FLOW_ID, None, message)


def _check(flow: Flow, file: str, document: YamlDocument) -> Iterator[FlowError]:
    def error(path: Path, step: str | None, message: str) -> FlowError:
        return FlowError(file, document.line_of(path), flow.id, step, message)

    given = ", ".join(CHECKIN_INPUTS)
    for number, name in enumerate(flow.inputs):
        if name not in CHECKIN_INPUTS:
            yield error(
                ("inputs", number),
                None,
                f"the check-in is never given an input '{name}', so it would always be empty; it is given: {given}",
            )
    if flow.command is not None:
        yield error(
            ("command",),
            None,
            "the check-in starts from the daily nudge with its inputs; remove 'command' (/checkin sets it up)",
        )
    if flow.meaning.next_step_outcome is None:
        yield error(
            ("meaning",),
            None,
            "meaning.next_step_outcome is missing: without it no check-in records how a next step went; "
            "name the choice step that asks it",
        )
    for role, allowed in (("next_step_outcome", OUTCOME_VALUES), ("revisit", REVISIT_VALUES)):
        step_id = getattr(flow.meaning, role)
        yield from _choice_values(flow, role, step_id, allowed, error)
    mood = flow.step(flow.meaning.mood) if flow.meaning.mood is not None else None
    if mood is not None and not isinstance(mood, ScaleStep):
        yield error(("meaning", "mood"), None, f"meaning.mood must name a scale step, not a {mood.kind} step")
    elif isinstance(mood, ScaleStep) and (mood.min, mood.max) != MOOD_RANGE:
        number = flow.steps.index(mood)
        low, high = MOOD_RANGE
        yield error(
            ("steps", number, "min" if mood.min != low else "max"),
            mood.id,
            f"the mood scale must run from {low} to {high} (how /lessons and its chart show moods), "
            f"not {mood.min} to {mood.max}",
        )


def _choice_values(
    flow: Flow,
    role: str,
    step_id: str | None,
    allowed: tuple[str, ...],
    error: Callable[[Path, str | None, str], FlowError],
) -> Iterator[FlowError]:
    step = flow.step(step_id) if step_id is not None else None
    if step is None:
        return  # unnamed, or naming no step: the general meaning checks report that
    if not isinstance(step, ChoiceStep) or step.multiple:
        kind = "several-answer choice" if isinstance(step, ChoiceStep) else step.kind
        yield error(("meaning", role), None, f"meaning.{role} must name a one-answer choice step, not a {kind} step")
        return
    number = flow.steps.index(step)
    for index, option in enumerate(step.options):
        if option.value not in allowed:
            yield error(
                ("steps", number, "options", index, "value"),
                step.id,
                f"the option value '{option.value}' means nothing to the code that stores meaning.{role}; "
                f"use one of: {', '.join(allowed)} (labels can say anything)",
            )
