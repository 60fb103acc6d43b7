"""Whether two lessons say the same thing, in other words: a small, transparent similarity, no model.

"Ask for help sooner", "I should have asked for help earlier" and "don't struggle alone so long, get support
early" are one lesson. Each lesson is read into *features*:

1. normalised: lower case, accents and apostrophes dropped (``don't`` → ``dont``), anything else a space;
2. stemmed: a light suffix stripper (``asked``, ``asking`` → ``ask``; ``studies`` → ``study``), the same for
   the lesson and for the word lists, so only consistency matters;
3. phrases from the concept list (``conversations/texts/lesson_words.yaml``) are found, longest first, and
   become their idea: ``#help`` for a main idea, ``~early`` for a detail (when, how much);
4. every other word that is not filler counts as itself.

Two lessons are compared by a weighted Dice overlap, ``2·w(shared) / (w(a) + w(b))``, where a main idea weighs
``CORE_WEIGHT`` and a detail or a plain word weighs 1, with two rules in front of it: lessons whose main ideas
are both named but differ are not the same ("sleep more before exams" / "study more before exams"), nor are
lessons naming opposite details ("talk less" / "talk more"). At ``THRESHOLD`` or above they are the same lesson.

Pure: no I/O; the word lists come in as text (see :func:`vocabulary_of`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from bot.flows.texts import Texts

THRESHOLD = 0.5
"""Lessons at least this similar are one lesson (measured on tests/test_similarity.py's pairs)."""

CORE_WEIGHT = 2.0
"""How much a main idea counts against a detail or a plain word: the idea is what a lesson is about."""

MAX_GROUPED = 2000
"""At most this many lessons are grouped at once (the newest): keeps /lessons fast for long histories."""

_WORD = re.compile(r"[^\W_]+")
_APOSTROPHES = str.maketrans("", "", "'’‘`´")


@dataclass(frozen=True)
class Vocabulary:
    """The word lists a lesson is read with: filler stems, phrases by their first stem, opposite details."""

    filler: frozenset[str]
    phrases: dict[str, tuple[tuple[tuple[str, ...], str], ...]]
    """First stem → (stems of the phrase, its feature), longest phrase first."""
    opposites: frozenset[frozenset[str]]
    read: dict[str, Features] = field(default_factory=dict, compare=False, hash=False)
    """Lessons already read (folded words → features): a person's history is read again on every /lessons."""


@dataclass(frozen=True)
class Features:
    """What a lesson says: its features and their weights, the total weight, and its main ideas (``#name``)."""

    weights: dict[str, float]
    total: float
    core: frozenset[str]


@dataclass(frozen=True)
class LessonGroup:
    """Lessons that say the same thing: the newest wording and how many there are."""

    lesson: str
    times: int


@lru_cache(maxsize=20_000)
def stem(word: str) -> str:
    """A crude, consistent stem of a folded word: common English endings off, a doubled last letter undone."""
    if len(word) > 4 and word.endswith(("ies", "ied")):
        return word[:-3] + "y"
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("eed"):
            base = word[: -len(suffix)]
            if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]  # planning → plann → plan; but calling → call
            return base.rstrip("e") or base
    if len(word) >= 6 and word.endswith("ly"):
        return word[:-2]
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return word.rstrip("e") if len(word) > 3 else word


def words(text: str) -> list[str]:
    """The folded words of ``text``: lower case, without accents or apostrophes."""
    folded = text.casefold().translate(_APOSTROPHES)
    if not folded.isascii():
        folded = "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))
    return _WORD.findall(folded)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@lru_cache(maxsize=8)
