"""Reading what a person types or shares as a timezone or a time of day: offline, and never raising on input."""

from __future__ import annotations

import importlib.resources
import zoneinfo
from datetime import UTC, datetime, time, timedelta
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.timezones import (
    MAX_PLACES,
    MAX_SUGGESTIONS,
    TimeProblem,
    ZoneMatch,
    ZoneProblem,
    ZoneResult,
    ZoneSuggestions,
    is_fixed_offset,
    offset_name,
    parse_time,
    parse_timezone,
    shown_place,
    tzinfo_for,
    words_for_ref,
    zone_for_location,
    zone_from_ref,
)


def suggested(names: tuple[str, ...]) -> tuple[str, ...]:
    """What a list of suggestions is compared by in these tables: the zones offered, in order."""
    return names


def _plain(result: ZoneResult) -> ZoneMatch | ZoneProblem | tuple[str, ...]:
    """A result as the tables write it: a match's zone (its shown place is checked on its own), a problem,
    or the zones suggested."""
    if isinstance(result, ZoneSuggestions):
        return result.names
    return ZoneMatch(result.name) if isinstance(result, ZoneMatch) else result


TYPED_ZONES: list[tuple[str, ZoneMatch | ZoneProblem | tuple[str, ...]]] = [
    # exact IANA names, any case, spaces for underscores; links stored as their target
    ("Europe/Berlin", ZoneMatch("Europe/Berlin")),
    ("europe/berlin", ZoneMatch("Europe/Berlin")),
    ("  EUROPE/BERLIN ", ZoneMatch("Europe/Berlin")),
    ("america/new york", ZoneMatch("America/New_York")),
    ("America/New_York", ZoneMatch("America/New_York")),
    ("Asia/Calcutta", ZoneMatch("Asia/Kolkata")),
    ("US/Eastern", ZoneMatch("America/New_York")),
    ("Africa/Dar_es_Salaam", ZoneMatch("Africa/Dar_es_Salaam")),  # a country's own zone.tab entry stays
    # cities, countries, everyday names
    ("berlin", ZoneMatch("Europe/Berlin")),
    ("Berlin", ZoneMatch("Europe/Berlin")),
    ("new york", ZoneMatch("America/New_York")),
    ("New-York", ZoneMatch("America/New_York")),
    ("kathmandu", ZoneMatch("Asia/Kathmandu")),
    ("katmandu", ZoneMatch("Asia/Kathmandu")),
    ("calcutta", ZoneMatch("Asia/Kolkata")),
    ("kiev", ZoneMatch("Europe/Kyiv")),
    ("São Paulo", ZoneMatch("America/Sao_Paulo")),
    ("sao paulo", ZoneMatch("America/Sao_Paulo")),
    ("ho chi minh", ZoneMatch("Asia/Ho_Chi_Minh")),
    ("mumbai", ZoneMatch("Asia/Kolkata")),
    ("san francisco", ZoneMatch("America/Los_Angeles")),
    ("nepal", ZoneMatch("Asia/Kathmandu")),
    ("germany", ZoneMatch("Europe/Berlin")),  # Busingen keeps Berlin's clock, so one answer
    ("uk", ZoneMatch("Europe/London")),
    ("south korea", ZoneMatch("Asia/Seoul")),
    ("korea", suggested(("Asia/Pyongyang", "Asia/Seoul"))),
    ("china", suggested(("Asia/Shanghai", "Asia/Urumqi"))),
    # abbreviations people mean with daylight saving
    ("EST", ZoneMatch("America/New_York")),
    ("pacific", ZoneMatch("America/Los_Angeles")),
    ("mst", suggested(("America/Denver", "America/Phoenix"))),
    ("GMT", suggested(("Europe/London", "UTC"))),
    # partial names and near misses: always suggestions, even for one
    ("berln", suggested(("Europe/Berlin",))),
    ("europe/ber", suggested(("Europe/Berlin",))),
    # offsets → fixed-offset zones
    ("UTC+5:45", ZoneMatch("UTC+05:45")),
    ("+05:45", ZoneMatch("UTC+05:45")),
    ("UTC+0545", ZoneMatch("UTC+05:45")),
    ("utc +5.45", ZoneMatch("UTC+05:45")),
    ("GMT-3", ZoneMatch("UTC-03:00")),
    ("UTC−3", ZoneMatch("UTC-03:00")),  # a typographic minus
    ("utc+1", ZoneMatch("UTC+01:00")),
    ("+5", ZoneMatch("UTC+05:00")),
    ("UTC-12", ZoneMatch("UTC-12:00")),
    ("UTC+14", ZoneMatch("UTC+14:00")),
    ("UTC+0", ZoneMatch("UTC")),
    ("utc", ZoneMatch("UTC")),
    ("Etc/UTC", ZoneMatch("UTC")),
    # problems
    ("", ZoneProblem("empty", "")),
    ("   ", ZoneProblem("empty", "")),
    ("UTC+15", ZoneProblem("offset_out_of_range", "UTC+15")),
    ("UTC-13", ZoneProblem("offset_out_of_range", "UTC-13")),
    ("xyzzy", ZoneProblem("unknown", "xyzzy")),
    ("5:45", ZoneProblem("unknown", "5:45")),
    ("UTC+5:99", ZoneProblem("unknown", "UTC+5:99")),
]


