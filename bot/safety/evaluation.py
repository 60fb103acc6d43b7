"""Measuring the screen on a labelled set: recall per risk category, false alarms on benign messages.

Used by ``springboard screen-eval FILE`` and by the test that holds the screen to its targets on the
held-out test split. A labelled message is ``{text, label, category}`` with ``label`` ``risk`` or ``benign``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.flows.yaml_source import YamlSyntaxError, load_yaml
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
    """Results per category, overall figures for benign messages, and how long each message took."""

    categories: dict[tuple[str, str], CategoryResult]
    """Keyed by category and label: a set may use one category name for risk messages and their look-alikes."""
    seconds: list[float] = field(default_factory=list)
    """The time taken to screen each message, in the order read."""

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

    def milliseconds(self, share: float) -> float:
        """The time per message that ``share`` of the messages (0.5 for the median, 0.99 for p99) took at most."""
        if not self.seconds:
            return 0.0
        ordered = sorted(self.seconds)
        return 1000.0 * ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]

    def report(self) -> str:
        """A table per category, the benign figures, the time per message, then every miss and every full
        reply to a benign message."""
        lines = [f"{'category':<28} {'label':<7} {'n':>5} {'reply':>7} {'question':>9} {'reached':>8}"]
        for (name, label), result in sorted(self.categories.items(), key=lambda item: (item[0][1] != "risk", item[0])):
            lines.append(
                f"{name:<28} {label:<7} {result.total:>5} {result.clear / result.total:>7.1%} "
                f"{result.possible / result.total:>9.1%} {result.reached:>8.1%}"
            )
        lines.append("")
        lines.append(f"risk, all reached:            {self.risk_recall():.1%}")
        lines.append(f"risk, worst category reached: {self.worst_risk_recall():.1%}")
        lines.append(f"benign given the full reply:  {self.benign_share(Level.CLEAR):.1%}")
        lines.append(f"benign given the question:    {self.benign_share(Level.POSSIBLE):.1%}")
        if self.seconds:
            lines.append(
                f"time per message:             p50 {self.milliseconds(0.5):.1f} ms, p99 {self.milliseconds(0.99):.1f}"
                f" ms, max {self.milliseconds(1.0):.1f} ms ({_count(len(self.seconds))}, one at a time)"
            )
        for (name, _), result in sorted(self.categories.items()):
            if result.wrong:
                what = "missed" if result.label == "risk" else "given the full reply"
                lines.append(f"\n{name}: {len(result.wrong)} {what}")
                lines.extend(f"  - {text}" for text in result.wrong)
        return "\n".join(lines)


def _count(messages: int) -> str:
    return f"{messages} message" if messages == 1 else f"{messages} messages"


def evaluate(messages: Iterable[Labelled], assess: Callable[[str], Assessment]) -> Evaluation:
    """Assess every message, one at a time, timing each, and tally the outcome by category and label."""
    evaluation = Evaluation({})
    for message in messages:
        result = evaluation.categories.setdefault((message.category, message.label), CategoryResult(message.label))
        started = time.perf_counter()
        level = assess(message.text).level
        evaluation.seconds.append(time.perf_counter() - started)
        result.total += 1
        result.clear += level is Level.CLEAR
        result.possible += level is Level.POSSIBLE
        wrong = level is Level.NONE if message.label == "risk" else level is Level.CLEAR
        if wrong:
            result.wrong.append(message.text)
    return evaluation


def read_labelled(path: Path) -> list[Labelled]:
    """The labelled messages of ``path``: a YAML list, a JSON array, JSON lines or a CSV file with a header row.

    A YAML or JSON document may also be a mapping that holds the list under one key (``messages: [...]``).
    Labels are read without regard to case or surrounding spaces; a number given as the text ("7", an
    everyday answer) is read as typed. Raises ValueError saying ``file:line: what is wrong`` (the line where
    it is known, the entry's number otherwise).
    """
    raw = path.read_text(encoding="utf-8-sig")  # a byte-order mark, as some editors write, is not text
    if path.suffix.lower() in {".yaml", ".yml"}:
        entries = _yaml_entries(path, raw)
    elif path.suffix.lower() in {".csv", ".tsv"}:
        entries = _csv_entries(raw, "\t" if path.suffix.lower() == ".tsv" else ",")
    else:
        entries = _json_entries(path, raw)
    return [_labelled(path, where, row) for where, row in entries]


_Entry = tuple[str, object]
"""Where an entry is (``line N`` or ``entry N``) and its raw value."""


def _yaml_entries(path: Path, raw: str) -> list[_Entry]:
    try:
        document = load_yaml(raw)
    except YamlSyntaxError as problem:
        raise ValueError(f"{path}:{problem.line}: not YAML: {problem.problem}") from None
    rows, key = _the_list(document.value)
    if rows is None:
        raise ValueError(f"{path}: expected a list of {{text, label, category}}")
    prefix = () if key is None else (key,)
    return [(f"{document.line_of((*prefix, index))}", row) for index, row in enumerate(rows)]


def _json_entries(path: Path, raw: str) -> list[_Entry]:
    if raw.lstrip().startswith("["):  # one JSON document holding the list, whatever the file is called
        try:
            whole = json.loads(raw)
        except json.JSONDecodeError as problem:
            raise ValueError(f"{path}:{problem.lineno}: not JSON: {problem.msg}") from None
        rows, _ = _the_list(whole)
        return [(f"entry {index}", row) for index, row in enumerate(rows or [], start=1)]
    entries: list[_Entry] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if line.strip():
            try:
                entries.append((str(number), json.loads(line)))
            except json.JSONDecodeError as problem:
                try:  # a whole JSON document spread over lines: a mapping that holds the list
                    rows, _ = _the_list(json.loads(raw))
                except json.JSONDecodeError:
                    raise ValueError(f"{path}:{number}: not JSON: {problem.msg}") from None
                if rows is None:
                    raise ValueError(f"{path}: expected a list of {{text, label, category}}") from None
                return [(f"entry {index}", row) for index, row in enumerate(rows, start=1)]
    if len(entries) == 1 and isinstance(entries[0][1], dict) and "text" not in entries[0][1]:
        rows, _ = _the_list(entries[0][1])  # a one-line mapping that holds the list
        return [(f"entry {index}", row) for index, row in enumerate(rows or [], start=1)]
    return entries


def _csv_entries(raw: str, delimiter: str) -> list[_Entry]:
    reader = csv.DictReader(io.StringIO(raw, newline=""), delimiter=delimiter)
    return [
        (str(reader.line_num), {key.strip().casefold(): value for key, value in row.items() if key}) for row in reader
    ]


def _the_list(value: object) -> tuple[list[object] | None, str | None]:
    """``value`` if it is a list, or the one list a mapping holds (with its key); None where there is none."""
    if isinstance(value, list):
        return value, None
    if isinstance(value, dict):
        lists = [(key, inner) for key, inner in value.items() if isinstance(inner, list)]
        if len(lists) == 1:
            return lists[0][1], str(lists[0][0])
    return None, None


def _labelled(path: Path, where: str, row: object) -> Labelled:
    place = f"{path}:{where}" if where[0].isdigit() else f"{path}: {where}"
    if not isinstance(row, dict):
        raise ValueError(f"{place}: expected {{text, label, category}}, found {type(row).__name__}")
    text = row.get("text")
    if isinstance(text, int | float) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{place}: needs a text")
    label = row.get("label")
    label = label.strip().casefold() if isinstance(label, str) else label
    if label not in {"risk", "benign"}:
        raise ValueError(f"{place}: the label is {row.get('label')!r}; it must be risk or benign")
    category = row.get("category")
    return Labelled(text, label, str(category).strip() if category not in (None, "") else label)
