"""The written part of the screen: patterns from ``screen.yaml``, in two tiers, in several languages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import Field, model_validator

from bot.flows.model import _Strict
from bot.safety.assessment import Level
from bot.safety.normal import normalise
from bot.safety.prefilter import GuardedPattern, NeedFinder, PatternIndex, guarded
from bot.safety.translit import fold, reads_as_latin_russian, to_cyrillic

Pattern = Annotated[str, Field(min_length=1)]
# A pattern that starts with this regex comment is kept: the learned readers may turn its full reply into the
# gentle question, but never take the question away (signs they were shown to miss, such as quiet goodbyes,
# or someone on a bridge right now told at the end of a story about an exam).
KEPT = "(?#kept)"
# The language whose patterns also read messages typed in Latin letters that read as it (bot.safety.translit).
LATIN_READ_AS = "ru"


# Where a sentence starts and what a sentence may not cross: a pattern with an exclusion
# (:attr:`PatternEntry.unless_sentence_has`) is read one sentence at a time, and a sentence ends at ". ! ?".
# The pattern may begin anywhere in its sentence: people type long run-on sentences without a full stop, and
# a reach of 200 characters once hid real risk (measured: no slower over dev or over 4,000-character pastes).
_SENTENCE_START = r"(?:^|[.!?]\s*)"
_WITHIN_SENTENCE = "[^.!?]"


class PatternEntry(_Strict):
    """One pattern of ``screen.yaml``: written as text, or as ``pattern:`` with ``unless_sentence_has:``.

    With ``unless_sentence_has``, the pattern counts only in a sentence where that does not occur anywhere,
    before or after what it matched ("gave my guitar away for a tenner", unless the same sentence says it was
    broken). It is a regular expression, or the name of one under ``sentence_exclusions`` (for an exclusion
    several patterns share, such as a laugh).
    """

    pattern: Pattern
    unless_sentence_has: Pattern | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, written: object) -> object:
        """A pattern written as plain text is a pattern without an exclusion."""
        if isinstance(written, str):
            return {"pattern": written}
        if not isinstance(written, dict):
            raise ValueError(
                f"a pattern is text in quotes, or 'pattern:' with 'unless_sentence_has:' (got {written!r})"
            )
        return written


class LanguageRules(_Strict):
    """Patterns for one language other than English."""

    benign: list[PatternEntry] = Field(default_factory=list)
    risk: list[PatternEntry] = Field(default_factory=list)
    possible: list[PatternEntry] = Field(default_factory=list)


class SignsTogether(_Strict):
    """Signs that each say little alone and together say more: putting one's affairs in order ("gave my bike
    to my sister", "wrote to my ex to apologise", "backed up the data so nothing is lost") told in one message.

    When at least ``at_least`` of ``signs`` are found in one message (each counted once), one of ``with_one_of``
    too where it lists any ("while I still can": the finality that sets a goodbye apart from a will made for a
    new baby), and ``unless_message_has`` is nowhere in it, the message gets the question, kept (:data:`KEPT`).
    The exclusion is a regular expression or the name of one under ``sentence_exclusions``; like the signs, it
    reads the whole message as the English patterns do (benign spans blanked).
    """

    at_least: int = Field(ge=2)
    signs: dict[str, Pattern] = Field(min_length=2)
    with_one_of: dict[str, Pattern] = Field(default_factory=dict)
    unless_message_has: Pattern | None = None

    @model_validator(mode="after")
    def _reachable(self) -> SignsTogether:
        """Refuses an ``at_least`` no message could reach."""
        if self.at_least > len(self.signs):
            raise ValueError(f"at_least is {self.at_least}, but only {len(self.signs)} signs are listed")
        return self


class ScreenRules(_Strict):
    """What the screen looks for, as written in ``screen.yaml``."""

    spellings: dict[str, str] = Field(default_factory=dict)
    sentence_exclusions: dict[str, Pattern] = Field(default_factory=dict)
    benign: list[PatternEntry] = Field(default_factory=list)
    risk: list[PatternEntry] = Field(min_length=1)
    possible: list[PatternEntry] = Field(default_factory=list)
    topics: dict[str, list[PatternEntry]] = Field(default_factory=dict)
    together: dict[str, SignsTogether] = Field(default_factory=dict)
    languages: dict[str, LanguageRules] = Field(default_factory=dict)


# An exclusion made only of letters, digits, spaces, hyphens and underscores is taken for a name under
# ``sentence_exclusions``, so a typo in a name ("a-laugh-or-a-song") is reported instead of becoming a regular
# expression that looks for the typo; an exclusion by words is written with ``\b``.
EXCLUSION_NAME = re.compile(r"[\w \-]+")


def exclusion_name(entry: PatternEntry) -> str | None:
    """The name under ``sentence_exclusions`` that ``entry``'s exclusion is written as, or None when it is
    written out as a regular expression (or there is none)."""
    return name_in(entry.unless_sentence_has)


def name_in(exclusion: str | None) -> str | None:
    """``exclusion`` when it is written as a name under ``sentence_exclusions``; None when it is a regular
    expression (or there is none)."""
    return exclusion if exclusion is not None and EXCLUSION_NAME.fullmatch(exclusion) else None


def written_out(entry: PatternEntry, exclusions: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The regular expression ``entry`` stands for, or None and what is wrong (an exclusion by a name that
    ``exclusions`` does not have)."""
    if entry.unless_sentence_has is None:
        return entry.pattern, None
    exclusion, wrong = resolve_exclusion(entry.unless_sentence_has, exclusions)
    if exclusion is None:
        return None, wrong
    return within_a_sentence(entry.pattern, exclusion), None


