"""The conversation service: one incoming message in, replies out, state saved in one transaction.

Both adapters (the terminal chat and Telegram) call ``Conversations.handle``; it owns the rules that are
not about a single flow: which command starts what, what happens without a flow in progress, and storing
completed runs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot import checkins, engine
from bot.checkin_menu import CHECKIN_FLOW, PREFIX, CheckinMenu, is_checkin_button
from bot.days import is_spec, resolve
from bot.engine import Button, CompletedRun, Effect, Finished, Say, Stale, State
from bot.flows.catalog import Catalog
from bot.flows.model import Flow, TextStep
from bot.history import (
    EDIT,
    FORGET_NO,
    FORGET_YES,
    LESSONS,
    Erased,
    History,
    SendFile,
    edit_started,
    is_history_button,
)
from bot.matching import (
    Choice,
    Mode,
    NoMatch,
    Picked,
    Reading,
    Words,
    read_choice,
    reads_like_setback,
    word_list,
    words_of,
)
from bot.render import render
from bot.safety import Assessment, Level
from bot.storage.protocols import ConversationStore, Storage
from bot.storage.records import HeavyRequest, User
from bot.timezones import country_of_zone, words_for_ref


@dataclass(frozen=True)
class Command:
    """A slash command such as ``/reframe`` (name without the slash, lower-cased) and any text after it."""

    name: str
    argument: str | None = None


@dataclass(frozen=True)
class Text:
    """Typed text that is not a command."""

    text: str


@dataclass(frozen=True)
class ButtonPress:
    """A tapped button with the value and state sequence it carried."""

    value: str
    seq: int | None


@dataclass(frozen=True)
class NotText:
    """A sticker, photo, voice note or anything else that is not text (with its caption, if any)."""

    kind: str
    caption: str | None = None


@dataclass(frozen=True)
class Resume:
    """The person is back (the terminal chat starting again): show where they were, if anywhere."""


@dataclass(frozen=True)
class Edited:
    """A message the person changed after sending it: screened for safety, never taken as a new answer."""

    text: str


@dataclass(frozen=True)
class Location:
    """A shared location (used only to find a timezone for check-ins, never stored)."""

    latitude: float
    longitude: float


Incoming = Command | Text | ButtonPress | NotText | Resume | Location | Edited

log = logging.getLogger(__name__)

Reply = Say | Stale | SendFile | Erased
Out = Effect | SendFile | Erased

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
ONBOARD_OK = "__hello"
STORY_YES = "story:yes"
STORY_NO = "story:no"
RESUME = "__resume"
"""The button that picks up a flow set aside (as /resume does)."""
MENU_LIFETIME = timedelta(hours=12)
"""How long typed text is still read against the bot's buttons last shown (a menu, a confirmation)."""
WORDS_LIFETIME = timedelta(hours=24)
"""How long words kept for a flow's first question (a newcomer's first message, a setback offered) last."""
MENU_SENTENCE_WORDS = 6
"""A longer message to a menu is read only as a whole (label, number), never for a word inside it."""
_SURROGATE = re.compile("[\ud800-\udfff]")


CONTINUE_WORDS = frozenset({"1", "continue", "go on", "carry on", "lets continue", "resume"})
STOP_WORDS = frozenset({"2", "stop", "stop for now", "not now", "pause"})


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
        word = _normal_word(incoming.text)
        if word in first[1]:
            return first[0]
        if word in second[1] or (openings and word.startswith(openings)):
            return second[0]
    return None


def _crisis_choice(incoming: Incoming) -> str | None:
    """SOS_CONTINUE or SOS_STOP when the person chose one after a crisis reply; else None."""
    return _two_way_choice(incoming, (SOS_CONTINUE, CONTINUE_WORDS), (SOS_STOP, STOP_WORDS))


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


def _written(incoming: Incoming) -> str | None:
    """The text a person wrote in this message, wherever it sits (typed, caption, after a command, edited)."""
    if isinstance(incoming, Text | Edited):
        return incoming.text
    if isinstance(incoming, NotText):
        return incoming.caption
    if isinstance(incoming, Command):
        # The command's own name too: "/kms" or "/wanttodie" is text a person wrote.
        return f"/{incoming.name} {incoming.argument or ''}".strip()
    return None


def _safety_choice(incoming: Incoming) -> str | None:
    """SAFE_YES or SAFE_NO when the person answered the safety question, by button or in words."""
    return _two_way_choice(incoming, (SAFE_YES, SAFETY_YES_WORDS), (SAFE_NO, SAFETY_NO_WORDS), "no ", "nope ", "nah ")


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


def _normal_word(text: str) -> str:
    return " ".join("".join(ch for ch in text.casefold() if ch.isalnum() or ch.isspace()).split())


OutboxWriter = Callable[[list[Reply], bool], tuple[int, list[str]]]
NudgeWriter = Callable[[str, list[Reply]], tuple[int, list[str]] | None]
"""Turns a nudge's replies for a person (by external id) into a chat id and outbox payloads (None: nowhere)."""
"""Turns replies (and whether the flow moved on) into a chat id and outbox payloads, inside the transaction."""


@dataclass(frozen=True)
class Handled:
    """The outcome of one handled message: replies, whether it was a duplicate, whether the flow moved on."""

    replies: list[Reply]
    duplicate: bool
    moved: bool
    outbox_ids: list[int]


@dataclass
class Menu:
    """The bot's own buttons a person was last shown (a menu or a confirmation, not a flow question), kept so
    typing a button's label, its number or a word of it does what a tap would."""

    rows: list[list[tuple[str, str]]]
    """Each row's buttons as (value, label)."""
    at: datetime

    @property
    def options(self) -> list[tuple[str, str]]:
        """Every button, row by row, as (value, label): the order the terminal numbers them in."""
        return [button for row in self.rows for button in row]

    def has(self, value: str) -> bool:
        """True when one of the buttons carries ``value``."""
        return any(shown == value for shown, _ in self.options)


@dataclass
class Awaiting:
    """What a person's next typed message is read against outside a flow, stored as JSON on the person.

    ``menu``: the buttons last shown. ``words``: what they wrote that a flow's first question will take (a
    newcomer's first message, kept until they confirm; a setback the bot offered to work through).
    """

    menu: Menu | None = None
    words: str | None = None
    words_at: datetime | None = None
    editing: tuple[int, str] | None = None
    """An entry's part (run id, ``lesson`` or ``next_step``) whose new words the next typed message is (/edit)."""

    @classmethod
    def load(cls, stored: str | None, now: datetime) -> Awaiting:
        """The stored JSON read back, without the parts that are too old to count (anything unreadable: empty)."""
        if not stored:
            return cls()
        try:
            data = json.loads(stored)
            menu = None
            if isinstance(data.get("menu"), dict):
                at = datetime.fromisoformat(data["menu"]["at"])
                rows = [[(str(value), str(label)) for value, label in row] for row in data["menu"]["rows"]]
                menu = Menu(rows, at) if now - at <= MENU_LIFETIME else None
            words, words_at = data.get("words"), data.get("words_at")
            kept_at = datetime.fromisoformat(words_at) if isinstance(words, str) and words_at else None
            edit = data.get("editing")
            # Only while the question asking for the new words is on screen (its menu is still fresh).
            editing = (int(edit[0]), str(edit[1])) if isinstance(edit, list) and menu is not None else None
            if kept_at is None or now - kept_at > WORDS_LIFETIME:
                return cls(menu, editing=editing)
            return cls(menu, words, kept_at, editing)
        except (ValueError, KeyError, TypeError, AttributeError):
            return cls()

    def dump(self) -> str | None:
        """The JSON to store, or None when nothing is awaited."""
        data: dict[str, Any] = {}
        if self.menu is not None:
            data["menu"] = {"at": self.menu.at.isoformat(), "rows": self.menu.rows}
        if self.words is not None and self.words_at is not None:
            data["words"], data["words_at"] = self.words, self.words_at.isoformat()
        if self.editing is not None:
            data["editing"] = list(self.editing)
        return json.dumps(data, ensure_ascii=False) if data else None

    def keep(self, words: str, now: datetime) -> None:
        """Keep ``words`` for the first question of a flow about to be offered."""
        self.words, self.words_at = words.strip(), now

    def take(self) -> str | None:
        """The kept words, which are then no longer kept."""
        words, self.words, self.words_at = self.words, None, None
        return words


