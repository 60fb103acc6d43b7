"""Flows: a flow's own commands (/reframe…), its answers, /back, /skip, /cancel, /resume and flows set aside
after a day, free text about a setback offered as the start of a flow, and when a completed run's next step
is due."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import checkins, engine
from bot.days import is_spec, resolve
from bot.effects import Button, Say, Stale
from bot.engine import CompletedRun, Effect, State
from bot.features.base import (
    At,
    ButtonPress,
    Command,
    Edited,
    Feature,
    Incoming,
    Kind,
    Location,
    NotText,
    Outcome,
    Resume,
    Text,
)
from bot.flows.contract import CHECKIN_FLOW_ID
from bot.flows.model import Flow, TextStep
from bot.flows.texts import Texts
from bot.matching import reads_like_setback, word_list
from bot.render import render
from bot.storage.records import User

if TYPE_CHECKING:
    from bot.conversation import Turn

STORY_YES = "story:yes"
STORY_NO = "story:no"
RESUME = "__resume"
"""The button that picks up a flow set aside (as /resume does)."""

_FLOW_COMMANDS = frozenset({"back", "skip", "cancel", "start", "resume", "sos"})
"""Commands about the flow in progress: after a day away they still act on it (it is not set aside first)."""


def step(turn: Turn, flow: Flow, state: State, event: engine.Event, now: datetime, lead: str) -> Outcome:
    """``event`` applied to the flow in progress, after a line (``lead``) naming it."""
    new_state, effects = engine.advance(flow, state, event, now, turn.texts)
    return new_state, [turn.say(lead, {"title": flow.title}), *effects]


def start_with(turn: Turn, flow: Flow, now: datetime, words: str | None) -> tuple[State | None, list[Effect]]:
    """Start ``flow``; with ``words``, they answer its first question when it asks for text and they fit,
    and the person is told so (the question after it comes next)."""
    texts = turn.texts
    state, effects = engine.start(flow, now, texts)
    first = flow.step(state.step) if state is not None else None
    if not words or state is None or not isinstance(first, TextStep):
        return state, effects
    answered, more = engine.advance(flow, state, engine.Answer(words), now, texts)
    if answered is not None and answered.seq == state.seq:
        return state, effects  # the words don't fit the question (too short or long): ask it as usual
    before = [effect for effect in effects if not (isinstance(effect, Say) and effect.step_id == first.id)]
    lead = turn.say(texts.started_with_words, {"title": flow.title, "words": words})
    return answered, [*before, lead, *more]


def story_flow(turn: Turn) -> Flow | None:
    """The flow free text about a setback is offered to (the main one: /reframe), if it starts with text."""
    return next((flow for flow in turn.catalog.commanded if isinstance(flow.steps[0], TextStep)), None)


def _story_offer(turn: Turn) -> Say:
    texts = turn.texts
    buttons = (
        (
            Button(render(texts.setback_offer_yes_button, {}), STORY_YES),
            Button(render(texts.setback_offer_no_button, {}), STORY_NO),
        ),
    )
    return Say(render(texts.setback_offer, {}), buttons, seq=0)


async def _story_answer(turn: Turn, at: At, value: str) -> Outcome:
    """Yes to the offer starts the main flow with the words kept as its first answer; no keeps nothing."""
    state, flow = at.state, at.flow
    if state is not None and flow is not None and flow.id != CHECKIN_FLOW_ID:
        return state, [Stale()]  # an old offer, tapped while working through something else
    words = at.awaiting.take()
    story = story_flow(turn)
    if value == STORY_NO or story is None:
        return state, [replace(turn.say(turn.texts.setback_offer_declined), edit=True)]
    return start_with(turn, story, at.now, words)


async def resume_offer(turn: Turn, user: User) -> list[Say]:
    """The offer to pick up a flow set aside, with its button; nothing when none is."""
    kept = await turn.tx.set_aside_state(user.id)
    flow = turn.catalog.flows.get(kept.flow_id) if kept is not None else None
    if flow is None:
        return []
    button = Button(render(turn.texts.resume_button, {}), RESUME)
    return [Say(render(turn.texts.resume_offer, {"title": flow.title}), ((button,),), seq=0)]


async def _resume(turn: Turn, at: At) -> Outcome:
    """/resume (or its button): the flow set aside becomes the active one again, at the question it was
    left on. A flow in progress is set aside in its place (so /resume switches back); an unanswered
    check-in just goes."""
    user, state, flow, now = at.user, at.state, at.flow, at.now
    kept = await turn.tx.take_set_aside(user.id)
    resumed = turn.catalog.flows.get(kept.flow_id) if kept is not None else None
    if kept is None or resumed is None:
        if state is not None and flow is not None:
            return step(turn, flow, state, engine.Repeat(), now, lead=turn.texts.welcome_back)
        return state, [turn.say(turn.texts.nothing_to_resume)]
    lead = turn.say(turn.texts.resumed, {"title": resumed.title})
    if state is not None and flow is not None and flow.id != CHECKIN_FLOW_ID:
        touched = await turn.tx.active_touched_at(user.id) or now
        await turn.tx.set_aside(user.id, state, touched, now)
        lead = turn.say(turn.texts.resumed_swapped, {"title": resumed.title, "other": flow.title})
    kept = replace(kept, paused=False)  # coming back is a clear choice to go on
    new_state, effects = engine.advance(resumed, kept, engine.Repeat(), now, turn.texts)
    return new_state, [lead, *effects]


async def _set_aside(
    turn: Turn, user: User, state: State, flow: Flow, incoming: Incoming, now: datetime
) -> list[Say] | None:
    """None while ``state`` still holds what the person writes; otherwise the flow, untouched for a day, is set
    aside (kept to pick up later) and this is the word about it, so what they write now is read fresh. A tap
    on the flow's own question, or a command about the flow, still goes to it. (An unanswered check-in is
    the check-in feature's: it expires with its day instead.)"""
    if flow.id == CHECKIN_FLOW_ID:
        return None
    if isinstance(incoming, ButtonPress | Location | Resume | Edited):
        return None
    if isinstance(incoming, Command) and (
        incoming.name in _FLOW_COMMANDS or turn.catalog.by_command(incoming.name) is flow
    ):
        return None
    touched = await turn.tx.active_touched_at(user.id)
    if touched is None or now - touched < checkins.SET_ASIDE_AFTER:
        return None
    await turn.tx.set_aside(user.id, state, touched, now)
    button = Button(render(turn.texts.resume_button, {}), RESUME)
    return [Say(render(turn.texts.set_aside_welcome_back, {"title": flow.title}), ((button,),), seq=0)]


