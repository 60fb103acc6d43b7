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
    last nudge sent; ``skipped_date`` a local date the person chose to skip.
    """

    due_at: datetime | None = None
    snoozed_until: datetime | None = None
    unanswered: int = 0
    last_nudge_date: date | None = None
    skipped_date: date | None = None

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
        return replace(state, due_at=None, snoozed_until=None)
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
    settings: CheckinSettings, state: CheckinState, now: datetime, grace: timedelta = DEFAULT_GRACE
) -> tuple[Nudge | Missed | None, CheckinState]:
    """What the periodic job does for one person at ``now``: the nudge to send (or the one missed), and the
    state to store with it.

    A regular nudge due by ``now`` wins over a pending reminder (which it replaces). Sent nudges count as
    unanswered until a reply; a missed one changes no counter. The returned state's ``due_at`` is always the
    next regular nudge after ``now`` (None while off), so calling again at the same ``now`` does nothing.
    """
    _require_aware(now)
    if not settings.enabled:
        return None, reschedule(settings, state, now)
    if state.due_at is not None and state.due_at <= now:
        day = local_date(settings, state.due_at)
        decision = due_decision(state.due_at, now, grace)
        cleared = replace(state, snoozed_until=None)
        if not nudge_due_on(state, day):  # a stale due_at: no nudge that date, just move on
            return None, reschedule(settings, cleared, now)
        if decision is DueDecision.SKIP_DAY:
            return Missed(day), reschedule(settings, cleared, now)
        nudge = Nudge(day, backoff_notice=backoff_notice_due(state))
        sent = replace(cleared, unanswered=state.unanswered + 1, last_nudge_date=day)
        return nudge, reschedule(settings, sent, now)
    if state.snoozed_until is not None and state.snoozed_until <= now:
        cleared = replace(state, snoozed_until=None)
        if state.last_nudge_date is None:
            return None, cleared
        if due_decision(state.snoozed_until, now, grace) is DueDecision.SKIP_DAY:
            return Missed(state.last_nudge_date, reminder=True), cleared
        return Nudge(state.last_nudge_date, reminder=True), replace(cleared, unanswered=state.unanswered + 1)
    return None, state


def _require_aware(moment: datetime) -> None:
    """Refuse naive datetimes: a naive instant is a bug, never a person's input."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime: {moment!r}")
