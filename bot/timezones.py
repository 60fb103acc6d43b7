"""What a person types or shares, turned into a timezone or a time of day — offline, never raising on input.

A timezone is kept as a string (``CheckinSettings.timezone``) in one of two forms:

- an IANA name in its canonical spelling, e.g. ``"Europe/Berlin"``; a link such as ``"Asia/Calcutta"``
  is stored as its target (``"Asia/Kolkata"``), and every spelling of UTC as ``"UTC"``;
- a fixed offset from UTC, written ``"UTC+05:45"`` / ``"UTC-03:00"`` (always sign, two-digit hours, colon,
  two-digit minutes). A zero offset is ``"UTC"``. No IANA name starts with ``"UTC+"`` or ``"UTC-"``, so the two
  forms never collide; :func:`parse_timezone` reads a stored name back to itself, and :func:`tzinfo_for`
  turns either form into a ``tzinfo``. A fixed offset never follows daylight-saving changes.

The reference data (zone names, country names, links) is read once from the ``tzdata`` package, and timezone
boundaries come compiled into ``tzfpy``; both ship with the bot, so nothing needs the network. Nothing here
reads the clock. Words shown to people belong in ``conversations/``: a problem carries a ``reason`` to choose
them by; its ``message`` is a plain English default for logs and tests.
"""

from __future__ import annotations

import difflib
import importlib.resources
import math
import re
import unicodedata
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import bot.places as places_types

MAX_SUGGESTIONS = 8
"""At most this many zones are offered for one partial name or one shared location."""

MAX_PLACES = 5
"""At most this many places are offered for one ambiguous city name ("springfield"), the most populous first."""

CLEAR_LEAD = 20
"""A city name several places share means the biggest one outright when it has this many times the people of
the next biggest on another clock ("paris" is Paris, not Paris, Texas); closer than that, the person picks
("portland": Oregon or Maine)."""

_PLACE_REF = "place:"

_LONGEST_INPUT = 64  # longer than any zone or place name: not worth a fuzzy search
_MIN_OFFSET = timedelta(hours=-12)
_MAX_OFFSET = timedelta(hours=14)
_UTC_NAMES = frozenset({"utc", "z", "zulu", "uct", "universal", "etc/utc", "etc/gmt"})
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})

# Cities people type that tz does not name, and their nicknames ("LA", "NYC"): each maps to how it is shown
# back and the zone whose reference city shares its clock. Read before the city data, which they spare loading.
_CITY_ALIASES: Mapping[str, tuple[str, str]] = {
    "amsterdam": ("Amsterdam", "Europe/Amsterdam"),
    "atlanta": ("Atlanta", "America/New_York"),
    "bangalore": ("Bangalore", "Asia/Kolkata"),
    "barcelona": ("Barcelona", "Europe/Madrid"),
    "beijing": ("Beijing", "Asia/Shanghai"),
    "bengaluru": ("Bengaluru", "Asia/Kolkata"),
    "boston": ("Boston", "America/New_York"),
    "cape town": ("Cape Town", "Africa/Johannesburg"),
    "cdmx": ("Mexico City", "America/Mexico_City"),
    "delhi": ("Delhi", "Asia/Kolkata"),
    "dallas": ("Dallas", "America/Chicago"),
    "dc": ("Washington, DC", "America/New_York"),
    "d c": ("Washington, DC", "America/New_York"),
    "frankfurt": ("Frankfurt", "Europe/Berlin"),
    "geneva": ("Geneva", "Europe/Zurich"),
    "hamburg": ("Hamburg", "Europe/Berlin"),
    "hk": ("Hong Kong", "Asia/Hong_Kong"),
    "houston": ("Houston", "America/Chicago"),
    "joburg": ("Johannesburg", "Africa/Johannesburg"),
    "kl": ("Kuala Lumpur", "Asia/Kuala_Lumpur"),
    "la": ("Los Angeles", "America/Los_Angeles"),
    "l a": ("Los Angeles", "America/Los_Angeles"),
    "miami": ("Miami", "America/New_York"),
    "milan": ("Milan", "Europe/Rome"),
    "montreal": ("Montreal", "America/Toronto"),
    "mumbai": ("Mumbai", "Asia/Kolkata"),
    "munich": ("Munich", "Europe/Berlin"),
    "new delhi": ("New Delhi", "Asia/Kolkata"),
    "nola": ("New Orleans", "America/Chicago"),
    "ny": ("New York", "America/New_York"),
    "nyc": ("New York", "America/New_York"),
    "osaka": ("Osaka", "Asia/Tokyo"),
    "philadelphia": ("Philadelphia", "America/New_York"),
    "philly": ("Philadelphia", "America/New_York"),
    "rio": ("Rio de Janeiro", "America/Sao_Paulo"),
    "san francisco": ("San Francisco", "America/Los_Angeles"),
    "seattle": ("Seattle", "America/Los_Angeles"),
    "sf": ("San Francisco", "America/Los_Angeles"),
    "vegas": ("Las Vegas", "America/Los_Angeles"),
    "washington": ("Washington, DC", "America/New_York"),
    "washington dc": ("Washington, DC", "America/New_York"),
}

