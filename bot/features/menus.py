"""The bot's own buttons shown outside a flow question (a menu, a confirmation, an offer): typed text read as
one of them, a hint when a question waits for them, and which buttons count as last shown.

Which buttons are the bot's own, what other words mean each and how strictly typed text is read against them
come from the features that own them (``Registry.menu_words``, ``Registry.kind``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.effects import Say, SendFile
from bot.features.base import At, Awaiting, ButtonPress, Feature, Kind, Menu, Outcome, Reply, Resume, Text
from bot.matching import Choice, Mode, NoMatch, Picked, Reading, fold, read_choice, reads_like_setback, word_list
from bot.render import first_sentence, render
from bot.storage.records import User

if TYPE_CHECKING:
    from bot.conversation import Turn

MENU_SENTENCE_WORDS = 6
"""A longer message to a menu is read only as a whole (label, number), never for a word inside it."""


def _has(turn: Turn, menu: Menu, kind: Kind) -> bool:
    return any(kind in turn.registry.kind(value) for value, _ in menu.options)


async def _stage_typed(turn: Turn, at: At) -> Outcome | None:
    """Typed text that names one of the buttons last shown does what a tap would."""
    menu, incoming = at.awaiting.menu, at.incoming
    if not isinstance(incoming, Text) or menu is None:
        return None
    in_flow = at.state is not None and at.flow is not None
    declined = _declined_with_a_reason(turn, menu, incoming.text, in_flow)
    if declined is None and reads_like_setback(incoming.text, turn.words):
        # A setback is never a button press ("ok so I failed my exam" is not a yes): it is read as what it is.
        return None
    reading = declined or _read_menu(turn, menu, incoming.text, in_flow)
    if isinstance(reading, Picked):
        press = ButtonPress(reading.values[0], None)
        return await turn.dispatch(at.user, at.state, press, at.now, screened=True, awaiting=at.awaiting)
    return None


async def _stage_question_waits(turn: Turn, at: At) -> Outcome | None:
    """A question waits for its buttons: never the idle menu as if the answer had landed; say which buttons
    answer it. (After a menu that asks nothing, or an offer, other words are read as what they are.)"""
    menu, incoming = at.awaiting.menu, at.incoming
    in_flow = at.state is not None and at.flow is not None
    if not isinstance(incoming, Text) or menu is None or in_flow or not _has(turn, menu, Kind.ASKS):
        return None
    if reads_like_setback(incoming.text, turn.words):
        return None
    at.awaiting.shown_again = True
    return at.state, [_menu_hint(turn, menu)]


async def _stage_back_again(turn: Turn, at: At) -> Outcome | None:
    """Someone coming back (the terminal chat started again) with no flow open but the bot's own question
    unanswered (a check-in offer, /forget's confirmation): that question again, with its buttons, so a reply
    now is not to something they can no longer see."""
    menu, awaiting = at.awaiting.menu, at.awaiting
    if not isinstance(at.incoming, Resume) or menu is None or (at.state is not None and at.flow is not None):
        return None
    awaiting.shown_again = True
    options = [label for _, label in menu.options]
    # The offer to work through what they wrote: what that was, since it is no longer on screen.
    kept = first_sentence(awaiting.words, show_more=True) if _has(turn, menu, Kind.KEEPS_WORDS) else ""
    lead = turn.say(turn.texts.welcome_back_waiting, {"kept": bool(menu.html), "options": options, "words": kept})
    if not menu.html:  # kept before the message was: the buttons alone, named in the lead
        return at.state, [replace(lead, buttons=menu.buttons, seq=0)]
    return at.state, [lead, Say(menu.html, menu.buttons, seq=0)]


_FIRST_CLAUSE = re.compile(r"[,.;:!?\n—–]|\s-\s")


def _declined_with_a_reason(turn: Turn, menu: Menu, text: str, in_flow: bool) -> Picked | None:
    """At an offer, a reply that opens with a plain no and goes on to say why ("not now, too stressed"):
    the button that declines, however the reason reads (a reason is not a new setback to offer)."""
    first, *rest = _FIRST_CLAUSE.split(text, maxsplit=1)
    if not rest or not _has(turn, menu, Kind.OFFER) or fold(first) not in word_list(turn.texts.words_no):
        return None
    reading = _read_menu(turn, menu, first, in_flow)
    return reading if isinstance(reading, Picked) else None


def _read_menu(turn: Turn, menu: Menu, text: str, in_flow: bool) -> Reading:
    """Which of the menu's buttons ``text`` names. Deleting needs an unambiguous yes, and an offer (daily
    check-ins, working through what was written) a whole yes or no ("I'm fine, just tired" is no yes).
    While a flow waits for an answer, only a whole label in words counts (a number or a word there is the
    flow's answer). At the list of times nothing does: a typed time is read as a time ("8" is 08:00)."""
    registry, words = turn.registry, turn.words
    if all(Kind.TIMES in registry.kind(value) for value, _ in menu.options):
        return NoMatch()
    choices = [
        Choice(value, label, registry.menu_words(turn.texts, value, label), value_typed=False)
        for value, label in menu.options
    ]
    if _has(turn, menu, Kind.DESTRUCTIVE) or _has(turn, menu, Kind.OFFER):
        return read_choice(text, choices, words, mode=Mode.STRICT, numbers=not in_flow)
    if in_flow:
        return read_choice(text, choices, words, mode=Mode.WHOLE)
    return read_choice(text, choices, words, sentence_limit=MENU_SENTENCE_WORDS)


def _menu_hint(turn: Turn, menu: Menu) -> Say:
    """The menu again, with a hint naming its buttons (and, before deleting, what would delete)."""
    confirm = next((label for value, label in menu.options if Kind.DESTRUCTIVE in turn.registry.kind(value)), "")
    html = render(turn.texts.hint_menu, {"options": [label for _, label in menu.options], "confirm": confirm})
    return Say(html, menu.buttons, seq=0)


def note_menu(turn: Turn, user: User, awaiting: Awaiting, replies: Sequence[Reply], now: datetime) -> None:
    """Remember the bot's own buttons when they are the last ones shown; anything else said replaces them.

    A stale tap or an edit says nothing new, so what is on screen stays as it was.
    """
    if not any(isinstance(reply, Say | SendFile) for reply in replies) or awaiting.shown_again:
        return
    with_buttons = [reply for reply in replies if isinstance(reply, Say) and reply.buttons]
    last = with_buttons[-1] if with_buttons else None
    registry = turn.registry
    if (
        last is not None
        and last.step_id is None
        and all(registry.is_menu_value(b.value) for row in last.buttons for b in row)
    ):
        rows = [[(button.value, button.label) for button in row] for row in last.buttons]
        spoken = {button.value: button.spoken for row in last.buttons for button in row if button.spoken}
        awaiting.menu = Menu(rows, now, last.html, spoken)
    else:
        awaiting.menu = None
    if user.onboarded and not (awaiting.menu is not None and _has(turn, awaiting.menu, Kind.KEEPS_WORDS)):
        awaiting.take()  # words kept for an offer that is no longer on screen
    if awaiting.menu is None or not _has(turn, awaiting.menu, Kind.KEEPS_EDITING):
        awaiting.editing = None  # the question asking for an entry's new words is no longer on screen


FEATURE = Feature(
    "menus",
    stages={"typed": _stage_typed, "question_waits": _stage_question_waits, "back_again": _stage_back_again},
)