async def _stage_flow_removed(turn: Turn, at: At) -> Outcome | None:
    if at.state is not None and at.flow is None:
        # The flow file was removed: nothing can continue it. Say so instead of failing forever.
        return None, [turn.say(turn.texts.flow_removed)]
    return None


async def _stage_caption(turn: Turn, at: At) -> Outcome | None:
    incoming = at.incoming
    if isinstance(incoming, NotText) and incoming.caption and incoming.caption.strip():
        # A photo or a document with a caption: the caption is what they wrote, and answers like typed text.
        at.incoming = Text(incoming.caption)
    return None


async def _stage_left_behind(turn: Turn, at: At) -> Outcome | None:
    if at.state is not None and at.flow is not None:
        left = await _set_aside(turn, at.user, at.state, at.flow, at.incoming, at.now)
        if left is not None:  # a flow set aside after a day: read this afresh
            fresh, said = await turn.dispatch(at.user, None, at.incoming, at.now, screened=True, awaiting=at.awaiting)
            return fresh, [*left, *said]
    return None


async def _stage_back_again(turn: Turn, at: At) -> Outcome | None:
    state, flow = at.state, at.flow
    if isinstance(at.incoming, Resume):
        if state is None or flow is None:
            # Back with nothing open or waiting for an answer (the menus' stage shows one waiting): what can be
            # started, not a silent prompt.
            return state, [turn.say(turn.texts.no_active_flow)]
        return step(turn, flow, state, engine.Repeat(), at.now, lead=turn.texts.welcome_back)
    return None


async def _stage_flow(turn: Turn, at: At) -> Outcome | None:
    state, flow, incoming, now = at.state, at.flow, at.incoming, at.now
    texts = turn.texts
    if state is None or flow is None:
        if isinstance(incoming, ButtonPress):
            return state, [Stale()]
        if isinstance(incoming, NotText):
            return state, [turn.say(texts.text_only)]
        story = story_flow(turn)
        if isinstance(incoming, Text) and story is not None and reads_like_setback(incoming.text, turn.words):
            # Free text is welcome: something that went wrong is offered as the start of a flow. Told more
            # while that offer is still open, the words already kept stay and the new ones follow them.
            offered = at.awaiting.menu is not None and at.awaiting.menu.has(STORY_YES)
            joined = f"{at.awaiting.words}\n{incoming.text}" if offered and at.awaiting.words else incoming.text
            first = story.steps[0]
            fits = not isinstance(first, TextStep) or len(joined) <= first.max_length
            at.awaiting.keep(joined if fits else incoming.text, now)
            return state, [_story_offer(turn)]
        return state, [turn.say(texts.no_active_flow)]
    if isinstance(incoming, Text):
        return engine.advance(flow, state, engine.Answer(incoming.text), now, texts)
    if isinstance(incoming, ButtonPress):
        return engine.advance(flow, state, engine.Press(incoming.value, incoming.seq), now, texts)
    return step(turn, flow, state, engine.Repeat(), now, lead=texts.text_only)


