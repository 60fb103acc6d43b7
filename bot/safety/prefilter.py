"""Patterns that skip the texts they cannot match: a cheap look for the words a match must contain.

The screen runs about 1,650 patterns over every message, and a regular expression that starts with ``\\b(``
is tried at every position of the text: on a long paragraph the patterns alone took 13 ms at p99. Nearly
every pattern names words one of which any match must contain (``\\b(took|swallowed) (all|every) pills``
needs `` pills``; ``\\b(noose|rope)\\b`` needs ``noose`` or ``rope``). Reading those
off the parsed pattern, once, and checking them with ``in`` before searching gives the same answers and
skips most of the work (see bench/RESULTS.md). Where no such words can be read off, the pattern is searched
as before.

Checking each pattern's strings one by one still read a long paragraph some 5,000 times. A
:class:`NeedFinder` finds every needed string of the whole screen in one pass instead, and a
:class:`PatternIndex` then searches only the patterns whose strings are there.
"""

from __future__ import annotations

import importlib
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

_sre: Any
_sre_parse: Any
try:  # The parser behind ``re``; private, so a Python without it simply searches every pattern.
    _sre = importlib.import_module("re._constants")
    _sre_parse = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover - Python 3.11 to 3.14 have both
    _sre = _sre_parse = None

# Words shorter than this are in nearly every text: checking for them first would spare nothing.
MIN_NEEDED_LENGTH = 2

Needs = frozenset[str] | None  # one of these strings is in every match; None: nothing known


@dataclass(frozen=True)
class GuardedPattern:
    """A compiled pattern and the strings one of which is in every text it matches (None: not known)."""

    regex: re.Pattern[str]
    needs: tuple[str, ...] | None
    # Every set of strings the pattern needs one of (``needs`` is the most telling): a text must hold one
    # string of each. Read by :class:`PatternIndex`, which finds them all at once.
    clauses: tuple[frozenset[str], ...] = ()
    # The characters it matches as written (:func:`literal_characters`), read off the same parse.
    literals: frozenset[str] = frozenset()

    def could_match(self, text: str) -> bool:
        """False when ``text`` lacks every string the pattern needs (then it cannot match); True otherwise."""
        return self.needs is None or any(needed in text for needed in self.needs)

    def search(self, text: str) -> bool:
        """True when the pattern matches somewhere in ``text``; the same answer as ``regex.search``."""
        return self.could_match(text) and self.regex.search(text) is not None

    def sub(self, replacement: str, text: str) -> str:
        """``text`` with every match replaced; the same answer as ``regex.sub``."""
        return self.regex.sub(replacement, text) if self.could_match(text) else text


class NeedFinder:
    """Which of many strings occur in a text, found in one pass over it.

    The strings are compiled into one regular expression shaped as a trie (shared beginnings written once),
    looked for at every position: there it matches the longest string that starts at that position, and every
    shorter string that starts there is a beginning of that one, so it is known as well.
    """

    def __init__(self, strings: Iterable[str]) -> None:
        unique = sorted(set(strings))
        known = set(unique)
        self._regex = re.compile(f"(?=({_trie(unique)}))") if unique else None
        self._with_beginnings = {
            string: frozenset(string[:end] for end in range(1, len(string) + 1) if string[:end] in known)
            for string in unique
        }

    def present(self, text: str) -> frozenset[str]:
        """The strings given to the finder that occur somewhere in ``text``."""
        if self._regex is None:
            return frozenset()
        found: set[str] = set()
        for longest in set(self._regex.findall(text)):
            found |= self._with_beginnings[longest]
        return frozenset(found)


