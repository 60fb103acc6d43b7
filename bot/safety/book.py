"""The helplines: by country, for everyone, by topic (abuse, eating disorders), and a line in other languages."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator

from bot.flows.model import _Strict


class Helpline(_Strict):
    """One way to reach a person, with the date someone last checked it."""

    name: Annotated[str, Field(min_length=1)]
    contact: Annotated[str, Field(min_length=1)]
    url: str | None = None
    verified: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    source: Annotated[str, Field(min_length=1)]


class HelplineBook(_Strict):
    """Helplines by country (ISO code), the ones for everywhere, emergency numbers, topic lines and a short
    line in other languages pointing to help."""

    everywhere: list[Helpline] = Field(min_length=1)
    countries: dict[str, list[Helpline]] = Field(default_factory=dict)
    emergency_numbers: dict[str, str] = Field(default_factory=dict)
    topics: dict[str, dict[str, list[Helpline]]] = Field(default_factory=dict)
    language_lines: dict[str, str] = Field(default_factory=dict)

    @field_validator("countries", "emergency_numbers")
    @classmethod
    def _country_codes(cls, value: dict[str, object]) -> dict[str, object]:
        for code in value:
            if not re.fullmatch(r"[A-Z]{2}", code):
                raise ValueError(f"'{code}' is not a two-letter country code such as US or DE")
        return value

    @field_validator("topics")
    @classmethod
    def _topic_places(cls, value: dict[str, dict[str, list[Helpline]]]) -> dict[str, dict[str, list[Helpline]]]:
        for topic, places in value.items():
            for code in places:
                if code != "everywhere" and not re.fullmatch(r"[A-Z]{2}", code):
                    raise ValueError(f"topic '{topic}': '{code}' is not 'everywhere' or a two-letter country code")
        return value

    def lines_for(self, country: str | None, topics: frozenset[str] = frozenset()) -> list[Helpline]:
        """The helplines to show: the country's own first, then topic lines (abuse, eating), then everywhere."""
        lines = list(self.countries.get(country, [])) if country else []
        for topic in sorted(topics):
            places = self.topics.get(topic, {})
            lines.extend(places.get(country, []) if country else [])
            lines.extend(places.get("everywhere", []))
        lines.extend(self.everywhere)
        return lines

    def emergency_number(self, country: str | None) -> str | None:
        """The country's emergency number, if known."""
        return self.emergency_numbers.get(country) if country else None