@pytest.mark.parametrize(("typed", "expected"), TYPED_ZONES)
def test_typed_timezones(typed: str, expected: ZoneMatch | ZoneProblem | tuple[str, ...]) -> None:
    assert _plain(parse_timezone(typed)) == expected


def test_a_country_with_many_clocks_offers_its_main_ones_first() -> None:
    result = parse_timezone("United States")
    assert isinstance(result, ZoneSuggestions)
    assert result.names[:5] == (
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Phoenix",
        "America/Los_Angeles",
    )
    assert len(result.names) == MAX_SUGGESTIONS
    assert parse_timezone("usa") == result


def test_problems_explain_what_would_work() -> None:
    unknown = parse_timezone("Narnia")
    assert isinstance(unknown, ZoneProblem)
    assert "Narnia" in unknown.message
    assert "UTC+2" in unknown.message
    for reason in ("empty", "offset_out_of_range", "bad_location", "location_unknown"):
        assert ZoneProblem(reason).message  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "junk",
    ["\x00", "/" * 50, "+" * 10, "UTC+" + "9" * 1000, "𝔅𝔢𝔯𝔩𝔦𝔫", "🙂", "a" * 5000, "((", "\\d+", "Europe/"],
)
def test_odd_input_never_raises(junk: str) -> None:
    assert isinstance(parse_timezone(junk), ZoneMatch | ZoneSuggestions | ZoneProblem)
    assert isinstance(parse_time(junk), time | TimeProblem)


def _zone_tab_names() -> list[str]:
    text = importlib.resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    return [line.split("\t")[2] for line in text.splitlines() if line and not line.startswith("#")]


def test_every_zone_tab_name_reads_back_as_itself() -> None:
    names = _zone_tab_names()
    assert len(names) > 300
    for name in names:
        assert parse_timezone(name) == ZoneMatch(name), name
        assert parse_timezone(name.lower()) == ZoneMatch(name), name


def test_every_loadable_zone_name_gives_a_zone_that_loads() -> None:
    for name in sorted(zoneinfo.available_timezones() - {"localtime", "posixrules", "Factory"}):
        result = parse_timezone(name)
        assert isinstance(result, ZoneMatch | ZoneSuggestions), name
        chosen = result.name if isinstance(result, ZoneMatch) else result.names[0]
        tzinfo_for(chosen)


# --- fixed offsets: how they are stored -----------------------------------------------------------------------

OFFSETS = [
    (timedelta(hours=5, minutes=45), "UTC+05:45"),
    (timedelta(hours=-3), "UTC-03:00"),
    (timedelta(hours=-9, minutes=-30), "UTC-09:30"),
    (timedelta(hours=14), "UTC+14:00"),
    (timedelta(0), "UTC"),
]