def _kept_words(stored: str | None) -> str | None:
    """The words in a stored ``Awaiting`` (expired or not), to tell when they stop being kept."""
    try:
        words = json.loads(stored).get("words") if stored else None
    except (ValueError, AttributeError):
        return None
    return words if isinstance(words, str) else None


def _is_menu_value(value: str) -> bool:
    """True for the values of the bot's own buttons outside flow questions (typed text is read against them)."""
    return is_history_button(value) or is_checkin_button(value) or value in {ONBOARD_OK, STORY_YES, STORY_NO, RESUME}


_OFFER_VALUES = frozenset({f"{PREFIX}offer:yes", f"{PREFIX}offer:no", STORY_YES, STORY_NO})
"""An offer's buttons: typed, only a whole yes or no takes or declines it."""
_QUESTION_VALUES = (FORGET_YES, FORGET_NO, f"{LESSONS}:sure:", f"{LESSONS}:keep:")


def _asks(menu: Menu) -> bool:
    """True when the menu's buttons answer a question that waits for them (delete everything? this entry?).

    A menu to look around in (the /lessons pages, the /checkin card) asks nothing; an offer (daily
    check-ins, working through what was just written) is declined by writing about something else; what
    /checkin asks (a time, a timezone) reads typed text itself and says what it could not read.
    """
    return any(value.startswith(_QUESTION_VALUES) for value, _ in menu.options)


def _is_destructive(value: str) -> bool:
    """True for a button that deletes (everything, or one entry): typed, only an unambiguous yes presses it."""
    return value == FORGET_YES or value.startswith(f"{LESSONS}:sure:")


def _readable(incoming: Incoming) -> Incoming:
    """``incoming`` with lone surrogates (halves of a character, which no database or JSON can store) turned
    into the replacement character; a pair of halves becomes the character it spells."""

    def fix(text: str) -> str:
        if not _SURROGATE.search(text):
            return text
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")

    if isinstance(incoming, Text):
        return Text(fix(incoming.text))
    if isinstance(incoming, Edited):
        return Edited(fix(incoming.text))
    if isinstance(incoming, NotText) and incoming.caption is not None:
        return NotText(incoming.kind, fix(incoming.caption))
    if isinstance(incoming, Command):
        return Command(fix(incoming.name), None if incoming.argument is None else fix(incoming.argument))
    return incoming


def _one_message(says: Sequence[Say]) -> Say:
    """Several things to say as one message: their texts in order, the last one's buttons and question."""
    last = says[-1]
    html = "\n\n".join(say.html.strip() for say in says if say.html.strip())
    return replace(last, html=html)


_FLOW_COMMANDS = frozenset({"back", "skip", "cancel", "start", "resume", "sos"})
"""Commands about the flow in progress: after a day away they still act on it (it is not set aside first)."""


class Conversations:
    """Runs flows for many people on one repository; ``handle`` is safe to call for one user at a time."""

    def __init__(
        self,
        catalog: Catalog,
        repository: Storage,
        clock: Callable[[], datetime],
        zone: ZoneInfo,
        helpline_country: str = "US",
        here: str | None = None,
    ) -> None:
        """``here``: the timezone of the computer the person sits at, offered when asking for theirs (the
        terminal chat); None on Telegram, where the bot's machine says nothing about the person."""
        self.catalog = catalog
        self.repository = repository
        self._clock = clock
        self.zone = zone
        """The bot's default timezone (a person's own, once they set one, wins)."""
        self.helpline_country = helpline_country
        self.here = here
        self.heavy_waiting = asyncio.Event()
        """Set when an export or a chart was requested: the adapter's builder wakes up for it."""

    @property
    def texts(self) -> Any:
        """The bot's own texts."""
        return self.catalog.texts

    async def handle(self, external_id: str, incoming: Incoming) -> list[Reply]:
        """Apply one incoming message for one person and return what to show them.

        Everything it changes (user, position in the flow, completed run) commits in one transaction.
        """
        return (await self.handle_update(external_id, incoming)).replies

    async def handle_update(
        self,
        external_id: str,
        incoming: Incoming,
        *,
        update_id: int | None = None,
        outbox: OutboxWriter | None = None,
        locale: str | None = None,
    ) -> Handled:
        """Like ``handle``, for adapters that need delivery guarantees.

        With ``update_id`` the update is applied at most once (a repeat returns ``duplicate``). With
        ``outbox`` the replies are turned into outbox rows in the same transaction as the state change,
        so they can be sent after the commit and re-sent after a crash. ``locale`` is the language the
        person's app uses (e.g. ``pt-br``): without a timezone of theirs it picks whose helplines come first.
        """
        now = self._clock()
        async with self.repository.transaction() as tx:
            if update_id is not None and not await tx.claim_update(update_id, now):
                return Handled([], duplicate=True, moved=False, outbox_ids=[])
            turn = Turn(self, tx)
            replies, moved = await turn.handle(external_id, _readable(incoming), now, locale)
            outbox_ids: list[int] = []
            if outbox is not None:
                chat_id, payloads = outbox(replies, moved)
                if any(isinstance(reply, Erased) for reply in replies):
                    await tx.forget_chat(chat_id)  # what delivery kept for them goes too
                outbox_ids = await tx.enqueue_replies(chat_id, payloads, now)
        if turn.heavy_requested:
            self.heavy_waiting.set()  # after the commit, so whoever wakes up can read the request
        return Handled(replies, duplicate=False, moved=moved, outbox_ids=outbox_ids)

    # --- heavy requests: exports and charts, built off the event loop -------------------------------------

    async def heavy_requests(self) -> list[HeavyRequest]:
        """Exports and charts waiting to be built, oldest first (read without taking the write lock)."""
        async with self.repository.snapshot() as view:
            return await view.heavy_requests()

    async def build_heavy(self, request: HeavyRequest, scratch: Path) -> list[Reply]:
        """Build one waiting request from a read-only snapshot; CPU-bound parts run in a worker thread.

        Export files are written into ``scratch`` and handed over as paths. A failure is logged and turned
        into a kind word (an export) or nothing (a chart); either way ``finish_heavy`` ends the request.
        """
        now = self._clock()
        try:
            async with self.repository.snapshot() as view:
                row = await view.checkin(request.user_id)
                zone = row.settings.zone if row is not None else self.zone
                history = History(view, self.catalog.texts, self.zone)
                return [*await history.build(view, request, now, zone, scratch)]
        except Exception:
            log.exception("building the %s for user %s failed", request.kind, request.user_id)
            return self.heavy_failed(request)

    def heavy_failed(self, request: HeavyRequest) -> list[Reply]:
        """What to tell the person when their request could not be built (nothing they wrote is lost)."""
        return [*History.failed_for(self.catalog.texts, request)]

    async def finish_heavy(self, request: HeavyRequest, delivery: tuple[int, list[str]] | None = None) -> bool:
        """Take ``request`` off the queue and commit ``delivery`` (a chat and its outbox payloads) with it.

        False when the request is gone (the person used /forget meanwhile): then nothing may be sent.
        """
        now = self._clock()
        async with self.repository.transaction() as repository:
            if not await repository.take_heavy(request.id):
                return False
            if delivery is not None:
                await repository.enqueue_replies(*delivery, now)
        return True

    async def build_now(self, external_id: str, scratch: Path) -> list[Reply]:
        """Build every request waiting for one person, one after the other, and return what to show them.

        For adapters where the person sits waiting at the other end (the terminal); Telegram's builder runs
        in the background instead, a few at a time.
        """
        replies: list[Reply] = []
        for request in await self.heavy_requests():
            if request.external_id == external_id:
                built = await self.build_heavy(request, scratch)
                if await self.finish_heavy(request):
                    replies.extend(built)
        return replies

    async def run_checkins(
        self, outbox: NudgeWriter | None = None, whose: Callable[[str], bool] = lambda _: True
    ) -> list[tuple[str, list[Reply]]]:
        """Send every check-in that is due now: one transaction per person, at most one nudge per local date.

        Only people ``whose`` external id it accepts are handled (Telegram takes ``tg:`` people, the terminal
        chat its own person). Returns who got what (external id, replies); with ``outbox`` the replies are
        also committed as outbox rows in the same transaction as the schedule change.
        """
        return [sent async for batch in self.checkin_batches(outbox, whose) for sent in batch]

    async def checkin_batches(
        self, outbox: NudgeWriter | None = None, whose: Callable[[str], bool] = lambda _: True, size: int = 100
    ) -> AsyncIterator[list[tuple[str, list[Reply]]]]:
        """Like ``run_checkins``, a batch of up to ``size`` people at a time, until no one due is left: the
        adapter can start sending one batch while the next is committed (2,000 due at once are not a wall)."""
        now = self._clock()
        after: tuple[str, int] | None = None
        while True:
            async with self.repository.snapshot() as view:
                due = await view.due_checkins(now, size, after)
            if not due:
                return
            sent: list[tuple[str, list[Reply]]] = []
            for user_id, external_id, _ in due:
                if not whose(external_id):
                    continue  # someone this adapter cannot reach: left for the adapter that can
                try:
                    replies = await self._nudge_in_transaction(user_id, external_id, now, outbox)
                except Exception:  # one person's broken schedule must not stop everyone after them
                    log.exception("check-in for user %s failed; skipping it this time", user_id)
                    continue
                if replies:
                    sent.append((external_id, replies))
            yield sent
            if len(due) < size:
                return
            after = (due[-1][2], due[-1][0])

    async def _nudge_in_transaction(
        self, user_id: int, external_id: str, now: datetime, outbox: NudgeWriter | None
    ) -> list[Reply]:
        async with self.repository.transaction() as tx:
            replies = await Turn(self, tx).nudge(user_id, external_id, now)
            if replies and outbox is not None:
                target = outbox(external_id, replies)
                if target is not None:
                    chat_id, payloads = target
                    await tx.enqueue_replies(chat_id, payloads, now)
        return replies


