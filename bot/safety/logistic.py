"""The logistic function and its inverse, as every learned reader of the screen uses them. Pure."""

from __future__ import annotations

import math

_EDGE = 1e-4  # probabilities are kept this far from 0 and 1 before log-odds, so no reading is infinitely sure


def logistic(score: float) -> float:
    """``1 / (1 + e^-score)``, safe for any score (clamped where the answer is 0 or 1 to double precision)."""
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, score))))


def log_odds(probability: float) -> float:
    """``log(p / (1 - p))``, with ``p`` kept away from 0 and 1."""
    p = min(1.0 - _EDGE, max(_EDGE, probability))
    return math.log(p / (1.0 - p))