@pytest.mark.parametrize(("offset", "name"), OFFSETS)
def test_offsets_are_stored_as_utc_plus_hh_mm_and_round_trip(offset: timedelta, name: str) -> None:
    assert offset_name(offset) == name
    assert parse_timezone(name) == ZoneMatch(name)
    zone = tzinfo_for(name)
    assert datetime(2026, 1, 15, 12, tzinfo=zone).utcoffset() == offset
    assert datetime(2026, 7, 15, 12, tzinfo=zone).utcoffset() == offset  # no daylight saving


def test_kathmandu_and_its_offset_keep_the_same_clock() -> None:
    moment = datetime(2026, 6, 1, 3, 15, tzinfo=UTC)
    by_name = moment.astimezone(tzinfo_for("Asia/Kathmandu"))
    by_offset = moment.astimezone(tzinfo_for("UTC+05:45"))
    assert by_name.replace(tzinfo=None) == by_offset.replace(tzinfo=None) == datetime(2026, 6, 1, 9, 0)


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "UTC+5:45", "utc+05:45", "", "../etc/passwd"])
def test_tzinfo_for_refuses_names_never_stored(name: str) -> None:
    with pytest.raises(ValueError):
        tzinfo_for(name)


# --- places people type: cities, cities with their region, nicknames, abbreviations -----------------------

# typed → (zone, the place shown back); the city data covers every city of 15,000 people or more
PLACES: list[tuple[str, str, str]] = [
    ("columbus ohio", "America/New_York", "Columbus, Ohio, US"),
    ("Columbus, OH", "America/New_York", "Columbus, Ohio, US"),
    ("austin", "America/Chicago", "Austin, Texas, US"),  # Austin, Minnesota keeps the same clock
    ("austin tx", "America/Chicago", "Austin, Texas, US"),
    ("portland, oregon", "America/Los_Angeles", "Portland, Oregon, US"),
    ("PORTLAND ME", "America/New_York", "Portland, Maine, US"),
    ("manchester nh", "America/New_York", "Manchester, New Hampshire, US"),
    ("manchester, uk", "Europe/London", "Manchester, England"),
    ("manchester in the uk", "Europe/London", "Manchester, England"),
    ("birmingham alabama", "America/Chicago", "Birmingham, Alabama, US"),
    ("san jose costa rica", "America/Costa_Rica", "San José, Costa Rica"),
    ("london ontario", "America/Toronto", "London, Ontario, Canada"),
    ("st. louis mo", "America/Chicago", "St. Louis, Missouri, US"),
    ("ft worth", "America/Chicago", "Fort Worth, Texas, US"),
    ("Düsseldorf", "Europe/Berlin", "Düsseldorf, Germany"),
    ("dusseldorf", "Europe/Berlin", "Düsseldorf, Germany"),
    ("columbus", "America/New_York", "Columbus, Ohio, US"),  # far bigger than any other Columbus
    ("bombay", "Asia/Kolkata", "Mumbai, India"),  # another name of a big city
    ("texas", "America/Chicago", "Texas, US"),  # a region alone: where most of its people live
    ("LA", "America/Los_Angeles", "Los Angeles"),
    ("nyc", "America/New_York", "New York"),
    ("SF", "America/Los_Angeles", "San Francisco"),
    ("DC", "America/New_York", "Washington, DC"),
    ("philly", "America/New_York", "Philadelphia"),
    ("atlanta", "America/New_York", "Atlanta"),
]


@pytest.mark.parametrize(("typed", "zone", "shown"), PLACES)
def test_places_people_type_are_shown_back_as_that_place(typed: str, zone: str, shown: str) -> None:
    found = parse_timezone(typed)
    assert isinstance(found, ZoneMatch), found
    assert (found.name, shown_place(found.name, found.place)) == (zone, shown)


