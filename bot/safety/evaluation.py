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
    name: str = ""
    """The category as first spelt in the set (names that differ only in case or spaces are one category)."""
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
    """Keyed by category (case folded) and label: a set may use one category name for risk messages and their
    look-alikes."""
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
        width = max([28, *(len(result.name) + 1 for result in self.categories.values())])
        lines = [f"{'category':<{width}} {'label':<7} {'n':>5} {'reply':>7} {'question':>9} {'reached':>8}"]
        for (_, label), result in sorted(self.categories.items(), key=lambda item: (item[0][1] != "risk", item[0])):
            lines.append(
                f"{result.name:<{width}} {label:<7} {result.total:>5} {result.clear / result.total:>7.1%} "
                f"{result.possible / result.total:>9.1%} {result.reached:>8.1%}"
            )
        has = {result.label for result in self.categories.values()}
        risk, benign = "risk" in has, "benign" in has
        lines.append("")
        lines.append(f"risk, all reached:            {_share(self.risk_recall(), risk, 'risk')}")
        lines.append(f"risk, worst category reached: {_share(self.worst_risk_recall(), risk, 'risk')}")
        lines.append(f"benign given the full reply:  {_share(self.benign_share(Level.CLEAR), benign, 'benign')}")
        lines.append(f"benign given the question:    {_share(self.benign_share(Level.POSSIBLE), benign, 'benign')}")
        if self.seconds:
            lines.append(
                f"time per message:             p50 {self.milliseconds(0.5):.1f} ms, p99 {self.milliseconds(0.99):.1f}"
                f" ms, max {self.milliseconds(1.0):.1f} ms ({_count(len(self.seconds))}, one at a time)"
            )
        for _, result in sorted(self.categories.items()):
            if result.wrong:
                what = "missed" if result.label == "risk" else "given the full reply"
                lines.append(f"\n{result.name}: {len(result.wrong)} {what}")
                # A text of several lines stays under its dash.
                lines.extend("  - " + "\n    ".join(text.splitlines() or [""]) for text in result.wrong)
        return "\n".join(lines)


def _share(value: float, present: bool, label: str) -> str:
    return f"{value:.1%}" if present else f"n/a (no {label} messages)"


def _count(messages: int) -> str:
    return f"{messages} message" if messages == 1 else f"{messages} messages"


def evaluate(messages: Iterable[Labelled], assess: Callable[[str], Assessment]) -> Evaluation:
    """Assess every message, one at a time, timing each, and tally the outcome by category and label."""
    evaluation = Evaluation({})
    for message in messages:
        key = (" ".join(message.category.split()).casefold(), message.label)
        result = evaluation.categories.setdefault(key, CategoryResult(message.label, message.category))
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
    """The labelled messages of ``path``: JSON lines, a JSON array, a YAML list, or CSV / TSV with a header row.

    A JSON or YAML document may also be a mapping that holds the list under one key (``messages: [...]``).
    Field names and labels are read without regard to case or surrounding spaces; a number given as the text
    ("7", an everyday answer) is read as text. Raises ValueError naming every bad entry (up to
    :data:`PROBLEMS_SHOWN`) as ``file:line: what is wrong`` (the entry's number where its line is unknown),
    and when the file holds no message at all.
    """
    raw = _text_of(path)
    suffix = path.suffix.lower()
    if suffix in {".csv", ".tsv"}:
        entries = _csv_entries(raw, "\t" if suffix == ".tsv" else ",")
    elif suffix in {".yaml", ".yml"} or (suffix not in {".json", ".jsonl", ".ndjson"} and not _looks_like_json(raw)):
        entries = _yaml_entries(path, raw)
    else:
        entries = _json_entries(path, raw)
    found: list[Labelled] = []
    problems: list[str] = []
    for where, row in entries:
        try:
            found.append(_labelled(path, where, row))
        except ValueError as problem:
            problems.append(str(problem))
    if problems:
        more = len(problems) - PROBLEMS_SHOWN
        raise ValueError("\n".join(problems[:PROBLEMS_SHOWN] + ([f"... and {more} more"] if more > 0 else [])))
    if not found:
        raise ValueError(f"{path}: no messages in it; {_EXPECTED}")
    return found


_EXPECTED = "expected a list of {text, label, category}"
PROBLEMS_SHOWN = 10
"""How many bad entries one reading names before it stops listing them."""

_Entry = tuple[str, object]
"""Where an entry is (a line number, or ``entry N``) and its raw value."""