Outcome = tuple[State | None, Sequence[Out]]
"""What a stage decides: the person's flow state afterwards, and what to show or do."""


@dataclass
class _At:
    """Where one message stands as it passes the stages (a stage may un-pause the flow or read a caption as
    text for the stages after it)."""

    user: User
    state: State | None
    flow: Flow | None
    incoming: Incoming
    now: datetime
    screened: bool
    awaiting: Awaiting


PRECEDENCE: tuple[tuple[str, str], ...] = (
    ("safety", "screen"),  # the crisis screen sees every piece of text first; /sos always answers
    ("flows", "flow_removed"),  # a flow whose file was removed cannot go on
    ("safety", "edited"),  # an edited message is only screened, never taken as an answer
    ("safety", "held"),  # the answer to "are you safe?" (and the message kept meanwhile)
    ("safety", "crisis_pause"),  # a flow paused by a crisis reply waits for a clear "continue"
    ("flows", "caption"),  # a caption is read as typed text from here on
    ("flows", "left_behind"),  # an expired check-in question, a flow set aside after a day
    ("onboarding", "onboarding"),  # nothing else until the person has read what the bot is and is not
    ("buttons", "buttons"),  # the bot's own buttons, to the feature owning their prefix
    ("checkins", "location"),  # a shared location sets the check-in timezone
    ("menus", "typed"),  # typed text read as a button last shown, an /edit's new words, a time or place
    ("flows", "back_again"),  # the terminal chat starting again: the question on screen, again
    ("commands", "commands"),  # /commands, to the feature owning each
    ("flows", "flow"),  # everything else: the flow's answer, or an offer to start one
)
"""The order in which the parts of the bot get to answer one message, first to last: (owner, stage). A
stage answers or passes the message on; the last one always answers. Safety is first, always."""


