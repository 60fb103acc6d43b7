"""Pure rules for check-ins that are never lost: held while a flow is open, the latest a held one may go out,
a question that lasts its local day, and which next step a check-in asks about."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot import checkins
from bot.checkins import CheckinSettings, CheckinState, Held, Missed, Nudge, PlannedStep

BERLIN = CheckinSettings(True, time(20, 0), "Europe/Berlin")
DUE = datetime(2026, 6, 10, 18, 0, tzinfo=UTC)  # 20:00 in Berlin (summer time)
DAY = date(2026, 6, 10)


def due_state() -> CheckinState:
    return CheckinState(due_at=DUE)


def test_a_due_check_in_is_held_while_the_flow_was_touched_recently_and_nothing_is_counted() -> None:
    result, state = checkins.run_due(BERLIN, due_state(), DUE, flow_touched_at=DUE - timedelta(minutes=5))
    assert result == Held(DAY)
    assert state.due_at == DUE and state.held_date == DAY and state.unanswered == 0
    assert state.wake_at is not None and state.wake_at <= DUE  # looked at again on every pass


def test_a_held_check_in_goes_out_once_the_flow_ends() -> None:
    _, held = checkins.run_due(BERLIN, due_state(), DUE, flow_touched_at=DUE)
    later = DUE + timedelta(minutes=40)
    result, state = checkins.run_due(BERLIN, held, later)
    assert result == Nudge(DAY)
    assert state.held_date is None and state.last_nudge_date == DAY and state.due_at is not None
    assert state.due_at > later


def test_a_flow_left_alone_long_enough_no_longer_holds_it() -> None:
    result, _ = checkins.run_due(BERLIN, due_state(), DUE, flow_touched_at=DUE - checkins.IDLE)
    assert result == Nudge(DAY)


@pytest.mark.parametrize(
    ("local_time", "latest_local"),
    [
        (time(20, 0), "22:00"),  # the evening limit
        (time(21, 30), "23:30"),  # later than that when the chosen time is late: grace after it
        (time(23, 0), "23:59"),  # never past midnight
        (time(7, 0), "22:00"),  # a morning check-in may wait all day
    ],
)
def test_the_latest_a_held_check_in_may_go_out(local_time: time, latest_local: str) -> None:
    settings = CheckinSettings(True, local_time, "Europe/Berlin")
    due = checkins.local_moment(settings, DAY)
    assert due is not None
    deadline = checkins.hold_deadline(settings, due, DAY)
    assert deadline.astimezone(settings.zone).strftime("%H:%M") == latest_local
    assert deadline.astimezone(settings.zone).date() == DAY


def test_a_check_in_held_past_its_deadline_is_missed_and_the_next_day_comes() -> None:
    _, held = checkins.run_due(BERLIN, due_state(), DUE, flow_touched_at=DUE)
    too_late = DUE + timedelta(hours=2, minutes=1)  # 22:01 in Berlin
    result, state = checkins.run_due(BERLIN, held, too_late, flow_touched_at=DUE + timedelta(hours=1))
    assert result == Missed(DAY)
    assert state.held_date is None and state.unanswered == 0
    assert state.due_at == DUE + timedelta(days=1)


def test_not_held_a_late_check_in_keeps_the_two_hour_grace() -> None:
    result, _ = checkins.run_due(BERLIN, due_state(), DUE + timedelta(hours=3))
    assert result == Missed(DAY)


def test_a_snoozed_reminder_is_held_too() -> None:
    state = CheckinState(due_at=DUE + timedelta(days=1), snoozed_until=DUE + timedelta(hours=1), last_nudge_date=DAY)
    result, held = checkins.run_due(BERLIN, state, DUE + timedelta(hours=1), flow_touched_at=DUE + timedelta(hours=1))
    assert result == Held(DAY, reminder=True) and held.snoozed_until is not None
    result, _ = checkins.run_due(BERLIN, held, DUE + timedelta(hours=1, minutes=30))
    assert result == Nudge(DAY, reminder=True)


@pytest.mark.parametrize(
    ("asked_local", "answered_local", "expired"),
    [
        ("2026-06-10T20:00", "2026-06-10T23:59", False),
        ("2026-06-10T20:00", "2026-06-11T00:01", True),
        ("2026-06-10T22:00", "2026-06-11T00:30", False),  # less than three hours after it was asked
        ("2026-06-10T20:00", "2026-06-11T08:00", True),
        ("2026-06-10T08:00", "2026-06-11T00:00", True),
        ("2026-06-10T23:30", "2026-06-11T02:00", False),
        ("2026-06-10T23:30", "2026-06-11T02:31", True),
    ],
)
def test_a_check_in_question_lasts_its_local_day(asked_local: str, answered_local: str, expired: bool) -> None:
    zone = BERLIN.zone
    asked = datetime.fromisoformat(asked_local).replace(tzinfo=zone)
    answered = datetime.fromisoformat(answered_local).replace(tzinfo=zone)
    assert checkins.question_expired(BERLIN, asked, answered) is expired


def _step(run_id: int, due: date, planned_days_ago: int = 3) -> PlannedStep:
    return PlannedStep(run_id, f"step {run_id}", due, DUE - timedelta(days=planned_days_ago))


def test_only_a_due_step_is_asked_about_the_most_recently_due_first() -> None:
    steps = [_step(1, DAY - timedelta(days=2)), _step(2, DAY), _step(3, DAY + timedelta(days=1))]
    assert checkins.step_to_ask(steps, DAY, DUE) == steps[1]
    assert checkins.step_to_ask([steps[2]], DAY, DUE) is None  # not due yet: never asked, never "not yet"


def test_a_step_planned_moments_ago_waits() -> None:
    fresh = PlannedStep(1, "call", DAY, DUE - timedelta(minutes=6))
    assert checkins.step_to_ask([fresh], DAY, DUE) is None
    assert checkins.step_to_ask([fresh], DAY, DUE + checkins.SETTLE) == fresh


def test_not_yet_asks_again_later_a_few_times_then_lets_go() -> None:
    assert checkins.after_not_yet(0, DAY) == DAY + timedelta(days=checkins.ASK_AGAIN_AFTER)
    assert checkins.after_not_yet(checkins.MAX_NOT_YET - 2, DAY) is not None
    assert checkins.after_not_yet(checkins.MAX_NOT_YET - 1, DAY) is None
