"""What an answer signals, for flows to respond to: an answer that says "I don't know" rather than
something ("idk", "no idea", "?"), and one that puts what happened on someone else ("he lied", "my boss
threw me under the bus", "not my fault").

Flows ask with the template tests ``answer is stuck`` and ``answer is blaming_others`` (see ``bot.render``);
the engine hands these readers to every template. Pure: the words come from ``conversations/texts/words.yaml``
through ``Cues``, so a deployer can change or translate them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.flows.texts import Texts
from bot.matching import fold, word_list

STUCK_LENGTH = 2
"""An answer of at most this many letters or digits (``k``, ``ok``, ``?``, ``🤷``) says nothing yet."""

BLAME_REACH = 8
"""How many words after someone else ("my boss") what they did ("ruined it") may stand, in one clause."""

SOMEONE = "+"
"""Marks an entry written with a trailing "..." ("because of ..."): someone else must follow it."""

_CLAUSE_BREAK = re.compile(r"[,.;:!?\n()]+|\bbut\b", re.IGNORECASE)


@dataclass(frozen=True)
class Cues:
    """The words answers are read with, each folded (see ``bot.matching.fold``)."""

    stuck: tuple[tuple[str, ...], ...] = ()
    """Phrases that, as a whole reply, say "I don't know", with the ``stuck_around`` words left out."""
    stuck_around: frozenset[str] = frozenset()
    """Small words that may stand around those phrases ("honestly idk", "no idea tbh")."""
    others: tuple[tuple[str, ...], ...] = ()
    """Someone other than the person: "he", "they", "my boss", "the landlord"."""
    blaming: tuple[str, ...] = ()
    """What someone else did wrong, said after them ("ruined it", "lied", "is the problem"); ``*`` ends a stem."""
    not_my_fault: tuple[str, ...] = ()
    """Phrases that put it on someone else by themselves ("not my fault"); one ending in ``SOMEONE`` only when
    someone else follows it ("because of" my landlord)."""
    self_words: frozenset[str] = frozenset()
    """The person themselves as the one acting ("i", "im"): "he said I ruined it" is not blaming him."""
    negations: frozenset[str] = frozenset()
    """Words that deny what follows ("she didn't lie", "it's not his fault")."""


@lru_cache(maxsize=8)
def cues_of(texts: Texts) -> Cues:
    """The reading words ``texts`` define (cached: texts never change while the bot runs)."""
    around = frozenset(word_list(texts.words_stuck_around))
    stuck = {
        kept
        for phrase in word_list(texts.words_stuck)
        if (kept := tuple(word for word in phrase.split() if word not in around))
    }
    return Cues(
        stuck=tuple(sorted(stuck, key=len, reverse=True)),
        stuck_around=around,
        others=tuple(tuple(phrase.split()) for phrase in word_list(texts.words_others)),
        blaming=_entries(texts.words_blaming),
        not_my_fault=_entries(texts.words_not_my_fault),
        self_words=frozenset(word_list(texts.words_self)),
        negations=frozenset(word_list(texts.words_negation)),
    )


def _entries(text: str) -> tuple[str, ...]:
    # Like word_list, but a trailing "*" (a stem) or "..." (someone else follows) survives folding.
    entries: list[str] = []
    for part in (part.strip() for part in text.split(",")):
        mark = "*" if part.endswith("*") else SOMEONE if part.endswith(("...", "…")) else ""
        if folded := fold(part.rstrip("*.…")):
            entries.append(folded + mark)
    return tuple(entries)


def looks_stuck(text: str, cues: Cues) -> bool:
    """True when an answer says "I don't know" rather than something.

    That is: nothing but punctuation or emoji, or at most ``STUCK_LENGTH`` letters ("?", "...", "🤷", "k"),
    or nothing but stuck phrases and the small words around them ("idk", "dunno", "honestly no idea",
    "not sure tbh", "i really don't know"). An answer that says anything more ("idk, maybe ask for help
    sooner") is not stuck.
    """
    folded = fold(text)
    if len(folded.replace(" ", "")) <= STUCK_LENGTH:
        return True
    tokens = [token for token in folded.split() if token not in cues.stuck_around]
    return not tokens or _made_of(tokens, cues.stuck)


def _made_of(tokens: Sequence[str], phrases: Sequence[tuple[str, ...]]) -> bool:
    """True when ``tokens`` are, one after another, nothing but some of ``phrases``."""
    ends = {0}
    for at in range(len(tokens)):
        if at in ends:
            ends |= {at + len(phrase) for phrase in phrases if tuple(tokens[at : at + len(phrase)]) == phrase}
    return len(tokens) in ends


def blames_others(text: str, cues: Cues) -> bool:
    """True when an answer says someone else caused what happened.

    Either a phrase that says so by itself ("it wasn't my fault", "because of her", "all on them"), or, in
    one clause, someone else ("he", "my manager", "the landlord") followed within ``BLAME_REACH`` words by
    what they did wrong ("ruined it", "lied", "threw me under the bus", "is the problem") with no "I" acting
    in between ("he said I ruined it" is not blaming him). A negation just before denies it ("she didn't
    lie", "it's not his fault").
    """
    for clause in _CLAUSE_BREAK.split(text):
        tokens = fold(clause).split()
        if any(says_no or not _denied(tokens, at, cues) for at, says_no in _found(tokens, cues.not_my_fault, cues)):
            return True
        for start in range(len(tokens)):
            size = _other_at(tokens, start, cues)
            if not size:
                continue
            after = start + size
            for at, says_no in _found(tokens, cues.blaming, cues, after, after + BLAME_REACH):
                if any(token in cues.self_words for token in tokens[after:at]):
                    break
                if says_no or not _denied(tokens, at, cues):
                    return True
    return False


def _other_at(tokens: Sequence[str], start: int, cues: Cues) -> int:
    """How many words name someone else at ``start`` (0: none)."""
    for phrase in cues.others:
        if tuple(tokens[start : start + len(phrase)]) == phrase:
            return len(phrase)
    return 0


def _found(
    tokens: Sequence[str], entries: Sequence[str], cues: Cues, low: int = 0, high: int | None = None
) -> list[tuple[int, bool]]:
    """Where ``entries`` start in ``tokens`` (from ``low`` up to ``high``), in order, each with whether the
    entry itself says no ("didn't listen", "not my fault"); ``*`` ends a stem."""
    high = len(tokens) if high is None else min(high, len(tokens))
    found: list[tuple[int, bool]] = []
    for at in range(low, high):
        for entry in entries:
            stem = entry.endswith("*")
            wanted = entry.rstrip("*" + SOMEONE).split()
            window = tokens[at : at + len(wanted)]
            if len(window) != len(wanted) or window[:-1] != wanted[:-1]:
                continue
            if entry.endswith(SOMEONE) and not any(
                _other_at(tokens, later, cues) for later in range(at + len(wanted), at + len(wanted) + 2)
            ):
                continue  # "because of the traffic": nobody else is named
            if window[-1] == wanted[-1] or (stem and window[-1].startswith(wanted[-1])):
                found.append((at, wanted[0] in cues.negations))
    return found


def _denied(tokens: Sequence[str], at: int, cues: Cues) -> bool:
    """True when a negation stands up to two words before ``at`` ("didn't lie", "not his fault"); a phrase
    that itself says no ("didn't listen") is never denied by its own first word, which stands at ``at``."""
    return any(token in cues.negations for token in tokens[max(0, at - 2) : at])


@dataclass(frozen=True)
class Reader:
    """Reads answers with one set of ``Cues``; what templates' ``is stuck`` and ``is blaming_others`` ask."""

    cues: Cues

    def stuck(self, text: str) -> bool:
        """See ``looks_stuck``."""
        return looks_stuck(text, self.cues)

    def blaming_others(self, text: str) -> bool:
        """See ``blames_others``."""
        return blames_others(text, self.cues)


@lru_cache(maxsize=8)
def reader_of(texts: Texts) -> Reader:
    """The answer reader for ``texts``' words (cached: one per set of texts)."""
    return Reader(cues_of(texts))
