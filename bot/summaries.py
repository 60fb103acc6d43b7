"""What /lessons shows: pure functions from stored entries and ``now`` to template context.

Nothing here reads the clock or the database; the conversation service fetches, these decide.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from bot.storage.repository import LessonEntry, LessonOverview

PERIODS = ("week", "30d", "month", "all")
DEFAULT_PERIOD = "30d"
PAGE_SIZE = 5
CHECKIN_WINDOW_DAYS = 30

_STOPWORDS = frozenset(
    [
        "a",
        "about",
        "after",
        "again",
        "all",
        "also",
        "always",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "don't",
        "done",
        "even",
        "every",
        "for",
        "from",
        "get",
        "got",
        "had",
        "has",
        "have",
        "having",
        "i",
        "i'm",
        "if",
        "in",
        "into",
        "is",
        "it",
        "it's",
        "its",
        "just",
        "let",
        "like",
        "make",
        "me",
        "more",
        "most",
        "much",
        "my",
        "myself",
        "need",
        "never",
        "next",
        "no",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "one",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "really",
        "should",
        "so",
        "some",
        "something",
        "still",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "thing",
        "things",
        "this",
        "those",
        "time",
        "to",
        "too",
        "try",
        "up",
        "us",
        "very",
        "was",
        "way",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)


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


def stems(text: str) -> frozenset[str]:
    """The content words of a lesson, lower-cased and crudely stemmed, without common words."""
    words = re.findall(r"[a-zà-ÿ']+", text.casefold())
    found = set()
    for word in words:
        if len(word) < 3 or word in _STOPWORDS:
            continue
        for suffix in ("ing", "ed", "es", "ly", "s"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
        found.add(word)
    return frozenset(found)


@dataclass(frozen=True)
class RecurringLesson:
    """A lesson named more than once (the same or similar words), with its newest wording."""

    lesson: str
    times: int


def recurring_lessons(lessons: Sequence[str], limit: int = 3) -> list[RecurringLesson]:
    """Lessons that come back: two lessons belong together when they share at least two content words
    and half of their words. ``lessons`` is newest first; each group shows its newest wording."""
    word_sets = [stems(lesson) for lesson in lessons]
    parent = list(range(len(lessons)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    by_word: dict[str, list[int]] = {}
    for index, words in enumerate(word_sets):
        for word in words:
            by_word.setdefault(word, []).append(index)
    common = max(50, len(lessons) // 4)  # a word in a quarter of all lessons says little on its own
    for indexes in by_word.values():
        if len(indexes) > common:
            continue
        first = indexes[0]
        for other in indexes[1:]:
            a, b = word_sets[first], word_sets[other]
            shared = len(a & b)
            if shared >= 2 and shared * 2 >= max(len(a), len(b)) and root(first) != root(other):
                parent[root(other)] = root(first)
    sizes = Counter(root(index) for index, words in enumerate(word_sets) if words)
    groups = [(size, -group) for group, size in sizes.items() if size > 1]
    groups.sort(reverse=True)
    newest: dict[int, str] = {}
    for index in range(len(lessons)):
        newest.setdefault(root(index), lessons[index])
    return [RecurringLesson(newest[-neg], size) for size, neg in groups[:limit]]


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
    outcome_labels: dict[str, str],
    now: datetime,
    zone: tzinfo,
) -> dict[str, Any]:
    """Template context for one page of /lessons (``entries`` are that page's, newest first)."""
    today = now.astimezone(zone).date()
    window = {day for day in checkins if (today - day).days < CHECKIN_WINDOW_DAYS}
    first_number = (page - 1) * PAGE_SIZE + 1
    return {
        "period": period_label,
        "count": overview.count,
        # An average of one is just that entry: only say "on average" when there are two or more.
        "avg_before": _number(overview.average_before) if overview.with_feelings > 1 else "",
        "avg_after": _number(overview.average_after) if overview.with_feelings > 1 else "",
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
                "outcome": outcome_labels.get(entry.next_step_outcome or "open", outcome_labels["open"]),
                "before": "" if entry.feeling_before is None else entry.feeling_before,
                "after": "" if entry.feeling_after is None else entry.feeling_after,
            }
            for offset, entry in enumerate(entries)
        ],
    }


def day_label(moment: datetime) -> str:
    """A date as people write it, e.g. '5 Mar 2026' (no zero padding, on every platform)."""
    return f"{moment.day} {moment:%b %Y}"
