"""Reading a day the way people type it ("tmrw", "sat", "this weekend", "in 3 days", "dec 3"), and turning it
into a calendar date once the person's own "today" is known.

A flow's ``day`` question (when will you take your next step?) stores a *spec*, not a date: the engine never
knows the person's timezone, so "tomorrow" is kept as ``+1`` and resolved by :func:`resolve` against the
person's local date when the run is saved. Specs are short strings (they also travel as button values):

========================  ==============================================
``+N``                    N days from today (``+0`` today, ``+1`` tomorrow)
``wd:N`` / ``next:N``     the coming weekday N (0 is Monday), today counts / today does not
``weekend``               the coming Saturday (today, on a Saturday or Sunday)
``this_week``             the coming Friday (today, from Friday on)
``next_week``             the Monday after today
``next_month``            the first day of next month
``md:MM-DD``              that day of the year, this year or next (whichever comes first from today)
``date:YYYY-MM-DD``       that very date
``soon``                  no set day: in a few days
========================  ==============================================

Pure: no clock, no I/O. The words it reads with come from ``conversations/texts/words.yaml``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from bot.flows.texts import Texts
from bot.matching import fold, one_typo, word_list

SOON_DAYS = 3
""""Not sure yet" asks about the step this many days later."""

MAX_AHEAD_DAYS = 366
"""A step planned further ahead than this ("in 900 days") is not read: it is asked again instead."""

PICK_SPECS = {
    "today": "+0",
    "tomorrow": "+1",
    "this_week": "this_week",
    "weekend": "weekend",
    "next_week": "next_week",
    "not_sure": "soon",
}
"""The spec each quick pick stands for (its button's value)."""

_TYPO_MIN = 5
_SENTENCE_WORD_MIN = 5  # in a sentence, shorter day words ("now", "sat", "wed") mean too many other things
_CLOCK = re.compile(
    r"\b\d{1,2}(?::\d{2})?\s*(?:a\.?m\.?|p\.?m\.?)(?!\w)|\b\d{1,2}[:.]\d{2}\b|\bat\s+\d{1,2}\b", re.IGNORECASE
)
_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)$")
_SPEC = re.compile(
    r"^(?:\+\d{1,3}|(?:wd|next):[0-6]|weekend|this_week|next_week|next_month|soon|md:\d\d-\d\d|date:\d{4}-\d\d-\d\d)$"
)


@dataclass(frozen=True)
class DayWords:
    """The vocabulary days are read with, folded (see :func:`bot.matching.fold`)."""

    today: tuple[str, ...]
    tomorrow: tuple[str, ...]
    this_week: tuple[str, ...]
    weekend: tuple[str, ...]
    next_week: tuple[str, ...]
    next_month: tuple[str, ...]
    not_sure: tuple[str, ...]
    weekdays: tuple[tuple[str, ...], ...]
    """Seven groups, Monday first, each a day's names ("saturday", "sat")."""
    months: tuple[tuple[str, ...], ...]
    """Twelve groups, January first."""
    filler: frozenset[str]
    """Words that say nothing about the day ("on", "by", "morning", "probably")."""
    next_words: frozenset[str]
    """Words that push a weekday a week on when it is today ("next saturday" on a Saturday)."""
    this_words: frozenset[str]
    """Words that keep a weekday the coming one ("this saturday")."""
    in_words: frozenset[str]
    """Words that come before a count of days ("in", "within")."""
    day_units: frozenset[str]
    week_units: frozenset[str]
    numbers: tuple[str, ...]
    """Number words, the first meaning 0."""
    one: frozenset[str]
    """Words that mean one of a unit ("a", "an")."""
    couple: frozenset[str]
    few: frozenset[str]


