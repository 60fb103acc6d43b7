"""What /lessons shows: pure functions from stored entries and ``now`` to template context.

Nothing here reads the clock or the database; the conversation service fetches, these decide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from bot.similarity import Vocabulary, group_lessons
from bot.storage.records import HeldLesson, LessonEntry, LessonOverview

PERIODS = ("week", "30d", "month", "all")
DEFAULT_PERIOD = "30d"
PAGE_SIZE = 5
CHECKIN_WINDOW_DAYS = 30


def period_start(period: str, now: datetime, zone: tzinfo) -> datetime | None:
    """The first instant of a period as seen in ``zone``: this week (from Monday), the last 30 days,
    this month, or None for all time."""
    local = now.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        return _local_midnight(midnight.date() - timedelta(days=midnight.weekday()), zone)
    if period == "month":
        return _local_midnight(midnight.date().replace(day=1), zone)
    if period == "30d":
        return now - timedelta(days=30)
    return None


def _local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def page_count(total: int, page_size: int = PAGE_SIZE) -> int:
    """How many pages ``total`` entries fill (at least one)."""
    return max(1, -(-total // page_size))


@dataclass(frozen=True)
class RecurringLesson:
    """A lesson named more than once (in the same or other words), with its newest wording."""

    lesson: str
    times: int


def recurring_lessons(lessons: Sequence[str], vocab: Vocabulary, limit: int = 3) -> list[RecurringLesson]:
    """Lessons that come back: lessons that say the same thing (``bot.similarity``) grouped, the biggest
    groups first, each named by its newest wording. ``lessons`` is newest first."""
    groups = group_lessons(lessons, vocab)
    return [RecurringLesson(group.lesson, group.times) for group in groups[:limit] if group.times > 1]


def checkin_days(times: Iterable[datetime], zone: tzinfo) -> set[date]:
    """The local dates on which check-ins happened."""
    return {moment.astimezone(zone).date() for moment in times}


def kind_streak(days: set[date], today: date) -> int:
    """Days in a row with a check-in, ending today, or yesterday when today's hasn't happened yet.

    Counted kindly: a missing today does not break the streak before the day is over.
    """
    day = today if today in days else today - timedelta(days=1)
    streak = 0
    while day in days:
        streak += 1
        day -= timedelta(days=1)
    return streak


def _number(value: float | None) -> str:
    """An average as people say it: one decimal at most, none when it is whole ("4", "4.5")."""
    if value is None:
        return ""
    return f"{round(value, 1):g}"


def lessons_page_context(
    *,
    entries: Sequence[LessonEntry],
    overview: LessonOverview,
    recurring: Sequence[RecurringLesson],
    checkins: set[date],
    page: int,
    period_label: str,
    outcome_label: Callable[[str, str], str],
    now: datetime,
    zone: tzinfo,
    moods: Sequence[tuple[datetime, int]] = (),
    held: Sequence[HeldLesson] = (),
) -> dict[str, Any]:
    """Template context for one page of /lessons (``entries`` are that page's, newest first).

    ``outcome_label(kind, day)`` words a next step's state (see :func:`step_state`; ``day`` is the day a planned
    step is due); ``moods`` are the period's check-in moods, oldest first; ``held`` the lessons that held.
    """
    today = now.astimezone(zone).date()
    window = {day for day in checkins if (today - day).days < CHECKIN_WINDOW_DAYS}
    first_number = (page - 1) * PAGE_SIZE + 1
    return {
        "period": period_label,
        "count": overview.count,
        # An average of one is just that entry: only say "on average" when there are two or more.
        "avg_before": _number(overview.average_before) if overview.with_feelings > 1 else "",
        "avg_after": _number(overview.average_after) if overview.with_feelings > 1 else "",
        "avg_same": about_the_same(overview.average_before, overview.average_after),
        "moods": mood_trend(moods) or "",
        "held": [{"lesson": lesson.lesson, "when": lesson.kind} for lesson in held],
        "recurring": [{"lesson": group.lesson, "times": group.times} for group in recurring],
        "checkin_days": len(window),
        "streak": kind_streak(window, today),
        "page": page,
        "pages": page_count(overview.count),
        "entries": [
            {
                "number": first_number + offset,
                "date": day_label(entry.finished_at.astimezone(zone)),
                "title": entry.flow_title,
                "lesson": entry.lesson or "",
                "next_step": entry.next_step or "",
                "outcome": outcome_label(
                    step_state(entry, today), day_label(entry.next_step_due) if entry.next_step_due else ""
                ),
                "before": "" if entry.feeling_before is None else entry.feeling_before,
                "after": "" if entry.feeling_after is None else entry.feeling_after,
            }
            for offset, entry in enumerate(entries)
        ],
    }


def step_state(entry: LessonEntry, today: date) -> str:
    """Where an entry's next step stands, as people would say it: ``done``, ``partly``, ``let_go`` (set down
    after the last "not yet", or by the person), ``not_yet`` (a check-in heard "not yet"; it stays open),
    ``planned`` (its day is still ahead), or ``not_checked`` (due, and no check-in has heard about it yet)."""
    if entry.next_step_let_go_at is not None or entry.next_step_outcome == "dropped":
        return "let_go"
    if entry.next_step_outcome in {"done", "partly", "not_yet"}:
        return entry.next_step_outcome
    if entry.next_step_due is not None and entry.next_step_due > today:
        return "planned"
    return "not_checked"


def about_the_same(before: float | None, after: float | None) -> bool:
    """Whether two averages say "about the same" (less than half a point apart), never "went from 5.3 to 5.3"."""
    return before is not None and after is not None and abs(round(before, 1) - round(after, 1)) < 0.5


MOOD_BARS = "▁▃▄▆█"
"""One bar per check-in mood, 1 (rough) to 5 (great)."""

MOOD_SHOWN = 14
"""The trend line shows at most this many of the latest check-ins."""


def mood_trend(moods: Sequence[tuple[datetime, int]]) -> dict[str, Any] | None:
    """How check-in moods (1 rough … 5 great, oldest first) went: their count and average, the latest ones
    as bars, and whether the later half felt lighter (``up``), heavier (``down``) or ``steady`` against the
    earlier half (half a point or more counts). None for fewer than two: one day is not a trend."""
    values = [min(max(mood, 1), 5) for _, mood in moods]
    if len(values) < 2:
        return None
    half = len(values) // 2
    earlier, later = values[:half], values[half:]
    change = sum(later) / len(later) - sum(earlier) / len(earlier)
    return {
        "count": len(values),
        "average": _number(sum(values) / len(values)),
        "bars": "".join(MOOD_BARS[value - 1] for value in values[-MOOD_SHOWN:]),
        "direction": "up" if change >= 0.5 else "down" if change <= -0.5 else "steady",
    }


def day_label(moment: datetime | date) -> str:
    """A date as people write it, e.g. '5 Mar 2026' (no zero padding, on every platform)."""
    return f"{moment.day} {moment:%b %Y}"