def _text_of(path: Path) -> str:
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte-order mark, as some editors save
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")  # a UTF-8 byte-order mark is not text either
    except UnicodeDecodeError as problem:
        line = data[: problem.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: not UTF-8 text; save the file as UTF-8 and try again") from None


def _looks_like_json(raw: str) -> bool:
    return raw.lstrip()[:1] in {"[", "{"}


def _yaml_entries(path: Path, raw: str) -> list[_Entry]:
    try:
        document = load_yaml(raw)
    except YamlSyntaxError as problem:
        raise ValueError(f"{path}:{problem.line}: not YAML: {problem.problem}") from None
    if document.value is None:
        return []
    rows, key = _the_list(document.value)
    if rows is None:
        raise ValueError(f"{path}: {_EXPECTED}")
    if isinstance(document.value, dict) and key is None:  # one list per label: their lines are not kept
        return _numbered(rows)
    prefix = () if key is None else (key,)
    return [(f"{document.line_of((*prefix, index))}", row) for index, row in enumerate(rows)]


def _json_entries(path: Path, raw: str) -> list[_Entry]:
    if raw.lstrip().startswith("["):  # one JSON document holding the list, whatever the file is called
        return _one_json_document(path, raw)
    entries: list[_Entry] = []
    # Only a newline ends a line of JSON: U+2028 or a stray \x85 inside a text is part of the text.
    for number, line in enumerate(raw.split("\n"), start=1):
        if line.strip():
            try:  # a comma left at the end of a line, as when lines are cut from an array, is forgiven
                entries.append((str(number), json.loads(line.rstrip().removesuffix(","))))
            except json.JSONDecodeError as problem:
                try:  # not JSON lines: maybe one document spread over lines
                    return _one_json_document(path, raw)
                except ValueError:
                    raise ValueError(f"{path}:{number}: not JSON: {problem.msg}") from None
    if len(entries) == 1:
        rows, _ = _the_list(entries[0][1])  # a one-line mapping that holds the list
        if rows is not None:
            return _numbered(rows)
    return entries


def _one_json_document(path: Path, raw: str) -> list[_Entry]:
    try:
        whole = json.loads(raw)
    except json.JSONDecodeError as problem:
        raise ValueError(f"{path}:{problem.lineno}: not JSON: {problem.msg}") from None
    rows, _ = _the_list(whole)
    if rows is None:
        return [("entry 1", whole)]  # one message on its own, or a mapping without a list: said below
    return _numbered(rows)


def _numbered(rows: list[object]) -> list[_Entry]:
    """Entries whose lines are not known, named by their place in the list."""
    return [(f"entry {index}", row) for index, row in enumerate(rows, start=1)]


def _csv_entries(raw: str, delimiter: str) -> list[_Entry]:
    header = raw.split("\n", 1)[0]
    if delimiter == "," and header.count(";") > header.count(","):  # spreadsheets in many locales write ;
        delimiter = ";"
    reader = csv.DictReader(io.StringIO(raw, newline=""), delimiter=delimiter)
    entries: list[_Entry] = []
    for row in reader:
        cells = {key: value for key, value in row.items() if key}
        if any(isinstance(value, str) and value.strip() for value in cells.values()):  # a spreadsheet's ,,, rows
            entries.append((str(reader.line_num), cells))
    return entries


def _the_list(value: object) -> tuple[list[object] | None, str | None]:
    """``value`` if it is a list, or the list of entries a mapping holds (with its key, or None when the
    mapping holds one list per label, ``risk: [...]`` and ``benign: [...]``); None where there is none."""
    if isinstance(value, list):
        return value, None
    if not isinstance(value, dict) or "text" in _fields(value):
        return None, None
    if value and set(_fields(value)) <= {"risk", "benign"} and all(isinstance(v, list) for v in value.values()):
        return [_with_label(entry, str(label)) for label, inner in value.items() for entry in inner], None
    lists = [(key, inner) for key, inner in value.items() if isinstance(inner, list)]
    if len(lists) > 1:  # beside other lists (the labels it uses, say), the one whose items are entries
        lists = [(key, inner) for key, inner in lists if inner and all(isinstance(item, dict) for item in inner)]
    if len(lists) == 1:
        return lists[0][1], str(lists[0][0])
    return None, None


def _with_label(entry: object, label: str) -> object:
    if isinstance(entry, dict) and "label" not in _fields(entry):
        return {**entry, "label": label}
    return entry


def _fields(row: dict[object, object]) -> dict[str, object]:
    return {str(key).strip().casefold(): value for key, value in row.items()}


def _labelled(path: Path, where: str, row: object) -> Labelled:
    place = f"{path}:{where}" if where[0].isdigit() else f"{path}: {where}"
    if not isinstance(row, dict):
        raise ValueError(f"{place}: expected {{text, label, category}}, found {type(row).__name__}")
    fields = _fields(row)
    text = fields.get("text")
    if isinstance(text, int | float) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str) or not text.strip():
        found = "" if text is None else f" (found {text!r})"
        raise ValueError(f"{place}: needs a text{found}")
    label = fields.get("label")
    folded = label.strip().casefold() if isinstance(label, str) else label
    if folded not in {"risk", "benign"}:
        raise ValueError(f"{place}: the label is {label!r}; it must be risk or benign")
    category = fields.get("category")
    named = str(category).strip() if category is not None else ""
    return Labelled(text, str(folded), named or str(folded))
