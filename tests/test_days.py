"""Reading a day the way people type it, and the date it means from the person's own today."""

from __future__ import annotations

from datetime import date

import pytest

from bot.days import day_words, describe, find_day, is_spec, read_day, resolve
from bot.flows.texts import Texts

FRIDAY = date(2026, 3, 20)
SATURDAY = date(2026, 3, 21)
SUNDAY = date(2026, 3, 22)


@pytest.mark.parametrize(
    ("typed", "today", "means"),
    [
        ("today", FRIDAY, FRIDAY),
        ("tonight at 8", FRIDAY, FRIDAY),
        ("later today", FRIDAY, FRIDAY),
        ("tmrw", FRIDAY, SATURDAY),
        ("Tomorrow!", FRIDAY, SATURDAY),
        ("tomorow", FRIDAY, SATURDAY),  # one typo
        ("tomorrow at 5pm", FRIDAY, SATURDAY),
        ("tomorrow morning", FRIDAY, SATURDAY),
        ("sat", FRIDAY, SATURDAY),
        ("Saturday", SATURDAY, SATURDAY),  # said on a Saturday: today
        ("next saturday", SATURDAY, date(2026, 3, 28)),
        ("on sunday", FRIDAY, SUNDAY),
        ("I'll do it on monday", FRIDAY, date(2026, 3, 23)),
        ("this weekend", FRIDAY, SATURDAY),
        ("the weekend", SUNDAY, SUNDAY),
        ("later this week", date(2026, 3, 17), FRIDAY),
        ("next week", FRIDAY, date(2026, 3, 23)),
        ("next week", date(2026, 3, 23), date(2026, 3, 30)),  # a Monday: the next one
        ("next month", date(2026, 12, 20), date(2027, 1, 1)),
        ("in 3 days", FRIDAY, date(2026, 3, 23)),
        ("in three days", FRIDAY, date(2026, 3, 23)),
        ("in a couple of days", FRIDAY, SUNDAY),
        ("in a few days", FRIDAY, date(2026, 3, 23)),
        ("in a week", FRIDAY, date(2026, 3, 27)),
        ("in 2 weeks", FRIDAY, date(2026, 4, 3)),
        ("dec 3", FRIDAY, date(2026, 12, 3)),
        ("3rd december", FRIDAY, date(2026, 12, 3)),
        ("December 3rd 2026", FRIDAY, date(2026, 12, 3)),
        ("mar 2", FRIDAY, date(2027, 3, 2)),  # passed this year: next year's
        ("2026-12-03", FRIDAY, date(2026, 12, 3)),
        ("feb 29", FRIDAY, date(2028, 2, 29)),
        ("not sure", FRIDAY, date(2026, 3, 23)),
        ("idk", FRIDAY, date(2026, 3, 23)),
    ],
)
def test_days_are_read_the_way_people_type_them(texts: Texts, typed: str, today: date, means: date) -> None:
    spec = read_day(typed, day_words(texts))
    assert spec is not None and is_spec(spec), typed
    assert resolve(spec, today) == means


@pytest.mark.parametrize(
    "typed", ["hello, I'm back", "banana", "feb 30", "in 900 days", "", "   ", "12/3", "soonish day"]
)
def test_what_names_no_day_is_not_read_as_one(texts: Texts, typed: str) -> None:
    assert read_day(typed, day_words(texts)) is None


@pytest.mark.parametrize(
    "spec", ["+0", "+1", "+12", "wd:5", "next:0", "weekend", "md:12-03", "date:2026-12-03", "soon"]
)
def test_a_resolved_day_is_never_before_today(spec: str) -> None:
    for offset in range(14):
        today = date.fromordinal(FRIDAY.toordinal() + offset)
        assert resolve(spec, today) >= today


def test_a_date_in_the_past_resolves_to_today_rather_than_backwards() -> None:
    assert resolve("date:2020-01-01", FRIDAY) == FRIDAY


@pytest.mark.parametrize("value", ["tomorrow", "+x", "wd:7", "md:02-30", "date:2026-13-01", 3, None])
def test_only_real_specs_are_specs(value: object) -> None:
    assert not is_spec(value)
    if isinstance(value, str):
        with pytest.raises(ValueError, match="not a day spec"):
            resolve(value, FRIDAY)


def test_a_spec_reads_back_without_knowing_today() -> None:
    assert describe("+1") == {"kind": "tomorrow", "days": 1}
    assert describe("+4") == {"kind": "days", "days": 4}
    assert describe("wd:5") == {"kind": "weekday", "weekday": 5}
    assert describe("md:12-03") == {"kind": "date", "day": 3, "month": 12, "year": None}


@pytest.mark.parametrize(
    ("sentence", "spec"),
    [
        ("Call her tonight and apologise", "+0"),
        ("Email Dana about the report on Monday", "wd:0"),
        ("Practise in 3 days", "+3"),
        ("Call mum next week", "next_week"),
        ("Book it for dec 3", "md:12-03"),
        ("Set an alarm", None),
        ("I know now what to do", None),  # "now" alone in a sentence says nothing about a day
        ("Sat down with Sam", None),  # nor "sat"
        ("Walk on Monday and Tuesday", None),  # two days: ask which
        ("Prepare notes for Thursday's standup", None),
    ],
)
def test_a_day_named_inside_a_sentence(texts: Texts, sentence: str, spec: str | None) -> None:
    assert find_day(sentence, day_words(texts)) == spec
