"""The patterns' prefilter: the strings it reads off a pattern, and that it never changes an answer."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from bot.safety import load_safety
from bot.safety.prefilter import GuardedPattern, guarded, needed_strings

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


def test_the_screen_gives_every_corpus_message_the_same_verdicts_with_and_without_it() -> None:
    screen = load_safety(ROOT / "conversations").screen
    patterns = [
        pattern
        for rules in (screen.english, *screen.languages.values())
        for pattern in (*rules.benign, *rules.risk, *rules.possible)
    ] + [pattern for topic in screen.topics.values() for pattern in topic]
    guarded_share = sum(pattern.needs is not None for pattern in patterns) / len(patterns)
    assert guarded_share > 0.9, f"only {guarded_share:.0%} of the patterns name strings a match needs"
    corpus = ROOT / "tests" / "safety" / "corpus"
    texts = [
        json.loads(line)["text"]
        for split in ("dev", "blind")
        for line in (corpus / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    # Every pattern over a sample of the corpus: a third of the messages are ones some pattern matches.
    for text in random.Random(3).sample(texts, 800):
        normal = screen.normal(text)
        for pattern in patterns:
            assert pattern.search(normal) is (pattern.regex.search(normal) is not None), (pattern.regex.pattern, text)
