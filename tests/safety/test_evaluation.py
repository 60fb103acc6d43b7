"""Reading a labelled set in the forms people hand one over, and tallying a screen's answers on it.

The screen here is a stand-in that answers by a word in the text, so every figure can be worked out by hand;
the shipped screen's figures are held in tests/safety/test_screen_eval.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.safety.assessment import Assessment, Level
from bot.safety.evaluation import Labelled, evaluate, read_labelled

ROWS = [
    {"text": "I want to die REPLY", "label": "risk", "category": "goodbye"},
    {"text": "thanks for everything QUESTION", "label": "risk", "category": "goodbye"},
    {"text": "signing off for good", "label": "risk", "category": "goodbye"},
    {"text": "moving out, thanks for everything QUESTION", "label": "benign", "category": "goodbye"},
    {"text": "new job, saying bye to the team", "label": "benign", "category": "goodbye"},
    {"text": "this deadline is killing me REPLY", "label": "benign", "category": "hyperbole"},
]
EXPECTED = [Labelled(row["text"], row["label"], row["category"]) for row in ROWS]


def by_word(text: str) -> Assessment:
    """REPLY in the text gets the full reply, QUESTION the question, anything else nothing."""
    return Assessment(Level.CLEAR if "REPLY" in text else Level.POSSIBLE if "QUESTION" in text else Level.NONE)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("set.jsonl", "".join(json.dumps(row) + "\n" for row in ROWS)),
        ("set.jsonl", "\n" + "\n\n".join(json.dumps(row) for row in ROWS) + "\n\n"),
        ("set.json", json.dumps(ROWS, indent=2)),
        ("set.json", json.dumps({"messages": ROWS}, indent=2)),
        ("set.json", json.dumps({"name": "mine", "messages": ROWS})),
        ("set.txt", json.dumps(ROWS)),
        ("set.yaml", "".join(f"- {json.dumps(row)}\n" for row in ROWS)),
        ("set.yml", "messages:\n" + "".join(f"  - {json.dumps(row)}\n" for row in ROWS)),
        ("set.csv", "text,label,category\n" + "".join(f'"{r["text"]}",{r["label"]},{r["category"]}\n' for r in ROWS)),
        ("set.tsv", "Text\tLabel\tCategory\n" + "".join(f"{r['text']}\t{r['label']}\t{r['category']}\n" for r in ROWS)),
        (
            "set.csv",
            "text;label;category\n" + "".join(f"{r['text']};{r['label']};{r['category']}\n" for r in ROWS) + ";;\n",
        ),
        ("set.jsonl", "".join(json.dumps(row) + ",\r\n" for row in ROWS)),
        ("set.txt", "".join(f"- {json.dumps(row)}\n" for row in ROWS)),
        ("set", json.dumps({"labels": ["risk", "benign"], "messages": ROWS})),
        (
            "set.yaml",
            "".join(
                f"{label}:\n"
                + "".join(f"  - {json.dumps({k: v for k, v in r.items() if k != 'label'})}\n" for r in rows)
                for label, rows in [("risk", ROWS[:3]), ("benign", ROWS[3:])]
            ),
        ),
    ],
)
def test_every_form_of_the_set_reads_the_same(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert read_labelled(path) == EXPECTED


def test_a_byte_order_mark_and_labels_in_capitals_are_read(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    lines = [json.dumps({**row, "label": f" {row['label'].upper()} "}) for row in ROWS]
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode("utf-8"))
    assert read_labelled(path) == EXPECTED


def test_field_names_in_capitals_a_utf16_file_and_line_separators_inside_a_text_are_read(tmp_path: Path) -> None:
    path = tmp_path / "set.csv"
    path.write_text("Text,LABEL,Category\nbye\u2028forever,risk,goodbye\n", encoding="utf-16")
    assert read_labelled(path) == [Labelled("bye\u2028forever", "risk", "goodbye")]
    path = tmp_path / "set.jsonl"
    rows = [{"Text": "bye\u2028for\x85ever", "Label": "risk"}, {"TEXT": "ok", "label": "benign"}]
    path.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows), encoding="utf-8")
    assert read_labelled(path) == [Labelled("bye\u2028for\x85ever", "risk", "risk"), Labelled("ok", "benign", "benign")]


def test_a_number_typed_as_the_text_is_read_as_typed_and_a_missing_category_is_the_label(tmp_path: Path) -> None:
    path = tmp_path / "set.yaml"
    path.write_text("- {text: 7, label: benign}\n- {text: 'idk', label: benign, category: ''}\n", encoding="utf-8")
    assert read_labelled(path) == [Labelled("7", "benign", "benign"), Labelled("idk", "benign", "benign")]


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("set.jsonl", '{"text": "a", "label": "risk"}\n{"text": "b", "label": "risky"}\n', ":2: the label is 'risky'"),
        ("set.jsonl", '{"text": "a", "label": "risk"}\n{"text": "b", "label": "risk"\n', ":2: not JSON"),
        ("set.jsonl", '{"text": "", "label": "risk"}\n', ":1: needs a text"),
        (
            "set.jsonl",
            '{"text": "a", "label": "risk"}\n["b", "risk"]\n',
            ":2: expected {text, label, category}, found list",
        ),
        ("set.json", '[{"text": "a", "label": "risk"},\n {"text": "b", "label": "benign"},\n]', ":3: not JSON"),
        ("set.yaml", "- {text: a, label: risk}\n- {text: b, label: maybe}\n", ":2: the label is 'maybe'"),
        ("set.yaml", "- {text: 'hi', label: risk\n- x: [\n", ":2: not YAML"),
        ("set.yaml", "text: a\nlabel: risk\n", ": expected a list of {text, label, category}"),
        ("set.csv", "text,label\na,risk\nb,\n", ":3: the label is ''"),
        ("set.jsonl", "", ": no messages in it"),
        ("set.jsonl", "\n\n  \n", ": no messages in it"),
        ("set.json", "[]", ": no messages in it"),
        ("set.yaml", "", ": no messages in it"),
        ("set.jsonl", '{"message": "I want to die", "label": "risk"}\n', ":1: needs a text"),
        ("set.json", '{"data": "x"}', ":1: needs a text"),
    ],
)
def test_a_bad_entry_is_named_by_its_place_and_what_is_wrong(
    tmp_path: Path, name: str, content: str, says: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError) as raised:
        read_labelled(path)
    assert str(raised.value).startswith(f"{path}{says}"), str(raised.value)


def test_every_bad_entry_is_named_at_once_up_to_a_limit(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(
        "".join(json.dumps({"text": f"t{n}", "label": "maybe"}) + "\n" for n in range(15)), encoding="utf-8"
    )
    with pytest.raises(ValueError) as raised:
        read_labelled(path)
    lines = str(raised.value).splitlines()
    assert lines[0] == f"{path}:1: the label is 'maybe'; it must be risk or benign"
    assert lines[9].startswith(f"{path}:10: ") and lines[10] == "... and 5 more" and len(lines) == 11


def test_a_file_that_is_not_utf8_is_named_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "set.csv"
    path.write_bytes("text,label\nok,benign\nI can\u2019t go on,risk\n".encode("cp1252"))
    with pytest.raises(ValueError, match=r":3: not UTF-8 text; save the file as UTF-8"):
        read_labelled(path)


def test_risk_and_its_look_alikes_under_one_category_name_are_counted_apart() -> None:
    evaluation = evaluate(EXPECTED, by_word)
    risk, benign = evaluation.categories[("goodbye", "risk")], evaluation.categories[("goodbye", "benign")]
    assert (risk.total, risk.clear, risk.possible, risk.wrong) == (3, 1, 1, ["signing off for good"])
    assert (benign.total, benign.clear, benign.possible, benign.wrong) == (2, 0, 1, [])
    assert evaluation.risk_recall() == pytest.approx(2 / 3)
    assert evaluation.worst_risk_recall() == pytest.approx(2 / 3)
    assert evaluation.benign_share(Level.CLEAR) == pytest.approx(1 / 3)
    assert evaluation.benign_share(Level.POSSIBLE) == pytest.approx(1 / 3)


def test_the_report_shows_both_rows_the_figures_the_time_and_every_miss() -> None:
    report = evaluate(EXPECTED, by_word).report()
    assert "goodbye                      risk        3   33.3%     33.3%    66.7%" in report
    assert "goodbye                      benign      2    0.0%     50.0%    50.0%" in report
    assert report.index("goodbye                      risk") < report.index("goodbye                      benign")
    assert "risk, all reached:            66.7%" in report
    assert "benign given the full reply:  33.3%" in report
    assert "(6 messages, one at a time)" in report and "time per message:             p50 " in report
    assert "goodbye: 1 missed\n  - signing off for good" in report
    assert "hyperbole: 1 given the full reply\n  - this deadline is killing me REPLY" in report


def test_category_names_that_differ_in_case_are_one_row_and_a_missing_side_is_not_a_figure() -> None:
    messages = [
        Labelled("a", "risk", "Goodbye"),
        Labelled("b", "risk", " goodbye "),
        Labelled("c\nd", "risk", "GOODBYE"),
    ]
    evaluation = evaluate(messages, by_word)
    assert list(evaluation.categories) == [("goodbye", "risk")]
    report = evaluation.report()
    assert "Goodbye                      risk        3    0.0%      0.0%     0.0%" in report
    assert "benign given the full reply:  n/a (no benign messages)" in report
    assert "Goodbye: 3 missed\n  - a\n  - b\n  - c\n    d" in report
    only_benign = evaluate([Labelled("hi", "benign", "chat")], by_word).report()
    assert "risk, all reached:            n/a (no risk messages)" in only_benign


def test_a_long_category_name_keeps_the_columns_in_line() -> None:
    name = "a category named at great length, as some sets do"
    report = evaluate([Labelled("x", "risk", name), Labelled("y", "risk", "short")], by_word).report()
    header, first, second = report.splitlines()[:3]
    assert header.index("label") == first.index("risk") == second.index("risk") == len(name) + 2


def test_the_time_per_message_is_read_at_the_share_asked_for() -> None:
    evaluation = evaluate([], by_word)
    assert evaluation.milliseconds(0.99) == 0.0 and "time per message" not in evaluation.report()
    evaluation.seconds = [i / 1000 for i in range(1, 101)]  # 1 ms to 100 ms
    assert evaluation.milliseconds(0.5) == pytest.approx(50.0)
    assert evaluation.milliseconds(0.99) == pytest.approx(99.0)
    assert evaluation.milliseconds(1.0) == pytest.approx(100.0)
