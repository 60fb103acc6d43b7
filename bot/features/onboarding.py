"""Onboarding: before a first flow a person reads what the bot is and is not, and confirms; /start and /help."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import engine
from bot.effects import Button, Say, Stale
from bot.features import checkins, flows
from bot.features.base import At, ButtonPress, Command, Feature, Outcome, Resume, Text
from bot.matching import Choice, Mode, Picked, Reading, read_choice, reads_like_setback, word_list
from bot.render import render

if TYPE_CHECKING:
    from bot.conversation import Turn

ONBOARD_OK = "__hello"


async def _stage_onboarding(turn: Turn, at: At) -> Outcome | None:
    """Before a first flow, a person reads what the bot is and is not, and confirms (a tap, or typed).

    What they wrote meanwhile about what happened is kept, and answers the flow's first question once
    they confirm. The card comes once; until they confirm, later messages get a short reminder.
    """
    user, incoming, now, awaiting = at.user, at.incoming, at.now, at.awaiting
    if user.onboarded:
        return None
    texts = turn.texts
    # Typed, only while the card's button is on screen, and only a whole confirmation ("I failed, I
    # understand nothing" is not one): never onboarded without having been shown what the bot is not.
    on_screen = awaiting.menu is not None and awaiting.menu.has(ONBOARD_OK)
    confirmed = (isinstance(incoming, ButtonPress) and incoming.value == ONBOARD_OK) or (
        isinstance(incoming, Text) and on_screen and isinstance(_read_confirmation(turn, incoming.text), Picked)
    )
    if confirmed:
        await turn.tx.mark_onboarded(user.id, now)
        awaiting.menu = None
        words = awaiting.take()
        pending = turn.catalog.flows.get(user.pending_flow or "")
        if pending is None and words:
            pending = flows.story_flow(turn)
        if pending is not None:
            return flows.start_with(turn, pending, now, words)
        return None, [turn.say(texts.onboarding_done), *await checkins.offer_once(turn, user)]
    if isinstance(incoming, ButtonPress):
        return None, [Stale()]
    if isinstance(incoming, Command):
        if incoming.name == "help":
            return None, [turn.say(texts.help)]
        requested = turn.catalog.by_command(incoming.name)
        if requested is not None:
            await turn.tx.remember_pending_flow(user.id, requested.id)
            if incoming.argument and awaiting.words is None:
                awaiting.keep(incoming.argument, now)  # "/reframe I failed again": for its first question
    if isinstance(incoming, Text) and awaiting.words is None and reads_like_setback(incoming.text, turn.words):
        awaiting.keep(incoming.text, now)
    shown = awaiting.menu is not None and awaiting.menu.has(ONBOARD_OK)
    # Back in a new terminal session, the card is no longer on screen: it comes again, not "the note above".
    again = isinstance(incoming, Resume) or (isinstance(incoming, Command) and incoming.name == "start")
    if shown and not again:
        return None, [_reminder(turn, kept=awaiting.words is not None)]
    return None, [_card(turn, kept=awaiting.words is not None)]


def _read_confirmation(turn: Turn, text: str) -> Reading:
    """Typed text at the onboarding card: the whole reply is its button's label, its number, a yes or
    "i understand" (nothing read inside a sentence, no typo)."""
    label = render(turn.texts.onboarding_button, {})
    also = word_list(turn.texts.words_yes) + word_list(turn.texts.words_begin)
    return read_choice(text, [Choice(ONBOARD_OK, label, also, value_typed=False)], turn.words, mode=Mode.STRICT)


def _card(turn: Turn, kept: bool = False) -> Say:
    card = turn.say(turn.texts.welcome)
    html = card.html + ("\n\n" + render(turn.texts.onboarding_kept, {}) if kept else "")
    button = Button(render(turn.texts.onboarding_button, {}), ONBOARD_OK)
    return Say(html, ((button,),), seq=0)


def _reminder(turn: Turn, kept: bool) -> Say:
    label = render(turn.texts.onboarding_button, {})
    html = render(turn.texts.onboarding_reminder, {"button": label, "kept": kept})
    return Say(html, ((Button(label, ONBOARD_OK),),), seq=0)


async def _start(turn: Turn, at: At, command: Command) -> Outcome:
    """/start: the question on screen again, or the welcome (and, once, the offer of check-ins)."""
    if at.state is not None and at.flow is not None:
        return flows.step(turn, at.flow, at.state, engine.Repeat(), at.now, lead=turn.texts.welcome_back)
    return at.state, [turn.say(turn.texts.welcome), *await checkins.offer_once(turn, at.user)]


async def _help(turn: Turn, at: At, command: Command) -> Outcome:
    return at.state, [turn.say(turn.texts.help)]


FEATURE = Feature(
    "onboarding",
    stages={"onboarding": _stage_onboarding},
    commands={"start": _start, "help": _help},
    # Its button is answered by its stage (before onboarding) and, once onboarded, by nobody: a stale tap.
    menu_values=frozenset({ONBOARD_OK}),
)
