"""What every feature shares: the messages a person sends, what a stage decides, what the next typed message is
read against, and the ``Feature`` description the router's ``Registry`` is built from."""

from __future__ import annotations

import enum
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.effects import Button, Erased, Say, SendFile, Stale
from bot.engine import CompletedRun, Effect, State
from bot.flows.model import Flow
from bot.flows.texts import Texts
from bot.storage.records import User

if TYPE_CHECKING:
    from bot.conversation import Turn


@dataclass(frozen=True)
class Command:
    """A slash command such as ``/reframe`` (name without the slash, lower-cased) and any text after it."""

    name: str
    argument: str | None = None


@dataclass(frozen=True)
class Text:
    """Typed text that is not a command."""

    text: str


@dataclass(frozen=True)
class ButtonPress:
    """A tapped button with the value and state sequence it carried."""

    value: str
    seq: int | None


@dataclass(frozen=True)
class NotText:
    """A sticker, photo, voice note or anything else that is not text (with its caption, if any)."""

    kind: str
    caption: str | None = None


@dataclass(frozen=True)
class Resume:
    """The person is back (the terminal chat starting again): show where they were, if anywhere."""


@dataclass(frozen=True)
class Edited:
    """A message the person changed after sending it: screened for safety, never taken as a new answer."""

    text: str


@dataclass(frozen=True)
class Location:
    """A shared location (used only to find a timezone for check-ins, never stored)."""

    latitude: float
    longitude: float


Incoming = Command | Text | ButtonPress | NotText | Resume | Location | Edited

Reply = Say | Stale | SendFile | Erased
Out = Effect | SendFile | Erased

MENU_LIFETIME = timedelta(hours=12)
"""How long typed text is still read against the bot's buttons last shown (a menu, a confirmation)."""
WORDS_LIFETIME = timedelta(hours=24)
"""How long words kept for a flow's first question (a newcomer's first message, a setback offered) last."""


@dataclass
class Menu:
    """The bot's own buttons a person was last shown (a menu or a confirmation, not a flow question), kept so
    typing a button's label, its number or a word of it does what a tap would."""

    rows: list[list[tuple[str, str]]]
    """Each row's buttons as (value, label)."""
    at: datetime
    html: str = ""
    """The message the buttons came with, to show it again to someone coming back ("" where not kept)."""
    spoken: dict[str, str] = field(default_factory=dict)
    """Each button's words where it has them (``Button.spoken``), by value."""

    @property
    def buttons(self) -> tuple[tuple[Button, ...], ...]:
        """The buttons as they were shown, to show them again."""
        return tuple(
            tuple(Button(label, value, self.spoken.get(value, "")) for value, label in row) for row in self.rows
        )

    @property
    def options(self) -> list[tuple[str, str]]:
        """Every button, row by row, as (value, label): the order the terminal numbers them in."""
        return [button for row in self.rows for button in row]

    def has(self, value: str) -> bool:
        """True when one of the buttons carries ``value``."""
        return any(shown == value for shown, _ in self.options)


