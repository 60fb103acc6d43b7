"""Measuring the screen on a labelled set: recall per risk category, false alarms on benign messages.

Used by ``springboard screen-eval FILE`` and by the test that holds the screen to its targets on the
held-out test split. A labelled message is ``{text, label, category}`` with ``label`` ``risk`` or ``benign``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.flows.yaml_source import load_yaml
from bot.safety.assessment import Assessment, Level


@dataclass(frozen=True)
class Labelled:
    """One message of an evaluation set."""

    text: str
    label: str
    category: str


@dataclass
class CategoryResult:
    """How one category fared: counts per tier, and the messages that went wrong."""

    label: str
    total: int = 0
    clear: int = 0
    possible: int = 0
    wrong: list[str] = field(default_factory=list)

    @property
    def reached(self) -> float:
        """Share that got the question or the reply (recall, for risk)."""
        return (self.clear + self.possible) / self.total if self.total else 0.0


@dataclass
class Evaluation:
    """Results per category, and overall figures for benign messages."""

    categories: dict[str, CategoryResult]

    def benign_share(self, level: Level) -> float:
        """Share of all benign messages that got exactly this tier."""
        benign = [result for result in self.categories.values() if result.label == "benign"]
        total = sum(result.total for result in benign)
        count = sum(result.clear if level is Level.CLEAR else result.possible for result in benign)
        return count / total if total else 0.0

    def risk_recall(self) -> float:
        """The share of all risk messages, whatever their category, that got the question or the reply."""
        risk = [result for result in self.categories.values() if result.label == "risk"]
        total = sum(result.total for result in risk)
        return sum(result.clear + result.possible for result in risk) / total if total else 1.0

    def worst_risk_recall(self) -> float:
        """The lowest recall of any risk category."""
        return min((r.reached for r in self.categories.values() if r.label == "risk"), default=1.0)

    def report(self) -> str:
        """A table per category, the benign figures, then every miss and every full reply to a benign message."""
        lines = [f"{'category':<28} {'label':<7} {'n':>5} {'reply':>7} {'question':>9} {'reached':>8}"]
        for name, result in sorted(self.categories.items(), key=lambda item: (item[1].label != "risk", item[0])):
            lines.append(
                f"{name:<28} {result.label:<7} {result.total:>5} {result.clear / result.total:>7.1%} "
                f"{result.possible / result.total:>9.1%} {result.reached:>8.1%}"
            )
        lines.append("")
        lines.append(f"risk, all reached:            {self.risk_recall():.1%}")
        lines.append(f"risk, worst category reached: {self.worst_risk_recall():.1%}")
        lines.append(f"benign given the full reply:  {self.benign_share(Level.CLEAR):.1%}")
        lines.append(f"benign given the question:    {self.benign_share(Level.POSSIBLE):.1%}")
        for name, result in sorted(self.categories.items()):
            if result.wrong:
                what = "missed" if result.label == "risk" else "given the full reply"
                lines.append(f"\n{name}: {len(result.wrong)} {what}")
                lines.extend(f"  - {text}" for text in result.wrong)
        return "\n".join(lines)


def evaluate(messages: Iterable[Labelled], assess: Callable[[str], Assessment]) -> Evaluation:
    """Assess every message and tally the outcome by category."""
    categories: dict[str, CategoryResult] = {}
    for message in messages:
        result = categories.setdefault(message.category, CategoryResult(message.label))
        level = assess(message.text).level
        result.total += 1
        result.clear += level is Level.CLEAR
        result.possible += level is Level.POSSIBLE
        wrong = level is Level.NONE if message.label == "risk" else level is Level.CLEAR
        if wrong:
            result.wrong.append(message.text)
    return Evaluation(categories)


def read_labelled(path: Path) -> list[Labelled]:
    """A YAML list or a JSONL file of ``{text, label, category}``; raises ValueError naming the bad entry."""
    raw = path.read_text(encoding="utf-8")
    if path.suffix in {".yaml", ".yml"}:
        value = load_yaml(raw).value
        rows = value if isinstance(value, list) else []
        if not isinstance(value, list):
            raise ValueError(f"{path}: expected a list of {{text, label, category}}")
    else:
        rows = []
        for number, line in enumerate(raw.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as problem:
                    raise ValueError(f"{path}:{number}: not JSON: {problem.msg}") from None
    found = []
    for number, row in enumerate(rows, start=1):
        if (
            not isinstance(row, dict)
            or not isinstance(row.get("text"), str)
            or row.get("label") not in {"risk", "benign"}
        ):
            raise ValueError(f"{path}: entry {number} needs a text and a label of risk or benign")
        found.append(Labelled(row["text"], row["label"], str(row.get("category") or row["label"])))
    return found
