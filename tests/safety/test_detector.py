"""The n-gram detector's features: the buckets remembered per word give exactly what hashing every n-gram gave."""

from __future__ import annotations

import itertools
import json
import math
import random
import zlib
from collections import Counter
from pathlib import Path

import pytest

from bot.safety import detector, load_safety
from bot.safety.detector import FeatureSpec

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "safety" / "corpus" / "dev.jsonl"


def hashed_afresh(spec: FeatureSpec, normal: str) -> dict[int, float]:
    """The features as the detector computed them before it remembered words: every n-gram hashed again."""

    def bucket(kind: str, gram: str) -> int:
        return zlib.crc32(f"{kind}:{gram}".encode()) % spec.buckets

    words = detector._WORD.findall(normal)
    counts: Counter[int] = Counter()
    for word in words:
        padded = f" {word} "
        for size in range(spec.char_min, spec.char_max + 1):
            for start in range(len(padded) - size + 1):
                counts[bucket("c", padded[start : start + size])] += 1
        counts[bucket("w", word)] += 1
    for first, second in itertools.pairwise(words):
        counts[bucket("b", f"{first} {second}")] += 1
    scaled = {key: 1.0 + math.log(count) for key, count in counts.items()}
    norm = math.sqrt(sum(value * value for value in scaled.values())) or 1.0
    return {key: value / norm for key, value in scaled.items()}


def corpus_texts() -> list[str]:
    rows = [json.loads(line)["text"] for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    shuffler = random.Random(3)
    pastes = [" ".join(shuffler.sample(rows, 30)) for _ in range(20)]  # long, with words repeated across them
    screen = load_safety(ROOT / "conversations").screen  # the text the detector reads is the screen's normal form
    return [screen.normal(text) for text in rows[:800] + pastes]


def test_remembered_words_give_the_same_features_in_the_same_order() -> None:
    # The order matters as much as the values: the detector's score is a sum over them, in this order.
    spec = FeatureSpec()
    detector._remembered_word_buckets.cache_clear()
    for text in corpus_texts() * 2:  # the second time round most words are remembered
        assert list(spec.features(text).items()) == list(hashed_afresh(spec, text).items())


@pytest.mark.parametrize(
    "other",
    [FeatureSpec(buckets=1 << 10), FeatureSpec(char_min=3), FeatureSpec(char_max=3)],
    ids=["buckets", "char_min", "char_max"],
)
def test_another_spec_is_not_served_what_was_remembered_for_the_first(other: FeatureSpec) -> None:
    # Each spec differs from the shipped one in one setting only, so a cache that forgot any one of them fails.
    detector._remembered_word_buckets.cache_clear()
    shipped, text = FeatureSpec(), "i cant do this anymore"
    assert shipped.features(text) == hashed_afresh(shipped, text)
    assert other.features(text) == hashed_afresh(other, text)
    assert other.features(text) != shipped.features(text)


def test_the_words_remembered_are_bounded() -> None:
    detector._remembered_word_buckets.cache_clear()
    spec = FeatureSpec()
    spec.features(" ".join(f"word{index}x" for index in range(3 * detector._WORDS_REMEMBERED)))
    assert detector._remembered_word_buckets.cache_info().currsize <= detector._WORDS_REMEMBERED


def test_a_long_run_of_letters_is_hashed_not_remembered() -> None:
    # A message of one endless "word" would otherwise keep thousands of buckets per entry.
    detector._remembered_word_buckets.cache_clear()
    spec = FeatureSpec()
    text = "a" * 4000 + " " + "b" * (detector._LONGEST_REMEMBERED + 1) + " short"
    assert list(spec.features(text).items()) == list(hashed_afresh(spec, text).items())
    assert detector._remembered_word_buckets.cache_info().currsize == 1  # "short" only
