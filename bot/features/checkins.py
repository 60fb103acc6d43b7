"""Check-ins: /checkin and its buttons (``ci:``), a typed time or place, a shared location, the daily nudge,
"later" or "skip today" at the check-in's question, a question that expired with its day, and what a
completed check-in records (how the step went, how a lesson held)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from bot import checkins, engine
from bot.checkin_menu import PREFIX, CheckinMenu
from bot.effects import Button, Say
from bot.engine import CompletedRun
from bot.features import flows
from bot.features.base import (
    At,
    ButtonPress,
    Command,
    Feature,
    Incoming,
    Kind,
    Location,
    Outcome,
    Reply,
    Resume,
    Text,
    kept_words,
    one_message,
)
from bot.flows.contract import CHECKIN_FLOW_ID, CHECKIN_INPUTS
from bot.flows.model import TextStep
from bot.flows.texts import Texts
from bot.matching import Choice, Mode, Picked, read_choice, word_list
from bot.render import render
from bot.storage.records import User
from bot.timezones import words_for_ref

if TYPE_CHECKING:
    from bot.conversation import Turn

SNOOZE = f"{PREFIX}snooze"
SKIP = f"{PREFIX}skip"


def menu(turn: Turn) -> CheckinMenu:
    """The check-in settings of this turn's transaction (one per turn)."""
    return turn.part(CheckinMenu, lambda: CheckinMenu(turn.tx, turn.texts, turn.zone.key, turn.here))


async def offer_once(turn: Turn, user: User) -> list[Say]:
    """The one-time offer of check-ins (after onboarding or on /start); nothing once offered."""
    return await menu(turn).offer_once(user)


async def _button(turn: Turn, at: At, value: str) -> Outcome:
    """A check-in button pressed (or typed). Snooze and skip put the check-in question away themselves,
    so the state is read back: the one in hand (perhaps un-paused) would put the question back."""
    said = await menu(turn).button(at.user, value, at.now)
    if value in {SNOOZE, SKIP}:
        return await turn.tx.active_state(at.user.id), said
    return at.state, said


async def _command(turn: Turn, at: At, command: Command) -> Outcome:
    return at.state, [*await menu(turn).show(at.user, at.now)]


async def _stage_expired(turn: Turn, at: At) -> Outcome | None:
    """A check-in question past its day has expired: it goes (nothing to say), and the message is read afresh."""
    state, flow, user, now = at.state, at.flow, at.user, at.now
    if state is None or flow is None or flow.id != CHECKIN_FLOW_ID:
        return None
    row = await turn.tx.checkin(user.id)
    settings = row.settings if row is not None else checkins.CheckinSettings(False, time(20, 0), turn.zone.key)
    if not checkins.question_expired(settings, state.started_at, now):
        return None
    await turn.tx.save_state(user.id, None, now)
    return await turn.dispatch(user, None, at.incoming, now, screened=True, awaiting=at.awaiting)


async def _stage_location(turn: Turn, at: At) -> Outcome | None:
    state, flow, incoming = at.state, at.flow, at.incoming
    if isinstance(incoming, Location):
        said = await menu(turn).location(at.user, incoming.latitude, incoming.longitude, at.now)
        again = [engine.current_question(flow, state, turn.texts)] if state and flow and not state.paused else []
        return state, [*said, *again]
    return None


async def _stage_setting(turn: Turn, at: At) -> Outcome | None:
    """Typed text while /checkin waits for a time or a timezone."""
    if not isinstance(at.incoming, Text):
        return None
    setting = await menu(turn).typed(at.user, at.incoming.text, at.now)
    return (at.state, setting) if setting is not None else None


