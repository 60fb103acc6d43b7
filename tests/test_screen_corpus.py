"""What the screen-training tools share (tools/screen_corpus.py): the cut rule and what they train on."""

from __future__ import annotations

import json

import pytest

from tools.screen_corpus import CORPUS, HELD_OUT_PROBES, MAX_DEMOTE, PROBES, demotion_cut, read, training_rows


def test_the_cut_lets_at_most_the_budget_of_risk_fall_under_it() -> None:
    # 100 risk messages scored 0.01 … 1.00: 3 % of them may fall under the cut, the fourth may not.
    scored = [(n / 100, True) for n in range(1, 101)] + [(0.001, False)] * 10
    cut = demotion_cut(scored, "test")
    assert cut == pytest.approx(0.04)
    assert sum(score < cut for score, risk in scored if risk) == 3


def test_too_few_risk_messages_for_the_budget_leave_a_margin_under_the_lowest() -> None:
    # 20 risk messages: 3 % allows none, so the cut is half the lowest score, not just under it.
    scored = [(0.06 + n / 100, True) for n in range(20)] + [(0.01, False), (0.05, False)]
    assert demotion_cut(scored, "test") == pytest.approx(0.03)


def test_the_cut_never_rises_above_its_ceiling() -> None:
    assert demotion_cut([(0.9, True)] * 10, "test") == pytest.approx(0.45)  # half the lowest, under the ceiling
    assert demotion_cut([(0.99, True)] * 200, "test") == MAX_DEMOTE
    assert demotion_cut([(0.2, False)], "test") == MAX_DEMOTE


def test_training_never_reads_a_held_out_probe_set_nor_a_message_it_is_judged_by() -> None:
    rows, about = training_rows()
    # The probes added after the train split (which shares a few one-word flow answers, "k", "skip", with blind).
    texts = {" ".join(row["text"].split()).casefold() for row in rows[len(read("train")) :]}
    judged = {" ".join(row["text"].split()).casefold() for split in ("dev", "test", "blind") for row in read(split)}
    assert not texts & judged
    for name in HELD_OUT_PROBES:
        assert (PROBES / name).is_file(), f"{name} is named held out but is not in {PROBES}"
        held = (PROBES / name).read_text(encoding="utf-8").splitlines()
        assert not texts & {" ".join(json.loads(line)["text"].split()).casefold() for line in held if line.strip()}
    assert str(CORPUS) in about