@dataclass
class Awaiting:
    """What a person's next typed message is read against outside a flow, stored as JSON on the person.

    ``menu``: the buttons last shown. ``words``: what they wrote that a flow's first question will take (a
    newcomer's first message, kept until they confirm; a setback the bot offered to work through).
    """

    menu: Menu | None = None
    words: str | None = None
    words_at: datetime | None = None
    editing: tuple[int, str] | None = None
    """An entry's part (run id, ``lesson`` or ``next_step``) whose new words the next typed message is (/edit)."""
    shown_again: bool = field(default=False, compare=False)
    """Set (never stored) when this message's replies show the menu already on screen again (a hint, a
    person coming back): it stays the menu that was shown, with its message and its age."""

    @classmethod
    def load(cls, stored: str | None, now: datetime) -> Awaiting:
        """The stored JSON read back, without the parts that are too old to count (anything unreadable: empty)."""
        if not stored:
            return cls()
        try:
            data = json.loads(stored)
            menu = None
            if isinstance(data.get("menu"), dict):
                at = datetime.fromisoformat(data["menu"]["at"])
                rows = [[(str(value), str(label)) for value, label in row] for row in data["menu"]["rows"]]
                html = str(data["menu"].get("html", ""))
                spoken = {str(value): str(words) for value, words in data["menu"].get("spoken", {}).items()}
                menu = Menu(rows, at, html, spoken) if now - at <= MENU_LIFETIME else None
            words, words_at = data.get("words"), data.get("words_at")
            kept_at = datetime.fromisoformat(words_at) if isinstance(words, str) and words_at else None
            edit = data.get("editing")
            # Only while the question asking for the new words is on screen (its menu is still fresh).
            editing = (int(edit[0]), str(edit[1])) if isinstance(edit, list) and menu is not None else None
            if kept_at is None or now - kept_at > WORDS_LIFETIME:
                return cls(menu, editing=editing)
            return cls(menu, words, kept_at, editing)
        except (ValueError, KeyError, TypeError, AttributeError):
            return cls()

    def dump(self) -> str | None:
        """The JSON to store, or None when nothing is awaited."""
        data: dict[str, Any] = {}
        if self.menu is not None:
            menu = self.menu
            data["menu"] = {"at": menu.at.isoformat(), "rows": menu.rows, "html": menu.html, "spoken": menu.spoken}
        if self.words is not None and self.words_at is not None:
            data["words"], data["words_at"] = self.words, self.words_at.isoformat()
        if self.editing is not None:
            data["editing"] = list(self.editing)
        return json.dumps(data, ensure_ascii=False) if data else None

    def keep(self, words: str, now: datetime) -> None:
        """Keep ``words`` for the first question of a flow about to be offered."""
        self.words, self.words_at = words.strip(), now

    def take(self) -> str | None:
        """The kept words, which are then no longer kept."""
        words, self.words, self.words_at = self.words, None, None
        return words


def kept_words(stored: str | None) -> str | None:
    """The words in a stored ``Awaiting`` (expired or not), to tell when they stop being kept."""
    try:
        words = json.loads(stored).get("words") if stored else None
    except (ValueError, AttributeError):
        return None
    return words if isinstance(words, str) else None


Outcome = tuple[State | None, Sequence[Out]]
"""What a stage decides: the person's flow state afterwards, and what to show or do."""


@dataclass
class At:
    """Where one message stands as it passes the stages (a stage may un-pause the flow or read a caption as
    text for the stages after it)."""

    user: User
    state: State | None
    flow: Flow | None
    incoming: Incoming
    now: datetime
    screened: bool
    awaiting: Awaiting


def normal_word(text: str) -> str:
    """``text`` case-folded, without punctuation, its spaces collapsed: how a one-word reply is compared."""
    return " ".join("".join(ch for ch in text.casefold() if ch.isalnum() or ch.isspace()).split())


def one_message(says: Sequence[Say]) -> Say:
    """Several things to say as one message: their texts in order, the last one's buttons and question."""
    last = says[-1]
    html = "\n\n".join(say.html.strip() for say in says if say.html.strip())
    return replace(last, html=html)


class Kind(enum.Flag):
    """How typed text is read against one of the bot's own buttons (see ``bot.features.menus``)."""

    PLAIN = 0
    ASKS = enum.auto()
    """It answers a question that waits for it (delete everything? this entry?): other words get a hint."""
    DESTRUCTIVE = enum.auto()
    """It deletes: typed, only an unambiguous yes presses it."""
    OFFER = enum.auto()
    """It takes or declines an offer: typed, only a whole yes or no does."""
    KEEPS_WORDS = enum.auto()
    """While it is on screen, the words the offer is about stay kept."""
    KEEPS_EDITING = enum.auto()
    """While it is on screen, the next typed message is still an entry's new words (/edit)."""
    TIMES = enum.auto()
    """One of a list of times: typed text is read as a time, never as one of these buttons."""


Stage = Callable[["Turn", At], Awaitable[Outcome | None]]
"""A stage of ``PRECEDENCE``: answers the message (an ``Outcome``) or passes it on (None)."""
CommandAction = Callable[["Turn", At, Command], Awaitable[Outcome]]
ButtonAction = Callable[["Turn", At, str], Awaitable[Outcome]]
RunHook = Callable[["Turn", User, int, CompletedRun, datetime], Awaitable[list[Say]]]
"""Called for every completed run once it is stored: what it leaves for later, and anything to say."""
MessageHook = Callable[["Turn", User, Incoming, datetime], Awaitable[None]]
"""Called after every message of an onboarded person (not a terminal restart), whoever answered it."""


def _no_words(texts: Texts, value: str, label: str) -> tuple[str, ...] | None:
    return None


