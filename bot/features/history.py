"""A person's history: /lessons (its pages, periods and chart), /export, /forget, /done and /edit, their
buttons, and the new words typed after /edit asked for them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.effects import Say
from bot.features.base import At, Command, Feature, Kind, Out, Outcome, Text
from bot.flows.texts import Texts
from bot.history import EDIT, FORGET_NO, FORGET_YES, LESSONS, STEP, History, HistoryReply, edit_started
from bot.matching import Choice, Mode, Picked, read_choice, word_list
from bot.render import render
from bot.storage.protocols import ConversationStore
from bot.storage.records import HeavyRequest

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from bot.conversation import Turn


async def build(
    view: ConversationStore, request: HeavyRequest, texts: Texts, default_zone: ZoneInfo, now: datetime, scratch: Path
) -> list[HistoryReply]:
    """Build one waiting export or chart from ``view`` (a read-only snapshot), dated in the person's own
    timezone (else ``default_zone``); export files are written into ``scratch``."""
    row = await view.checkin(request.user_id)
    zone = row.settings.zone if row is not None else default_zone
    return await History(view, texts, default_zone).build(view, request, now, zone, scratch)


def failed(texts: Texts, request: HeavyRequest) -> list[HistoryReply]:
    """What to tell the person when their request could not be built (nothing they wrote is lost)."""
    return History.failed_for(texts, request)


def _history(turn: Turn) -> History:
    return turn.part(History, lambda: History(turn.tx, turn.texts, turn.zone))


async def _said(turn: Turn, at: At, replies: Awaitable[list[HistoryReply]] | list[HistoryReply]) -> Outcome:
    """What a history call said, noting for the router when it asked for an export or a chart."""
    said = replies if isinstance(replies, list) else await replies
    if _history(turn).take_requested():
        turn.request_heavy()
    return at.state, [*said]


async def _lessons(turn: Turn, at: At, command: Command) -> Outcome:
    return await _said(turn, at, _history(turn).lessons(at.user, at.now, zone=await turn.zone_of(at.user)))


async def _export(turn: Turn, at: At, command: Command) -> Outcome:
    return await _said(turn, at, _history(turn).export(at.user, at.now, await turn.zone_of(at.user)))


async def _forget(turn: Turn, at: At, command: Command) -> Outcome:
    return await _said(turn, at, _history(turn).confirm_forget())


async def _done(turn: Turn, at: At, command: Command) -> Outcome:
    zone = await turn.zone_of(at.user)
    return await _said(turn, at, _history(turn).done(at.user, at.now, command.argument, zone))


async def _edit(turn: Turn, at: At, command: Command) -> Outcome:
    return await _said(turn, at, _history(turn).edit(at.user, command.argument, await turn.zone_of(at.user)))


async def _button(turn: Turn, at: At, value: str) -> Outcome:
    at.awaiting.editing = edit_started(value)  # "the lesson": the next message is its new words
    return await _said(turn, at, _history(turn).button(at.user, value, at.now, await turn.zone_of(at.user)))


async def _stage_correction(turn: Turn, at: At) -> Outcome | None:
    """Typed after /edit asked for an entry's new words (outside a flow): those words, or, as the whole
    reply, keeping the entry as it is."""
    awaiting, incoming = at.awaiting, at.incoming
    in_flow = at.state is not None and at.flow is not None
    if not isinstance(incoming, Text) or awaiting.editing is None or in_flow:
        return None
    run_id, part = awaiting.editing
    awaiting.editing = None
    texts = turn.texts
    keep = Choice(
        f"{EDIT}:keep:{run_id}", render(texts.edit_keep_button, {}), word_list(texts.words_keep), value_typed=False
    )
    if isinstance(read_choice(incoming.text, [keep], turn.words, mode=Mode.WHOLE), Picked):
        return at.state, [turn.say(texts.edit_kept)]
    said: list[Out] = [*await _history(turn).correct(at.user, run_id, part, incoming.text, at.now)]
    if any(isinstance(reply, Say) and reply.buttons for reply in said):
        awaiting.editing = (run_id, part)  # too long: the same question again, still waiting for the words
    return at.state, said


def _menu_words(texts: Texts, value: str, label: str) -> tuple[str, ...] | None:
    if value == FORGET_YES or value.startswith(f"{LESSONS}:sure:"):
        return word_list(texts.words_clear_yes)
    if value == FORGET_NO or value.startswith((f"{LESSONS}:keep:", f"{EDIT}:keep:")):
        return word_list(texts.words_keep)
    # The page buttons carry the page in their value: known by their label.
    if label == render(texts.lessons_next_button, {}):
        return word_list(texts.words_next_page)
    if label == render(texts.lessons_previous_button, {}):
        return word_list(texts.words_previous_page)
    return None


def _kind(value: str) -> Kind:
    if value == FORGET_YES or value.startswith(f"{LESSONS}:sure:"):
        return Kind.ASKS | Kind.DESTRUCTIVE
    if value == FORGET_NO or value.startswith(f"{LESSONS}:keep:"):
        return Kind.ASKS
    if value.startswith(f"{EDIT}:keep:"):
        return Kind.KEEPS_EDITING
    return Kind.PLAIN


FEATURE = Feature(
    "history",
    stages={"correction": _stage_correction},
    commands={"lessons": _lessons, "export": _export, "forget": _forget, "done": _done, "edit": _edit},
    buttons={
        f"{LESSONS}:": _button,
        f"{STEP}:": _button,
        f"{EDIT}:": _button,
        FORGET_YES: _button,
        FORGET_NO: _button,
    },
    menu_words=_menu_words,
    kind=_kind,
)