def vocabulary(filler: str, concepts: str, opposites: str) -> Vocabulary:
    """The vocabulary the three word lists define (see ``lesson_words.yaml`` for their format).

    Raises ``ValueError`` naming the line when a concept line has no name or no words.
    """
    phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for number, line in enumerate(concepts.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, colon, listed = line.partition(":")
        name = name.strip()
        if not colon or not name.lstrip("~") or not _split(listed):
            raise ValueError(f"line {number} of the lesson concepts needs 'name: word, word, ...'")
        feature = name if name.startswith("~") else "#" + name
        for phrase in _split(listed):
            stems = tuple(stem(word) for word in words(phrase))
            if stems:
                phrases.setdefault(stems[0], []).append((stems, feature))
    ordered = {first: tuple(sorted(found, key=lambda item: -len(item[0]))) for first, found in phrases.items()}
    pairs = frozenset(
        frozenset("~" + name.lstrip("~") for name in pair.split())
        for pair in _split(opposites)
        if len(pair.split()) == 2
    )
    return Vocabulary(frozenset(stem(word) for word in words(filler)), ordered, pairs)


def vocabulary_of(texts: Texts) -> Vocabulary:
    """The vocabulary of the bot's texts (``words_lesson_*``), cached: texts never change while it runs."""
    return vocabulary(texts.words_lesson_filler, texts.words_lesson_concepts, texts.words_lesson_opposites)


READ_KEPT = 10_000
"""How many read lessons a vocabulary remembers (measured: about 8 MB when full); beyond that it starts
afresh. Five people's 2,000 newest lessons fit, so a person turning /lessons pages is read once."""


def features(text: str, vocab: Vocabulary) -> Features:
    """What ``text`` says, as features with weights (empty for a lesson made only of filler, like "idk")."""
    key = " ".join(words(text))
    found = vocab.read.get(key)
    if found is None:
        if len(vocab.read) >= READ_KEPT:
            vocab.read.clear()
        found = vocab.read[key] = _features(key, vocab)
    return found


def _features(text: str, vocab: Vocabulary) -> Features:
    stems = [stem(word) for word in text.split()]
    weights: dict[str, float] = {}
    index = 0
    while index < len(stems):
        for phrase, feature in vocab.phrases.get(stems[index], ()):
            if tuple(stems[index : index + len(phrase)]) == phrase:
                weights[feature] = CORE_WEIGHT if feature.startswith("#") else 1.0
                index += len(phrase)
                break
        else:
            word = stems[index]
            if word not in vocab.filler and len(word) > 1 and not word.isdigit():
                weights.setdefault(word, 1.0)
            index += 1
    return Features(weights, sum(weights.values()), frozenset(name for name in weights if name.startswith("#")))


def similarity(a: Features, b: Features, vocab: Vocabulary) -> float:
    """How much two lessons say the same thing, from 0 to 1 (see the module's docstring for the rules)."""
    if not a.total or not b.total:
        return 0.0
    core_a, core_b = a.core, b.core
    if core_a and core_b and not core_a & core_b:
        return 0.0  # both name what they are about, and it is not the same thing
    for pair in vocab.opposites:
        low, high = sorted(pair)
        # +1: names only the first of the pair, -1: only the second, 0: neither or both.
        side_a = (low in a.weights) - (high in a.weights)
        side_b = (low in b.weights) - (high in b.weights)
        if side_a * side_b < 0:
            return 0.0
    shared = sum(weight for name, weight in a.weights.items() if name in b.weights)
    return 2 * shared / (a.total + b.total)


def same_lesson(first: str, second: str, vocab: Vocabulary) -> bool:
    """True when the two lessons say the same thing (similarity at or above ``THRESHOLD``)."""
    return similarity(features(first, vocab), features(second, vocab), vocab) >= THRESHOLD


def group_lessons(lessons: Sequence[str], vocab: Vocabulary) -> list[LessonGroup]:
    """Lessons grouped by meaning, biggest group first (ties: the group named most recently first).

    ``lessons`` is newest first; each group is named by its newest wording and compared through it, so a
    group never drifts from what it started as (no chains of "a is like b, b is like c"). Only the newest
    ``MAX_GROUPED`` are read. Lessons with nothing to compare (only filler) are left out.
    """
    # Lessons that read the same (the same ideas and words) are compared once: long histories repeat themselves.
    counted: dict[frozenset[str], int] = {}
    newest: dict[frozenset[str], tuple[Features, str]] = {}
    for lesson in lessons[:MAX_GROUPED]:
        read = features(lesson, vocab)
        if not read.total:
            continue
        signature = frozenset(read.weights)
        counted[signature] = counted.get(signature, 0) + 1
        newest.setdefault(signature, (read, lesson))
    leaders: list[tuple[Features, str]] = []
    sizes: list[int] = []
    by_feature: dict[str, list[int]] = {}
    for signature, count in counted.items():
        found, wording = newest[signature]
        # Only groups sharing a feature can reach the threshold: compare with those alone.
        candidates = {group for name in found.weights for group in by_feature.get(name, ())}
        best, best_score = -1, 0.0
        for group in sorted(candidates):  # oldest group first: on a tie, the first group formed wins
            score = similarity(found, leaders[group][0], vocab)
            if score >= THRESHOLD and score > best_score:
                best, best_score = group, score
        if best >= 0:
            sizes[best] += count
            continue
        leaders.append((found, wording))
        sizes.append(count)
        for name in found.weights:
            by_feature.setdefault(name, []).append(len(leaders) - 1)
    order = sorted(range(len(leaders)), key=lambda group: (-sizes[group], group))
    return [LessonGroup(leaders[group][1], sizes[group]) for group in order]