def _plain(value: str) -> Kind:
    return Kind.PLAIN


@dataclass(frozen=True)
class Feature:
    """One feature as the router sees it. ``buttons`` keys are button values, or prefixes ending in ``:``
    (every value starting with it); ``menu_values`` are the feature's other buttons shown outside a flow
    question that a stage of its own answers (typed text is read against them too)."""

    name: str
    stages: Mapping[str, Stage] = field(default_factory=dict)
    commands: Mapping[str, CommandAction] = field(default_factory=dict)
    any_command: CommandAction | None = None
    """The command of no feature (at most one feature answers them: a flow's own command, or "unknown")."""
    buttons: Mapping[str, ButtonAction] = field(default_factory=dict)
    menu_values: frozenset[str] = frozenset()
    menu_words: Callable[[Texts, str, str], tuple[str, ...] | None] = _no_words
    """Other words that mean one of its buttons (value, label); None when it is not one of them."""
    kind: Callable[[str], Kind] = _plain
    after_run: RunHook | None = None
    after_message: MessageHook | None = None


class Registry:
    """The features of one bot, looked up by stage, command and button value.

    Raises ``ValueError`` when two features claim the same stage, command, or button value or prefix.
    """

    def __init__(self, features: Sequence[Feature]) -> None:
        self.features = tuple(features)
        self._stages: dict[tuple[str, str], Stage] = {}
        self._commands: dict[str, CommandAction] = {}
        self._buttons: dict[str, tuple[Feature, ButtonAction]] = {}
        self._menu_values: dict[str, Feature] = {}
        fallback = [feature for feature in features if feature.any_command is not None]
        if len(fallback) > 1:
            raise ValueError(f"more than one feature answers any command: {[f.name for f in fallback]}")
        self.any_command = fallback[0].any_command if fallback else None
        for feature in features:
            for name, stage in feature.stages.items():
                self._claim(self._stages, (feature.name, name), stage, "stage")
            for name, action in feature.commands.items():
                self._claim(self._commands, name, action, "command")
            for value, press in feature.buttons.items():
                self._claim(self._buttons, value, (feature, press), "button")
            for value in feature.menu_values:
                self._claim(self._menu_values, value, feature, "button")

    @staticmethod
    def _claim(table: dict[Any, Any], key: Any, value: Any, what: str) -> None:
        if key in table:
            raise ValueError(f"two features claim the {what} {key!r}")
        table[key] = value

    def stage(self, owner: str, name: str) -> Stage:
        """The stage ``name`` of the feature ``owner`` (``KeyError`` when it has none)."""
        return self._stages[(owner, name)]

    @property
    def stages(self) -> frozenset[tuple[str, str]]:
        """Every registered (owner, stage)."""
        return frozenset(self._stages)

    def command(self, name: str) -> CommandAction | None:
        """What answers ``/name``: its feature's action, else the catch-all (None without one)."""
        return self._commands.get(name, self.any_command)

    def _owner(self, value: str) -> tuple[Feature, ButtonAction] | None:
        if value in self._buttons:
            return self._buttons[value]
        # The longest prefix wins, so a feature may claim a narrower one inside another's.
        for key in sorted(self._buttons, key=len, reverse=True):
            if key.endswith(":") and value.startswith(key):
                return self._buttons[key]
        return None

    def button(self, value: str) -> ButtonAction | None:
        """What answers a tap on the button carrying ``value`` (None: none of the bot's own)."""
        owner = self._owner(value)
        return owner[1] if owner is not None else None

    def feature_of(self, value: str) -> Feature | None:
        """The feature whose button (or menu value) carries ``value``."""
        owner = self._owner(value)
        return owner[0] if owner is not None else self._menu_values.get(value)

    def is_menu_value(self, value: str) -> bool:
        """True for the values of the bot's own buttons outside flow questions (typed text is read against them)."""
        return self.feature_of(value) is not None

    def kind(self, value: str) -> Kind:
        """How typed text is read against the button carrying ``value``."""
        feature = self.feature_of(value)
        return feature.kind(value) if feature is not None else Kind.PLAIN

    def menu_words(self, texts: Texts, value: str, label: str) -> tuple[str, ...]:
        """Other words that mean this button of the bot's own (from texts/words.yaml); none when unknown."""
        for feature in self.features:
            words = feature.menu_words(texts, value, label)
            if words is not None:
                return words
        return ()