# Everyday names of countries whose ``iso3166.tab`` name differs, by country code.
_COUNTRY_ALIASES: Mapping[str, str] = {
    "america": "US",
    "burma": "MM",
    "england": "GB",
    "great britain": "GB",
    "holland": "NL",
    "north korea": "KP",
    "northern ireland": "GB",
    "scotland": "GB",
    "south korea": "KR",
    "swaziland": "SZ",
    "uk": "GB",
    "united kingdom": "GB",
    "united states of america": "US",
    "us": "US",
    "usa": "US",
    "wales": "GB",
}

# Abbreviations and region names people use for clocks, each read as the zone of the biggest place keeping
# that clock (shown back as that city, never as a name like "Europe/Brussels"). The legacy tz names "EST",
# "MST", "CET", "EET" are fixed offsets or links people don't mean ("EST" has no daylight saving, "CET" is
# Brussels), so this table wins over an exact tz name. An abbreviation two regions use offers both.
_ABBREVIATIONS: Mapping[str, tuple[str, ...]] = {
    "et": ("America/New_York",),
    "est": ("America/New_York",),
    "edt": ("America/New_York",),
    "eastern": ("America/New_York",),
    "ct": ("America/Chicago",),
    "cst": ("America/Chicago", "Asia/Shanghai", "America/Havana"),
    "cdt": ("America/Chicago",),
    "central": ("America/Chicago",),
    "mt": ("America/Denver", "America/Phoenix"),
    "mst": ("America/Denver", "America/Phoenix"),
    "mdt": ("America/Denver",),
    "mountain": ("America/Denver", "America/Phoenix"),
    "pt": ("America/Los_Angeles",),
    "pst": ("America/Los_Angeles",),
    "pdt": ("America/Los_Angeles",),
    "pacific": ("America/Los_Angeles",),
    "gmt": ("Europe/London", "UTC"),
    "bst": ("Europe/London",),
    "ist": ("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"),
    "wet": ("Europe/Lisbon",),
    "west": ("Europe/Lisbon",),
    "cet": ("Europe/Berlin",),
    "cest": ("Europe/Berlin",),
    "met": ("Europe/Berlin",),
    "mez": ("Europe/Berlin",),
    "eet": ("Europe/Athens",),
    "eest": ("Europe/Athens",),
    "msk": ("Europe/Moscow",),
    "trt": ("Europe/Istanbul",),
    "gst": ("Asia/Dubai",),
    "pkt": ("Asia/Karachi",),
    "npt": ("Asia/Kathmandu",),
    "ict": ("Asia/Bangkok",),
    "wib": ("Asia/Jakarta",),
    "sgt": ("Asia/Singapore",),
    "hkt": ("Asia/Hong_Kong",),
    "pht": ("Asia/Manila",),
    "jst": ("Asia/Tokyo",),
    "kst": ("Asia/Seoul",),
    "awst": ("Australia/Perth",),
    "acst": ("Australia/Adelaide",),
    "acdt": ("Australia/Adelaide",),
    "aest": ("Australia/Sydney", "Australia/Brisbane"),
    "aedt": ("Australia/Sydney",),
    "nzst": ("Pacific/Auckland",),
    "nzdt": ("Pacific/Auckland",),
    "hst": ("Pacific/Honolulu",),
    "akst": ("America/Anchorage",),
    "akdt": ("America/Anchorage",),
    "ast": ("America/Halifax", "Asia/Riyadh"),
    "adt": ("America/Halifax",),
    "nst": ("America/St_Johns",),
    "ndt": ("America/St_Johns",),
    "brt": ("America/Sao_Paulo",),
    "art": ("America/Argentina/Buenos_Aires",),
    "sast": ("Africa/Johannesburg",),
    "cat": ("Africa/Maputo",),
    "eat": ("Africa/Nairobi",),
    "wat": ("Africa/Lagos",),
}