async def _flow_event(turn: Turn, at: At, command: Command) -> Outcome:
    """/cancel, /back, /skip: applied to the flow in progress."""
    state, flow, texts = at.state, at.flow, turn.texts
    if state is None or flow is None:
        return state, [turn.say(texts.nothing_to_cancel if command.name == "cancel" else texts.no_active_flow)]
    events: dict[str, engine.Event] = {"cancel": engine.Cancel(), "back": engine.Back(), "skip": engine.Skip()}
    return engine.advance(flow, state, events[command.name], at.now, texts)


async def _resume_command(turn: Turn, at: At, command: Command) -> Outcome:
    return await _resume(turn, at)


async def _flow_command(turn: Turn, at: At, command: Command) -> Outcome:
    """A flow's own command (/reframe…): starts it, or repeats its question when it is the one in progress;
    any other command is unknown."""
    state, flow, now, texts = at.state, at.flow, at.now, turn.texts
    requested = turn.catalog.by_command(command.name)
    if requested is None:
        return state, [turn.say(texts.unknown_command, {"command": command.name})]
    if state is not None and flow is not None and flow.id == CHECKIN_FLOW_ID and requested.id != CHECKIN_FLOW_ID:
        state = flow = None  # an unanswered check-in never stands in the way of working through something
    if state is not None and flow is not None:
        if flow.id == requested.id:
            return step(turn, flow, state, engine.Repeat(), now, lead=texts.welcome_back)
        busy = turn.say(texts.busy_with_other_flow, {"title": flow.title, "requested": requested.title})
        return state, [busy, engine.current_question(flow, state, texts)]
    # "/reframe I missed the deadline": the words after the command answer its first question.
    words = command.argument
    story = story_flow(turn)
    offered = at.awaiting.menu is not None and at.awaiting.menu.has(STORY_YES)
    if words is None and offered and story is not None and story.id == requested.id:
        words = at.awaiting.take()  # the offer's own command right after it: a yes, with the words it kept
    return start_with(turn, requested, now, words)


async def _plan_next_step(turn: Turn, user: User, run_id: int, run: CompletedRun, now: datetime) -> list[Say]:
    """The day a stored run's next step is due, in the person's timezone."""
    if not isinstance(run.meant("next_step"), str):
        return []
    zone = await turn.zone_of(user)
    spec = run.meant("next_step_day")
    made = turn.catalog.flows.get(run.flow_id)
    day_id = made.meaning.next_step_day if made is not None else None
    answered = run.answers[day_id].answered_at if day_id and day_id in run.answers else run.finished_at
    # "tomorrow" is the day after the person's own local date when they said it.
    planned_on = answered.astimezone(zone).date()
    # A day that says nothing (skipped, or a flow that does not ask) is due the day after it was planned.
    due = resolve(spec, planned_on) if isinstance(spec, str) and is_spec(spec) else planned_on + timedelta(days=1)
    await turn.tx.plan_next_step(run_id, due)
    return []


def _menu_words(texts: Texts, value: str, label: str) -> tuple[str, ...] | None:
    lists = {STORY_YES: texts.words_yes, STORY_NO: texts.words_no, RESUME: texts.words_resume}
    return word_list(lists[value]) if value in lists else None


def _kind(value: str) -> Kind:
    return Kind.OFFER | Kind.KEEPS_WORDS if value in {STORY_YES, STORY_NO} else Kind.PLAIN


async def _resume_button(turn: Turn, at: At, value: str) -> Outcome:
    return await _resume(turn, at)


FEATURE = Feature(
    "flows",
    stages={
        "flow_removed": _stage_flow_removed,
        "caption": _stage_caption,
        "left_behind": _stage_left_behind,
        "back_again": _stage_back_again,
        "flow": _stage_flow,
    },
    commands={"resume": _resume_command, "cancel": _flow_event, "back": _flow_event, "skip": _flow_event},
    any_command=_flow_command,
    buttons={RESUME: _resume_button, STORY_YES: _story_answer, STORY_NO: _story_answer},
    menu_words=_menu_words,
    kind=_kind,
    after_run=_plan_next_step,
)
