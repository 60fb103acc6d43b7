"""When each person's daily check-in goes out: pure functions of their settings, their check-in state and ``now``.

Nothing here reads the clock or touches storage; every instant is an aware ``datetime`` and every instant this
module returns is in UTC. The adapters keep ``CheckinSettings`` and ``CheckinState`` in SQLite, index
``CheckinState.wake_at``, and let one periodic job call :func:`run_due` for each person whose ``wake_at`` has
passed, storing the state it returns in the same transaction as the nudge it asks for.

The rules, in one place:

- **One nudge per local date.** A nudge belongs to the person's local date of its due instant
  (:func:`local_date`); the database's unique ``(user, local_date)`` constraint is the last line of defence,
  and :func:`next_due` never returns a date on or before the last nudged one.
- **Daylight saving.** A local time that does not exist that day (the spring-forward gap, e.g. 02:30 in Berlin
  on 2026-03-29) moves to the first instant after the gap (03:00 local); one that exists twice (the autumn fold)
  is the first of the two. If the move would leave the date (a whole day skipped, as Samoa did on 2011-12-30),
  that date gets no nudge.
- **Back-off, not nagging.** ``unanswered`` counts nudges in a row with no reply. Daily while it is under 3;
  every other day from 3 (the first such nudge carries a one-off notice that check-ins are now less often and
  how to change that); weekly from 7 — so an ignored run goes days 1, 2, 3, 5, 7, 9, 11, 18, 25, … and never
  stops while check-ins are on. Any reply — an answer, a button, a command — resets it (:func:`on_reply`).
- **Grace.** A nudge found due when the bot comes back goes out if it is at most ``grace`` late (2 h by default);
  later than that, that day is skipped and the next one is scheduled.
- **Snooze** re-sends the last nudge an hour later (a reminder of the same local date, not a new nudge);
  **skip** drops a local date (today by default).
- **Held, never lost, while a flow is open.** A nudge (or reminder) that falls due while the person is working
  through something is held, not sent and not counted: it goes out as soon as the flow ends, or once the flow
  has been left alone for ``IDLE`` (2 h) — then the flow is set aside, kept and resumable. A held nudge may go
  out until ``LATEST_LOCAL`` (22:00) on its own local date, or until ``grace`` after its due time when that
  is later (someone who chose 21:30 may still get it at 23:00), never past local midnight: a check-in is
  never sent in the middle of the night for a day that is over. Past that it is missed, and the next day's
  comes as usual.
- **A check-in question lasts its local day.** It expires at the local midnight after it was asked, or
  ``ANSWER_AT_LEAST`` (3 h) after it was asked when that is later; a message after that is read fresh.
- **Next steps are asked about once due.** A step is asked about from its planned local day on (and never
  within ``SETTLE`` of being planned); "not yet" asks again ``ASK_AGAIN_AFTER`` days later, and after
  ``MAX_NOT_YET`` of them the step is let go kindly, never recorded as a miss.
- **Lessons come back.** About a week and a month after an entry, the check-in (only while check-ins are on)
  brings its lesson back once and asks whether it has helped since: at most one a day, riding in that day's
  one check-in message (:func:`revisit_to_ask`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from bot.timezones import tzinfo_for

DAILY_UNTIL = 3
"""Nudges go out daily while fewer than this many in a row are unanswered."""

WEEKLY_FROM = 7
"""From this many unanswered nudges in a row, weekly; between ``DAILY_UNTIL`` and this, every other day."""

DEFAULT_GRACE = timedelta(hours=2)
"""How late a nudge may still go out after the bot was down."""

SNOOZE = timedelta(hours=1)
"""How long "snooze" waits before re-sending the nudge."""

IDLE = timedelta(hours=2)
"""A flow untouched this long no longer holds a check-in back: the check-in goes out and the flow is set aside."""

SET_ASIDE_AFTER = timedelta(days=1)
"""A flow untouched this long is set aside when the person next writes: what they write is read fresh."""

LATEST_LOCAL = time(22, 0)
"""A held check-in may still go out until this local time on its date (or ``grace`` after it was due)."""

ANSWER_AT_LEAST = timedelta(hours=3)
"""A check-in question can be answered for at least this long, even across local midnight."""

SETTLE = timedelta(hours=2)
"""A next step planned less than this long ago is not asked about yet, even when planned for today."""

ASK_AGAIN_AFTER = 2
"""Days after a "not yet" before the step is asked about again."""

MAX_NOT_YET = 3
"""After this many "not yet" answers the step is let go (kindly: it is no miss, and stays in /lessons)."""

_SEARCH_DAYS = 400  # more than a year plus the longest back-off gap: next_due always finds a day within this


@dataclass(frozen=True)
class CheckinSettings:
    """What a person chose: check-ins on or off, a local wall-clock time, and a stored timezone name.

    ``timezone`` is a name from :mod:`bot.timezones` (an IANA name or ``"UTC±HH:MM"``) and ``local_time`` is
    naive (the zone is separate); anything else raises ``ValueError`` at construction.
    """

    enabled: bool
    local_time: time
    timezone: str

    def __post_init__(self) -> None:
        if self.local_time.tzinfo is not None:
            raise ValueError("local_time must be a wall-clock time without tzinfo")
        tzinfo_for(self.timezone)

    @property
    def zone(self) -> tzinfo:
        """The ``tzinfo`` of ``timezone``."""
        return tzinfo_for(self.timezone)


@dataclass(frozen=True)
class CheckinState:
    """Where a person's check-ins stand; stored per user, all instants aware (UTC when this module made them).

    ``due_at`` is the next regular nudge (None while check-ins are off); ``snoozed_until`` a pending reminder of
    the last nudge; ``unanswered`` the nudges in a row with no reply; ``last_nudge_date`` the local date of the
    last nudge sent; ``skipped_date`` a local date the person chose to skip; ``held_date`` the local date of a
    nudge (or reminder) held back while a flow is open.
    """

    due_at: datetime | None = None
    snoozed_until: datetime | None = None
    unanswered: int = 0
    last_nudge_date: date | None = None
    skipped_date: date | None = None
    held_date: date | None = None

    def __post_init__(self) -> None:
        for moment in (self.due_at, self.snoozed_until):
            if moment is not None:
                _require_aware(moment)
        if self.unanswered < 0:
            raise ValueError("unanswered cannot be negative")

    @property
    def wake_at(self) -> datetime | None:
        """The earliest instant :func:`run_due` has something to do (the column to index), or None."""
        pending = [moment for moment in (self.due_at, self.snoozed_until) if moment is not None]
        return min(pending, default=None)


class DueDecision(enum.Enum):
    """What to do with a nudge whose due instant may have passed."""

    NOT_YET = "not_yet"
    SEND = "send"
    SKIP_DAY = "skip_day"


@dataclass(frozen=True)
class Nudge:
    """Send the check-in for ``local_date``.

    ``reminder`` when it re-sends a snoozed nudge (same local date: update that row, do not insert one);
    ``backoff_notice`` when it should also say, once, that check-ins are now less frequent and how to change it.
    """

    local_date: date
    reminder: bool = False
    backoff_notice: bool = False


@dataclass(frozen=True)
class Held:
    """The nudge (or reminder) for ``local_date`` is due, but a flow the person is working through holds it back."""

    local_date: date
    reminder: bool = False


@dataclass(frozen=True)
class Missed:
    """The nudge (or reminder) for ``local_date`` was due more than the grace window ago: nothing is sent."""

    local_date: date
    reminder: bool = False


# --- local time -------------------------------------------------------------------------------------------


def local_date(settings: CheckinSettings, moment: datetime) -> date:
    """The person's local calendar date at ``moment``: the date a nudge due then belongs to, or "today"."""
    _require_aware(moment)
    return moment.astimezone(settings.zone).date()


