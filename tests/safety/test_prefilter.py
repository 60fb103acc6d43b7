"""The patterns' prefilter: the strings it reads off a pattern, and that it never changes an answer."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from bot.safety import load_safety
from bot.safety.assessment import Level
from bot.safety.prefilter import GuardedPattern, NeedFinder, PatternIndex, guarded, needed_clauses, needed_strings
from bot.safety.screen import LATIN_READ_AS, CompiledRules, CrisisScreen, folded

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("pattern", "needs"),
    [
        (r"\bsuicide\b", ("suicide",)),
        (r"\bi (want|wish) to die\b", (" to die",)),  # the longest certain run
        (r"\b(took|swallowed) (all|every)\b", ("swallowed", "took")),
        (r"\bnoose\b|\brope\b", ("noose", "rope")),
        (r"\b(kill|hurt)(ing)? my ?self\b", ("self",)),
        (r"\b(goodbye )+forever", ("goodbye ",)),
        (r"\bwill (be )?gone\b", ("will ",)),  # "be " may be missing
    ],
)
def test_it_reads_off_the_strings_every_match_must_contain(pattern: str, needs: tuple[str, ...]) -> None:
    assert needed_strings(re.compile(pattern)) == needs


@pytest.mark.parametrize(
    "pattern",
    [
        r"\b(i|me)\b",  # too short to spare any work
        r"(?i)\bsuicide\b",  # case ignored: "Suicide" would not contain "suicide"
        r"\b(?i:suicide)\b",
        r"\b(pills?|\w+)\b",  # a branch with a class in it names nothing certain
        r"[a-z]+\d*",
        r"(?=.*die).*",  # look-arounds are not read
        r"(?:\bend it\b)?$",  # optional: matches the empty string
    ],
)
def test_it_names_nothing_when_nothing_is_certain(pattern: str) -> None:
    assert needed_strings(re.compile(pattern)) is None


def test_a_guarded_pattern_answers_as_the_pattern_does() -> None:
    pattern = guarded(re.compile(r"\b(took|swallowed) (all|every) (my )?pills\b"))
    assert pattern.needs == ("pills",)
    assert pattern.search("i took all my pills")
    assert not pattern.search("i took all my vitamins")
    assert pattern.sub("…", "so i took all pills today") == "so i … today"
    assert pattern.sub("…", "nothing here") == "nothing here"
    unguarded = GuardedPattern(re.compile(r"\bpills\b"), None)
    assert unguarded.search("pills")


def test_it_reads_off_every_set_of_strings_a_match_needs_one_of() -> None:
    clauses = needed_clauses(re.compile(r"\b(kill|hurt)(ing)? my ?self\b"))
    assert set(clauses) == {frozenset({"kill", "hurt"}), frozenset({" my"}), frozenset({"self"})}
    assert needed_clauses(re.compile(r"(?i)\bsuicide\b")) == ()
    assert needed_clauses(re.compile(r"\b(i|me) (am )?done\b")) == (frozenset({"done"}),)  # "i", "me", " " too short


def test_the_finder_finds_exactly_the_strings_in_a_text() -> None:
    strings = ["kill", "killing", "ill", "me ", "to die", "die", "a.b", "(x)"]
    finder = NeedFinder(strings)
    rng = random.Random(5)
    alphabet = "kilngmetodiab.(x) "
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert finder.present(text) == {string for string in strings if string in text}, text
    assert NeedFinder([]).present("anything") == frozenset()


def test_the_index_searches_only_patterns_whose_strings_are_there() -> None:
    patterns = tuple(guarded(re.compile(source)) for source in (r"\bpills\b", r"\bwant to die\b", r"^$|nothing"))
    index = PatternIndex(patterns)
    finder = NeedFinder(index.needs())
    text = "i want to sleep, not die"
    assert patterns[2].needs is None  # nothing certain: always searched
    assert index.candidates(finder.present(text)) == [2]  # "want " and " die" are there, "want to die" is not
    assert not index.search(text, finder.present(text))
    text = "took the pills"
    assert index.candidates(finder.present(text)) == [0, 2]
    assert index.search(text, finder.present(text))


def test_a_replacement_can_make_a_later_pattern_match_and_it_still_runs() -> None:
    # The second pattern's string only appears once the first has blanked out "foo".
    patterns = tuple(guarded(re.compile(source)) for source in (r"\bfoo\b", r"x  …  y"))
    index = PatternIndex(patterns)
    finder = NeedFinder(index.needs())
    text = "x foo y"
    expected = text
    for pattern in patterns:
        expected = pattern.sub(" … ", expected)
    replaced, present = index.sub(" … ", text, finder.present(text), finder)
    assert replaced == expected == " … "
    assert present == finder.present(replaced)


def test_rules_give_the_tier_the_patterns_give_one_by_one() -> None:
    rules = CompiledRules(
        benign=(guarded(re.compile(r"\bkilling it\b")),),
        risk=(guarded(re.compile(r"\bkill(ing)? myself\b")),),
        possible=(guarded(re.compile(r"\bcan't go on\b")),),
    )
    screen = CrisisScreen({}, rules)
    assert screen.verdict("thinking about killing myself").level is Level.CLEAR
    assert screen.verdict("i can't go on like this").level is Level.POSSIBLE
    assert screen.verdict("you're killing it at work").level is Level.NONE
    assert screen.verdict("killing it").normal == "killing it"


def _one_by_one(rules: CompiledRules, normal: str) -> Level:
    """The tier as the screen gave it before the index: every pattern searched in turn."""
    for pattern in rules.benign:
        normal = pattern.sub(" … ", normal)
    if any(pattern.search(normal) for pattern in rules.risk):
        return Level.CLEAR
    if any(pattern.search(normal) for pattern in rules.possible):
        return Level.POSSIBLE
    return Level.NONE


def test_the_index_gives_every_corpus_message_the_verdict_of_searching_every_pattern() -> None:
    screen = load_safety(ROOT / "conversations").screen
    for text in _corpus_sample(1500):
        verdict = screen.verdict(text)
        normal = screen.normal(text)
        assert verdict.normal == normal
        levels: dict[str | None, Level] = {None: _one_by_one(screen.english, normal)}
        levels.update({code: _one_by_one(rules, normal) for code, rules in screen.languages.items()})
        cyrillic = screen.latin_read_back(text, normal)
        if cyrillic is not None and screen.latin_russian is not None:
            # A reading back is a guess: the question at most.
            read_back = min(_one_by_one(screen.latin_russian, cyrillic), Level.POSSIBLE)
            levels[LATIN_READ_AS] = max(levels[LATIN_READ_AS], read_back)
        assert verdict.level == max(levels.values()), text
        assert levels[verdict.language] == verdict.level, text
        topics = {name for name, patterns in screen.topics.items() if any(p.search(normal) for p in patterns)}
        if cyrillic is not None:
            topics |= {
                name for name, patterns in screen.topics.items() if any(p.search(cyrillic) for p in folded(patterns))
            }
        assert verdict.topics == topics, text


def _corpus_sample(size: int) -> list[str]:
    corpus = ROOT / "tests" / "safety" / "corpus"
    texts = [
        json.loads(line)["text"]
        for split in ("dev", "blind")
        for line in (corpus / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return random.Random(3).sample(texts, size)


def test_the_screen_gives_every_corpus_message_the_same_verdicts_with_and_without_it() -> None:
    screen = load_safety(ROOT / "conversations").screen
    patterns = [
        pattern
        for rules in (screen.english, *screen.languages.values())
        for pattern in (*rules.benign, *rules.risk, *rules.possible)
    ] + [pattern for topic in screen.topics.values() for pattern in topic]
    guarded_share = sum(pattern.needs is not None for pattern in patterns) / len(patterns)
    assert guarded_share > 0.9, f"only {guarded_share:.0%} of the patterns name strings a match needs"
    # Every pattern over a sample of the corpus: a third of the messages are ones some pattern matches.
    for text in _corpus_sample(800):
        normal = screen.normal(text)
        for pattern in patterns:
            assert pattern.search(normal) is (pattern.regex.search(normal) is not None), (pattern.regex.pattern, text)