_OFFSET = re.compile(r"(?:utc|gmt)?\s*(?P<sign>[+-])\s*(?P<hours>\d{1,2})(?:\s*[:.h]?\s*(?P<minutes>\d{2}))?")
_HALF = r"(?:\s*(?P<half>[ap])\s*m?)?"
_TIME = re.compile(rf"(?P<hour>\d{{1,2}})(?:\s*[:.h]\s*(?P<minute>\d{{2}})|\s*h)?{_HALF}")
_COMPACT_TIME = re.compile(rf"(?P<hour>\d{{1,2}})(?P<minute>\d{{2}}){_HALF}")
_NAMED_TIMES: Mapping[str, time] = {"noon": time(12), "midday": time(12), "midnight": time(0)}


@dataclass(frozen=True)
class ZoneMatch:
    """One timezone, stored as ``name`` (see the module docstring for the two forms).

    ``place`` is how the person named it, to show back ("Columbus, Ohio, US", "Los Angeles"); None when the
    zone's own city says it (see :func:`shown_place`).
    """

    name: str
    place: str | None = None


@dataclass(frozen=True)
class ZoneOption:
    """One of several answers: its zone, its label ("Manchester, England", "Chicago"), the ``ref`` a button
    carries back to :func:`zone_from_ref`, and other ``words`` that pick it ("uk", "new hampshire")."""

    zone: str
    label: str
    ref: str
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class ZoneSuggestions:
    """Several places or zones the input could mean, best first (the most populous place); the person picks."""

    options: tuple[ZoneOption, ...]
    exact: bool = False
    """True when the text names each of these places exactly ("manchester"), rather than a guess at it."""

    @property
    def names(self) -> tuple[str, ...]:
        """The zones offered, in order (two places may share one)."""
        return tuple(option.zone for option in self.options)


ZoneProblemReason = Literal["empty", "unknown", "offset_out_of_range", "bad_location", "location_unknown"]


@dataclass(frozen=True)
class ZoneProblem:
    """The input names no timezone; ``reason`` picks the wording, ``text`` is what was typed."""

    reason: ZoneProblemReason
    text: str = ""

    @property
    def message(self) -> str:
        """A plain English default explanation with a hint of what would work."""
        return {
            "empty": "Type a city or region, like Berlin or America/New_York, or an offset like UTC+2.",
            "unknown": f"I don't know “{self.text}”. Try the nearest big city, or an offset like UTC+2.",
            "offset_out_of_range": "Offsets run from UTC-12:00 to UTC+14:00; try one like UTC+5:45 or UTC-3.",
            "bad_location": "That location doesn't look right; try typing your city instead.",
            "location_unknown": "I couldn't tell the timezone there; try typing your city instead.",
        }[self.reason]


