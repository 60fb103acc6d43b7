"""Safety: the crisis screen sees every piece of text first; clear risk gets the crisis reply (a flow in
progress pauses), possible risk one gentle question with the message kept; /sos always gets the helplines."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot import engine
from bot.effects import Button, Say, Stale
from bot.engine import State
from bot.features.base import (
    At,
    ButtonPress,
    Command,
    Edited,
    Feature,
    Incoming,
    NotText,
    Outcome,
    Resume,
    Text,
    normal_word,
)
from bot.render import render
from bot.safety import Assessment, Level
from bot.storage.records import User
from bot.timezones import country_of_zone

if TYPE_CHECKING:
    from bot.conversation import Turn

SOS_CONTINUE = "__sos_go"
SOS_STOP = "__sos_stop"
SAFE_YES = "__safe_yes"
SAFE_NO = "__safe_no"
SAFETY_YES_WORDS = frozenset(
    {
        "1",
        "yes",
        "y",
        "yeah",
        "yep",
        "yea",
        "ya",
        "yes i am",
        "i am",
        "maybe",
        "kind of",
        "sort of",
        "ja",
        "si",
        "oui",
        "sim",
        "da",
        "да",
    }
)
SAFETY_NO_WORDS = frozenset(
    {
        "2",
        "no",
        "n",
        "nope",
        "nah",
        "no carry on",
        "carry on",
        "no im ok",
        "no im fine",
        "im ok",
        "im fine",
        "im okay",
        "no im okay",
        "not really",
        "no thanks",
        "go on",
        "continue",
        "nein",
        "non",
        "nao",
        "нет",
    }
)
HOLD_LIFETIME = timedelta(hours=12)
CONTINUE_WORDS = frozenset({"1", "continue", "go on", "carry on", "lets continue", "resume"})
STOP_WORDS = frozenset({"2", "stop", "stop for now", "not now", "pause"})

# Languages spoken mostly in one country with helplines listed; others (en, es, pt, ar…) need the region.
_LANGUAGE_COUNTRIES = {"de": "DE", "fr": "FR", "it": "IT", "nl": "NL", "ja": "JP", "hi": "IN"}


def country_of_locale(locale: str | None) -> str | None:
    """The country an app's language tag points to: its region (``pt-BR`` → BR), or a language spoken mostly
    in one country (``ja`` → JP); None when it says nothing certain (``en``, ``es``)."""
    if not locale:
        return None
    language, _, region = locale.replace("_", "-").partition("-")
    if len(region) == 2 and region.isalpha():
        return region.upper()
    return _LANGUAGE_COUNTRIES.get(language.lower())


def _paused(state: State | None) -> State | None:
    """The flow as it pauses for a crisis reply (None stays None)."""
    return None if state is None else replace(state, paused=True)


def _two_way_choice(
    incoming: Incoming, first: tuple[str, frozenset[str]], second: tuple[str, frozenset[str]], *openings: str
) -> str | None:
    """Which of two buttons the person chose, by tapping it or typing one of its words (or, for the second,
    a reply starting with one of ``openings``); None when neither."""
    values = {first[0], second[0]}
    if isinstance(incoming, ButtonPress) and incoming.value in values:
        return incoming.value
    if isinstance(incoming, Text):
        word = normal_word(incoming.text)
        if word in first[1]:
            return first[0]
        if word in second[1] or (openings and word.startswith(openings)):
            return second[0]
    return None


def _crisis_choice(incoming: Incoming) -> str | None:
    """SOS_CONTINUE or SOS_STOP when the person chose one after a crisis reply; else None."""
    return _two_way_choice(incoming, (SOS_CONTINUE, CONTINUE_WORDS), (SOS_STOP, STOP_WORDS))


def _safety_choice(incoming: Incoming) -> str | None:
    """SAFE_YES or SAFE_NO when the person answered the safety question, by button or in words."""
    return _two_way_choice(incoming, (SAFE_YES, SAFETY_YES_WORDS), (SAFE_NO, SAFETY_NO_WORDS), "no ", "nope ", "nah ")


def written_in(incoming: Incoming) -> str | None:
    """The text a person wrote in this message, wherever it sits (typed, caption, after a command, edited)."""
    if isinstance(incoming, Text | Edited):
        return incoming.text
    if isinstance(incoming, NotText):
        return incoming.caption
    if isinstance(incoming, Command):
        # The command's own name too: "/kms" or "/wanttodie" is text a person wrote.
        return f"/{incoming.name} {incoming.argument or ''}".strip()
    return None


def _incoming_to_json(incoming: Incoming) -> dict[str, Any]:
    if isinstance(incoming, Command):
        return {"kind": "command", "name": incoming.name, "argument": incoming.argument}
    if isinstance(incoming, NotText):
        return {"kind": "other", "media": incoming.kind, "caption": incoming.caption}
    if isinstance(incoming, Edited):
        return {"kind": "edited", "text": incoming.text}
    if isinstance(incoming, Text):
        return {"kind": "text", "text": incoming.text}
    return {"kind": "none"}


def _incoming_from_json(data: dict[str, Any]) -> Incoming | None:
    kind = data.get("kind")
    if kind == "command":
        return Command(str(data["name"]), data.get("argument"))
    if kind == "other":
        return NotText(str(data["media"]), data.get("caption"))
    if kind == "text":
        return Text(str(data["text"]))
    if kind == "edited":
        return Edited(str(data["text"]))
    return None


async def _stage_screen(turn: Turn, at: At) -> Outcome | None:
    # Safety first: the crisis screen sees every piece of text (typed, a command and what follows it,
    # edited, a caption) before anything else does. Clear risk: the crisis reply, and a flow in progress
    # pauses (its state is left exactly as it was). Possible risk: one gentle question first, the message
    # kept. /sos always gets the helplines, whatever the screen says.
    user, state, incoming = at.user, at.state, at.incoming
    written = written_in(incoming)
    found = turn.assess(written) if written and not at.screened else None
    if isinstance(incoming, Command) and incoming.name == "sos":
        await _hold(turn, user, None)
        return _paused(state), [await _crisis(turn, user, state, found if found and found.flagged else None)]
    if found is not None and found.level is Level.CLEAR:
        await _hold(turn, user, None)
        return _paused(state), [await _crisis(turn, user, state, found)]
    if found is not None and found.level is Level.POSSIBLE:
        await _hold(turn, user, incoming, at.now, found, state)
        return state, [_safety_question(turn, turn.texts.safety_question, state)]
    return None


async def _stage_edited(turn: Turn, at: At) -> Outcome | None:
    if isinstance(at.incoming, Edited):
        return at.state, []  # an edit changes no answer already given; it is only screened
    return None


async def _stage_held(turn: Turn, at: At) -> Outcome | None:
    user, state, flow, incoming, now = at.user, at.state, at.flow, at.incoming, at.now
    held = _held(user, now)
    if held is None and user.safety_hold is not None:
        await _hold(turn, user, None)  # too old to answer now: let it go (and off the disk)
    if held is not None:
        held_incoming, held_found, asked_at = held
        choice = _safety_choice(incoming)
        # Typing on, or coming back to the terminal, is no answer: the question stays until it has one.
        unanswered = isinstance(incoming, Text | NotText | Resume)
        if choice is not None or not unanswered:
            await _hold(turn, user, None)
        if choice == SAFE_YES:
            return _paused(state), [await _crisis(turn, user, state, held_found)]
        if choice == SAFE_NO:
            where = (state.flow_id, state.seq) if state is not None else None
            if isinstance(held_incoming, Edited) or where != asked_at:
                # Nothing to apply: an edit changes no answer, and a held answer is only taken for the
                # question it was written for (a check-in or another flow may have started since).
                if state is None or flow is None or state.paused:
                    return state, []
                return state, [engine.current_question(flow, state, turn.texts)]
            # The held message is taken as what it was meant to be, and is not asked about again.
            calm = replace(user, safety_hold=None)
            return await turn.dispatch(calm, state, held_incoming, now, screened=True, awaiting=at.awaiting)
        if choice is None and unanswered:
            return state, [_safety_question(turn, turn.texts.safety_question_again, state)]
    elif isinstance(incoming, ButtonPress) and incoming.value in {SAFE_YES, SAFE_NO}:
        return state, [Stale()]
    return None


async def _stage_crisis_pause(turn: Turn, at: At) -> Outcome | None:
    state, flow, incoming = at.state, at.flow, at.incoming
    if state is not None and flow is not None and state.paused:
        # After a crisis reply the flow waits for a clear "continue": typed words are never taken as
        # the next answer. A command or a tap on the question is a clear choice too.
        choice = _crisis_choice(incoming)
        if choice == SOS_STOP:
            return state, [turn.say(turn.texts.crisis_stopped)]
        if choice == SOS_CONTINUE:
            resumed = replace(state, paused=False)
            return resumed, [engine.current_question(flow, resumed, turn.texts)]
        if isinstance(incoming, Text | NotText | Resume):  # coming back is no "continue" either
            return state, [_crisis_buttons(turn, turn.say(turn.texts.crisis_paused), state)]
        at.state = replace(state, paused=False)
    elif isinstance(incoming, ButtonPress) and incoming.value in {SOS_CONTINUE, SOS_STOP}:
        if state is None or flow is None:
            return state, [turn.say(turn.texts.no_active_flow)]
        if incoming.value == SOS_STOP:
            return state, [turn.say(turn.texts.crisis_stopped)]
        return state, [engine.current_question(flow, state, turn.texts)]
    return None


async def _crisis(turn: Turn, user: User, state: State | None, found: Assessment | None) -> Say:
    """The crisis reply: helplines for the person's country and for what their words point to.

    ``found`` is None for /sos (asked for, so it does not thank them for telling).
    """
    safety = turn.catalog.safety
    country = await _country_of(turn, user)
    topics = found.topics if found is not None else frozenset()
    lines = [line.model_dump() for line in safety.lines_for(country, topics)]
    emergency = safety.emergency_number(country) or ""
    language = found.language if found is not None else None
    reply = turn.say(
        turn.texts.crisis_reply,
        {
            "lines": lines,
            "emergency": emergency,
            "has_flow": state is not None,
            "asked": found is None,
            "other_language": safety.helplines.language_lines.get(language or "", ""),
        },
    )
    return reply if state is None else _crisis_buttons(turn, reply, state)


def _safety_question(turn: Turn, template: str, state: State | None) -> Say:
    buttons = (
        (
            Button(render(turn.texts.safety_yes_button, {}), SAFE_YES),
            Button(render(turn.texts.safety_no_button, {}), SAFE_NO),
        ),
    )
    return Say(turn.say(template).html, buttons, seq=state.seq if state is not None else 0)


async def _hold(
    turn: Turn,
    user: User,
    incoming: Incoming | None,
    now: datetime | None = None,
    found: Assessment | None = None,
    state: State | None = None,
) -> None:
    """Keep ``incoming`` while the safety question is open, with the question it answers (the flow and
    its step number in ``state``); None lets any held message go."""
    if incoming is None:
        if user.safety_hold is not None:
            await turn.tx.hold_for_safety(user.id, None)
        return
    assert now is not None and found is not None
    held = {
        "at": now.isoformat(),
        "incoming": _incoming_to_json(incoming),
        "topics": sorted(found.topics),
        "language": found.language,
        "flow": state.flow_id if state is not None else None,
        "seq": state.seq if state is not None else None,
    }
    await turn.tx.hold_for_safety(user.id, json.dumps(held, ensure_ascii=False))


def _held(user: User, now: datetime) -> tuple[Incoming, Assessment, tuple[str, int] | None] | None:
    """The message kept while the safety question is open, what the screen saw in it, and the question it
    was written for (flow id and step number, None outside a flow); None when there is none, or it is
    older than a few hours."""
    if user.safety_hold is None:
        return None
    try:
        held = json.loads(user.safety_hold)
        if now - datetime.fromisoformat(held["at"]) > HOLD_LIFETIME:
            return None
        incoming = _incoming_from_json(held["incoming"])
        found = Assessment(Level.POSSIBLE, frozenset(held.get("topics") or ()), held.get("language"))
        asked_at = (str(held["flow"]), int(held["seq"])) if held.get("flow") is not None else None
    except (ValueError, KeyError, TypeError):
        return None
    return (incoming, found, asked_at) if incoming is not None else None


def _crisis_buttons(turn: Turn, reply: Say, state: State) -> Say:
    buttons = (
        (
            Button(render(turn.texts.crisis_continue_button, {}), SOS_CONTINUE),
            Button(render(turn.texts.crisis_stop_button, {}), SOS_STOP),
        ),
    )
    return Say(reply.html, buttons, seq=state.seq)


async def _country_of(turn: Turn, user: User) -> str:
    """Whose helplines to list: the country of the person's own timezone when they set one, else the one
    their app's language points to (``pt-br`` → BR, ``de`` → DE), else the deployment's default."""
    row = await turn.tx.checkin(user.id)
    if row is not None:
        country = country_of_zone(row.settings.timezone)
        if country is not None:
            return country
    from_locale = country_of_locale(user.locale)
    if from_locale is not None and from_locale in turn.catalog.safety.helplines.countries:
        return from_locale
    return turn.helpline_country


FEATURE = Feature(
    "safety",
    stages={
        "screen": _stage_screen,
        "edited": _stage_edited,
        "held": _stage_held,
        "crisis_pause": _stage_crisis_pause,
    },
)
