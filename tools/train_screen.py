"""Train the crisis screen's n-gram detector on the train split and the other languages' probes; choose C
and its threshold on the dev split.

    python -m tools.train_screen            # writes bot/safety/model/, prints dev figures

Run it before ``tools.tune_screen``, which blends this detector's score with the encoder's on dev (so both
must have been trained without dev). The test split and the blind set are never read here:
``springboard screen-eval tests/safety/corpus/test.jsonl`` (and ``make test``) measure the shipped screen on
it afterwards. Needs the ``train`` extras (scikit-learn, SciPy).

The threshold, on dev scores of benign messages the patterns do not already flag: the lowest
probability at which at most ``QUESTION_BENIGN_BUDGET`` of them would get the gentle question (below the
10 % target, to leave room for the patterns' own). The detector never sends the full reply on its own.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression

from bot.safety import Level, load_safety
from bot.safety.detector import MODEL_DIR, Detector, FeatureSpec, save_detector
from bot.safety.loading import NGRAM_MIN_WORDS, word_count
from tools.screen_corpus import EVERYDAY, EVERYDAY_BUDGET, read, threshold, training_rows

QUESTION_BENIGN_BUDGET = 0.06
C_VALUES = (2.0, 8.0, 16.0, 32.0)


def matrix(spec: FeatureSpec, normals: list[str]) -> csr_matrix:
    """The hashed features of many texts as one sparse matrix."""
    rows, cols, values = [], [], []
    for row, normal in enumerate(normals):
        for bucket, value in spec.features(normal).items():
            rows.append(row)
            cols.append(bucket)
            values.append(value)
    return csr_matrix((values, (rows, cols)), shape=(len(normals), spec.buckets), dtype=np.float64)


def choose(rows: list[dict[str, str]], scores: np.ndarray, patterns: list[Level]) -> tuple[float, float, float]:
    """Thresholds within the benign budgets, and the worst-category and overall recall they give."""
    # Two budgets: look-alikes ("this deadline is killing me") may get the question now and then; the everyday
    # answers people give inside a flow ("you always mess up", "idk") almost never.
    looks = [
        s
        for s, r, p in zip(scores, rows, patterns, strict=True)
        if r["label"] == "benign" and not p and r["category"] != EVERYDAY
    ]
    everyday = [s for s, r in zip(scores, rows, strict=True) if r["category"] == EVERYDAY]
    possible = threshold(looks, QUESTION_BENIGN_BUDGET)
    if everyday:
        possible = max(possible, threshold(everyday, EVERYDAY_BUDGET))
    per_category: dict[str, list[bool]] = {}
    for score, row, level in zip(scores, rows, patterns, strict=True):
        if row["label"] == "risk":
            per_category.setdefault(row["category"], []).append(level is not Level.NONE or score >= possible)
    worst = min(sum(hits) / len(hits) for hits in per_category.values())
    overall = sum(sum(hits) for hits in per_category.values()) / sum(len(h) for h in per_category.values())
    return possible, worst, overall


def detector_recall(rows: list[dict[str, str]], scores: np.ndarray) -> float:
    """Share of risk messages the detector alone flags at the threshold that flags the budget of look-alikes."""
    benign = [s for s, r in zip(scores, rows, strict=True) if r["label"] == "benign" and r["category"] != EVERYDAY]
    limit = threshold(benign, QUESTION_BENIGN_BUDGET)
    risk = [s for s, r in zip(scores, rows, strict=True) if r["label"] == "risk"]
    return sum(score >= limit for score in risk) / len(risk)


def main() -> None:
    """Fit on train for each C, choose C and the threshold on dev, keep the best."""
    screen = load_safety(Path("conversations")).screen
    spec = FeatureSpec()
    rows, trained_on = training_rows()
    # Thresholds on what the detector will judge: messages of NGRAM_MIN_WORDS words or more.
    dev = [row for row in read("dev") if word_count(screen.normal(row["text"])) >= NGRAM_MIN_WORDS]
    x = matrix(spec, [screen.normal(row["text"]) for row in rows])
    y = np.array([row["label"] == "risk" for row in rows])
    x_dev = matrix(spec, [screen.normal(row["text"]) for row in dev])
    patterns = [screen.verdict(row["text"]).level for row in dev]
    best: tuple[float, float, float, float, LogisticRegression] | None = None
    for c in C_VALUES:
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(x, y)
        scores = model.predict_proba(x_dev)[:, 1]
        possible, _worst, overall = choose(dev, scores, patterns)
        # The patterns were written from these same messages, so recall with them says little about new
        # phrasings: C is chosen by what the detector catches alone at the benign budget.
        alone = detector_recall(dev, scores)
        print(f"C={c}: on dev the detector alone catches {alone:.3f} of risk at {QUESTION_BENIGN_BUDGET:.0%} of benign")
        if best is None or alone > best[1]:
            best = (possible, alone, overall, c, model)
    assert best is not None
    possible, alone, overall, c, model = best
    coefficients = model.coef_[0]
    weights = {int(bucket): float(coefficients[bucket]) for bucket in np.flatnonzero(np.abs(coefficients) > 1e-4)}
    detector = Detector(spec, weights, float(model.intercept_[0]), possible)
    about = {
        "trained_on": f"{trained_on}; C and the threshold chosen on dev.jsonl ({len(dev)} messages)",
        "labels": dict(Counter(row["label"] for row in rows)),
        "method": "logistic regression on hashed character 2-5-grams and word 1-2-grams; the test split is never read",
        "C": c,
        "dev_recall_with_patterns": round(overall, 4),
        "dev_recall_detector_alone": round(alone, 4),
    }
    save_detector(MODEL_DIR, detector, about)
    print(f"saved {len(weights)} weights to {MODEL_DIR} (C={c}, question when ≥ {possible:.3f})")


if __name__ == "__main__":
    sys.exit(main())
