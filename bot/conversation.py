"""The conversation service: one incoming message in, replies out, state saved in one transaction.

Both adapters (the terminal chat and Telegram) call ``Conversations.handle``. It opens the transaction,
claims the update, and hands the message to a ``Turn``, which asks the stages of ``PRECEDENCE`` in order
(each owned by a feature in ``bot/features/``, looked up in the ``Registry``), stores what they decided and
writes the replies as outbox rows. Neither holds a feature's rules: those live in the features.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.effects import Erased, SendFile
from bot.engine import Finished, Say, Stale, State
from bot.features import checkins, flows, history, menus, onboarding, safety
from bot.features.base import (
    At,
    Awaiting,
    ButtonPress,
    Command,
    Edited,
    Feature,
    Incoming,
    Location,
    NotText,
    Out,
    Outcome,
    Registry,
    Reply,
    Resume,
    Stage,
    Text,
    kept_words,
)
from bot.features.flows import STORY_NO, STORY_YES
from bot.features.onboarding import ONBOARD_OK
from bot.features.safety import SAFE_NO, SAFE_YES, country_of_locale
from bot.flows.catalog import Catalog
from bot.matching import Words, words_of
from bot.render import render
from bot.safety.assessment import Assessment
from bot.storage.protocols import ConversationStore, Storage
from bot.storage.records import HeavyRequest, User

__all__ = [
    "ONBOARD_OK",
    "PRECEDENCE",
    "SAFE_NO",
    "SAFE_YES",
    "STORY_NO",
    "STORY_YES",
    "ButtonPress",
    "Command",
    "Conversations",
    "Edited",
    "Handled",
    "Incoming",
    "Location",
    "NotText",
    "Reply",
    "Resume",
    "Text",
    "Turn",
    "country_of_locale",
]

log = logging.getLogger(__name__)

_SURROGATE = re.compile("[\ud800-\udfff]")

OutboxWriter = Callable[[list[Reply], bool], tuple[int, list[str]]]
"""Turns replies (and whether the flow moved on) into a chat id and outbox payloads, inside the transaction."""
NudgeWriter = Callable[[str, list[Reply]], tuple[int, list[str]] | None]
"""Turns a nudge's replies for a person (by external id) into a chat id and outbox payloads (None: nowhere)."""

FEATURES: tuple[Feature, ...] = (
    safety.FEATURE,
    onboarding.FEATURE,
    flows.FEATURE,
    checkins.FEATURE,
    history.FEATURE,
    menus.FEATURE,
)
"""Every feature of the bot. Their hooks after a stored run run in this order (a check-in's offer to resume
comes after the next step's day is planned); earlier features' words for a button come first."""

REGISTRY = Registry(FEATURES)

PRECEDENCE: tuple[tuple[str, str], ...] = (
    ("safety", "screen"),  # the crisis screen sees every piece of text first; /sos always answers
    ("flows", "flow_removed"),  # a flow whose file was removed cannot go on
    ("safety", "edited"),  # an edited message is only screened, never taken as an answer
    ("safety", "held"),  # the answer to "are you safe?" (and the message kept meanwhile)
    ("safety", "crisis_pause"),  # a flow paused by a crisis reply waits for a clear "continue"
    ("flows", "caption"),  # a caption is read as typed text from here on
    ("checkins", "expired"),  # a check-in question past its day goes: the message is read afresh
    ("flows", "left_behind"),  # a flow set aside after a day: the message is read afresh
    ("onboarding", "onboarding"),  # nothing else until the person has read what the bot is and is not
    ("router", "buttons"),  # the bot's own buttons, to the feature owning their value or prefix
    ("checkins", "location"),  # a shared location sets the check-in timezone
    ("history", "correction"),  # typed after /edit asked for an entry's new words
    ("menus", "typed"),  # typed text read as a button last shown
    ("checkins", "setting"),  # typed text read as the time or place /checkin asked for
    ("menus", "question_waits"),  # a question waits for its buttons: a hint naming them
    ("menus", "back_again"),  # the terminal chat starting again outside a flow: the bot's question unanswered
    ("flows", "back_again"),  # the terminal chat starting again: the question on screen, again
    ("router", "commands"),  # /commands, to the feature owning each
    ("checkins", "later"),  # "later" or "skip today" typed at the check-in's question
    ("flows", "flow"),  # everything else: the flow's answer, or an offer to start one
)
"""The order in which the parts of the bot get to answer one message, first to last: (owner, stage). A
stage answers or passes the message on; the last one always answers. Safety is first, always. The router's
own two stages only look the owner up in the registry."""


