"""What both screen-training tools share: reading a split of the corpus and a threshold within a benign budget.

Kept apart from the tools themselves so that neither needs the other's libraries (scikit-learn, PyTorch).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CORPUS = Path("tests/safety/corpus")
EVERYDAY = "flow_answers"  # the category of everyday answers inside a flow, held to the tightest budget
EVERYDAY_BUDGET = 0.01


def read(split: str) -> list[dict[str, Any]]:
    """One split of the corpus."""
    lines = (CORPUS / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def threshold(scores: list[float], budget: float) -> float:
    """The lowest threshold that flags at most ``budget`` of ``scores`` (benign messages)."""
    ordered = sorted(scores, reverse=True)
    allowed = int(budget * len(ordered))
    return ordered[allowed] + 1e-6 if allowed < len(ordered) else 0.5
