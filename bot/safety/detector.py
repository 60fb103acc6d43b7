"""The learned part of the screen: a linear model over character and word n-grams of the normalised text.

Trained offline on the project's labelled corpus (``tools/train_screen.py``: the train and dev splits, its
threshold by cross-validation; never the test split), it notices risk in phrasings no pattern was written
for, and in words the patterns do not know (character n-grams carry "overdos", "unaliv", "starv" across
spellings). The weights ship with the package (``bot/safety/model/``): nothing is downloaded, and scoring
is plain Python (no NumPy), about a millisecond for a typical message. Pure apart from
:func:`load_detector` reading its files.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
import zlib
from array import array
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bot.safety.logistic import logistic

MODEL_DIR = Path(__file__).resolve().parent / "model"
WEIGHTS_FILE = "weights.bin"
INDEX_FILE = "index.bin"
META_FILE = "model.json"
_WORD = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)
# Words whose buckets are kept: the words of a long paste repeat, and so do everyday ones across messages;
# hashing each character n-gram again was most of the detector's time. Both bounds keep the memory small
# whatever is sent (at most 4,096 × 95 buckets, about 16 MB): a longer "word" (a run of letters with no
# space) is hashed every time, as before, since nobody repeats one.
_WORDS_REMEMBERED = 4096
_LONGEST_REMEMBERED = 24


@dataclass(frozen=True)
class FeatureSpec:
    """How text becomes features: hashed character n-grams inside word boundaries, word uni- and bigrams."""

    buckets: int = 1 << 20
    char_min: int = 2
    char_max: int = 5

    def features(self, normal: str) -> dict[int, float]:
        """Bucket → weight for ``normal`` text: sublinear counts, L2-normalised (so length matters little)."""
        words = _WORD.findall(normal)
        counts: Counter[int] = Counter()
        for word in words:
            buckets = _remembered_word_buckets if len(word) <= _LONGEST_REMEMBERED else _word_buckets
            counts.update(buckets(word, self.char_min, self.char_max, self.buckets))
        for first, second in itertools.pairwise(words):
            counts[_bucket("b", f"{first} {second}", self.buckets)] += 1
        scaled = {bucket: 1.0 + math.log(count) for bucket, count in counts.items()}
        norm = math.sqrt(sum(value * value for value in scaled.values())) or 1.0
        return {bucket: value / norm for bucket, value in scaled.items()}


def _word_buckets(word: str, char_min: int, char_max: int, buckets: int) -> tuple[int, ...]:
    """The buckets one ``word`` adds to the counts: its character n-grams inside spaces, shortest first,
    then the word itself (the order matters: it is the order the sum over features runs in)."""
    padded = f" {word} "
    grams = [
        _bucket("c", padded[start : start + size], buckets)
        for size in range(char_min, char_max + 1)
        for start in range(len(padded) - size + 1)
    ]
    grams.append(_bucket("w", word, buckets))
    return tuple(grams)


_remembered_word_buckets = functools.lru_cache(maxsize=_WORDS_REMEMBERED)(_word_buckets)


def _bucket(kind: str, gram: str, buckets: int) -> int:
    return zlib.crc32(f"{kind}:{gram}".encode()) % buckets


@dataclass(frozen=True)
class Detector:
    """A logistic model: ``probability(normal)`` is its estimate that the text carries risk.

    ``possible`` is the threshold above which a message gets the gentle question (chosen by cross-validation
    so that only a small share of benign messages reach it).
    """

    spec: FeatureSpec
    weights: dict[int, float]
    bias: float
    possible: float

    def probability(self, normal: str) -> float:
        """The probability of risk for already-normalised text."""
        score = self.bias + sum(
            self.weights.get(bucket, 0.0) * value for bucket, value in self.spec.features(normal).items()
        )
        return logistic(score)


def save_detector(folder: Path, detector: Detector, about: dict[str, object]) -> None:
    """Write the model as two compact binary arrays and a JSON description (used by the training tool)."""
    folder.mkdir(parents=True, exist_ok=True)
    buckets = sorted(detector.weights)
    with (folder / INDEX_FILE).open("wb") as out:
        array("i", buckets).tofile(out)
    with (folder / WEIGHTS_FILE).open("wb") as out:
        array("f", [detector.weights[bucket] for bucket in buckets]).tofile(out)
    meta = {
        "buckets": detector.spec.buckets,
        "char_min": detector.spec.char_min,
        "char_max": detector.spec.char_max,
        "bias": detector.bias,
        "possible": detector.possible,
        "about": about,
    }
    (folder / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_detector(folder: Path = MODEL_DIR) -> Detector | None:
    """The shipped model, or None when its files are missing (the patterns then screen alone)."""
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        index, weights = array("i"), array("f")
        with (folder / INDEX_FILE).open("rb") as source:
            index.frombytes(source.read())
        with (folder / WEIGHTS_FILE).open("rb") as source:
            weights.frombytes(source.read())
    except (OSError, ValueError):
        return None
    if len(index) != len(weights):
        return None
    spec = FeatureSpec(int(meta["buckets"]), int(meta["char_min"]), int(meta["char_max"]))
    return Detector(
        spec,
        dict(zip(index, weights, strict=True)),
        float(meta["bias"]),
        float(meta["possible"]),
    )
