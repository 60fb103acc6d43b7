"""Patterns that skip the texts they cannot match: a cheap look for the words a match must contain.

The screen runs about 1,650 patterns over every message, and a regular expression that starts with ``\\b(``
is tried at every position of the text: on a long paragraph the patterns alone took 13 ms at p99. Nearly
every pattern names words one of which any match must contain (``\\b(took|swallowed) (all|every) pills``
needs `` pills``; ``\\b(noose|rope)\\b`` needs ``noose`` or ``rope``). Reading those
off the parsed pattern, once, and checking them with ``in`` before searching gives the same answers and
skips most of the work (see bench/RESULTS.md). Where no such words can be read off, the pattern is searched
as before.
"""

from __future__ import annotations

import importlib
import re
import warnings
from dataclasses import dataclass
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

    def search(self, text: str) -> bool:
        """True when the pattern matches somewhere in ``text``; the same answer as ``regex.search``."""
        if self.needs is not None and not any(needed in text for needed in self.needs):
            return False
        return self.regex.search(text) is not None

    def sub(self, replacement: str, text: str) -> str:
        """``text`` with every match replaced; the same answer as ``regex.sub``."""
        if self.needs is not None and not any(needed in text for needed in self.needs):
            return text
        return self.regex.sub(replacement, text)


def guarded(regex: re.Pattern[str]) -> GuardedPattern:
    """``regex`` with the strings any match must contain, when they can be read off it."""
    return GuardedPattern(regex, needed_strings(regex))


def needed_strings(regex: re.Pattern[str]) -> tuple[str, ...] | None:
    """Strings one of which every match of ``regex`` contains, each at least :data:`MIN_NEEDED_LENGTH` long;
    None when the pattern ignores case, cannot be parsed here, or names no such strings."""
    if _sre_parse is None or regex.flags & re.IGNORECASE:
        return None
    try:
        with warnings.catch_warnings():  # the pattern's own warnings were given when it was compiled
            warnings.simplefilter("ignore")
            parsed = _sre_parse.parse(regex.pattern, regex.flags)
        found = _in_sequence(list(parsed))
    except (re.error, TypeError, ValueError, AttributeError, RecursionError):
        return None
    if found is None or min(len(needed) for needed in found) < MIN_NEEDED_LENGTH:
        return None
    return tuple(sorted(found))


def _in_sequence(items: list[tuple[Any, Any]]) -> Needs:
    """What a run of pattern items needs: every item must match, so the most telling item's needs serve."""
    candidates: list[frozenset[str]] = []
    literal: list[str] = []

    def end_literal() -> None:
        if literal:
            candidates.append(frozenset({"".join(literal)}))
            literal.clear()

    for opcode, argument in items:
        if opcode is _sre.LITERAL:
            literal.append(chr(argument))
            continue
        end_literal()
        found = _in_item(opcode, argument)
        if found is not None:
            candidates.append(found)
    end_literal()
    if not candidates:
        return None
    # The longest shortest string is the rarest to find by chance; fewer alternatives are cheaper to check.
    return max(candidates, key=lambda needs: (min(len(needed) for needed in needs), -len(needs)))


def _in_item(opcode: Any, argument: Any) -> Needs:
    """What one non-literal item needs: a group's content, every branch's, a repeat's if it must occur."""
    if opcode is _sre.SUBPATTERN:
        _group, added_flags, _removed_flags, content = argument
        if added_flags & re.IGNORECASE:
            return None
        return _in_sequence(list(content))
    if opcode is _sre.ATOMIC_GROUP:
        return _in_sequence(list(argument))
    if opcode is _sre.BRANCH:
        branches = [_in_sequence(list(branch)) for branch in argument[1]]
        if any(branch is None for branch in branches):
            return None
        return frozenset().union(*(branch for branch in branches if branch is not None))
    if opcode in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
        least, _most, content = argument
        return _in_sequence(list(content)) if least >= 1 else None
    # Character classes, any character, anchors, look-arounds, back-references: no string is certain.
    return None