ZoneResult = ZoneMatch | ZoneSuggestions | ZoneProblem

TimeProblemReason = Literal["empty", "unreadable", "hour_out_of_range", "minute_out_of_range"]


@dataclass(frozen=True)
class TimeProblem:
    """The input is not a time of day; ``reason`` picks the wording, ``text`` is what was typed."""

    reason: TimeProblemReason
    text: str = ""

    @property
    def message(self) -> str:
        """A plain English default explanation with a hint of what would work."""
        return {
            "empty": "Type a time like 9:30, 21:00 or 9pm.",
            "unreadable": f"I couldn't read “{self.text}” as a time. Try 9:30, 21:00 or 9pm.",
            "hour_out_of_range": "Hours go from 0 to 23 (or 1 to 12 with am/pm). Try 21:00 or 9pm.",
            "minute_out_of_range": "Minutes go from 00 to 59. Try 9:30 or 21:45.",
        }[self.reason]


# --- times of day --------------------------------------------------------------------------------------


def parse_time(text: str) -> time | TimeProblem:
    """Read a typed time of day: "9:30", "09:30", "9.30", "21:00", "9pm", "9:30 am", "21h30", "0930", "9".

    A bare or 24-hour number is read on the 24-hour clock; "am"/"pm" (also "a.m.") switch to the 12-hour
    clock, where 12am is midnight and 12pm is noon. Returns a naive ``time`` (minutes only) or a problem;
    never raises.
    """
    cleaned = re.sub(r"\s+", " ", _fold(text).replace(".m.", "m").replace(".m", "m")).strip()
    if not cleaned:
        return TimeProblem("empty", text.strip())
    if cleaned in _NAMED_TIMES:
        return _NAMED_TIMES[cleaned]
    found = _TIME.fullmatch(cleaned) or _COMPACT_TIME.fullmatch(cleaned)
    if found is None:
        return TimeProblem("unreadable", text.strip())
    hour = int(found["hour"])
    minute = int(found["minute"] or 0)
    half = found["half"]
    if minute > 59:
        return TimeProblem("minute_out_of_range", text.strip())
    if half is not None:
        if not 1 <= hour <= 12:
            return TimeProblem("hour_out_of_range", text.strip())
        hour = hour % 12 + (12 if half == "p" else 0)
    elif hour > 23:
        return TimeProblem("hour_out_of_range", text.strip())
    return time(hour, minute)


# --- stored names ---------------------------------------------------------------------------------------


def tzinfo_for(name: str) -> tzinfo:
    """The ``tzinfo`` for a stored zone name (an IANA name or ``"UTC±HH:MM"``).

    Raises ``ValueError`` for a name :func:`parse_timezone` would never produce: stored names are checked
    when they are chosen, so this is a programming error, not a user's.
    """
    offset = _stored_offset(name)
    if offset is not None:
        return timezone(offset, name) if offset else UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as problem:
        raise ValueError(f"not a timezone name: {name!r}") from problem


def offset_name(offset: timedelta) -> str:
    """The stored name of a fixed offset: ``"UTC+05:45"``, ``"UTC-03:00"``, or ``"UTC"`` for zero."""
    if not offset:
        return "UTC"
    sign = "+" if offset > timedelta(0) else "-"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _stored_offset(name: str) -> timedelta | None:
    """The offset of a stored ``"UTC±HH:MM"`` name (zero for ``"UTC"``), or None for any other name."""
    if name == "UTC":
        return timedelta(0)
    found = re.fullmatch(r"UTC([+-])(\d\d):(\d\d)", name)
    if found is None:
        return None
    offset = timedelta(hours=int(found[2]), minutes=int(found[3]))
    return -offset if found[1] == "-" else offset


