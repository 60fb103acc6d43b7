"""An ``offer`` of help on a text step, and the template tests and filters a flow may use, are checked when
the flow loads: each mistake is reported as ``file:line: flow.step: message``, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.flows.errors import FlowLoadError
from bot.flows.loader import load_flows
from bot.flows.model import TextStep

FLOW = """\
id: helped
version: 1
title: Helped
description: A flow with offers.
steps:
  - id: first
    kind: text
    prompt: What happened? {{ asked_before }}
    offer:
      if: first is stuk
      prompt: Try again, {{ later }}
  - id: later
    kind: text
    prompt: "{{ first | first_sentense }}"
    offer:
      if: later is stuck
      prompt: "<br>"
finish: "{{ later }} {{ asked_before }}"
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "helped.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(FlowLoadError) as raised:
        load_flows(tmp_path)
    return [str(error).split("helped.yaml:", 1)[1] for error in raised.value.errors]


def test_every_mistake_in_an_offer_is_reported_at_its_line(tmp_path: Path) -> None:
    assert problems(tmp_path, FLOW) == [
        "10: helped.first: condition error in 'first is stuk': No test named 'stuk'.",
        "11: helped.first: the offer uses 'later', but that answer cannot exist yet at this point; only answers "
        "from earlier steps can be used",
        "14: helped.later: the prompt uses the filter 'first_sentense', which does not exist; for long answers: "
        "first_sentence",
        "17: helped.later: in the offer, <br> is not a tag Telegram accepts (use b, i, u, s, code, pre, a or "
        "blockquote); a plain new line does that",
        "18: helped: the finish template uses 'asked_before', which is not an answer or input of this flow; "
        "available here: first, later",
    ]


def test_an_offer_needs_its_condition_and_words_and_only_text_steps_have_one(tmp_path: Path) -> None:
    broken = FLOW.replace("      if: later is stuck\n", "      iff: later is stuck\n").replace(
        "    prompt: What happened? {{ asked_before }}\n", "    kind: choice\n    options: [A]\n    prompt: Hi\n", 1
    )
    broken = broken.replace("    kind: text\n    kind: choice\n", "    kind: choice\n")
    found = problems(tmp_path, broken)
    assert any(line.startswith("16: helped.later: 'if' is missing") for line in found), found
    assert any("unknown key 'iff' (did you mean 'if'?); allowed here: if, prompt" in line for line in found), found
    assert any(line.startswith("10: helped.first: unknown key 'offer'") for line in found), found


def test_a_sound_offer_loads(tmp_path: Path) -> None:
    fixed = (
        FLOW.replace("is stuk", "is stuck")
        .replace(", {{ later }}", ", {{ first | first_sentence }}")
        .replace("first_sentense", "first_sentence")
        .replace('"<br>"', "Maybe a few words?")
        .replace(' {{ asked_before }}"', '"')
    )
    (tmp_path / "helped.yaml").write_text(fixed, encoding="utf-8")
    step = load_flows(tmp_path)["helped"].step("first")
    assert isinstance(step, TextStep) and step.offer is not None and step.offer.when == "first is stuck"