@dataclass(frozen=True)
class Handled:
    """The outcome of one handled message: its replies, and whether it was a duplicate (then none)."""

    replies: list[Reply]
    duplicate: bool


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
        incoming = _readable(incoming)
        written = safety.written_in(incoming)
        # The crisis screen is CPU work (milliseconds, tens for a long message): read before the transaction,
        # in a worker thread, so neither the event loop nor the write lock waits for it (everyone else's
        # replies and marks went on hold meanwhile, a backlog after a restart for seconds).
        screened = {written: await asyncio.to_thread(self.catalog.safety.assess, written)} if written else {}
        async with self.repository.transaction() as tx:
            await tx.lock_person(external_id)  # another process's update or check-in for them waits, or we do
            if update_id is not None and not await tx.claim_update(update_id, now):
                return Handled([], duplicate=True)
            turn = Turn(self, tx, screened=screened)
            replies, moved = await turn.handle(external_id, incoming, now, locale)
            if outbox is not None:
                chat_id, payloads = outbox(replies, moved)
                if any(isinstance(reply, Erased) for reply in replies):
                    await tx.forget_chat(chat_id)  # what delivery kept for them goes too
                await tx.enqueue_replies(chat_id, payloads, now)
        if turn.heavy_requested:
            self.heavy_waiting.set()  # after the commit, so whoever wakes up can read the request
        return Handled(replies, duplicate=False)

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
                return [*await history.build(view, request, self.catalog.texts, self.zone, now, scratch)]
        except Exception:
            log.exception("building the %s for user %s failed", request.kind, request.user_id)
            return self.heavy_failed(request)

    def heavy_failed(self, request: HeavyRequest) -> list[Reply]:
        """What to tell the person when their request could not be built (nothing they wrote is lost)."""
        return [*history.failed(self.catalog.texts, request)]

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
            # The person's lock first, as an update takes it, so the two never wait on each other in a circle.
            await tx.lock_person(external_id)
            if not await tx.claim_checkin(user_id):
                return []  # another scheduler is nudging them right now
            replies = await checkins.nudge(Turn(self, tx), user_id, external_id, now)
            if replies and outbox is not None:
                target = outbox(external_id, replies)
                if target is not None:
                    chat_id, payloads = target
                    await tx.enqueue_replies(chat_id, payloads, now)
        return replies


_Part = TypeVar("_Part")