class Turn:
    """One update (or one check-in) for one person, inside one transaction.

    Every read and write goes to ``tx``, the transaction it was given: what one update changes commits
    together. The order in which the parts of the bot get to answer is ``_dispatch``'s.
    """

    def __init__(self, service: Conversations, tx: ConversationStore) -> None:
        self.tx = tx
        self.catalog = service.catalog
        self._zone = service.zone
        self._country = service.helpline_country
        self._history = History(tx, service.catalog.texts, service.zone)
        self._checkins = CheckinMenu(tx, service.catalog.texts, service.zone.key, service.here)

    @property
    def texts(self) -> Any:
        """The bot's own texts."""
        return self.catalog.texts

    @property
    def heavy_requested(self) -> bool:
        """True when this turn asked for an export or a chart (the builder is woken after the commit)."""
        return self._history.take_requested()

    async def handle(
        self, external_id: str, incoming: Incoming, now: datetime, locale: str | None
    ) -> tuple[list[Reply], bool]:
        """Apply one incoming message and store what it changed: the position in a flow, completed runs (and
        what they leave for later), the check-in schedule, what the next typed message is read against.

        Returns the replies and whether the question on screen was answered (the flow went on, ended, or
        began).
        """
        tx = self.tx
        user = replace(await tx.user(external_id, now), locale=locale)
        state = await tx.active_state(user.id)
        awaiting = Awaiting.load(user.awaiting, now)
        new_state, effects = await self._dispatch(user, state, incoming, now, awaiting=awaiting)
        if new_state is not state:
            await tx.save_state(user.id, new_state, now)
        after: list[Say] = []
        for effect in effects:
            if isinstance(effect, Finished):
                run_id = await tx.save_run(user.id, effect.run)
                after.extend(await self._after_run(user, run_id, effect.run, now))
        effects = [*effects, *after]
        if user.onboarded and not isinstance(incoming, Resume):
            moved_on = isinstance(incoming, Command) and incoming.name != "checkin"
            moved_on |= isinstance(incoming, ButtonPress) and not is_checkin_button(incoming.value)
            await self._checkins.message_received(user, now, moved_on)
        replies = [effect for effect in effects if isinstance(effect, Say | Stale | SendFile | Erased)]
        if not any(isinstance(reply, Erased) for reply in replies):
            self._note_menu(user, awaiting, replies, now)
            if awaiting.dump() != user.awaiting:
                removed = _kept_words(user.awaiting) not in {None, awaiting.words}
                await tx.keep_awaiting(user.id, awaiting.dump(), words_removed=removed)
        moved = (state is None and new_state is not None) or (
            state is not None and (new_state is None or new_state.seq != state.seq)
        )
        return replies, moved

    async def _dispatch(
        self,
        user: User,
        state: State | None,
        incoming: Incoming,
        now: datetime,
        screened: bool = False,
        *,
        awaiting: Awaiting,
    ) -> tuple[State | None, Sequence[Out]]:
        """Ask each stage of ``PRECEDENCE`` in order; the first that answers decides the outcome."""
        flow = self.catalog.flows.get(state.flow_id) if state else None
        at = _At(user, state, flow, incoming, now, screened, awaiting)
        for _owner, stage in PRECEDENCE:
            outcome = await getattr(self, f"_stage_{stage}")(at)
            if outcome is not None:
                return outcome  # type: ignore[no-any-return]
        raise AssertionError("the last stage answers everything")  # pragma: no cover

    async def _stage_screen(self, at: _At) -> Outcome | None:
        # Safety first: the crisis screen sees every piece of text (typed, a command and what follows it,
        # edited, a caption) before anything else does. Clear risk: the crisis reply, and a flow in progress
        # pauses (its state is left exactly as it was). Possible risk: one gentle question first, the message
        # kept. /sos always gets the helplines, whatever the screen says.
        user, state, incoming = at.user, at.state, at.incoming
        written = _written(incoming)
        found = self.catalog.safety.assess(written) if written and not at.screened else None
        if isinstance(incoming, Command) and incoming.name == "sos":
            await self._hold(user, None)
            return _paused(state), [await self._crisis(user, state, found if found and found.flagged else None)]
        if found is not None and found.level is Level.CLEAR:
            await self._hold(user, None)
            return _paused(state), [await self._crisis(user, state, found)]
        if found is not None and found.level is Level.POSSIBLE:
            await self._hold(user, incoming, at.now, found, state)
            return state, [self._safety_question(self.texts.safety_question, state)]
        return None

    async def _stage_flow_removed(self, at: _At) -> Outcome | None:
        if at.state is not None and at.flow is None:
            # The flow file was removed: nothing can continue it. Say so instead of failing forever.
            return None, [self._say(self.texts.flow_removed)]
        return None

    async def _stage_edited(self, at: _At) -> Outcome | None:
        if isinstance(at.incoming, Edited):
            return at.state, []  # an edit changes no answer already given; it is only screened
        return None

    async def _stage_held(self, at: _At) -> Outcome | None:
        user, state, flow, incoming, now = at.user, at.state, at.flow, at.incoming, at.now
        held = self._held(user, now)
        if held is None and user.safety_hold is not None:
            await self._hold(user, None)  # too old to answer now: let it go (and off the disk)
        if held is not None:
            held_incoming, held_found, asked_at = held
            choice = _safety_choice(incoming)
            if choice is not None or not isinstance(incoming, Text | NotText):
                await self._hold(user, None)
            if choice == SAFE_YES:
                return _paused(state), [await self._crisis(user, state, held_found)]
            if choice == SAFE_NO:
                where = (state.flow_id, state.seq) if state is not None else None
                if isinstance(held_incoming, Edited) or where != asked_at:
                    # Nothing to apply: an edit changes no answer, and a held answer is only taken for the
                    # question it was written for (a check-in or another flow may have started since).
                    if state is None or flow is None or state.paused:
                        return state, []
                    return state, [engine.current_question(flow, state, self.texts)]
                # The held message is taken as what it was meant to be, and is not asked about again.
                calm = replace(user, safety_hold=None)
                return await self._dispatch(calm, state, held_incoming, now, screened=True, awaiting=at.awaiting)
            if choice is None and isinstance(incoming, Text | NotText):
                return state, [self._safety_question(self.texts.safety_question_again, state)]
        elif isinstance(incoming, ButtonPress) and incoming.value in {SAFE_YES, SAFE_NO}:
            return state, [Stale()]
        return None

    async def _stage_crisis_pause(self, at: _At) -> Outcome | None:
        state, flow, incoming = at.state, at.flow, at.incoming
        if state is not None and flow is not None and state.paused:
            # After a crisis reply the flow waits for a clear "continue": typed words are never taken as
            # the next answer. A command or a tap on the question is a clear choice too.
            choice = _crisis_choice(incoming)
            if choice == SOS_STOP:
                return state, [self._say(self.texts.crisis_stopped)]
            if choice == SOS_CONTINUE:
                resumed = replace(state, paused=False)
                return resumed, [engine.current_question(flow, resumed, self.texts)]
            if isinstance(incoming, Text | NotText):
                return state, [self._crisis_buttons(self._say(self.texts.crisis_paused), state)]
            at.state = replace(state, paused=False)
        elif isinstance(incoming, ButtonPress) and incoming.value in {SOS_CONTINUE, SOS_STOP}:
            if state is None or flow is None:
                return state, [self._say(self.texts.no_active_flow)]
            if incoming.value == SOS_STOP:
                return state, [self._say(self.texts.crisis_stopped)]
            return state, [engine.current_question(flow, state, self.texts)]
        return None

    async def _stage_caption(self, at: _At) -> Outcome | None:
        incoming = at.incoming
        if isinstance(incoming, NotText) and incoming.caption and incoming.caption.strip():
            # A photo or a document with a caption: the caption is what they wrote, and answers like typed text.
            at.incoming = Text(incoming.caption)
        return None

    async def _stage_left_behind(self, at: _At) -> Outcome | None:
        if at.state is not None and at.flow is not None:
            left = await self._left_behind(at.user, at.state, at.flow, at.incoming, at.now)
            if left is not None:  # an expired check-in, or a flow set aside after a day: read this afresh
                fresh, said = await self._dispatch(
                    at.user, None, at.incoming, at.now, screened=True, awaiting=at.awaiting
                )
                return fresh, [*left, *said]
        return None

    async def _stage_onboarding(self, at: _At) -> Outcome | None:
        if not at.user.onboarded:
            return await self._onboarding(at.user, at.incoming, at.now, at.awaiting)
        return None

    async def _stage_buttons(self, at: _At) -> Outcome | None:
        """A tap on one of the bot's own buttons outside a flow question goes to the feature that owns it."""
        user, state, flow, incoming, now = at.user, at.state, at.flow, at.incoming, at.now
        if not isinstance(incoming, ButtonPress):
            return None
        value = incoming.value
        if value == RESUME:
            return await self._resume(user, state, flow, now)
        if is_history_button(value):
            at.awaiting.editing = edit_started(value)  # "the lesson": the next message is its new words
            return state, [*await self._history.button(user, value, now, await self._zone_of(user))]
        if is_checkin_button(value):
            return await self._checkin_button(user, state, value, now)
        if value in {STORY_YES, STORY_NO}:
            return await self._story_answer(state, flow, value, now, at.awaiting)
        return None

    async def _stage_location(self, at: _At) -> Outcome | None:
        state, flow, incoming = at.state, at.flow, at.incoming
        if isinstance(incoming, Location):
            said = await self._checkins.location(at.user, incoming.latitude, incoming.longitude, at.now)
            again = [engine.current_question(flow, state, self.texts)] if state and flow and not state.paused else []
            return state, [*said, *again]
        return None

    async def _stage_typed(self, at: _At) -> Outcome | None:
        if isinstance(at.incoming, Text):
            return await self._typed(at.user, at.state, at.flow, at.incoming.text, at.now, at.awaiting)
        return None

    async def _stage_back_again(self, at: _At) -> Outcome | None:
        state, flow = at.state, at.flow
        if isinstance(at.incoming, Resume):
            if state is None or flow is None:
                return state, []
            return self._step(flow, state, engine.Repeat(), at.now, lead=self.texts.welcome_back)
        return None

    async def _stage_commands(self, at: _At) -> Outcome | None:
        incoming = at.incoming
        if isinstance(incoming, Command):
            return await self._command(at.user, at.state, at.flow, incoming.name, at.now, incoming.argument)
        return None

    async def _stage_flow(self, at: _At) -> Outcome | None:
        state, flow, incoming, now = at.state, at.flow, at.incoming, at.now
        if state is None or flow is None:
            if isinstance(incoming, ButtonPress):
                return state, [Stale()]
            if isinstance(incoming, NotText):
                return state, [self._say(self.texts.text_only)]
            if isinstance(incoming, Text) and self._offers_story(incoming.text):
                # Free text is welcome: something that went wrong is offered as the start of a flow.
                at.awaiting.keep(incoming.text, now)
                return state, [self._story_offer()]
            return state, [self._say(self.texts.no_active_flow)]
        if isinstance(incoming, Text):
            later = self._checkin_later(flow, state, incoming.text)
            if later is not None:
                return await self._checkin_button(at.user, state, later, now)
            return engine.advance(flow, state, engine.Answer(incoming.text), now, self.texts)
        if isinstance(incoming, ButtonPress):
            return engine.advance(flow, state, engine.Press(incoming.value, incoming.seq), now, self.texts)
        return self._step(flow, state, engine.Repeat(), now, lead=self.texts.text_only)

    async def _onboarding(
        self, user: User, incoming: Incoming, now: datetime, awaiting: Awaiting
    ) -> tuple[State | None, list[Effect]]:
        """Before a first flow, a person reads what the bot is and is not, and confirms (a tap, or typed).

        What they wrote meanwhile about what happened is kept, and answers the flow's first question once
        they confirm. The card comes once; until they confirm, later messages get a short reminder.
        """
        texts = self.texts
        # Typed, only while the card's button is on screen, and only a whole confirmation ("I failed, I
        # understand nothing" is not one): never onboarded without having been shown what the bot is not.
        on_screen = awaiting.menu is not None and awaiting.menu.has(ONBOARD_OK)
        confirmed = (isinstance(incoming, ButtonPress) and incoming.value == ONBOARD_OK) or (
            isinstance(incoming, Text) and on_screen and isinstance(self._read_confirmation(incoming.text), Picked)
        )
        if confirmed:
            await self.tx.mark_onboarded(user.id, now)
            awaiting.menu = None
            words = awaiting.take()
            pending = self.catalog.flows.get(user.pending_flow or "")
            if pending is None and words:
                pending = self._story_flow()
            if pending is not None:
                return self._start_with(pending, now, words)
            return None, [self._say(texts.onboarding_done), *await self._checkins.offer_once(user)]
        if isinstance(incoming, ButtonPress):
            return None, [Stale()]
        if isinstance(incoming, Command):
            if incoming.name == "help":
                return None, [self._say(texts.help)]
            requested = self.catalog.by_command(incoming.name)
            if requested is not None:
                await self.tx.remember_pending_flow(user.id, requested.id)
                if incoming.argument and awaiting.words is None:
                    awaiting.keep(incoming.argument, now)  # "/reframe I failed again": for its first question
        if isinstance(incoming, Text) and awaiting.words is None and reads_like_setback(incoming.text, self._words):
            awaiting.keep(incoming.text, now)
        shown = awaiting.menu is not None and awaiting.menu.has(ONBOARD_OK)
        if shown and not (isinstance(incoming, Command) and incoming.name == "start"):
            return None, [self._onboarding_reminder(kept=awaiting.words is not None)]
        return None, [self._onboarding_card(kept=awaiting.words is not None)]

    def _read_confirmation(self, text: str) -> Reading:
        """Typed text at the onboarding card: the whole reply is its button's label, its number, a yes or
        "i understand" (nothing read inside a sentence, no typo)."""
        label = render(self.texts.onboarding_button, {})
        also = word_list(self.texts.words_yes) + word_list(self.texts.words_begin)
        return read_choice(text, [Choice(ONBOARD_OK, label, also, value_typed=False)], self._words, mode=Mode.STRICT)

    def _onboarding_card(self, kept: bool = False) -> Say:
        card = self._say(self.texts.welcome)
        html = card.html + ("\n\n" + render(self.texts.onboarding_kept, {}) if kept else "")
        button = Button(render(self.texts.onboarding_button, {}), ONBOARD_OK)
        return Say(html, ((button,),), seq=0)

    def _onboarding_reminder(self, kept: bool) -> Say:
        label = render(self.texts.onboarding_button, {})
        html = render(self.texts.onboarding_reminder, {"button": label, "kept": kept})
        return Say(html, ((Button(label, ONBOARD_OK),),), seq=0)

    # --- reading typed text outside a flow's own question ----------------------------------------------

    @property
    def _words(self) -> Words:
        return words_of(self.texts)

    async def _typed(
        self, user: User, state: State | None, flow: Flow | None, text: str, now: datetime, awaiting: Awaiting
    ) -> tuple[State | None, Sequence[Out]] | None:
        """Typed text read against the bot's buttons last shown, or as the time or timezone /checkin asked
        for. None when it is neither (a flow's answer, or free text)."""
        menu = awaiting.menu
        in_flow = state is not None and flow is not None
        if awaiting.editing is not None and not in_flow:
            return state, await self._correction(user, text, now, awaiting)
        reading: Reading = NoMatch()
        if menu is not None and not reads_like_setback(text, self._words):
            # A setback is never a button press ("ok so I failed my exam" is not a yes): it is read as what it is.
            reading = self._read_menu(menu, text, in_flow)
            if isinstance(reading, Picked):
                press = ButtonPress(reading.values[0], None)
                return await self._dispatch(user, state, press, now, screened=True, awaiting=awaiting)
        setting = await self._checkins.typed(user, text, now)
        if setting is not None:
            return state, setting
        if menu is not None and _asks(menu) and not in_flow and not reads_like_setback(text, self._words):
            # A question waits: never the idle menu as if the answer had landed; say which buttons answer it.
            # (After a menu that asks nothing, or an offer, other words are read as what they are.)
            return state, [self._menu_hint(menu)]
        return None

    async def _correction(self, user: User, text: str, now: datetime, awaiting: Awaiting) -> list[Out]:
        """Typed after /edit asked for an entry's new words: those words (or, as the whole reply, keeping it)."""
        assert awaiting.editing is not None
        run_id, part = awaiting.editing
        awaiting.editing = None
        keep = Choice(
            f"{EDIT}:keep:{run_id}",
            render(self.texts.edit_keep_button, {}),
            word_list(self.texts.words_keep),
            value_typed=False,
        )
        if isinstance(read_choice(text, [keep], self._words, mode=Mode.WHOLE), Picked):
            return [self._say(self.texts.edit_kept)]
        said = await self._history.correct(user, run_id, part, text, now)
        if any(isinstance(reply, Say) and reply.buttons for reply in said):
            awaiting.editing = (run_id, part)  # too long: the same question again, still waiting for the words
        return [*said]

    def _read_menu(self, menu: Menu, text: str, in_flow: bool) -> Reading:
        """Which of the menu's buttons ``text`` names. Deleting needs an unambiguous yes, and an offer (daily
        check-ins, working through what was written) a whole yes or no ("I'm fine, just tired" is no yes).
        While a flow waits for an answer, only a whole label in words counts (a number or a word there is the
        flow's answer). At the list of times nothing does: a typed time is read as a time ("8" is 08:00)."""
        if all(value.startswith(f"{PREFIX}at:") for value, _ in menu.options):
            return NoMatch()
        choices = [
            Choice(value, label, self._menu_words(value, label), value_typed=False) for value, label in menu.options
        ]
        destructive = any(_is_destructive(value) for value, _ in menu.options)
        if destructive or any(value in _OFFER_VALUES for value, _ in menu.options):
            return read_choice(text, choices, self._words, mode=Mode.STRICT, numbers=not in_flow)
        if in_flow:
            return read_choice(text, choices, self._words, mode=Mode.WHOLE)
        return read_choice(text, choices, self._words, sentence_limit=MENU_SENTENCE_WORDS)

    def _menu_words(self, value: str, label: str) -> tuple[str, ...]:
        """Other words that mean this button of the bot's own (from texts/words.yaml)."""
        texts = self.texts
        lists = {
            FORGET_YES: texts.words_clear_yes,
            FORGET_NO: texts.words_keep,
            STORY_YES: texts.words_yes,
            STORY_NO: texts.words_no,
            f"{PREFIX}offer:yes": texts.words_yes,
            f"{PREFIX}offer:no": texts.words_no,
            f"{PREFIX}on": texts.words_turn_on,
            f"{PREFIX}off": texts.words_turn_off,
            f"{PREFIX}tz": texts.words_timezone,
            f"{PREFIX}snooze": texts.words_later,
            f"{PREFIX}skip": texts.words_skip_today,
            RESUME: texts.words_resume,
        }
        if value in lists:
            return word_list(lists[value])
        if value.startswith(f"{PREFIX}zone:"):  # one of several places: "the uk one", "new hampshire"
            return words_for_ref(value.removeprefix(f"{PREFIX}zone:"))
        if value.startswith(f"{LESSONS}:sure:"):
            return word_list(texts.words_clear_yes)
        if value.startswith(f"{LESSONS}:keep:"):
            return word_list(texts.words_keep)
        if value.startswith(f"{EDIT}:keep:"):
            return word_list(texts.words_keep)
        if label == render(texts.lessons_next_button, {}):
            return word_list(texts.words_next_page)
        if label == render(texts.lessons_previous_button, {}):
            return word_list(texts.words_previous_page)
        return ()

    def _menu_hint(self, menu: Menu) -> Say:
        """The menu again, with a hint naming its buttons (and, before deleting, what would delete)."""
        confirm = next((label for value, label in menu.options if _is_destructive(value)), "")
        html = render(self.texts.hint_menu, {"options": [label for _, label in menu.options], "confirm": confirm})
        buttons = tuple(tuple(Button(label, value) for value, label in row) for row in menu.rows)
        return Say(html, buttons, seq=0)

    def _note_menu(self, user: User, awaiting: Awaiting, replies: Sequence[Reply], now: datetime) -> None:
        """Remember the bot's own buttons when they are the last ones shown; anything else said replaces them.

        A stale tap or an edit says nothing new, so what is on screen stays as it was.
        """
        if not any(isinstance(reply, Say | SendFile) for reply in replies):
            return
        with_buttons = [reply for reply in replies if isinstance(reply, Say) and reply.buttons]
        last = with_buttons[-1] if with_buttons else None
        if (
            last is not None
            and last.step_id is None
            and all(_is_menu_value(b.value) for row in last.buttons for b in row)
        ):
            awaiting.menu = Menu([[(button.value, button.label) for button in row] for row in last.buttons], now)
        else:
            awaiting.menu = None
        if user.onboarded and not (awaiting.menu is not None and awaiting.menu.has(STORY_YES)):
            awaiting.take()  # words kept for an offer that is no longer on screen
        if awaiting.menu is None or not any(value.startswith(f"{EDIT}:keep:") for value, _ in awaiting.menu.options):
            awaiting.editing = None  # the question asking for an entry's new words is no longer on screen

    async def _checkin_button(
        self, user: User, state: State | None, value: str, now: datetime
    ) -> tuple[State | None, Sequence[Out]]:
        """A check-in button pressed (or typed). Snooze and skip put the check-in question away themselves,
        so the state is read back: the one in hand (perhaps un-paused) would put the question back."""
        said = await self._checkins.button(user, value, now)
        if value in {f"{PREFIX}snooze", f"{PREFIX}skip"}:
            return await self.tx.active_state(user.id), said
        return state, said

    def _checkin_later(self, flow: Flow, state: State, text: str) -> str | None:
        """At a check-in's question, "later" or "skip today" typed: the value of that button, else None."""
        step = flow.step(state.step)
        if flow.id != CHECKIN_FLOW or step is None or isinstance(step, TextStep):
            return None
        texts = self.texts
        choices = [
            Choice(f"{PREFIX}snooze", render(texts.snooze_button, {}), word_list(texts.words_later), value_typed=False),
            Choice(
                f"{PREFIX}skip",
                render(texts.skip_today_button, {}),
                word_list(texts.words_skip_today),
                value_typed=False,
            ),
        ]
        reading = read_choice(text, choices, self._words, mode=Mode.WHOLE)
        return reading.values[0] if isinstance(reading, Picked) else None

    # --- free text that can start a flow ---------------------------------------------------------------

    def _story_flow(self) -> Flow | None:
        """The flow free text about a setback is offered to (the main one: /reframe), if it starts with text."""
        return next((flow for flow in self.catalog.commanded if isinstance(flow.steps[0], TextStep)), None)

    def _offers_story(self, text: str) -> bool:
        return self._story_flow() is not None and reads_like_setback(text, self._words)

    def _story_offer(self) -> Say:
        texts = self.texts
        buttons = (
            (
                Button(render(texts.setback_offer_yes_button, {}), STORY_YES),
                Button(render(texts.setback_offer_no_button, {}), STORY_NO),
            ),
        )
        return Say(render(texts.setback_offer, {}), buttons, seq=0)

    async def _story_answer(
        self, state: State | None, flow: Flow | None, value: str, now: datetime, awaiting: Awaiting
    ) -> tuple[State | None, Sequence[Out]]:
        """Yes to the offer starts the main flow with the words kept as its first answer; no keeps nothing."""
        if state is not None and flow is not None and flow.id != CHECKIN_FLOW:
            return state, [Stale()]  # an old offer, tapped while working through something else
        words = awaiting.take()
        story = self._story_flow()
        if value == STORY_NO or story is None:
            return state, [replace(self._say(self.texts.setback_offer_declined), edit=True)]
        return self._start_with(story, now, words)

    def _start_with(self, flow: Flow, now: datetime, words: str | None) -> tuple[State | None, list[Effect]]:
        """Start ``flow``; with ``words``, they answer its first question when it asks for text and they fit,
        and the person is told so (the question after it comes next)."""
        state, effects = engine.start(flow, now, self.texts)
        first = flow.step(state.step) if state is not None else None
        if not words or state is None or not isinstance(first, TextStep):
            return state, effects
        answered, more = engine.advance(flow, state, engine.Answer(words), now, self.texts)
        if answered is not None and answered.seq == state.seq:
            return state, effects  # the words don't fit the question (too short or long): ask it as usual
        before = [effect for effect in effects if not (isinstance(effect, Say) and effect.step_id == first.id)]
        lead = self._say(self.texts.started_with_words, {"title": flow.title, "words": words})
        return answered, [*before, lead, *more]

    async def _crisis(self, user: User, state: State | None, found: Assessment | None) -> Say:
        """The crisis reply: helplines for the person's country and for what their words point to.

        ``found`` is None for /sos (asked for, so it does not thank them for telling).
        """
        safety = self.catalog.safety
        country = await self._country_of(user)
        topics = found.topics if found is not None else frozenset()
        lines = [line.model_dump() for line in safety.lines_for(country, topics)]
        emergency = safety.emergency_number(country) or ""
        language = found.language if found is not None else None
        reply = self._say(
            self.texts.crisis_reply,
            {
                "lines": lines,
                "emergency": emergency,
                "has_flow": state is not None,
                "asked": found is None,
                "other_language": safety.helplines.language_lines.get(language or "", ""),
            },
        )
        return reply if state is None else self._crisis_buttons(reply, state)

    def _safety_question(self, template: str, state: State | None) -> Say:
        buttons = (
            (
                Button(render(self.texts.safety_yes_button, {}), SAFE_YES),
                Button(render(self.texts.safety_no_button, {}), SAFE_NO),
            ),
        )
        return Say(self._say(template).html, buttons, seq=state.seq if state is not None else 0)

    async def _hold(
        self,
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
                await self.tx.hold_for_safety(user.id, None)
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
        await self.tx.hold_for_safety(user.id, json.dumps(held, ensure_ascii=False))

    def _held(self, user: User, now: datetime) -> tuple[Incoming, Assessment, tuple[str, int] | None] | None:
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

    def _crisis_buttons(self, reply: Say, state: State) -> Say:
        buttons = (
            (
                Button(render(self.texts.crisis_continue_button, {}), SOS_CONTINUE),
                Button(render(self.texts.crisis_stop_button, {}), SOS_STOP),
            ),
        )
        return Say(reply.html, buttons, seq=state.seq)

    async def _zone_of(self, user: User) -> tzinfo:
        """The person's own timezone (set with /checkin), else the bot's default: dates read as theirs."""
        row = await self.tx.checkin(user.id)
        return row.settings.zone if row is not None else self._zone

    async def _country_of(self, user: User) -> str:
        """Whose helplines to list: the country of the person's own timezone when they set one, else the one
        their app's language points to (``pt-br`` → BR, ``de`` → DE), else the deployment's default."""
        row = await self.tx.checkin(user.id)
        if row is not None:
            country = country_of_zone(row.settings.timezone)
            if country is not None:
                return country
        from_locale = country_of_locale(user.locale)
        if from_locale is not None and from_locale in self.catalog.safety.helplines.countries:
            return from_locale
        return self._country

    async def _command(
        self, user: User, state: State | None, flow: Flow | None, name: str, now: datetime, argument: str | None = None
    ) -> tuple[State | None, Sequence[Out]]:
        texts = self.texts
        if name == "start":
            if state is not None and flow is not None:
                return self._step(flow, state, engine.Repeat(), now, lead=texts.welcome_back)
            return state, [self._welcome(), *await self._checkins.offer_once(user)]
        if name == "checkin":
            return state, [*await self._checkins.show(user, now)]
        if name == "help":
            return state, [self._say(texts.help)]
        if name == "resume":
            return await self._resume(user, state, flow, now)
        if name == "lessons":
            return state, [*await self._history.lessons(user, now, zone=await self._zone_of(user))]
        if name == "export":
            return state, [*await self._history.export(user, now, await self._zone_of(user))]
        if name == "forget":
            return state, [*self._history.confirm_forget()]
        if name == "done":
            return state, [*await self._history.done(user, now, argument, await self._zone_of(user))]
        if name == "edit":
            return state, [*await self._history.edit(user, argument, await self._zone_of(user))]
        if name in {"cancel", "back", "skip"}:
            if state is None or flow is None:
                return state, [self._say(texts.nothing_to_cancel if name == "cancel" else texts.no_active_flow)]
            events: dict[str, engine.Event] = {
                "cancel": engine.Cancel(),
                "back": engine.Back(),
                "skip": engine.Skip(),
            }
            event = events[name]
            return engine.advance(flow, state, event, now, texts)
        requested = self.catalog.by_command(name)
        if requested is None:
            return state, [self._say(texts.unknown_command, {"command": name})]
        if state is not None and flow is not None and flow.id == CHECKIN_FLOW and requested.id != CHECKIN_FLOW:
            state = flow = None  # an unanswered check-in never stands in the way of working through something
        if state is not None and flow is not None:
            if flow.id == requested.id:
                return self._step(flow, state, engine.Repeat(), now, lead=texts.welcome_back)
            busy = self._say(texts.busy_with_other_flow, {"title": flow.title, "requested": requested.title})
            return state, [busy, engine.current_question(flow, state, texts)]
        # "/reframe I missed the deadline": the words after the command answer its first question.
        return self._start_with(requested, now, argument)

    def _step(
        self, flow: Flow, state: State, event: engine.Event, now: datetime, lead: str
    ) -> tuple[State | None, list[Effect]]:
        new_state, effects = engine.advance(flow, state, event, now, self.texts)
        return new_state, [self._say(lead, {"title": flow.title}), *effects]

    async def _after_run(self, user: User, run_id: int, run: CompletedRun, now: datetime) -> list[Say]:
        """What a stored run leaves for later: the day its next step is due (in the person's timezone), or,
        for a check-in, how the step it asked about went. After a check-in, a flow set aside is offered back."""
        zone = await self._zone_of(user)
        if isinstance(run.meant("next_step"), str):
            spec = run.meant("next_step_day")
            made = self.catalog.flows.get(run.flow_id)
            day_id = made.meaning.next_step_day if made is not None else None
            answered = run.answers[day_id].answered_at if day_id and day_id in run.answers else run.finished_at
            # "tomorrow" is the day after the person's own local date when they said it.
            planned_on = answered.astimezone(zone).date()
            # A day that says nothing (skipped, or a flow that does not ask) is due the day after it was planned.
            due = (
                resolve(spec, planned_on) if isinstance(spec, str) and is_spec(spec) else planned_on + timedelta(days=1)
            )
            await self.tx.plan_next_step(run_id, due)
        if run.flow_id != CHECKIN_FLOW:
            return []
        outcome = run.meant("next_step_outcome")
        earlier = run.inputs.get("last_run_id")
        if isinstance(outcome, str) and isinstance(earlier, int):
            if outcome == "not_yet":  # never a miss: the step stays open, asked about later or let go kindly
                before = run.inputs.get("not_yet_before")
                again = checkins.after_not_yet(before if isinstance(before, int) else 0, now.astimezone(zone).date())
                await self.tx.record_not_yet(earlier, now, again)
            else:
                await self.tx.record_outcome(earlier, outcome, now)
        revisit, revisit_id = run.meant("revisit"), run.inputs.get("revisit_id")
        if isinstance(revisit, str) and isinstance(revisit_id, int):
            await self.tx.answer_revisit(user.id, revisit_id, revisit, now)
        return await self._resume_offer(user)

    async def _revisit_inputs(
        self, user_id: int, settings: checkins.CheckinSettings, today: date, now: datetime, reminder: bool
    ) -> dict[str, Any]:
        """The past lesson today's check-in brings back (``revisit_*`` inputs of the check-in flow), if any.

        At most one a day: a reminder (after "in an hour") asks today's again while it is unanswered; otherwise
        a day that already brought one back brings none (see ``checkins.revisit_to_ask``).
        """
        none: dict[str, Any] = {"revisit_lesson": None, "revisit_when": None, "revisit_id": None}
        repository = self.tx
        asked = await repository.revisit_on(user_id, today)
        if asked is not None:
            if reminder and asked.answer is None:
                return {"revisit_lesson": asked.lesson, "revisit_when": asked.kind, "revisit_id": asked.id}
            return none
        earliest, latest = checkins.revisit_window(now)
        past = await repository.past_lessons(user_id, earliest, latest)
        chosen = checkins.revisit_to_ask(past, settings, today, asked_today=False)
        if chosen is None:
            return none
        recorded = await repository.ask_revisit(user_id, chosen.run_id, chosen.kind, today, now)
        if recorded is None:
            return none
        return {"revisit_lesson": chosen.lesson, "revisit_when": chosen.kind, "revisit_id": recorded}

    async def _resume_offer(self, user: User) -> list[Say]:
        """The offer to pick up a flow set aside, with its button; nothing when none is."""
        kept = await self.tx.set_aside_state(user.id)
        flow = self.catalog.flows.get(kept.flow_id) if kept is not None else None
        if flow is None:
            return []
        button = Button(render(self.texts.resume_button, {}), RESUME)
        return [Say(render(self.texts.resume_offer, {"title": flow.title}), ((button,),), seq=0)]

    async def _resume(
        self, user: User, state: State | None, flow: Flow | None, now: datetime
    ) -> tuple[State | None, Sequence[Out]]:
        """/resume (or its button): the flow set aside becomes the active one again, at the question it was
        left on. A flow in progress is set aside in its place (so /resume switches back); an unanswered
        check-in just goes."""
        kept = await self.tx.take_set_aside(user.id)
        resumed = self.catalog.flows.get(kept.flow_id) if kept is not None else None
        if kept is None or resumed is None:
            if state is not None and flow is not None:
                return self._step(flow, state, engine.Repeat(), now, lead=self.texts.welcome_back)
            return state, [self._say(self.texts.nothing_to_resume)]
        lead = self._say(self.texts.resumed, {"title": resumed.title})
        if state is not None and flow is not None and flow.id != CHECKIN_FLOW:
            touched = await self.tx.active_touched_at(user.id) or now
            await self.tx.set_aside(user.id, state, touched, now)
            lead = self._say(self.texts.resumed_swapped, {"title": resumed.title, "other": flow.title})
        kept = replace(kept, paused=False)  # coming back is a clear choice to go on
        new_state, effects = engine.advance(resumed, kept, engine.Repeat(), now, self.texts)
        return new_state, [lead, *effects]

    async def _left_behind(
        self, user: User, state: State, flow: Flow, incoming: Incoming, now: datetime
    ) -> list[Say] | None:
        """None while ``state`` still holds what the person writes. Otherwise it no longer does, and this says
        what to tell them first: a check-in question past its day has expired (nothing to say), and a flow
        untouched for a day is set aside, kept to pick up later (a word about that), so what they write now is
        read fresh. A tap on the flow's own question, or a command about the flow, still goes to it."""
        if flow.id == CHECKIN_FLOW:
            row = await self.tx.checkin(user.id)
            settings = row.settings if row is not None else checkins.CheckinSettings(False, time(20, 0), self._zone.key)
            if not checkins.question_expired(settings, state.started_at, now):
                return None
            await self.tx.save_state(user.id, None, now)
            return []
        if isinstance(incoming, ButtonPress | Location | Resume | Edited):
            return None
        if isinstance(incoming, Command) and (
            incoming.name in _FLOW_COMMANDS or self.catalog.by_command(incoming.name) is flow
        ):
            return None
        touched = await self.tx.active_touched_at(user.id)
        if touched is None or now - touched < checkins.SET_ASIDE_AFTER:
            return None
        await self.tx.set_aside(user.id, state, touched, now)
        button = Button(render(self.texts.resume_button, {}), RESUME)
        return [Say(render(self.texts.set_aside_welcome_back, {"title": flow.title}), ((button,),), seq=0)]

    async def nudge(self, user_id: int, external_id: str, now: datetime) -> list[Reply]:
        """The check-in due for one person now, as one message (one notification), or nothing.

        A flow in progress holds it back until the flow ends or has been left alone a while; then the flow
        is set aside (kept, resumable) and the check-in goes out, saying so. The next step asked about is the
        one due by the person's local today (see ``checkins.step_to_ask``).
        """
        repository = self.tx
        row = await repository.checkin(user_id)
        if row is None:
            return []
        active = await repository.active_state(user_id)
        busy = self.catalog.flows.get(active.flow_id) if active is not None else None
        if busy is not None and busy.id == CHECKIN_FLOW:
            busy = None  # yesterday's unanswered check-in never holds back today's
        touched = await repository.active_touched_at(user_id) if busy is not None else None
        result, schedule = checkins.run_due(row.settings, row.state, now, flow_touched_at=touched)
        # A nudge also ends any half-finished "what time?" question: the next number typed is its answer.
        awaiting = None if isinstance(result, checkins.Nudge) else row.awaiting
        if schedule != row.state or awaiting != row.awaiting:
            await repository.save_checkin(user_id, replace(row, state=schedule, awaiting=awaiting))
        if not isinstance(result, checkins.Nudge):
            return []
        if not await repository.record_nudge(user_id, result.local_date, now, None, result.reminder):
            return []  # this local date already had its nudge
        texts = self.texts
        parts: list[Say] = []
        if result.backoff_notice:
            parts.append(self._say(texts.nudge_backoff_notice))
        if active is not None and busy is not None:
            await repository.set_aside(user_id, active, touched or now, now)
            parts.append(self._say(texts.nudge_set_aside, {"title": busy.title}))
        flow = self.catalog.flows.get(CHECKIN_FLOW)
        if flow is None:
            return [_one_message(parts)] if parts else []
        today = checkins.local_date(row.settings, now)
        step = checkins.step_to_ask(await repository.open_next_steps(user_id), today, now)
        inputs = {
            "last_next_step": step.text if step else None,
            "last_run_id": step.run_id if step else None,
            "not_yet_before": step.not_yet if step else 0,
            "last_ask": step is not None and checkins.after_not_yet(step.not_yet, today) is None,
            **await self._revisit_inputs(user_id, row.settings, today, now, result.reminder),
        }
        state, effects = engine.start(flow, now, texts, inputs)
        await repository.save_state(user_id, state, now)
        # The check-in question is now the latest thing on screen: typed text is no longer read against
        # buttons shown before it (nor words kept for an offer that scrolled away).
        person = await repository.find_user(external_id)
        if person is not None and person.awaiting is not None:
            removed = _kept_words(person.awaiting) is not None
            await repository.keep_awaiting(user_id, None, words_removed=removed)
        says = [effect for effect in effects if isinstance(effect, Say)]
        if says:
            later = (
                Button(render(texts.snooze_button, {}), "ci:snooze"),
                Button(render(texts.skip_today_button, {}), "ci:skip"),
            )
            says[-1] = replace(says[-1], buttons=(*says[-1].buttons, later))
        # The flow's greeting and its first question, the back-off notice and the note about a flow set
        # aside: one message, so one notification.
        return [_one_message([*says[:-1], *parts, *says[-1:]])] if says or parts else []

    def _welcome(self) -> Say:
        return self._say(self.texts.welcome)

    def _say(self, template: str, extra: dict[str, Any] | None = None) -> Say:
        flows = [
            {"command": flow.command, "title": flow.title, "description": flow.description}
            for flow in self.catalog.commanded
        ]
        return Say(render(template, {"flows": flows, **(extra or {})}))