def resolve_exclusion(exclusion: str, exclusions: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The regular expression ``exclusion`` stands for: itself, or the one it names in ``exclusions``; or
    None and what is wrong (a name that ``exclusions`` does not have)."""
    if name_in(exclusion) is None:
        return exclusion, None
    if exclusion not in exclusions:
        known = ", ".join(sorted(exclusions)) or "none"
        return None, f"no exclusion named '{exclusion}' under sentence_exclusions (there: {known})"
    return exclusions[exclusion], None


def within_a_sentence(pattern: str, exclusion: str) -> str:
    """One regular expression for ``pattern`` matched inside a sentence that ``exclusion`` is nowhere in.

    A :data:`KEPT` mark stays at the very start, where the screen looks for it. The match begins at the start
    of the sentence, so a search finds it wherever in the sentence the pattern begins.
    """
    kept = KEPT if pattern.startswith(KEPT) else ""
    body = pattern.removeprefix(kept)
    sentence = _WITHIN_SENTENCE
    return f"{kept}{_SENTENCE_START}(?!{sentence}*(?:{exclusion})){sentence}*?(?:{body})"


@dataclass(frozen=True)
class CompiledTogether:
    """One :class:`SignsTogether`, compiled."""

    at_least: int
    signs: tuple[GuardedPattern, ...]
    unless: re.Pattern[str] | None = None
    with_one_of: tuple[GuardedPattern, ...] = ()

    def found(self, normal: str) -> bool:
        """Whether ``normal`` text holds at least :attr:`at_least` of the signs and one of :attr:`with_one_of`
        (when there are any), each in words no other counted sign holds ("texted my mum thank you for
        everything" is one sign, not two), whichever way the signs' matches are chosen, and not the
        exclusion."""
        # The cheap checks first: most messages hold the words of fewer signs than are needed.
        present = [sign for sign in self.signs if sign.could_match(normal)]
        finality = [sign for sign in self.with_one_of if sign.could_match(normal)]
        if len(present) < self.at_least or (self.with_one_of and not finality):
            return False
        if self.unless is not None and self.unless.search(normal):
            return False
        spans = [found for sign in present if (found := _spans(sign, normal))]
        endings = [span for sign in finality for span in _spans(sign, normal)] if self.with_one_of else None
        return _disjoint_choice(spans, self.at_least, endings, [])


Span = tuple[int, int]


def _spans(sign: GuardedPattern, normal: str) -> list[Span]:
    """Where ``sign`` matches in ``normal``."""
    return [match.span() for match in sign.regex.finditer(normal)]


def _disjoint_choice(signs: list[list[Span]], needed: int, endings: list[Span] | None, taken: list[Span]) -> bool:
    """Whether ``needed`` of the ``signs`` (each a list of where it matched) can each be given one span, no two
    overlapping nor overlapping ``taken``, and then one of ``endings`` (when not None) a span free of them all.

    A search over every choice: a message holds a few signs with a few matches each.
    """
    if needed == 0:
        return endings is None or any(_free(span, taken) for span in endings)
    if len(signs) < needed:
        return False
    first, rest = signs[0], signs[1:]
    return any(
        _disjoint_choice(rest, needed - 1, endings, [*taken, span]) for span in first if _free(span, taken)
    ) or _disjoint_choice(rest, needed, endings, taken)


def _free(span: Span, taken: list[Span]) -> bool:
    start, end = span
    return all(end <= other_start or start >= other_end for other_start, other_end in taken)


@dataclass(frozen=True)
class CompiledRules:
    """One language's compiled patterns."""

    benign: tuple[GuardedPattern, ...] = ()
    risk: tuple[GuardedPattern, ...] = ()
    possible: tuple[GuardedPattern, ...] = ()
    together: tuple[CompiledTogether, ...] = ()
    indexes: tuple[PatternIndex, PatternIndex, PatternIndex] = field(init=False, repr=False, compare=False)
    _kept: PatternIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "indexes", tuple(PatternIndex(kind) for kind in (self.benign, self.risk, self.possible))
        )
        kept = tuple(pattern for pattern in self.risk + self.possible if pattern.regex.pattern.startswith(KEPT))
        object.__setattr__(self, "_kept", PatternIndex(kept))

    def needs(self) -> set[str]:
        """Every string these patterns' prefilters look for."""
        return set().union(*(index.needs() for index in (*self.indexes, self._kept)))

    def blank(self, normal: str, present: frozenset[str], finder: NeedFinder) -> tuple[str, frozenset[str]]:
        """``normal`` with the spans these benign patterns match replaced by " … ", and the strings of
        ``finder`` that still occur in it."""
        return self.indexes[0].sub(" … ", normal, present, finder)

    def level(self, normal: str, present: frozenset[str]) -> tuple[Level, bool]:
        """The tier these patterns give ``normal`` text, already blanked (:meth:`blank`), and whether a
        :data:`KEPT` pattern matched; ``present``: the strings of the screen's finder that occur in ``normal``."""
        _, risk, possible = self.indexes
        if risk.search(normal, present):
            level = Level.CLEAR
        elif possible.search(normal, present):
            level = Level.POSSIBLE
        elif self._together(normal):
            return Level.POSSIBLE, True
        else:
            return Level.NONE, False
        return level, self._kept.search(normal, present) or self._together(normal)

    def _together(self, normal: str) -> bool:
        """Whether any of these rules' signs counted together are found in ``normal`` text."""
        return any(rule.found(normal) for rule in self.together)


@dataclass(frozen=True)
class PatternVerdict:
    """What the patterns found: the tier, the topics, the language of the patterns that matched, and whether a
    kept pattern (:data:`KEPT`) or signs counted together (:class:`SignsTogether`) matched in any language: then
    the question is the floor the readers keep."""

    level: Level
    topics: frozenset[str]
    language: str | None
    normal: str = ""  # the text as the patterns read it (:meth:`CrisisScreen.normal`)
    kept: bool = False  # a :data:`KEPT` pattern matched: the readers may not take the question away


@dataclass(frozen=True)
class CrisisScreen:
    """Flags messages that may express suicidal or self-harm intent, danger from others or an eating-disorder
    crisis, in English and the languages ``screen.yaml`` has patterns for."""

    spellings: dict[str, str]
    english: CompiledRules
    topics: dict[str, tuple[GuardedPattern, ...]] = field(default_factory=dict)
    languages: dict[str, CompiledRules] = field(default_factory=dict)
    words: frozenset[str] = frozenset()
    """The words the patterns are written with: a held-down, starred or broken-up one is read as it
    (:func:`~bot.safety.normal.normalise`)."""
    _topic_indexes: dict[str, PatternIndex] = field(init=False, repr=False, compare=False)
    # The Russian patterns and the topics folded for Russian typed in Latin letters (bot.safety.translit).
    _latin_russian: CompiledRules | None = field(init=False, repr=False, compare=False)
    _latin_topic_indexes: dict[str, PatternIndex] = field(init=False, repr=False, compare=False)
    _finder: NeedFinder = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        topic_indexes = {name: PatternIndex(patterns) for name, patterns in self.topics.items()}
        russian = self.languages.get(LATIN_READ_AS)
        latin_russian = None if russian is None else folded_rules(russian)
        latin_topic_indexes = {name: PatternIndex(folded(patterns)) for name, patterns in self.topics.items()}
        needs = self.english.needs().union(*(rules.needs() for rules in self.languages.values()))
        needs = needs.union(*(index.needs() for index in (*topic_indexes.values(), *latin_topic_indexes.values())))
        if latin_russian is not None:
            needs |= latin_russian.needs()
        object.__setattr__(self, "_topic_indexes", topic_indexes)
        object.__setattr__(self, "_latin_russian", latin_russian)
        object.__setattr__(self, "_latin_topic_indexes", latin_topic_indexes)
        object.__setattr__(self, "_finder", NeedFinder(needs))

    def normal(self, text: str) -> str:
        """``text`` as the patterns read it."""
        return normalise(text, self.spellings, self.words)

    def verdict(self, text: str) -> PatternVerdict:
        """The patterns' verdict on ``text``."""
        normal = self.normal(text)
        present = self._finder.present(normal)
        # English words are read inside other languages too ("suicide", "overdose"), so the English patterns
        # read the text with every language's benign spans blanked: French "s'est suicidé" or "a fait une
        # overdose" is someone else's crisis to them as well. The other languages read only their own
        # blanks: one language's figure of speech can be another's threat ("me mata este fim de semana").
        blanked, still = normal, present
        for rules in (self.english, *self.languages.values()):
            blanked, still = rules.blank(blanked, still, self._finder)
        level, kept = self.english.level(blanked, still)
        language = None
        for code, rules in self.languages.items():
            found, found_kept = rules.level(*rules.blank(normal, present, self._finder))
            kept = kept or found_kept
            if found > level:
                level, language = found, code
            elif found is not Level.NONE and found == level and language is None:
                language = code  # English words inside another language ("will mich unalive"): that language
        topics = frozenset(name for name, index in self._topic_indexes.items() if index.search(normal, present))
        cyrillic = self.latin_read_back(text, normal)
        if self._latin_russian is not None and cyrillic is not None:
            seen = self._finder.present(cyrillic)
            found, _ = self._latin_russian.level(*self._latin_russian.blank(cyrillic, seen, self._finder))
            # A reading back is a guess ("bila" may be "была", was, or "била", hit): at most the question, and
            # one the readers may weigh (never kept).
            found = min(found, Level.POSSIBLE)
            if found > level:
                level, language = found, LATIN_READ_AS
            topics |= {name for name, index in self._latin_topic_indexes.items() if index.search(cyrillic, seen)}
        return PatternVerdict(level, topics, language, normal, kept)

    @property
    def latin_russian(self) -> CompiledRules | None:
        """The Russian patterns folded to read Russian typed in Latin letters (None without Russian ones)."""
        return self._latin_russian

    def latin_read_back(self, text: str, normal: str) -> str | None:
        """``text`` read back into folded Cyrillic when it is Russian typed in Latin letters (its ``normal``
        form reads as such, :func:`~bot.safety.translit.reads_as_latin_russian`) and there are Russian
        patterns to read it; None otherwise. Read from ``text`` without the English spellings, which would
        turn "u" (at) into "you", and with the spans the English and Russian benign patterns match in the Latin
        letters already blanked ("porezala ruku kogda gotovila", "Suicide Squad")."""
        if self._latin_russian is None or not reads_as_latin_russian(normal):
            return None
        plain = normalise(text, {}, self.words)
        present = self._finder.present(plain)
        for rules in (self.english, self.languages[LATIN_READ_AS]):
            plain, present = rules.blank(plain, present, self._finder)
        return to_cyrillic(plain)

    def flags(self, text: str) -> bool:
        """True when the patterns alone see clear risk in ``text``."""
        return self.verdict(text).level is Level.CLEAR


def folded(patterns: tuple[GuardedPattern, ...]) -> tuple[GuardedPattern, ...]:
    """``patterns`` with their Cyrillic folded as Latin typing blurs it (:func:`~bot.safety.translit.fold`).
    Folding only drops or swaps Cyrillic letters; a pattern it would break (a soft sign alone in a character
    class) is kept as written, so it still reads what it read."""
    return tuple(_folded(pattern) for pattern in patterns)


def _folded(pattern: GuardedPattern) -> GuardedPattern:
    source = fold(pattern.regex.pattern)
    if source == pattern.regex.pattern:
        return pattern
    try:
        return guarded(re.compile(source, pattern.regex.flags))
    except re.error:
        return pattern


def folded_rules(rules: CompiledRules) -> CompiledRules:
    """One language's rules folded (:func:`folded`) for text read back from Latin letters."""
    return CompiledRules(folded(rules.benign), folded(rules.risk), folded(rules.possible))