class Turn:
    """One update (or one check-in) for one person, inside one transaction.

    Every read and write goes to ``tx``, the transaction it was given: what one update changes commits
    together. It walks ``PRECEDENCE`` and gives the features what they share (the texts, the person's
    timezone, a way to read a message afresh); the rules are the features'.
    """

    def __init__(
        self,
        service: Conversations,
        tx: ConversationStore,
        registry: Registry = REGISTRY,
        screened: dict[str, Assessment] | None = None,
    ) -> None:
        self.tx = tx
        self._screened = screened or {}
        self.catalog = service.catalog
        self.registry = registry
        self.zone = service.zone
        """The bot's default timezone (a person's own, once they set one, wins: ``zone_of``)."""
        self.helpline_country = service.helpline_country
        self.here = service.here
        self._parts: dict[type, Any] = {}
        self._heavy_requested = False

    @property
    def texts(self) -> Any:
        """The bot's own texts."""
        return self.catalog.texts

    def assess(self, text: str) -> Assessment:
        """The crisis screen's reading of ``text``: the one made before this turn's transaction when it is
        that text (see ``Conversations.handle_update``), else made now."""
        found = self._screened.get(text)
        return found if found is not None else self.catalog.safety.assess(text)

    @property
    def words(self) -> Words:
        """The bot's word lists, for reading typed text."""
        return words_of(self.texts)

    @property
    def heavy_requested(self) -> bool:
        """True when this turn asked for an export or a chart (the builder is woken after the commit)."""
        return self._heavy_requested

    def request_heavy(self) -> None:
        """Note that an export or a chart was requested in this turn."""
        self._heavy_requested = True

    def part(self, kind: type[_Part], make: Callable[[], _Part]) -> _Part:
        """The one ``kind`` object a feature keeps for this turn, made by ``make`` the first time it is asked."""
        if kind not in self._parts:
            self._parts[kind] = make()
        made: _Part = self._parts[kind]
        return made

    def say(self, template: str, extra: dict[str, Any] | None = None) -> Say:
        """``template`` rendered into one message; every template may name the flows people can start."""
        flows_shown = [
            {"command": flow.command, "title": flow.title, "description": flow.description}
            for flow in self.catalog.commanded
        ]
        return Say(render(template, {"flows": flows_shown, **(extra or {})}))

    async def zone_of(self, user: User) -> tzinfo:
        """The person's own timezone (set with /checkin), else the bot's default: dates read as theirs."""
        row = await self.tx.checkin(user.id)
        return row.settings.zone if row is not None else self.zone

    async def handle(
        self, external_id: str, incoming: Incoming, now: datetime, locale: str | None
    ) -> tuple[list[Reply], bool]:
        """Apply one incoming message and store what it changed: the position in a flow, completed runs (and
        what the features make of them), what the next typed message is read against.

        Returns the replies and whether the question on screen was answered (the flow went on, ended, or
        began).
        """
        tx = self.tx
        user = replace(await tx.user(external_id, now), locale=locale)
        state = await tx.active_state(user.id)
        awaiting = Awaiting.load(user.awaiting, now)
        new_state, effects = await self.dispatch(user, state, incoming, now, awaiting=awaiting)
        if new_state is not state:
            await tx.save_state(user.id, new_state, now)
        after: list[Say] = []
        for effect in effects:
            if isinstance(effect, Finished):
                run_id = await tx.save_run(user.id, effect.run)
                for feature in self.registry.features:
                    if feature.after_run is not None:
                        after.extend(await feature.after_run(self, user, run_id, effect.run, now))
        effects = [*effects, *after]
        if user.onboarded:
            for feature in self.registry.features:
                if feature.after_message is not None:
                    await feature.after_message(self, user, incoming, now)
        replies = [effect for effect in effects if isinstance(effect, Say | Stale | SendFile | Erased)]
        if not any(isinstance(reply, Erased) for reply in replies):
            menus.note_menu(self, user, awaiting, replies, now)
            if awaiting.dump() != user.awaiting:
                removed = kept_words(user.awaiting) not in {None, awaiting.words}
                await tx.keep_awaiting(user.id, awaiting.dump(), words_removed=removed)
        moved = (state is None and new_state is not None) or (
            state is not None and (new_state is None or new_state.seq != state.seq)
        )
        return replies, moved

    async def dispatch(
        self,
        user: User,
        state: State | None,
        incoming: Incoming,
        now: datetime,
        screened: bool = False,
        *,
        awaiting: Awaiting,
    ) -> tuple[State | None, Sequence[Out]]:
        """Ask each stage of ``PRECEDENCE`` in order; the first that answers decides the outcome. Features
        call it again to read a message afresh (``screened``: the crisis screen has seen it already)."""
        flow = self.catalog.flows.get(state.flow_id) if state else None
        at = At(user, state, flow, incoming, now, screened, awaiting)
        for owner, stage in PRECEDENCE:
            ask = _ROUTER_STAGES[stage] if owner == ROUTER else self.registry.stage(owner, stage)
            outcome = await ask(self, at)
            if outcome is not None:
                return outcome
        raise AssertionError("the last stage answers everything")  # pragma: no cover


ROUTER = "router"
"""The owner of the two stages that only look a button or a command up in the registry."""


async def _buttons(turn: Turn, at: At) -> Outcome | None:
    """A tap on one of the bot's own buttons outside a flow question goes to the feature that owns it."""
    if not isinstance(at.incoming, ButtonPress):
        return None
    press = turn.registry.button(at.incoming.value)
    return await press(turn, at, at.incoming.value) if press is not None else None


async def _commands(turn: Turn, at: At) -> Outcome | None:
    """A /command goes to the feature that owns it (a flow's own command, or an unknown one, to the catch-all)."""
    if not isinstance(at.incoming, Command):
        return None
    action = turn.registry.command(at.incoming.name)
    if action is None:  # pragma: no cover - the flows feature answers every command no other one does
        raise LookupError(f"no feature answers /{at.incoming.name}")
    return await action(turn, at, at.incoming)


_ROUTER_STAGES: dict[str, Stage] = {"buttons": _buttons, "commands": _commands}