async def _stage_later(turn: Turn, at: At) -> Outcome | None:
    """At a check-in's question, "later" or "skip today" typed: what that button does."""
    state, flow = at.state, at.flow
    if state is None or flow is None or not isinstance(at.incoming, Text):
        return None
    step = flow.step(state.step)
    if flow.id != CHECKIN_FLOW_ID or step is None or isinstance(step, TextStep):
        return None
    texts = turn.texts
    choices = [
        Choice(SNOOZE, render(texts.snooze_button, {}), word_list(texts.words_later), value_typed=False),
        Choice(SKIP, render(texts.skip_today_button, {}), word_list(texts.words_skip_today), value_typed=False),
    ]
    reading = read_choice(at.incoming.text, choices, turn.words, mode=Mode.WHOLE)
    return await _button(turn, at, reading.values[0]) if isinstance(reading, Picked) else None


async def _after_message(turn: Turn, user: User, incoming: Incoming, now: datetime) -> None:
    if isinstance(incoming, Resume):
        return
    moved_on = isinstance(incoming, Command) and incoming.name != "checkin"
    moved_on |= isinstance(incoming, ButtonPress) and not incoming.value.startswith(PREFIX)
    await menu(turn).message_received(user, now, moved_on)


async def _after_run(turn: Turn, user: User, run_id: int, run: CompletedRun, now: datetime) -> list[Say]:
    """For a check-in: how the step it asked about went and how a lesson brought back held; then a flow set
    aside is offered back."""
    if run.flow_id != CHECKIN_FLOW_ID:
        return []
    zone = await turn.zone_of(user)
    outcome = run.meant("next_step_outcome")
    earlier = run.inputs.get("last_run_id")
    if isinstance(outcome, str) and isinstance(earlier, int):
        if outcome == "not_yet":  # never a miss: the step stays open, asked about later or let go kindly
            before = run.inputs.get("not_yet_before")
            again = checkins.after_not_yet(before if isinstance(before, int) else 0, now.astimezone(zone).date())
            await turn.tx.record_not_yet(earlier, now, again)
        else:
            await turn.tx.record_outcome(earlier, outcome, now)
    revisit, revisit_id = run.meant("revisit"), run.inputs.get("revisit_id")
    if isinstance(revisit, str) and isinstance(revisit_id, int):
        await turn.tx.answer_revisit(user.id, revisit_id, revisit, now)
    return await flows.resume_offer(turn, user)


async def _revisit_inputs(
    turn: Turn, user_id: int, settings: checkins.CheckinSettings, today: date, now: datetime, reminder: bool
) -> dict[str, Any]:
    """The past lesson today's check-in brings back (``revisit_*`` inputs of the check-in flow), if any.

    At most one a day: a reminder (after "in an hour") asks today's again while it is unanswered; otherwise
    a day that already brought one back brings none (see ``checkins.revisit_to_ask``).
    """
    repository = turn.tx
    asked = await repository.revisit_on(user_id, today)
    if asked is not None:
        if reminder and asked.answer is None:
            return {"revisit_lesson": asked.lesson, "revisit_when": asked.kind, "revisit_id": asked.id}
        return {}
    earliest, latest = checkins.revisit_window(now)
    past = await repository.past_lessons(user_id, earliest, latest)
    chosen = checkins.revisit_to_ask(past, settings, today, asked_today=False)
    if chosen is None:
        return {}
    recorded = await repository.ask_revisit(user_id, chosen.run_id, chosen.kind, today, now)
    if recorded is None:
        return {}
    return {"revisit_lesson": chosen.lesson, "revisit_when": chosen.kind, "revisit_id": recorded}