@lru_cache(maxsize=8)
def day_words(texts: Texts) -> DayWords:
    """The day vocabulary the texts define (cached: texts never change while the bot runs)."""

    def groups(text: str) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(entry.split()) for entry in word_list(text))

    def flat(text: str) -> frozenset[str]:
        return frozenset(word for entry in word_list(text) for word in entry.split())

    return DayWords(
        today=word_list(texts.words_day_today),
        tomorrow=word_list(texts.words_day_tomorrow),
        this_week=word_list(texts.words_day_this_week),
        weekend=word_list(texts.words_day_weekend),
        next_week=word_list(texts.words_day_next_week),
        next_month=word_list(texts.words_day_next_month),
        not_sure=word_list(texts.words_day_not_sure),
        weekdays=groups(texts.words_weekdays),
        months=groups(texts.words_months),
        filler=flat(texts.words_day_filler),
        next_words=flat(texts.words_day_next),
        this_words=flat(texts.words_day_this),
        in_words=flat(texts.words_day_in),
        day_units=flat(texts.words_day_units),
        week_units=flat(texts.words_week_units),
        numbers=word_list(texts.words_numbers),
        one=flat(texts.words_day_one),
        couple=flat(texts.words_day_couple),
        few=flat(texts.words_day_few),
    )


def is_spec(value: object) -> bool:
    """True for a stored day spec (see the module docstring); a ``md:``/``date:`` spec must be a real day."""
    if not isinstance(value, str) or not _SPEC.match(value):
        return False
    if value.startswith("md:"):
        return _real_day(2024, int(value[3:5]), int(value[6:8]))  # a leap year: 29 Feb is a real day
    if value.startswith("date:"):
        return _real_day(int(value[5:9]), int(value[10:12]), int(value[13:15]))
    return True


def read_day(text: str, words: DayWords) -> str | None:
    """The day spec ``text`` names, or None when it names no day (or more than one reading fits).

    Reads "today", "tonight", "tmrw" (and one typo in longer words: "tomorow"), "sat", "next friday",
    "this weekend", "next week", "in 3 days", "in a couple of weeks", "dec 3", "3rd december", "2026-12-03";
    clock times ("at 5pm", "17:30") and parts of the day ("morning") are ignored.
    """
    iso = _ISO.search(text)
    if iso is not None:
        year, month, day = (int(part) for part in iso.groups())
        return f"date:{year:04d}-{month:02d}-{day:02d}" if _real_day(year, month, day) else None
    tokens = [token for token in fold(_CLOCK.sub(" ", text)).split() if token not in words.filler]
    if not tokens:
        return None
    joined = " ".join(tokens)
    for phrases, spec in (
        (words.today, "+0"),
        (words.tomorrow, "+1"),
        (words.weekend, "weekend"),
        (words.this_week, "this_week"),
        (words.next_week, "next_week"),
        (words.next_month, "next_month"),
        (words.not_sure, "soon"),
    ):
        if _phrase_in(joined, phrases, words.filler):
            return spec
    return _count(tokens, words) or _weekday(tokens, words) or _month_day(tokens, words)


def find_day(text: str, words: DayWords) -> str | None:
    """The day a sentence names along the way ("Call her tonight", "Email Dana on Monday", "Practise in 3
    days", "Book it for dec 3"), or None when it names none or several.

    Stricter than :func:`read_day`, since the words are about something else: no typos, only the longer day
    words ("tonight" but not "now", "saturday" but not "sat"), and nothing for "not sure".
    """
    tokens = fold(_CLOCK.sub(" ", text)).split()
    found: set[str] = set()
    for phrases, spec in (
        (words.today, "+0"),
        (words.tomorrow, "+1"),
        (words.weekend, "weekend"),
        (words.this_week, "this_week"),
        (words.next_week, "next_week"),
        (words.next_month, "next_month"),
    ):
        for phrase in phrases:
            parts = phrase.split()
            if len(phrase) < _SENTENCE_WORD_MIN or parts[0] in words.filler:
                continue
            if any(tokens[i : i + len(parts)] == parts for i in range(len(tokens) - len(parts) + 1)):
                found.add(spec)
    for index, token in enumerate(tokens):
        weekday = next(
            (day for day, names in enumerate(words.weekdays) if token in names and len(token) >= _SENTENCE_WORD_MIN),
            None,
        )
        if weekday is not None and not (index + 1 < len(tokens) and tokens[index + 1] in words.week_units):
            pushed = index > 0 and tokens[index - 1] in words.next_words
            found.add(f"{'next' if pushed else 'wd'}:{weekday}")
        if token in words.in_words:
            for end in range(index + 3, min(index + 6, len(tokens)) + 1):
                counted = _count(tokens[index:end], words)
                if counted is not None and tokens[end - 1] in words.day_units | words.week_units:
                    found.add(counted)
                    break
        if index + 1 < len(tokens):
            pair = _month_day([token, tokens[index + 1]], words)  # a month next to a day: "dec 3", "3rd march"
            if pair is not None:
                found.add(pair)
    # "next week" also holds "week"-less readings such as "this week"; keep the most specific single answer.
    if "next_week" in found:
        found.discard("this_week")
    return found.pop() if len(found) == 1 else None