# --- typed timezones ------------------------------------------------------------------------------------


def parse_timezone(text: str) -> ZoneResult:
    """Read what a person typed as a timezone; never raises.

    In order: a UTC offset ("UTC+5:45", "+05:45", "GMT-3", "utc+1") → a fixed-offset zone; an abbreviation
    ("EST", "CET", "pacific"); an exact IANA name in any case, with spaces for underscores ("europe/berlin",
    "america/new york") → that zone; a nickname or alias ("LA", "NYC", "mumbai") → its zone, shown as the
    city; a zone's city or a country ("berlin", "nepal") → that zone, or suggestions when a country keeps
    several clocks; then any city of 15,000 people or more, alone or with its region or country ("austin",
    "columbus ohio", "manchester nh") → its zone shown as that place, or a choice of places when the name is
    shared by similar-sized places on different clocks ("manchester": England or New Hampshire); a part of a
    zone's name or a near-miss spelling ("kathmand", "manchster") → suggestions, even if only one fits, since a
    guess may be wrong. Otherwise a problem.
    """
    raw = text.strip()
    key = _normalise(raw)
    if not key:
        return ZoneProblem("empty", raw)
    if len(key) > _LONGEST_INPUT:
        return ZoneProblem("unknown", raw[:_LONGEST_INPUT])
    if key in _UTC_NAMES:
        return ZoneMatch("UTC")
    offset = _parse_offset(raw)
    if offset is not None:
        if not _MIN_OFFSET <= offset <= _MAX_OFFSET:
            return ZoneProblem("offset_out_of_range", raw)
        return ZoneMatch(offset_name(offset))
    if key in _ABBREVIATIONS:
        return _one_or_many(_ABBREVIATIONS[key])
    exact = _names_by_key().get(key)
    if exact is not None:
        return ZoneMatch(exact)
    alias = _CITY_ALIASES.get(key.replace(".", " ").strip())
    if alias is not None:
        return ZoneMatch(_canonical(alias[1]), alias[0])
    places = _places().get(key)
    if places is not None:
        return _one_or_many(places)
    found = _bot_places().find(raw)  # the city data is read here, on the first place tz does not name
    if found.cities and not found.guessed:
        return _from_cities(found)
    nearby = _partial_matches(key)
    if nearby:
        return _one_or_many(nearby, always_ask=True)
    if found.cities:
        return _from_cities(found)
    return ZoneProblem("unknown", raw)


def zone_from_ref(ref: str) -> ZoneMatch | None:
    """The answer a suggestion's ``ref`` stands for (a place keeps its label), or None if it names nothing."""
    if ref.startswith(_PLACE_REF):
        digits = ref.removeprefix(_PLACE_REF)
        city = _bot_places().city(int(digits)) if digits.isascii() and digits.isdigit() and len(digits) < 12 else None
        zone = _stored_name(city.zone) if city is not None else None
        return ZoneMatch(zone, _bot_places().label(city)) if city is not None and zone is not None else None
    found = parse_timezone(ref)
    return found if isinstance(found, ZoneMatch) else None


def words_for_ref(ref: str) -> tuple[str, ...]:
    """Other words that pick this suggestion among others: a place's region and country ("uk", "ohio")."""
    if not ref.startswith(_PLACE_REF):
        return ()
    digits = ref.removeprefix(_PLACE_REF)
    city = _bot_places().city(int(digits)) if digits.isascii() and digits.isdigit() and len(digits) < 12 else None
    return _bot_places().words_for(city) if city is not None else ()


def shown_place(name: str, place: str | None = None) -> str:
    """How a stored timezone is shown to the person: the place they named, else the zone's own city
    ("Europe/Berlin" → "Berlin", "America/Argentina/Buenos_Aires" → "Buenos Aires"), else the offset itself."""
    if place:
        return place
    if _stored_offset(name) is not None:
        return name
    return name.rsplit("/", 1)[-1].replace("_", " ")