async def nudge(turn: Turn, user_id: int, external_id: str, now: datetime) -> list[Reply]:
    """The check-in due for one person now, as one message (one notification), or nothing.

    A flow in progress holds it back until the flow ends or has been left alone a while; then the flow
    is set aside (kept, resumable) and the check-in goes out, saying so. The safety question, while it
    waits for an answer, holds it back too. The next step asked about is the
    one due by the person's local today (see ``checkins.step_to_ask``).
    """
    repository = turn.tx
    row = await repository.checkin(user_id)
    if row is None:
        return []
    person = await repository.find_user(external_id)
    if person is not None and person.safety_hold is not None:
        # "Are you thinking about hurting yourself?" waits for an answer: a check-in now would bury it, and
        # its reply would be read as that answer. It goes out once the question is answered.
        return []
    active = await repository.active_state(user_id)
    busy = turn.catalog.flows.get(active.flow_id) if active is not None else None
    if busy is not None and busy.id == CHECKIN_FLOW_ID:
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
    texts = turn.texts
    parts: list[Say] = []
    if result.backoff_notice:
        parts.append(turn.say(texts.nudge_backoff_notice))
    if active is not None and busy is not None:
        await repository.set_aside(user_id, active, touched or now, now)
        parts.append(turn.say(texts.nudge_set_aside, {"title": busy.title}))
    flow = turn.catalog.flows.get(CHECKIN_FLOW_ID)
    if flow is None:
        return [one_message(parts)] if parts else []
    today = checkins.local_date(row.settings, now)
    step = checkins.step_to_ask(await repository.open_next_steps(user_id), today, now)
    # Every input the contract names is given, None when there is nothing for it today.
    inputs: dict[str, Any] = dict.fromkeys(CHECKIN_INPUTS)
    inputs |= {
        "last_next_step": step.text if step else None,
        "last_run_id": step.run_id if step else None,
        "not_yet_before": step.not_yet if step else 0,
        "last_ask": step is not None and checkins.after_not_yet(step.not_yet, today) is None,
        **await _revisit_inputs(turn, user_id, row.settings, today, now, result.reminder),
    }
    state, effects = engine.start(flow, now, texts, inputs)
    await repository.save_state(user_id, state, now)
    # The check-in question is now the latest thing on screen: typed text is no longer read against
    # buttons shown before it (nor words kept for an offer that scrolled away).
    if person is not None and person.awaiting is not None:
        removed = kept_words(person.awaiting) is not None
        await repository.keep_awaiting(user_id, None, words_removed=removed)
    says = [effect for effect in effects if isinstance(effect, Say)]
    if says:
        later = (Button(render(texts.snooze_button, {}), SNOOZE), Button(render(texts.skip_today_button, {}), SKIP))
        says[-1] = replace(says[-1], buttons=(*says[-1].buttons, later))
    # The flow's greeting and its first question, the back-off notice and the note about a flow set
    # aside: one message, so one notification.
    return [one_message([*says[:-1], *parts, *says[-1:]])] if says or parts else []


def _menu_words(texts: Texts, value: str, label: str) -> tuple[str, ...] | None:
    lists = {
        f"{PREFIX}offer:yes": texts.words_yes,
        f"{PREFIX}offer:no": texts.words_no,
        f"{PREFIX}on": texts.words_turn_on,
        f"{PREFIX}off": texts.words_turn_off,
        f"{PREFIX}tz": texts.words_timezone,
        SNOOZE: texts.words_later,
        SKIP: texts.words_skip_today,
    }
    if value in lists:
        return word_list(lists[value])
    if value.startswith(f"{PREFIX}zone:"):  # one of several places: "the uk one", "new hampshire"
        return words_for_ref(value.removeprefix(f"{PREFIX}zone:"))
    return None


def _kind(value: str) -> Kind:
    if value in {f"{PREFIX}offer:yes", f"{PREFIX}offer:no"}:
        return Kind.OFFER
    if value.startswith(f"{PREFIX}at:"):
        return Kind.TIMES
    return Kind.PLAIN


FEATURE = Feature(
    "checkins",
    stages={
        "expired": _stage_expired,
        "location": _stage_location,
        "setting": _stage_setting,
        "later": _stage_later,
    },
    commands={"checkin": _command},
    buttons={PREFIX: _button},
    menu_words=_menu_words,
    kind=_kind,
    after_run=_after_run,
    after_message=_after_message,
)