AMBIGUOUS: list[tuple[str, list[str]]] = [
    ("manchester", ["Manchester, England", "Manchester, New Hampshire, US"]),
    ("Portland", ["Portland, Oregon, US", "Portland, Maine, US"]),
    ("birmingham", ["Birmingham, England", "Birmingham, Alabama, US"]),
    ("san jose", ["San Jose, California, US", "San José, Costa Rica", "San Jose, Philippines"]),
    ("kingston", ["Kingston, Jamaica", "Kingston, Ontario, Canada"]),
]


@pytest.mark.parametrize(("typed", "labels"), AMBIGUOUS)
def test_a_name_several_places_share_asks_which_biggest_first(typed: str, labels: list[str]) -> None:
    found = parse_timezone(typed)
    assert isinstance(found, ZoneSuggestions) and found.exact
    assert [option.label for option in found.options] == labels
    for option in found.options:
        picked = zone_from_ref(option.ref)
        assert picked is not None and (picked.name, picked.place) == (option.zone, option.label)


def test_a_choice_lists_a_handful_and_leaves_out_tiny_namesakes() -> None:
    found = parse_timezone("springfield")
    assert isinstance(found, ZoneSuggestions)
    assert 1 < len(found.options) <= MAX_PLACES
    assert "Manchester, Missouri, US" not in [
        option.label for option in cast(ZoneSuggestions, parse_timezone("manchester")).options
    ]
    # one place per clock: Manchester, Connecticut keeps New Hampshire's time
    assert len({option.zone for option in found.options}) == len(found.options)


def test_a_place_chosen_among_several_is_picked_by_its_region_words() -> None:
    found = parse_timezone("manchester")
    assert isinstance(found, ZoneSuggestions)
    england, new_hampshire = found.options
    assert {"uk", "england", "britain"} <= set(england.words)
    assert {"nh", "new hampshire", "us", "usa"} <= set(new_hampshire.words)
    assert words_for_ref(england.ref) == england.words
    assert words_for_ref("Europe/London") == ()


def test_a_typo_in_a_city_is_a_guess_to_confirm() -> None:
    found = parse_timezone("manchster")
    assert isinstance(found, ZoneSuggestions) and not found.exact
    assert found.options[0].label == "Manchester, England"
    one = parse_timezone("dusseldorff")
    assert isinstance(one, ZoneSuggestions) and [option.label for option in one.options] == ["Düsseldorf, Germany"]


@pytest.mark.parametrize(
    ("typed", "zone", "shown"),
    [
        ("CET", "Europe/Berlin", "Berlin"),
        ("cest", "Europe/Berlin", "Berlin"),
        ("EET", "Europe/Athens", "Athens"),
        ("EST", "America/New_York", "New York"),
        ("PST", "America/Los_Angeles", "Los Angeles"),
        ("JST", "Asia/Tokyo", "Tokyo"),
        ("Europe/Brussels", "Europe/Brussels", "Brussels"),
        ("america/argentina/buenos aires", "America/Argentina/Buenos_Aires", "Buenos Aires"),
    ],
)
def test_abbreviations_and_zone_names_are_shown_as_a_city(typed: str, zone: str, shown: str) -> None:
    found = parse_timezone(typed)
    assert isinstance(found, ZoneMatch)
    assert found.name == zone
    assert shown_place(found.name, found.place) == shown


def test_ambiguous_abbreviations_offer_cities() -> None:
    found = parse_timezone("IST")
    assert isinstance(found, ZoneSuggestions)
    assert [option.label for option in found.options] == ["Kolkata", "Dublin", "Jerusalem"]


def test_fixed_offsets_are_marked_as_not_following_daylight_saving() -> None:
    assert is_fixed_offset("UTC+01:00") and is_fixed_offset("UTC-05:30")
    assert not is_fixed_offset("UTC") and not is_fixed_offset("Europe/London")
    assert shown_place("UTC+01:00") == "UTC+01:00"


def test_unknown_refs_name_nothing() -> None:
    for ref in ("place:0", "place:", "place:abc", "place:" + "9" * 40, "Narnia"):
        assert zone_from_ref(ref) is None


# --- shared locations ------------------------------------------------------------------------------------------