def resolve(spec: str, today: date) -> date:
    """The calendar date ``spec`` means when the person's local date is ``today`` (never before ``today``).

    Raises ValueError for something that is not a spec (see :func:`is_spec`).
    """
    if not is_spec(spec):
        raise ValueError(f"not a day spec: {spec!r}")
    if spec.startswith("+"):
        return today + timedelta(days=int(spec[1:]))
    if spec.startswith(("wd:", "next:")):
        ahead = (int(spec[-1]) - today.weekday()) % 7
        return today + timedelta(days=ahead or (7 if spec.startswith("next:") else 0))
    if spec == "weekend":
        return today if today.weekday() >= 5 else today + timedelta(days=5 - today.weekday())
    if spec == "this_week":
        return today if today.weekday() >= 4 else today + timedelta(days=4 - today.weekday())
    if spec == "next_week":
        return today + timedelta(days=7 - today.weekday())
    if spec == "next_month":
        return date(today.year + today.month // 12, today.month % 12 + 1, 1)
    if spec == "soon":
        return today + timedelta(days=SOON_DAYS)
    if spec.startswith("md:"):
        month, day = int(spec[3:5]), int(spec[6:8])
        for year in range(today.year, today.year + 9):  # 29 Feb: the next leap year is at most 8 years away
            if _real_day(year, month, day) and date(year, month, day) >= today:
                return date(year, month, day)
    return max(date.fromisoformat(spec.removeprefix("date:")), today)


def describe(spec: str) -> dict[str, object]:
    """What a template needs to say a spec back ("tomorrow", "on Saturday", "on 3 Dec"), independent of today:
    ``kind`` (today, tomorrow, days, weekday, next_weekday, weekend, this_week, next_week, next_month, soon,
    date) and, where they apply, ``days``, ``weekday`` (0 is Monday), ``day``, ``month`` (1–12), ``year``."""
    if spec.startswith("+"):
        days = int(spec[1:])
        return {"kind": {0: "today", 1: "tomorrow"}.get(days, "days"), "days": days}
    if spec.startswith("wd:"):
        return {"kind": "weekday", "weekday": int(spec[-1])}
    if spec.startswith("next:"):
        return {"kind": "next_weekday", "weekday": int(spec[-1])}
    if spec.startswith("md:"):
        return {"kind": "date", "day": int(spec[6:8]), "month": int(spec[3:5]), "year": None}
    if spec.startswith("date:"):
        return {"kind": "date", "day": int(spec[13:15]), "month": int(spec[10:12]), "year": int(spec[5:9])}
    return {"kind": spec}


# --- pieces -------------------------------------------------------------------------------------------


def _real_day(year: int, month: int, day: int) -> bool:
    return 1 <= year <= 9999 and 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def _same(typed: str, word: str) -> bool:
    """``typed`` is ``word``, or one typo away from a word long enough to tell apart ("tomorow", "saturdy")."""
    return typed == word or (len(word) >= _TYPO_MIN and one_typo(typed, word))


def _phrase_in(joined: str, phrases: tuple[str, ...], filler: frozenset[str]) -> bool:
    """The whole reply (filler gone) is one of ``phrases`` (filler gone too), allowing one typo in each
    longer word."""
    tokens = joined.split()
    for phrase in phrases:
        parts = [part for part in phrase.split() if part not in filler]
        if len(parts) == len(tokens) and all(_same(typed, word) for typed, word in zip(tokens, parts, strict=True)):
            return True
    return False


def _number(token: str, words: DayWords) -> int | None:
    if token.isascii() and token.isdigit() and len(token) <= 3:
        return int(token)
    if token in words.numbers:
        return words.numbers.index(token)
    return None


def _count(tokens: list[str], words: DayWords) -> str | None:
    """ "in 3 days", "in a week", "two weeks", "in a couple of days", "in a few days" → ``+N``."""
    rest = tokens[1:] if tokens[0] in words.in_words else tokens
    if len(rest) < 2:
        return None
    unit = rest[-1]
    scale = 1 if unit in words.day_units else 7 if unit in words.week_units else None
    amount = rest[:-1]
    if scale is None:
        return None
    if len(amount) == 1 and (number := _number(amount[0], words)) is not None:
        count = number
    elif amount and all(token in words.one for token in amount):
        count = 1
    elif (
        amount
        and any(token in words.couple for token in amount)
        and all(token in words.couple or token in words.one for token in amount)
    ):
        count = 2
    elif (
        amount
        and any(token in words.few for token in amount)
        and all(token in words.few or token in words.one for token in amount)
    ):
        count = 3
    else:
        return None
    days = count * scale
    return f"+{days}" if 0 <= days <= MAX_AHEAD_DAYS else None


def _weekday_of(token: str, words: DayWords) -> int | None:
    found = {index for index, names in enumerate(words.weekdays) for name in names if _same(token, name)}
    return found.pop() if len(found) == 1 else None


def _weekday(tokens: list[str], words: DayWords) -> str | None:
    """ "sat", "on friday", "this sunday", "next monday" → ``wd:N`` or ``next:N``."""
    named = [(index, token) for index, token in enumerate(tokens) if _weekday_of(token, words) is not None]
    if len(named) != 1:
        return None
    where, token = named[0]
    others = tokens[:where] + tokens[where + 1 :]
    if any(word not in words.next_words and word not in words.this_words for word in others):
        return None
    weekday = _weekday_of(token, words)
    pushed = any(word in words.next_words for word in others)
    return f"{'next' if pushed else 'wd'}:{weekday}"


def _month_of(token: str, words: DayWords) -> int | None:
    found = {index + 1 for index, names in enumerate(words.months) for name in names if _same(token, name)}
    return found.pop() if len(found) == 1 else None


def _month_day(tokens: list[str], words: DayWords) -> str | None:
    """ "dec 3", "3 dec", "december 3rd", "3rd of december 2026" → ``md:MM-DD`` or ``date:YYYY-MM-DD``."""
    months = [(index, month) for index, token in enumerate(tokens) if (month := _month_of(token, words))]
    if len(months) != 1:
        return None
    where, month = months[0]
    days: list[int] = []
    years: list[int] = []
    for index, token in enumerate(tokens):
        if index == where:
            continue
        ordinal = _ORDINAL.match(token)
        if ordinal is not None:
            days.append(int(ordinal.group(1)))
        elif token.isascii() and token.isdigit() and len(token) == 4:
            years.append(int(token))
        elif token.isascii() and token.isdigit() and len(token) <= 2:
            days.append(int(token))
        elif token not in words.in_words:
            return None  # another word: not just a date
    if len(days) != 1 or len(years) > 1:
        return None
    if years:
        return f"date:{years[0]:04d}-{month:02d}-{days[0]:02d}" if _real_day(years[0], month, days[0]) else None
    return f"md:{month:02d}-{days[0]:02d}" if _real_day(2024, month, days[0]) else None
