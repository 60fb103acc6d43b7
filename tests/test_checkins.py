"""When check-ins go out: local times across daylight saving, back-off, the grace window, snooze and skip.

Every test passes its own aware ``now``; nothing reads the clock. DST dates (verified with zoneinfo):
Europe/Berlin 2026-03-29 02:00→03:00 and 2026-10-25 03:00→02:00; America/New_York 2026-03-08 02:00→03:00 and
2026-11-01 02:00→01:00; America/Santiago 2026-09-06 00:00→01:00 and 2026-04-04 24:00→23:00;
Australia/Lord_Howe 2026-10-04 02:00→02:30. Asia/Kathmandu stays at UTC+5:45.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.checkins import (
    DAILY_UNTIL,
    DEFAULT_GRACE,
    WEEKLY_FROM,
    CheckinSettings,
    CheckinState,
    DueDecision,
    Missed,
    Nudge,
    backoff_notice_due,
    due_decision,
    local_date,
    local_moment,
    next_due,
    nudge_due_on,
    nudge_interval,
    on_reply,
    reschedule,
    run_due,
    skip_day,
    snooze,
)


def on(zone: str, at: str) -> CheckinSettings:
    """Check-ins switched on at ``at`` ("HH:MM") local time in ``zone``."""
    hour, minute = (int(part) for part in at.split(":"))
    return CheckinSettings(enabled=True, local_time=time(hour, minute), timezone=zone)


def utc(text: str) -> datetime:
    """An aware UTC instant from "YYYY-MM-DD HH:MM[:SS]"."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(zone: str, text: str) -> datetime:
    """An aware instant from a local wall-clock reading "YYYY-MM-DD HH:MM" in ``zone`` (first occurrence)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


# --- one local time, one instant ---------------------------------------------------------------------------

MOMENTS = [
    # zone, local time, local date, the UTC instant it is due
    ("Europe/Berlin", "09:00", "2026-03-28", "2026-03-28 08:00"),  # CET, +1
    ("Europe/Berlin", "09:00", "2026-03-29", "2026-03-29 07:00"),  # spring-forward day, already CEST
    ("Europe/Berlin", "02:30", "2026-03-29", "2026-03-29 01:00"),  # in the gap → 03:00 CEST, the gap's end
    ("Europe/Berlin", "02:00", "2026-03-29", "2026-03-29 01:00"),  # the gap's first minute → 03:00 too
    ("Europe/Berlin", "02:59", "2026-03-29", "2026-03-29 01:00"),
    ("Europe/Berlin", "03:00", "2026-03-29", "2026-03-29 01:00"),  # exists: the same instant, one nudge only
    ("Europe/Berlin", "02:30", "2026-03-30", "2026-03-30 00:30"),
    ("Europe/Berlin", "02:30", "2026-10-25", "2026-10-25 00:30"),  # twice that night: the first (CEST)
    ("Europe/Berlin", "09:00", "2026-10-25", "2026-10-25 08:00"),  # autumn day, already CET
    ("Europe/Berlin", "09:00", "2026-10-24", "2026-10-24 07:00"),
    ("America/New_York", "09:00", "2026-03-07", "2026-03-07 14:00"),  # EST, -5
    ("America/New_York", "09:00", "2026-03-08", "2026-03-08 13:00"),  # EDT, -4
    ("America/New_York", "02:30", "2026-03-08", "2026-03-08 07:00"),  # gap → 03:00 EDT
    ("America/New_York", "01:30", "2026-11-01", "2026-11-01 05:30"),  # fold: first 01:30 (EDT)
    ("America/New_York", "09:00", "2026-11-01", "2026-11-01 14:00"),
    ("America/New_York", "23:30", "2026-10-31", "2026-11-01 03:30"),  # the evening before, still EDT
    ("Asia/Kathmandu", "09:00", "2026-06-01", "2026-06-01 03:15"),
    ("Asia/Kathmandu", "05:00", "2026-06-01", "2026-05-31 23:15"),  # the local morning is the UTC evening before
    ("UTC+05:45", "09:00", "2026-06-01", "2026-06-01 03:15"),
    ("UTC-03:00", "21:00", "2026-06-01", "2026-06-02 00:00"),
    ("UTC", "00:00", "2026-06-01", "2026-06-01 00:00"),
    ("America/Santiago", "00:30", "2026-09-06", "2026-09-06 04:00"),  # midnight gap → 01:00 -03
    ("America/Santiago", "23:30", "2026-04-04", "2026-04-05 02:30"),  # fold at midnight: first 23:30 (-03)
    ("Australia/Lord_Howe", "02:15", "2026-10-04", "2026-10-03 15:30"),  # half-hour gap → 02:30 +11
]


@pytest.mark.parametrize(("zone", "at", "day", "expected"), MOMENTS)
def test_local_time_is_due_at_this_utc_instant(zone: str, at: str, day: str, expected: str) -> None:
    assert local_moment(on(zone, at), date.fromisoformat(day)) == utc(expected)


def test_a_date_swallowed_by_a_gap_gets_no_nudge() -> None:
    # Samoa skipped 2011-12-30 entirely: no nudge that date, and the next date keeps its own one.
    settings = on("Pacific/Apia", "09:00")
    assert local_moment(settings, date(2011, 12, 30)) is None
    assert next_due(settings, utc("2011-12-29 20:00")) == local("Pacific/Apia", "2011-12-31 09:00")


NEXT = [
    # zone, local time, after (UTC), next due (UTC)
    ("Europe/Berlin", "09:00", "2026-03-28 07:59", "2026-03-28 08:00"),
    ("Europe/Berlin", "09:00", "2026-03-28 08:00", "2026-03-29 07:00"),  # strictly after
    ("Europe/Berlin", "02:30", "2026-03-28 02:00", "2026-03-29 01:00"),
    ("Europe/Berlin", "02:30", "2026-03-29 01:00", "2026-03-30 00:30"),
    ("Europe/Berlin", "02:30", "2026-10-25 00:30", "2026-10-26 01:30"),  # not again at the second 02:30
    ("Europe/Berlin", "02:30", "2026-10-25 00:45", "2026-10-26 01:30"),  # between the two 02:30s
    ("America/New_York", "01:30", "2026-11-01 05:30", "2026-11-02 06:30"),  # not again at the second 01:30
    ("America/New_York", "09:00", "2026-03-08 12:00", "2026-03-08 13:00"),
    ("Asia/Kathmandu", "09:00", "2026-06-01 03:14", "2026-06-01 03:15"),
    ("Asia/Kathmandu", "09:00", "2026-06-01 03:15", "2026-06-02 03:15"),
    ("Asia/Kathmandu", "05:00", "2026-05-31 23:00", "2026-05-31 23:15"),
    ("UTC+05:45", "09:00", "2026-06-01 18:30", "2026-06-02 03:15"),
]


@pytest.mark.parametrize(("zone", "at", "after", "expected"), NEXT)
def test_next_due_is_the_next_local_time_strictly_after(zone: str, at: str, after: str, expected: str) -> None:
    assert next_due(on(zone, at), utc(after)) == utc(expected)


YEAR_ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kathmandu",
    "UTC+05:45",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Australia/Sydney",
]
YEAR_TIMES = ["00:00", "00:30", "01:30", "02:00", "02:15", "02:30", "03:00", "09:00", "23:30", "23:59"]


@pytest.mark.parametrize("zone", YEAR_ZONES)
def test_exactly_one_due_instant_per_local_date_for_a_whole_year(zone: str) -> None:
    for at in YEAR_TIMES:
        settings = on(zone, at)
        moment = datetime(2026, 1, 1, tzinfo=settings.zone) - timedelta(seconds=1)
        dates: list[date] = []
        for _ in range(370):
            earlier, moment = moment, next_due(settings, moment)
            assert moment > earlier
            day = local_date(settings, moment)
            if day.year > 2026:
                break
            dates.append(day)
            wall = moment.astimezone(settings.zone)
            if wall.time() != settings.local_time:  # only in a gap: the first instant after it, same date
                asked = datetime.combine(day, settings.local_time)
                before = (moment - timedelta(seconds=1)).astimezone(settings.zone)
                assert before.replace(tzinfo=None) < asked < wall.replace(tzinfo=None), (zone, at, day)
        expected = [date(2026, 1, 1) + timedelta(days=n) for n in range(365)]
        assert dates == expected, (zone, at)


# --- back-off ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unanswered", "interval"),
    [(0, 1), (1, 1), (2, 1), (3, 2), (4, 2), (5, 2), (6, 2), (7, 7), (8, 7), (9, 7), (10, 7)],
)
def test_back_off_interval_after_ignored_nudges(unanswered: int, interval: int) -> None:
    assert nudge_interval(unanswered) == interval
    last = date(2026, 5, 1)
    state = CheckinState(unanswered=unanswered, last_nudge_date=last)
    allowed = [n for n in range(0, 10) if nudge_due_on(state, last + timedelta(days=n))]
    assert allowed == [n for n in range(interval, 10)]


def test_back_off_and_grace_constants_match_the_issue() -> None:
    assert DAILY_UNTIL == 3
    assert WEEKLY_FROM == 7
    assert timedelta(hours=2) == DEFAULT_GRACE


def test_nudges_back_off_when_ignored_and_the_notice_comes_once() -> None:
    settings = on("Europe/Berlin", "09:00")
    now = utc("2026-04-30 12:00")
    state = reschedule(settings, CheckinState(), now)
    sent: list[Nudge] = []
    for _ in range(10):
        assert state.due_at is not None
        now = state.due_at + timedelta(minutes=1)
        outcome, state = run_due(settings, state, now)
        assert isinstance(outcome, Nudge)
        sent.append(outcome)
    may = [nudge.local_date.day for nudge in sent if nudge.local_date.month == 5]
    assert may == [1, 2, 3, 5, 7, 9, 11, 18, 25]
    assert sent[-1].local_date == date(2026, 6, 1)
    assert [nudge.local_date.day for nudge in sent if nudge.backoff_notice] == [5]
    assert state.unanswered == 10


@pytest.mark.parametrize(
    ("unanswered", "notice"), [(0, False), (2, False), (3, True), (4, False), (7, False), (10, False)]
)
def test_back_off_notice_only_on_the_first_spaced_out_nudge(unanswered: int, notice: bool) -> None:
    assert backoff_notice_due(CheckinState(unanswered=unanswered)) is notice


def test_a_reply_resets_back_off_and_brings_the_next_nudge_forward() -> None:
    settings = on("Europe/Berlin", "09:00")
    weekly = CheckinState(unanswered=8, last_nudge_date=date(2026, 5, 18), due_at=utc("2026-05-25 07:00"))
    replied = on_reply(settings, weekly, utc("2026-05-19 18:00"))
    assert replied.unanswered == 0
    assert replied.due_at == utc("2026-05-20 07:00")
    nudge, after = run_due(settings, replied, utc("2026-05-20 07:00"))
    assert nudge == Nudge(date(2026, 5, 20))
    assert after.due_at == utc("2026-05-21 07:00")


def test_a_reply_at_check_in_time_keeps_the_nudge_that_is_due() -> None:
    settings = on("Europe/Berlin", "09:00")
    due = CheckinState(due_at=utc("2026-05-20 07:00"), last_nudge_date=date(2026, 5, 19), unanswered=1)
    replied = on_reply(settings, due, utc("2026-05-20 07:00:20"))
    assert replied == replace(due, unanswered=0)


# --- the grace window ---------------------------------------------------------------------------------------

GRACE = [
    # minutes late → decision
    (-1, DueDecision.NOT_YET),
    (0, DueDecision.SEND),
    (30, DueDecision.SEND),
    (120, DueDecision.SEND),
    (121, DueDecision.SKIP_DAY),
    (180, DueDecision.SKIP_DAY),
    (60 * 24 * 3, DueDecision.SKIP_DAY),
]


@pytest.mark.parametrize(("late", "decision"), GRACE)
def test_grace_window(late: int, decision: DueDecision) -> None:
    due = utc("2026-05-20 07:00")
    assert due_decision(due, due + timedelta(minutes=late)) is decision


@pytest.mark.parametrize(
    ("now", "outcome", "next_at"),
    [
        ("2026-05-20 07:30", Nudge(date(2026, 5, 20)), "2026-05-21 07:00"),  # restart 30 min late: sent
        ("2026-05-20 10:00", Missed(date(2026, 5, 20)), "2026-05-21 07:00"),  # 3 h late: that day is skipped
        ("2026-05-23 05:00", Missed(date(2026, 5, 20)), "2026-05-23 07:00"),  # down for days: the next one due
    ],
)
def test_restart_after_downtime(now: str, outcome: Nudge | Missed, next_at: str) -> None:
    settings = on("Europe/Berlin", "09:00")
    state = CheckinState(due_at=utc("2026-05-20 07:00"), last_nudge_date=date(2026, 5, 19))
    got, after = run_due(settings, state, utc(now))
    assert got == outcome
    assert after.due_at == utc(next_at)
    expected_last = date(2026, 5, 20) if isinstance(outcome, Nudge) else date(2026, 5, 19)
    assert after.last_nudge_date == expected_last
    assert run_due(settings, after, utc(now)) == (None, after)  # running again at once does nothing


def test_a_late_nudge_after_local_midnight_keeps_its_own_date_and_the_next_is_tonight() -> None:
    settings = on("Asia/Kathmandu", "23:30")
    state = CheckinState(due_at=local("Asia/Kathmandu", "2026-05-20 23:30"))
    nudge, after = run_due(settings, state, local("Asia/Kathmandu", "2026-05-21 00:45"))
    assert nudge == Nudge(date(2026, 5, 20))
    assert after.due_at == local("Asia/Kathmandu", "2026-05-21 23:30")


@pytest.mark.parametrize(("zone", "at"), [("Europe/Berlin", "02:30"), ("America/New_York", "01:30")])
def test_a_job_every_five_minutes_sends_one_nudge_per_date_across_dst_weeks(zone: str, at: str) -> None:
    settings = on(zone, at)
    for start, end in [("2026-03-05", "2026-04-02"), ("2026-10-22", "2026-11-05")]:
        now = utc(f"{start} 00:00")
        state = reschedule(settings, CheckinState(), now)
        dates: list[date] = []
        while now < utc(f"{end} 00:00"):
            outcome, state = run_due(settings, state, now)
            if outcome is not None:
                assert isinstance(outcome, Nudge)
                dates.append(outcome.local_date)
                state = on_reply(settings, state, now + timedelta(minutes=1))
            now += timedelta(minutes=5)
        assert len(dates) == len(set(dates))
        first = local_date(settings, utc(f"{start} 00:00"))
        expected_count = (date.fromisoformat(end) - first).days
        assert len(dates) in {expected_count, expected_count - 1}  # the last date may be due after `end`
        assert dates == sorted(dates)
        assert all((b - a).days == 1 for a, b in itertools.pairwise(dates))


# --- snooze and skip ----------------------------------------------------------------------------------------


def test_snooze_resends_the_same_nudge_an_hour_later() -> None:
    settings = on("Europe/Berlin", "09:00")
    nudge, state = run_due(
        settings, reschedule(settings, CheckinState(), utc("2026-05-20 06:00")), utc("2026-05-20 07:00")
    )
    assert nudge == Nudge(date(2026, 5, 20))
    state = snooze(settings, state, utc("2026-05-20 07:05"))
    assert state.snoozed_until == utc("2026-05-20 08:05")
    assert state.wake_at == utc("2026-05-20 08:05")
    assert run_due(settings, state, utc("2026-05-20 08:04")) == (None, state)
    reminder, state = run_due(settings, state, utc("2026-05-20 08:05"))
    assert reminder == Nudge(date(2026, 5, 20), reminder=True)
    assert state.snoozed_until is None
    assert state.wake_at == state.due_at == utc("2026-05-21 07:00")


def test_a_snoozed_reminder_missed_while_down_is_dropped() -> None:
    settings = on("Europe/Berlin", "09:00")
    state = CheckinState(
        due_at=utc("2026-05-21 07:00"), snoozed_until=utc("2026-05-20 08:05"), last_nudge_date=date(2026, 5, 20)
    )
    missed, after = run_due(settings, state, utc("2026-05-20 11:00"))
    assert missed == Missed(date(2026, 5, 20), reminder=True)
    assert after == replace(state, snoozed_until=None)


def test_the_next_regular_nudge_replaces_a_pending_reminder() -> None:
    settings = on("Europe/Berlin", "09:00")
    state = CheckinState(
        due_at=utc("2026-05-21 07:00"), snoozed_until=utc("2026-05-21 07:30"), last_nudge_date=date(2026, 5, 20)
    )
    nudge, after = run_due(settings, state, utc("2026-05-21 07:00"))
    assert nudge == Nudge(date(2026, 5, 21))
    assert after.snoozed_until is None


def test_snooze_before_any_nudge_sets_no_reminder() -> None:
    settings = on("Europe/Berlin", "09:00")
    state = reschedule(settings, CheckinState(), utc("2026-05-20 06:00"))
    assert snooze(settings, state, utc("2026-05-20 06:30")).snoozed_until is None


@pytest.mark.parametrize(
    ("zone", "now", "skipped", "next_at"),
    [
        ("Europe/Berlin", "2026-05-20 05:00", "2026-05-20", "2026-05-21 07:00"),  # before today's nudge
        ("Europe/Berlin", "2026-05-20 09:00", "2026-05-20", "2026-05-21 07:00"),  # after it
        ("Asia/Kathmandu", "2026-05-20 20:00", "2026-05-21", "2026-05-22 03:15"),  # already the 21st there
    ],
)
def test_skip_today(zone: str, now: str, skipped: str, next_at: str) -> None:
    settings = on(zone, "09:00")
    state = CheckinState(snoozed_until=utc("2026-05-20 09:30"), unanswered=4)
    after = skip_day(settings, state, utc(now))
    assert after.skipped_date == date.fromisoformat(skipped)
    assert after.due_at == utc(next_at)
    assert after.snoozed_until is None
    assert after.unanswered == 0


def test_skip_a_given_date_from_its_nudge_button_after_midnight() -> None:
    settings = on("Europe/Berlin", "23:30")
    state = CheckinState(last_nudge_date=date(2026, 5, 20), due_at=utc("2026-05-21 21:30"))
    after = skip_day(settings, state, utc("2026-05-20 22:10"), day=date(2026, 5, 20))
    assert after.skipped_date == date(2026, 5, 20)
    assert after.due_at == utc("2026-05-21 21:30")  # tonight's nudge still comes


# --- settings changes ---------------------------------------------------------------------------------------


def test_switched_off_nothing_is_due() -> None:
    settings = replace(on("Europe/Berlin", "09:00"), enabled=False)
    state = CheckinState(due_at=utc("2026-05-20 07:00"), snoozed_until=utc("2026-05-20 07:30"))
    outcome, after = run_due(settings, state, utc("2026-05-20 07:00"))
    assert outcome is None
    assert after.due_at is None
    assert after.wake_at is None


def test_moving_west_never_repeats_a_date_already_nudged() -> None:
    tokyo = on("Asia/Tokyo", "09:00")
    nudge, state = run_due(tokyo, CheckinState(due_at=utc("2026-05-20 00:00")), utc("2026-05-20 00:00"))
    assert nudge == Nudge(date(2026, 5, 20))
    los_angeles = on("America/Los_Angeles", "09:00")
    after = reschedule(los_angeles, state, utc("2026-05-20 01:00"))  # still the 19th in Los Angeles
    assert after.due_at == local("America/Los_Angeles", "2026-05-21 09:00")


@pytest.mark.parametrize(
    "call",
    [
        lambda: local_date(on("UTC", "09:00"), datetime(2026, 5, 20, 9, 0)),
        lambda: next_due(on("UTC", "09:00"), datetime(2026, 5, 20, 9, 0)),
        lambda: due_decision(utc("2026-05-20 07:00"), datetime(2026, 5, 20, 9, 0)),
        lambda: CheckinState(due_at=datetime(2026, 5, 20, 9, 0)),
        lambda: CheckinSettings(True, time(9, tzinfo=UTC), "UTC"),
        lambda: CheckinSettings(True, time(9), "Mars/Olympus_Mons"),
        lambda: CheckinState(unanswered=-1),
    ],
)
def test_naive_datetimes_and_bad_settings_are_refused(call: object) -> None:
    assert callable(call)
    with pytest.raises(ValueError):
        call()