def _trie(strings: Sequence[str]) -> str:
    """A regular expression matching any of ``strings`` (not empty), greedily the longest at a position."""
    root: dict[str, Any] = {}
    for string in strings:
        node = root
        for char in string:
            node = node.setdefault(char, {})
        node[""] = {}  # a string ends here

    def written(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + written(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # Where a shorter string ends, the longer ones are tried first (greedy), then the end itself.
        return f"(?:{body})?" if "" in node else body

    return written(root)


@dataclass(frozen=True)
class PatternIndex:
    """Guarded patterns in their order, searched only where a :class:`NeedFinder`'s findings allow a match:
    one string of each set a pattern needs (:attr:`GuardedPattern.clauses`) must be in the text."""

    patterns: tuple[GuardedPattern, ...]
    _by_need: dict[str, tuple[int, ...]] = field(init=False, repr=False, compare=False)
    _keys: frozenset[str] = field(init=False, repr=False, compare=False)
    _unguarded: frozenset[int] = field(init=False, repr=False, compare=False)
    _more: dict[int, tuple[frozenset[str], ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_need: dict[str, list[int]] = {}
        for index, pattern in enumerate(self.patterns):
            for needed in pattern.needs or ():
                by_need.setdefault(needed, []).append(index)
        more = {}
        for index, pattern in enumerate(self.patterns):
            others = tuple(clause for clause in pattern.clauses if clause != frozenset(pattern.needs or ()))
            if others:
                more[index] = others
        object.__setattr__(self, "_by_need", {needed: tuple(found) for needed, found in by_need.items()})
        object.__setattr__(self, "_keys", frozenset(by_need))
        object.__setattr__(self, "_unguarded", frozenset(i for i, p in enumerate(self.patterns) if p.needs is None))
        object.__setattr__(self, "_more", more)

    def needs(self) -> set[str]:
        """Every string these patterns' prefilters look for (to build the :class:`NeedFinder` with)."""
        found = set(self._keys)
        for pattern in self.patterns:
            found.update(*pattern.clauses)
        return found

    def candidates(self, present: frozenset[str]) -> list[int]:
        """The positions, in order, of the patterns that can match a text in which exactly the needed strings
        ``present`` occur."""
        found = set(self._unguarded)
        for needed in self._keys & present:
            found.update(self._by_need[needed])
        more = self._more
        return sorted(
            index
            for index in found
            if index not in more or all(not clause.isdisjoint(present) for clause in more[index])
        )

    def search(self, text: str, present: frozenset[str]) -> bool:
        """True when any pattern matches ``text``, whose needed strings found are ``present``."""
        return any(self.patterns[index].regex.search(text) for index in self.candidates(present))

    def sub(
        self, replacement: str, text: str, present: frozenset[str], finder: NeedFinder
    ) -> tuple[str, frozenset[str]]:
        """``text`` with every pattern's matches replaced in turn (as each :meth:`GuardedPattern.sub` would), and
        the needed strings present in the result. Until a replacement changes the text, only candidates are
        tried; after it, the later patterns check their own strings in the changed text, and the needed
        strings are found again once at the end (finding them after every change cost more on long pastes,
        where many figures of speech are blanked, than it spared)."""
        for index in self.candidates(present):
            changed = self.patterns[index].regex.sub(replacement, text)
            if changed != text:
                for later in self.patterns[index + 1 :]:
                    changed = later.sub(replacement, changed)
                return changed, finder.present(changed)
        return text, present


def guarded(regex: re.Pattern[str]) -> GuardedPattern:
    """``regex`` with the strings any match must contain, when they can be read off it, and the characters it
    matches as written (the pattern is parsed once for both)."""
    parsed = _parse(regex)
    clauses = _needed_clauses_of(parsed)
    needs = _most_telling(list(clauses))
    literals = _literals_of(parsed)
    return GuardedPattern(regex, tuple(sorted(needs)) if needs is not None else None, clauses, literals)


def _parse(regex: re.Pattern[str]) -> Any:
    """The parsed pattern, or None when it ignores case or cannot be parsed here."""
    if _sre_parse is None or regex.flags & re.IGNORECASE:
        return None
    try:
        with warnings.catch_warnings():  # the pattern's own warnings were given when it was compiled
            warnings.simplefilter("ignore")
            return _sre_parse.parse(regex.pattern, regex.flags)
    except (re.error, TypeError, ValueError, AttributeError, RecursionError):
        return None


def needed_strings(regex: re.Pattern[str]) -> tuple[str, ...] | None:
    """Strings one of which every match of ``regex`` contains, each at least :data:`MIN_NEEDED_LENGTH` long;
    None when the pattern ignores case, cannot be parsed here, or names no such strings."""
    return guarded(regex).needs


def needed_clauses(regex: re.Pattern[str]) -> tuple[frozenset[str], ...]:
    """Every set of strings, each at least :data:`MIN_NEEDED_LENGTH` long, of which every match of ``regex``
    contains one; none when the pattern ignores case or cannot be parsed here."""
    return _needed_clauses_of(_parse(regex))


def _needed_clauses_of(parsed: Any) -> tuple[frozenset[str], ...]:
    if parsed is None:
        return ()
    try:
        found = _clauses_in_sequence(list(parsed))
    except (TypeError, ValueError, AttributeError, RecursionError):
        return ()
    return tuple(dict.fromkeys(clause for clause in found if min(len(n) for n in clause) >= MIN_NEEDED_LENGTH))


def literal_characters(source: str) -> frozenset[str]:
    """The characters ``source`` matches as written, outside character classes (``\\u00e9`` and ``\\N{...}``
    included, comments, group names and escapes such as ``\\W`` not); empty when it ignores case or cannot be
    parsed here."""
    try:
        return _literals_of(_parse(re.compile(source)))
    except re.error:
        return frozenset()


def _literals_of(parsed: Any) -> frozenset[str]:
    if parsed is None or parsed.state.flags & re.IGNORECASE:
        return frozenset()
    found: set[str] = set()

    def walk(items: Iterable[tuple[Any, Any]]) -> None:
        for opcode, argument in items:
            if opcode is _sre.LITERAL:
                found.add(chr(argument))
            elif opcode is _sre.SUBPATTERN and not argument[1] & re.IGNORECASE:
                walk(argument[3])
            elif opcode is _sre.ATOMIC_GROUP:
                walk(argument)
            elif opcode is _sre.BRANCH:
                for branch in argument[1]:
                    walk(branch)
            elif opcode in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
                walk(argument[2])
            elif opcode in (_sre.ASSERT, _sre.ASSERT_NOT):
                walk(argument[1])
            elif opcode is _sre.GROUPREF_EXISTS:
                walk(argument[1])
                if argument[2] is not None:
                    walk(argument[2])

    walk(parsed)
    return frozenset(found)


def _clauses_in_sequence(items: list[tuple[Any, Any]]) -> list[frozenset[str]]:
    """Every set of strings a run of pattern items needs one of: every item must match, so each item's sets
    hold for the run (a run of literal characters is a set of one string)."""
    clauses: list[frozenset[str]] = []
    literal: list[str] = []

    def end_literal() -> None:
        if literal:
            clauses.append(frozenset({"".join(literal)}))
            literal.clear()

    for opcode, argument in items:
        if opcode is _sre.LITERAL:
            literal.append(chr(argument))
            continue
        end_literal()
        clauses.extend(_clauses_in_item(opcode, argument))
    end_literal()
    return clauses


def _most_telling(clauses: list[frozenset[str]]) -> Needs:
    """The set whose shortest string is longest (the rarest to find by chance), then the one with fewer
    strings (cheaper to check); None when there is none."""
    if not clauses:
        return None
    return max(clauses, key=lambda needs: (min(len(needed) for needed in needs), -len(needs)))


def _in_sequence(items: list[tuple[Any, Any]]) -> Needs:
    """What a run of pattern items needs: the most telling of its sets."""
    return _most_telling(_clauses_in_sequence(items))


def _clauses_in_item(opcode: Any, argument: Any) -> list[frozenset[str]]:
    """What one non-literal item needs: a group's content, every branch's, a repeat's if it must occur."""
    if opcode is _sre.SUBPATTERN:
        _group, added_flags, _removed_flags, content = argument
        if added_flags & re.IGNORECASE:
            return []
        return _clauses_in_sequence(list(content))
    if opcode is _sre.ATOMIC_GROUP:
        return _clauses_in_sequence(list(argument))
    if opcode is _sre.BRANCH:
        branches = [_in_sequence(list(branch)) for branch in argument[1]]
        if any(branch is None for branch in branches):
            return []
        return [frozenset().union(*(branch for branch in branches if branch is not None))]
    if opcode in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
        least, _most, content = argument
        return _clauses_in_sequence(list(content)) if least >= 1 else []
    # Character classes, any character, anchors, look-arounds, back-references: no string is certain.
    return []
