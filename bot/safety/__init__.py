"""The crisis screen and the helplines: pure, loaded from ``conversations/safety/``.

The screen runs on every free-text message before the engine sees it. It is a keyword and pattern
screen: it catches what it was written to catch and misses calm or indirect statements it has no
pattern for. That is why ``/sos`` is always available and onboarding says what the bot is not.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Annotated

from pydantic import Field, ValidationError, field_validator

from bot.flows.errors import FlowError, FlowLoadError
from bot.flows.loader import display_path, from_pydantic
from bot.flows.model import _Strict
from bot.flows.yaml_source import YamlDocument, YamlSyntaxError, load_yaml

SCREEN_FILE = FsPath("safety") / "screen.yaml"
HELPLINES_FILE = FsPath("safety") / "helplines.yaml"

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'", "“": '"', "”": '"'})


class ScreenRules(_Strict):
    """What the screen looks for, as written in ``screen.yaml``."""

    spellings: dict[str, str] = Field(default_factory=dict)
    benign: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    risk: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)


class Helpline(_Strict):
    """One way to reach a person, with the date someone last checked it."""

    name: Annotated[str, Field(min_length=1)]
    contact: Annotated[str, Field(min_length=1)]
    url: str | None = None
    verified: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    source: Annotated[str, Field(min_length=1)]


class HelplineBook(_Strict):
    """Helplines by country (ISO code), the ones for everywhere, and emergency numbers."""

    everywhere: list[Helpline] = Field(min_length=1)
    countries: dict[str, list[Helpline]] = Field(default_factory=dict)
    emergency_numbers: dict[str, str] = Field(default_factory=dict)

    @field_validator("countries", "emergency_numbers")
    @classmethod
    def _country_codes(cls, value: dict[str, object]) -> dict[str, object]:
        for code in value:
            if not re.fullmatch(r"[A-Z]{2}", code):
                raise ValueError(f"'{code}' is not a two-letter country code such as US or DE")
        return value


def normalise(text: str, spellings: dict[str, str]) -> str:
    """Text as the screen compares it: NFKC, lower case, straight apostrophes, no zero-width characters,
    single spaces, and common misspellings corrected word by word."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    # Zero-width and format characters vanish (they can hide inside a word); control characters space.
    text = "".join(
        "" if unicodedata.category(ch) == "Cf" else " " if unicodedata.category(ch) == "Cc" else ch for ch in text
    )
    text = "".join(ch if unicodedata.category(ch) != "Mn" else "" for ch in unicodedata.normalize("NFD", text))
    words = re.findall(r"[\w']+|[^\w\s']", text)
    fixed = [spellings.get(word, word) for word in words]
    return " ".join(" ".join(fixed).split())


@dataclass(frozen=True)
class CrisisScreen:
    """Flags messages that may express suicidal or self-harm intent."""

    spellings: dict[str, str]
    benign: tuple[re.Pattern[str], ...]
    risk: tuple[re.Pattern[str], ...]

    def flags(self, text: str) -> bool:
        """True when ``text`` matches a risk pattern once benign figures of speech are set aside."""
        normal = normalise(text, self.spellings)
        for pattern in self.benign:
            normal = pattern.sub(" … ", normal)
        return any(pattern.search(normal) for pattern in self.risk)


@dataclass(frozen=True)
class Safety:
    """The crisis screen and the helplines."""

    screen: CrisisScreen
    helplines: HelplineBook

    def lines_for(self, country: str) -> list[Helpline]:
        """The helplines to show: the country's own first, then those for everywhere."""
        return [*self.helplines.countries.get(country, []), *self.helplines.everywhere]

    def emergency_number(self, country: str) -> str | None:
        """The country's emergency number, if known."""
        return self.helplines.emergency_numbers.get(country)


def load_safety(conversations: FsPath) -> Safety:
    """Load ``safety/screen.yaml`` and ``safety/helplines.yaml``; FlowLoadError names file:line."""
    errors: list[FlowError] = []
    rules = _load(conversations / SCREEN_FILE, ScreenRules, "screen", errors)
    book = _load(conversations / HELPLINES_FILE, HelplineBook, "helplines", errors)
    screen = None
    if rules is not None:
        rules_model, document = rules
        assert isinstance(rules_model, ScreenRules)
        compiled: dict[str, list[re.Pattern[str]]] = {"benign": [], "risk": []}
        for key in ("benign", "risk"):
            for index, source in enumerate(getattr(rules_model, key)):
                try:
                    compiled[key].append(re.compile(source))
                except re.error as problem:
                    line = document.line_of((key, index))
                    shown = display_path(conversations / SCREEN_FILE)
                    errors.append(FlowError(shown, line, "screen", key, f"not a valid pattern: {problem.msg}"))
        screen = CrisisScreen(
            {normalise(k, {}): normalise(v, {}) for k, v in rules_model.spellings.items()},
            tuple(compiled["benign"]),
            tuple(compiled["risk"]),
        )
    if errors or screen is None or book is None:
        raise FlowLoadError(errors)
    assert isinstance(book[0], HelplineBook)
    return Safety(screen, book[0])


def _load(
    file: FsPath, model: type[_Strict], name: str, errors: list[FlowError]
) -> tuple[_Strict, YamlDocument] | None:
    shown = display_path(file)
    try:
        document = load_yaml(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as problem:
        errors.append(FlowError(shown, 1, name, None, f"cannot read the file: {problem}"))
        return None
    except YamlSyntaxError as problem:
        errors.append(FlowError(shown, problem.line, name, None, f"not valid YAML: {problem.problem}"))
        return None
    try:
        return model.model_validate(document.value), document
    except ValidationError as invalid:
        errors.extend(from_pydantic(detail, document, shown, name, model) for detail in invalid.errors())
        return None