def is_fixed_offset(name: str) -> bool:
    """True for a stored offset other than UTC ("UTC+01:00"): a clock that never moves for daylight saving,
    unlike the person's local one most likely does."""
    return name != "UTC" and _stored_offset(name) is not None


def _bot_places() -> ModuleType:
    """The city data module, imported on first use so that importing the bot never reads or imports it."""
    import bot.places

    return bot.places


def _from_cities(found: places_types.Found) -> ZoneMatch | ZoneSuggestions:
    """The zone the cities share, or a choice between them: one place per clock, the biggest first.

    A region ("texas") weighs each clock by all its cities' people; a city name by its biggest place. A
    guess (a typo) is always asked, even when it names one place.
    """
    places = _bot_places()
    groups: dict[tuple[timedelta | None, ...], tuple[places_types.City, str, int]] = {}
    for city in found.cities:
        zone = _stored_name(city.zone)
        if zone is None:
            continue
        clock = _clock(zone)
        first, first_zone, weight = groups.get(clock, (city, zone, 0))
        if found.region is not None:
            groups[clock] = (first, first_zone, weight + city.population)
        else:
            groups[clock] = (first, first_zone, max(weight, city.population))
    ranked = sorted(groups.values(), key=lambda group: -group[2])
    if not ranked:
        return ZoneSuggestions(())
    lead_city, lead_zone, lead_weight = ranked[0]
    # Places far smaller than the biggest are left out of a choice: nobody in Manchester wants to scroll
    # past Manchester, Missouri (18,000 people).
    rivals = [group for group in ranked if group[2] * CLEAR_LEAD > lead_weight]
    if len(rivals) == 1 and not found.guessed:
        label = places.region_label(lead_city) if found.region is not None else places.label(lead_city)
        return ZoneMatch(lead_zone, label)
    options = tuple(
        ZoneOption(zone, places.label(city), f"{_PLACE_REF}{city.id}", places.words_for(city))
        for city, zone, _weight in rivals[:MAX_PLACES]
    )
    return ZoneSuggestions(options, exact=not found.guessed)


def _parse_offset(text: str) -> timedelta | None:
    """The offset written in the input ("UTC+5:45", "+0545", "GMT−3"), or None if it is not one."""
    folded = _fold(text).strip().replace("−", "-").replace("–", "-")
    found = _OFFSET.fullmatch(folded)
    if found is None:
        return None
    hours, minutes = int(found["hours"]), int(found["minutes"] or 0)
    if minutes > 59:
        return None
    offset = timedelta(hours=hours, minutes=minutes)
    return -offset if found["sign"] == "-" else offset


def _one_or_many(names: Iterable[str], always_ask: bool = False) -> ZoneMatch | ZoneSuggestions:
    """A match for exactly one name (unless ``always_ask``), suggestions for more (order kept, duplicates
    dropped), each labelled with its zone's city."""
    unique = tuple(dict.fromkeys(names))
    if len(unique) == 1 and not always_ask:
        return ZoneMatch(unique[0])
    return _zone_suggestions(unique)


def _zone_suggestions(names: Iterable[str]) -> ZoneSuggestions:
    """Zones offered by their city's name ("Chicago", "Kolkata"), at most MAX_SUGGESTIONS."""
    return ZoneSuggestions(tuple(ZoneOption(name, shown_place(name), name) for name in list(names)[:MAX_SUGGESTIONS]))