LOCATIONS: list[tuple[float, float, ZoneMatch | ZoneProblem | tuple[str, ...]]] = [
    (52.52, 13.40, ZoneMatch("Europe/Berlin")),
    (48.58, 7.75, ZoneMatch("Europe/Paris")),  # Strasbourg, near the German border
    (40.71, -74.00, ZoneMatch("America/New_York")),
    (37.69, -97.34, ZoneMatch("America/Chicago")),  # Wichita: nearer Denver's city, but Central time
    (27.70, 85.32, ZoneMatch("Asia/Kathmandu")),
    (-33.87, 151.21, ZoneMatch("Australia/Sydney")),
    (43.80, 87.60, suggested(("Asia/Shanghai", "Asia/Urumqi"))),  # Ürümqi: two clocks in use
    (0.0, -30.0, ZoneMatch("UTC-02:00")),  # mid-Atlantic: nautical zone Etc/GMT+2
    (0.0, 179.99, ZoneMatch("UTC+12:00")),
    (91.0, 0.0, ZoneProblem("bad_location")),
    (0.0, 181.0, ZoneProblem("bad_location")),
    (float("nan"), 0.0, ZoneProblem("bad_location")),
    (0.0, float("inf"), ZoneProblem("bad_location")),
]


@pytest.mark.parametrize(("latitude", "longitude", "expected"), LOCATIONS)
def test_shared_locations_resolve_offline(
    latitude: float, longitude: float, expected: ZoneMatch | ZoneProblem | tuple[str, ...]
) -> None:
    assert _plain(zone_for_location(latitude, longitude)) == expected


# --- typed times ---------------------------------------------------------------------------------------------

TYPED_TIMES: list[tuple[str, time | TimeProblem]] = [
    ("9:30", time(9, 30)),
    ("09:30", time(9, 30)),
    ("9.30", time(9, 30)),
    ("21:00", time(21, 0)),
    ("9pm", time(21, 0)),
    ("9 PM", time(21, 0)),
    ("9:30 am", time(9, 30)),
    ("9:30PM", time(21, 30)),
    ("9 a.m.", time(9, 0)),
    ("12am", time(0, 0)),
    ("12pm", time(12, 0)),
    ("12:15 am", time(0, 15)),
    ("0930", time(9, 30)),
    ("930", time(9, 30)),
    ("9", time(9, 0)),
    ("21h30", time(21, 30)),
    ("21h", time(21, 0)),
    ("0:00", time(0, 0)),
    ("23:59", time(23, 59)),
    ("noon", time(12, 0)),
    ("Midnight", time(0, 0)),
    ("９:３０", time(9, 30)),  # full-width digits from some keyboards
    ("25:00", TimeProblem("hour_out_of_range", "25:00")),
    ("24:00", TimeProblem("hour_out_of_range", "24:00")),
    ("13pm", TimeProblem("hour_out_of_range", "13pm")),
    ("0am", TimeProblem("hour_out_of_range", "0am")),
    ("12:60", TimeProblem("minute_out_of_range", "12:60")),
    ("9:5", TimeProblem("unreadable", "9:5")),
    ("half past nine", TimeProblem("unreadable", "half past nine")),
    ("9:30:00", TimeProblem("unreadable", "9:30:00")),
    ("", TimeProblem("empty", "")),
]


@pytest.mark.parametrize(("typed", "expected"), TYPED_TIMES)
def test_typed_times(typed: str, expected: time | TimeProblem) -> None:
    assert parse_time(typed) == expected


def test_an_impossible_hour_gets_a_hint() -> None:
    problem = parse_time("25:00")
    assert isinstance(problem, TimeProblem)
    assert "21:00" in problem.message


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_typed_text_reads_as_a_zone_a_choice_or_a_problem(typed: str) -> None:
    found = parse_timezone(typed)
    assert isinstance(found, ZoneMatch | ZoneSuggestions | ZoneProblem)
    if isinstance(found, ZoneSuggestions):
        assert 0 < len(found.options) <= MAX_SUGGESTIONS
        assert all(zone_from_ref(option.ref) is not None for option in found.options)