def local_moment(settings: CheckinSettings, day: date) -> datetime | None:
    """The UTC instant at which the person's clock shows ``local_time`` on ``day``.

    In a spring-forward gap, the first instant after the gap; in an autumn fold, the first occurrence. None
    when that instant falls on another local date (a date whose gap swallows the time and the rest of the day).
    """
    zone = settings.zone
    wall = datetime.combine(day, settings.local_time, tzinfo=zone)
    instant = wall.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall.replace(tzinfo=None):
        instant = _end_of_gap(wall, zone)
    return instant if instant.astimezone(zone).date() == day else None


def _end_of_gap(wall: datetime, zone: tzinfo) -> datetime:
    """The transition instant (UTC) that skips over the non-existent local ``wall`` time.

    PEP 495: for a skipped time, fold=0 reads it with the offset before the jump and fold=1 with the one after,
    giving two UTC instants that bracket the transition; it is found to the second by bisection.
    """
    first, second = wall.astimezone(UTC), wall.replace(fold=1).astimezone(UTC)
    low, high = min(first, second), max(first, second)
    after = high.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) // 2
        if middle.astimezone(zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


# --- back-off ---------------------------------------------------------------------------------------------


def nudge_interval(unanswered: int) -> int:
    """Days between nudges after ``unanswered`` ignored nudges in a row: 1, then 2 from 3, then 7 from 7."""
    if unanswered >= WEEKLY_FROM:
        return 7
    if unanswered >= DAILY_UNTIL:
        return 2
    return 1


def nudge_due_on(state: CheckinState, day: date) -> bool:
    """Whether local date ``day`` may get a nudge: after the last nudged date by at least the back-off interval,
    and not the skipped date."""
    if day == state.skipped_date:
        return False
    if state.last_nudge_date is None:
        return True
    return (day - state.last_nudge_date).days >= nudge_interval(state.unanswered)


def backoff_notice_due(state: CheckinState) -> bool:
    """Whether the next nudge should carry the "I'll check in less often now; /checkin to change it" notice:
    true exactly for the first nudge after back-off starts, i.e. once per run of ignored nudges."""
    return state.unanswered == DAILY_UNTIL


# --- scheduling -------------------------------------------------------------------------------------------


def next_due(settings: CheckinSettings, after: datetime, state: CheckinState | None = None) -> datetime:
    """The next instant (UTC) strictly after ``after`` at which a nudge is due, ignoring ``settings.enabled``.

    It is :func:`local_moment` of the first local date that :func:`nudge_due_on` allows, so there is at most
    one per local date, none on or before ``state.last_nudge_date``, and the back-off spacing holds.
    """
    _require_aware(after)
    state = state or CheckinState()
    start = local_date(settings, after)
    for offset in range(_SEARCH_DAYS):
        day = start + timedelta(days=offset)
        if not nudge_due_on(state, day):
            continue
        moment = local_moment(settings, day)
        if moment is not None and moment > after:
            return moment
    raise RuntimeError(f"no check-in time found within {_SEARCH_DAYS} days for {settings!r}")  # pragma: no cover


def due_decision(due_at: datetime, now: datetime, grace: timedelta = DEFAULT_GRACE) -> DueDecision:
    """Whether a nudge due at ``due_at`` should go out at ``now``: not yet; send (at most ``grace`` late,
    inclusive); or skip that day (later than that, e.g. the bot was down)."""
    _require_aware(due_at)
    _require_aware(now)
    if grace < timedelta(0):
        raise ValueError("grace cannot be negative")
    if now < due_at:
        return DueDecision.NOT_YET
    return DueDecision.SEND if now - due_at <= grace else DueDecision.SKIP_DAY


def reschedule(settings: CheckinSettings, state: CheckinState, now: datetime) -> CheckinState:
    """The state after the settings changed (on/off, time, timezone): the next nudge after ``now``, or none and
    no reminder while check-ins are off. Counters and dates are kept; a nudge due but not yet sent is replaced."""
    if not settings.enabled:
        return replace(state, due_at=None, snoozed_until=None, held_date=None)
    return replace(state, due_at=next_due(settings, now, state))


def on_reply(settings: CheckinSettings, state: CheckinState, now: datetime) -> CheckinState:
    """The state after any reply from the person: back-off reset, so the next nudge may come sooner.

    A nudge already due but not yet sent is kept as it is, so a person chatting at check-in time still gets it.
    """
    reset = replace(state, unanswered=0)
    if state.due_at is not None and state.due_at <= now:
        return reset
    return reschedule(settings, reset, now)


def snooze(settings: CheckinSettings, state: CheckinState, now: datetime, delay: timedelta = SNOOZE) -> CheckinState:
    """The state after "snooze": a reply (see :func:`on_reply`) plus a reminder of the last nudge ``delay`` from
    ``now``. Nothing to remind of (no nudge yet, or check-ins off) means no reminder."""
    _require_aware(now)
    replied = on_reply(settings, state, now)
    if not settings.enabled or state.last_nudge_date is None:
        return replied
    return replace(replied, snoozed_until=(now + delay).astimezone(UTC))


def skip_day(settings: CheckinSettings, state: CheckinState, now: datetime, day: date | None = None) -> CheckinState:
    """The state after "skip today" (or skip ``day``, e.g. the date of the nudge whose button was pressed):
    a reply, no reminder, and no nudge on that local date; the next one is the following allowed date."""
    skipped = replace(state, unanswered=0, snoozed_until=None, skipped_date=day or local_date(settings, now))
    return reschedule(settings, skipped, now)


def run_due(
    settings: CheckinSettings,
    state: CheckinState,
    now: datetime,
    grace: timedelta = DEFAULT_GRACE,
    flow_touched_at: datetime | None = None,
) -> tuple[Nudge | Held | Missed | None, CheckinState]:
    """What the periodic job does for one person at ``now``: the nudge to send (or the one held back, or the
    one missed), and the state to store with it.

    ``flow_touched_at`` is when a flow the person has open (other than a check-in) last moved, None when no
    flow is open. Touched within ``IDLE``, a due nudge is :class:`Held` (nothing counted, ``due_at`` kept, so
    every later call looks again); otherwise it is sent, and the caller sets the open flow aside.

    A regular nudge due by ``now`` wins over a pending reminder (which it replaces). Sent nudges count as
    unanswered until a reply; a missed one changes no counter. After a sent or missed nudge the returned
    state's ``due_at`` is the next regular nudge after ``now`` (None while off), so calling again at the same
    ``now`` does nothing.
    """
    _require_aware(now)
    if not settings.enabled:
        return None, reschedule(settings, replace(state, held_date=None), now)
    busy = flow_touched_at is not None and now - flow_touched_at < IDLE
    if state.due_at is not None and state.due_at <= now:
        day = local_date(settings, state.due_at)
        cleared = replace(state, snoozed_until=None, held_date=None)
        if not nudge_due_on(state, day):  # a stale due_at: no nudge that date, just move on
            return None, reschedule(settings, cleared, now)
        if now > _deadline(settings, state.due_at, day, grace, held=state.held_date == day):
            return Missed(day), reschedule(settings, cleared, now)
        if busy:
            return Held(day), replace(state, held_date=day)
        nudge = Nudge(day, backoff_notice=backoff_notice_due(state))
        sent = replace(cleared, unanswered=state.unanswered + 1, last_nudge_date=day)
        return nudge, reschedule(settings, sent, now)
    if state.snoozed_until is not None and state.snoozed_until <= now:
        cleared = replace(state, snoozed_until=None, held_date=None)
        if state.last_nudge_date is None:
            return None, cleared
        day = state.last_nudge_date
        if now > _deadline(settings, state.snoozed_until, day, grace, held=state.held_date == day):
            return Missed(day, reminder=True), cleared
        if busy:
            return Held(day, reminder=True), replace(state, held_date=day)
        return Nudge(day, reminder=True), replace(cleared, unanswered=state.unanswered + 1)
    return None, state


def hold_deadline(settings: CheckinSettings, due_at: datetime, day: date, grace: timedelta = DEFAULT_GRACE) -> datetime:
    """The last instant (UTC) a nudge for local date ``day``, due at ``due_at`` and held back by an open flow,
    may still go out: ``LATEST_LOCAL`` that day, or ``grace`` after ``due_at`` when later, but never past the
    end of ``day`` (no check-in in the night for a day that is over)."""
    _require_aware(due_at)
    latest = local_moment(replace(settings, local_time=LATEST_LOCAL), day)
    candidates = [moment for moment in (latest, due_at + grace) if moment is not None]
    end = _start_of(settings, day + timedelta(days=1)) - timedelta(seconds=1)
    return min(max(candidates), max(end, due_at))


def _deadline(settings: CheckinSettings, due_at: datetime, day: date, grace: timedelta, held: bool) -> datetime:
    """How late a nudge may still go out: ``grace`` after it was due, or the longer :func:`hold_deadline`
    once it has been held back by an open flow."""
    if grace < timedelta(0):
        raise ValueError("grace cannot be negative")
    return hold_deadline(settings, due_at, day, grace) if held else due_at + grace


def _start_of(settings: CheckinSettings, day: date) -> datetime:
    """The first instant (UTC) of local date ``day`` (after a gap at midnight, the end of the gap)."""
    midnight = local_moment(replace(settings, local_time=time(0, 0)), day)
    if midnight is not None:
        return midnight
    return datetime.combine(day, time(0, 0), tzinfo=settings.zone).astimezone(UTC)  # pragma: no cover


def question_expired(settings: CheckinSettings, asked_at: datetime, now: datetime) -> bool:
    """Whether a check-in question asked at ``asked_at`` has expired at ``now``: past the local midnight after
    it was asked, and at least ``ANSWER_AT_LEAST`` after it (a late-evening one may be answered after midnight).
    Afterwards a message is read fresh, never as that day's answer."""
    _require_aware(asked_at)
    _require_aware(now)
    end_of_day = _start_of(settings, local_date(settings, asked_at) + timedelta(days=1))
    return now >= max(end_of_day, asked_at + ANSWER_AT_LEAST)


@dataclass(frozen=True)
class PlannedStep:
    """A next step still open: the run it came from, its words, the local day it is due, when it was planned,
    and how many check-ins it has been "not yet" at."""

    run_id: int
    text: str
    due: date
    planned_at: datetime
    not_yet: int = 0


def step_to_ask(steps: list[PlannedStep], today: date, now: datetime) -> PlannedStep | None:
    """The one next step a check-in on local date ``today`` asks about, or None: among those due by ``today``
    (and planned at least ``SETTLE`` before ``now``), the most recently due, then the most recently planned.
    A step not yet due is never asked about, so it can never be answered "not yet" early."""
    _require_aware(now)
    due = [step for step in steps if step.due <= today and now - step.planned_at >= SETTLE]
    return max(due, key=lambda step: (step.due, step.planned_at, step.run_id), default=None)


def after_not_yet(not_yet_before: int, today: date) -> date | None:
    """When to ask about a step again after a "not yet" on local date ``today`` (it had ``not_yet_before``
    of them already): ``ASK_AGAIN_AFTER`` days later, or None when this was its ``MAX_NOT_YET``-th and it is
    let go."""
    if not_yet_before + 1 >= MAX_NOT_YET:
        return None
    return today + timedelta(days=ASK_AGAIN_AFTER)


REVISIT_AFTER = {"week": 7, "month": 30}
"""Days after an entry (local dates) when a check-in brings its lesson back: a week on, and a month on."""

REVISIT_LATE_BY = {"week": 6, "month": 14}
"""How many days past its day a revisit may still come (check-ins can be off, skipped or eased off a while)."""

REVISIT_MIN_LETTERS = 8
"""A lesson shorter than this ("idk", "dunno", "nothing") is not brought back: there is nothing to revisit."""


@dataclass(frozen=True)
class PastLesson:
    """An entry whose lesson a check-in may bring back: its run, its words, when it was written, which revisits
    were already asked (``week``, ``month``), and whether an earlier one was answered "it changed"."""

    run_id: int
    lesson: str
    finished_at: datetime
    asked: frozenset[str] = frozenset()
    changed: bool = False


@dataclass(frozen=True)
class Revisit:
    """Bring back ``lesson`` (``kind`` says how long ago: ``week`` or ``month``)."""

    run_id: int
    lesson: str
    kind: str


def worth_revisiting(lesson: str) -> bool:
    """Whether a lesson says enough to ask about later: two words or more, and ``REVISIT_MIN_LETTERS`` letters."""
    return len(lesson.split()) >= 2 and sum(char.isalpha() for char in lesson) >= REVISIT_MIN_LETTERS


def revisit_to_ask(
    lessons: list[PastLesson], settings: CheckinSettings, today: date, asked_today: bool
) -> Revisit | None:
    """The one past lesson a check-in on local date ``today`` brings back, or None.

    At most one a day (``asked_today``: one was already brought back on this date). A lesson comes back a week
    on (up to ``REVISIT_LATE_BY`` days late) unless its month has come, and a month on unless an earlier answer
    said it changed; never twice for the same mark. The month ones first (they are rarer), then the oldest entry.
    """
    if asked_today:
        return None
    found: list[tuple[int, datetime, Revisit]] = []
    for past in lessons:
        if not worth_revisiting(past.lesson):
            continue
        age = (today - local_date(settings, past.finished_at)).days
        for rank, kind in enumerate(("month", "week")):
            late = age - REVISIT_AFTER[kind]
            if not 0 <= late <= REVISIT_LATE_BY[kind] or kind in past.asked:
                continue
            if kind == "month" and past.changed:
                continue
            if kind == "week" and "month" in past.asked:
                continue
            found.append((rank, past.finished_at, Revisit(past.run_id, past.lesson, kind)))
            break
    return min(found, key=lambda item: (item[0], item[1]))[2] if found else None


def revisit_window(now: datetime) -> tuple[datetime, datetime]:
    """The instants between which entries may be due a revisit at ``now`` (a day's slack either side, for
    timezones): the caller fetches these and :func:`revisit_to_ask` decides by local date."""
    earliest = max(REVISIT_AFTER[kind] + REVISIT_LATE_BY[kind] for kind in REVISIT_AFTER) + 1
    latest = min(REVISIT_AFTER.values()) - 1
    return now - timedelta(days=earliest), now - timedelta(days=latest)


def _require_aware(moment: datetime) -> None:
    """Refuse naive datetimes: a naive instant is a bug, never a person's input."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime: {moment!r}")