def _partial_matches(key: str) -> tuple[str, ...]:
    """Zones whose name or place contains ``key`` (whole words first), then near-miss spellings."""
    if len(key) < 3:
        return ()
    scored: dict[str, int] = {}
    for place, zones in _places().items():
        if key in place:
            rank = 0 if re.search(rf"\b{re.escape(key)}\b", place) else 1
            for zone in zones:
                scored[zone] = min(scored.get(zone, rank), rank)
    for full, zone in _names_by_key().items():
        if "/" in key and key in full:
            scored.setdefault(zone, 2)
    if scored:
        ranked = sorted(scored, key=lambda zone: (scored[zone], zone))
        return tuple(ranked[:MAX_SUGGESTIONS])
    close = difflib.get_close_matches(key, list(_places()), n=MAX_SUGGESTIONS, cutoff=0.8)
    return tuple(dict.fromkeys(zone for place in close for zone in _places()[place]))[:MAX_SUGGESTIONS]


def _fold(text: str) -> str:
    """Text compared loosely: Unicode-normalised, case-folded, accents removed ("São" → "sao")."""
    decomposed = unicodedata.normalize("NFKD", text).casefold()
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _normalise(text: str) -> str:
    """A place or zone name as a lookup key: folded, ``_`` ``-`` ``'`` ``,`` as spaces, spaces collapsed."""
    spaced = re.sub(r"[_\-',()]+", " ", _fold(text))
    spaced = re.sub(r"\s*/\s*", "/", spaced)
    return re.sub(r"\s+", " ", spaced).strip()


# --- reference data (from the tzdata package, read once) ------------------------------------------------


@dataclass(frozen=True)
class _ZoneRow:
    """One line of ``zone.tab``: a canonical zone and the country code it serves."""

    name: str
    country: str


def _tzdata_text(filename: str) -> str:
    """One of the tables that ship inside the ``tzdata`` package."""
    return importlib.resources.files("tzdata").joinpath("zoneinfo", filename).read_text(encoding="utf-8")


@cache
def _zone_rows() -> tuple[_ZoneRow, ...]:
    """Every canonical zone with its country, in ``zone.tab`` order (each country's main zone first)."""
    rows = []
    for line in _tzdata_text("zone.tab").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        country, _coordinates, name = line.split("\t")[:3]
        rows.append(_ZoneRow(name, country))
    return tuple(rows)


@cache
def _links() -> Mapping[str, str]:
    """Alternative tz names and the canonical zone each stands for (``tzdata.zi``'s ``L`` lines)."""
    links = {}
    for line in _tzdata_text("tzdata.zi").splitlines():
        if line.startswith("L "):
            _, target, alias = line.split()
            links[alias] = target
    return links


def _canonical(name: str) -> str:
    """The stored spelling of a tz name: itself if ``zone.tab`` lists it, else a link's target; UTC as "UTC".

    "Asia/Calcutta" is stored as "Asia/Kolkata" and "US/Eastern" as "America/New_York", while
    "Africa/Dar_es_Salaam" (Tanzania's own entry, a link to Nairobi) stays as people know it.
    """
    if name in _zone_names():
        return name
    target = _links().get(name, name)
    return "UTC" if target in {"Etc/UTC", "Etc/GMT"} else target


@cache
def _zone_names() -> frozenset[str]:
    """The names ``zone.tab`` lists."""
    return frozenset(row.name for row in _zone_rows())


@cache
def _names_by_key() -> Mapping[str, str]:
    """Every loadable tz name by its lookup key ("america/new york" → "America/New_York"), canonicalised."""
    names = (set(zoneinfo.available_timezones()) | set(_links())) - _NOT_ZONES
    return {_normalise(name): _canonical(name) for name in sorted(names)}


@cache
def _countries() -> Mapping[str, str]:
    """Country names by code (``iso3166.tab``)."""
    countries = {}
    for line in _tzdata_text("iso3166.tab").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        code, name = line.split("\t")[:2]
        countries[code] = name
    return countries


