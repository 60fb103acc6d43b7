"""Train the crisis screen's learned detector on the train and dev splits (thresholds by cross-validation).

    python -m tools.train_screen            # writes bot/safety/model/, prints dev figures

The test split is never read here: ``springboard screen-eval tests/safety/corpus/test.jsonl`` (and
``make test``) measure the shipped model on it afterwards. Needs the dev extras (scikit-learn, SciPy).

Thresholds, on out-of-fold scores of messages the patterns alone do not already flag at that tier:
- ``clear``: the lowest probability at which at most ``CLEAR_BENIGN_BUDGET`` of benign messages would get
  the full crisis reply;
- ``possible``: the lowest at which at most ``QUESTION_BENIGN_BUDGET`` of benign messages would get the
  gentle question. Both budgets sit below the targets (3 % and 10 %) to leave room for what dev misses.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression

from bot.safety import Level, load_safety
from bot.safety.detector import MODEL_DIR, Detector, FeatureSpec, save_detector

CORPUS = Path("tests/safety/corpus")
CLEAR_BENIGN_BUDGET = 0.012
QUESTION_BENIGN_BUDGET = 0.06
C_VALUES = (0.5, 1.0, 2.0, 4.0, 8.0)


def read(split: str) -> list[dict[str, str]]:
    """One split of the corpus."""
    lines = (CORPUS / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def matrix(spec: FeatureSpec, normals: list[str]) -> csr_matrix:
    """The hashed features of many texts as one sparse matrix."""
    rows, cols, values = [], [], []
    for row, normal in enumerate(normals):
        for bucket, value in spec.features(normal).items():
            rows.append(row)
            cols.append(bucket)
            values.append(value)
    return csr_matrix((values, (rows, cols)), shape=(len(normals), spec.buckets), dtype=np.float64)


def threshold(scores: list[float], budget: float) -> float:
    """The lowest threshold that flags at most ``budget`` of ``scores`` (benign messages)."""
    ordered = sorted(scores, reverse=True)
    allowed = int(budget * len(ordered))
    return ordered[allowed] + 1e-6 if allowed < len(ordered) else 0.5


def cross_scores(x: csr_matrix, y: np.ndarray, c: float, folds: int = 5) -> np.ndarray:
    """Out-of-fold probabilities: each message scored by a model that never saw it."""
    scores = np.zeros(len(y))
    order = np.arange(len(y))
    for fold in range(folds):
        held = order % folds == fold
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
        model.fit(x[~held], y[~held])
        scores[held] = model.predict_proba(x[held])[:, 1]
    return scores


def choose(rows: list[dict[str, str]], scores: np.ndarray, patterns: list[Level]) -> tuple[float, float, float, float]:
    """Thresholds within the benign budgets, and the worst-category and overall recall they give."""
    benign_unflagged = [s for s, r, p in zip(scores, rows, patterns, strict=True) if r["label"] == "benign" and not p]
    benign_not_clear = [
        s for s, r, p in zip(scores, rows, patterns, strict=True) if r["label"] == "benign" and p is not Level.CLEAR
    ]
    possible = threshold(benign_unflagged, QUESTION_BENIGN_BUDGET)
    clear = max(threshold(benign_not_clear, CLEAR_BENIGN_BUDGET), possible)
    per_category: dict[str, list[bool]] = {}
    for score, row, level in zip(scores, rows, patterns, strict=True):
        if row["label"] == "risk":
            per_category.setdefault(row["category"], []).append(level is not Level.NONE or score >= possible)
    worst = min(sum(hits) / len(hits) for hits in per_category.values())
    overall = sum(sum(hits) for hits in per_category.values()) / sum(len(h) for h in per_category.values())
    return possible, clear, worst, overall


def main() -> None:
    """Pick C and thresholds by 5-fold cross-validation on train + dev, then fit on all of it."""
    screen = load_safety(Path("conversations")).screen
    spec = FeatureSpec()
    rows = read("train") + read("dev")
    x = matrix(spec, [screen.normal(row["text"]) for row in rows])
    y = np.array([row["label"] == "risk" for row in rows])
    patterns = [screen.verdict(row["text"]).level for row in rows]
    best: tuple[float, float, float, float, float] | None = None
    for c in C_VALUES:
        possible, clear, worst, overall = choose(rows, cross_scores(x, y, c), patterns)
        print(
            f"C={c}: cross-validated recall worst category {worst:.3f}, overall {overall:.3f} "
            f"(possible ≥ {possible:.3f}, clear ≥ {clear:.3f})"
        )
        if best is None or (worst, overall) > (best[2], best[3]):
            best = (possible, clear, worst, overall, c)
    assert best is not None
    possible, clear, worst, overall, c = best
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(x, y)
    coefficients = model.coef_[0]
    weights = {int(bucket): float(coefficients[bucket]) for bucket in np.flatnonzero(np.abs(coefficients) > 1e-4)}
    detector = Detector(spec, weights, float(model.intercept_[0]), clear, possible)
    about = {
        "trained_on": f"{CORPUS}/train.jsonl + dev.jsonl ({len(rows)} messages)",
        "labels": dict(Counter(row["label"] for row in rows)),
        "method": "logistic regression on hashed character 2-5-grams and word 1-2-grams; C and thresholds by "
        "5-fold cross-validation; the test split is never read",
        "C": c,
        "cv_recall_worst_category": round(worst, 4),
        "cv_recall_overall": round(overall, 4),
    }
    save_detector(MODEL_DIR, detector, about)
    print(f"saved {len(weights)} weights to {MODEL_DIR} (C={c}, possible ≥ {possible:.3f}, clear ≥ {clear:.3f})")


if __name__ == "__main__":
    sys.exit(main())