@cache
def _places() -> Mapping[str, tuple[str, ...]]:
    """Zones by place key: each zone's city, each link's city, each country's name, and the aliases above.

    A country lists one zone per distinct clock, in ``zone.tab`` order (its most populous region first), so
    "germany" is Europe/Berlin alone (Busingen keeps the same time) while "australia" offers several.
    """
    places: dict[str, list[str]] = {}

    def add(place: str, zone: str) -> None:
        key = _normalise(place)
        if key and zone not in places.setdefault(key, []):
            places[key].append(zone)

    for row in _zone_rows():
        add(row.name.rsplit("/", 1)[-1], row.name)
    for alias in _links():
        if "/" in alias:
            add(alias.rsplit("/", 1)[-1], _canonical(alias))
    by_country: dict[str, list[str]] = {}
    for row in _zone_rows():
        by_country.setdefault(row.country, []).append(row.name)
    kept: dict[str, list[str]] = {}
    for code, zones in by_country.items():
        first_of_clock = {_clock(zone): zone for zone in reversed(zones)}
        kept[code] = [zone for zone in zones if zone in first_of_clock.values()]
    for code, country in _countries().items():  # "Korea (South)" is both "korea south" and "korea"
        for name in (country, country.split("(")[0]):
            for zone in kept.get(code, ()):
                add(name, zone)
    for alias, (_label, zone) in _CITY_ALIASES.items():
        places[_normalise(alias)] = [zone]
    for alias, code in _COUNTRY_ALIASES.items():
        places[_normalise(alias)] = kept[code]
    return {key: tuple(zones) for key, zones in places.items()}


# --- shared locations -----------------------------------------------------------------------------------


def zone_for_location(latitude: float, longitude: float) -> ZoneResult:
    """The timezone of a shared location, from the timezone boundary polygons bundled with ``tzfpy`` (offline).

    Where zones overlap and keep different clocks (e.g. Asia/Shanghai and Asia/Urumqi in Xinjiang), or a point
    lies on a border between them, the zones come back as suggestions, the likeliest first. Over open sea the
    nautical zone becomes a fixed offset ("Etc/GMT+2" → "UTC-02:00"). Out-of-range or non-finite coordinates,
    and a point no zone covers, give a problem.
    """
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return ZoneProblem("bad_location")
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return ZoneProblem("bad_location")
    import tzfpy  # the boundary polygons are only needed when someone shares a location

    found = [tzfpy.get_tz(longitude, latitude), *tzfpy.get_tzs(longitude, latitude)]
    names = [name for name in (_stored_name(zone) for zone in found if zone) if name is not None]
    if not names:
        return ZoneProblem("location_unknown")
    by_clock = {_clock(name): name for name in reversed(names)}  # the first name of each clock wins
    kept = tuple(name for name in dict.fromkeys(names) if name in by_clock.values())
    return ZoneMatch(kept[0]) if len(kept) == 1 else _zone_suggestions(kept)


def _stored_name(zone: str) -> str | None:
    """The stored spelling of a tz name from the boundary data, or None if this tz database lacks it."""
    nautical = re.fullmatch(r"Etc/GMT([+-])(\d{1,2})", zone)
    if nautical is not None:  # POSIX signs: Etc/GMT+2 is two hours *behind* UTC
        hours = timedelta(hours=int(nautical[2]))
        return offset_name(-hours if nautical[1] == "+" else hours)
    return _names_by_key().get(_normalise(zone))


_CLOCK_PROBES = tuple(datetime(2026, month, 15, 12, tzinfo=UTC) for month in (1, 4, 7, 10))


@cache
def _clock(name: str) -> tuple[timedelta | None, ...]:
    """A zone's UTC offsets at a few fixed instants across a year: equal tuples mean the same clock."""
    zone = tzinfo_for(name)
    return tuple(probe.astimezone(zone).utcoffset() for probe in _CLOCK_PROBES)


def country_of_zone(name: str) -> str | None:
    """The two-letter country a stored timezone belongs to (from tzdata's ``zone.tab``), or None for
    offsets, UTC and zones that serve no single country."""
    canonical = _canonical(name) if not name.startswith("UTC") else name
    return next((row.country for row in _zone_rows() if row.name == canonical), None)
