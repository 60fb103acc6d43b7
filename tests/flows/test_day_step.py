"""The ``day`` step kind (when will you take your next step?): loaded strictly, every mistake at ``file:line``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.flows.errors import FlowLoadError
from bot.flows.loader import load_flows
from bot.flows.model import DayStep

HEAD = """id: plan
version: 1
title: Plan
description: A step and its day.
meaning:
  next_step: step
  next_step_day: {day_role}
steps:
  - id: step
    kind: text
    prompt: What will you do?
"""


def write(tmp_path: Path, day_role: str, day_step: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(HEAD.format(day_role=day_role) + day_step + "finish: Saved.\n", encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(FlowLoadError) as raised:
        load_flows(path)
    return [str(error) for error in raised.value.errors]


def test_a_day_step_loads_with_its_picks(tmp_path: Path) -> None:
    step = "  - id: when\n    kind: day\n    prompt: When?\n    picks: [today, weekend]\n"
    flow = load_flows(write(tmp_path, "when", step))["plan"]
    day = flow.step("when")
    assert isinstance(day, DayStep) and day.picks == ["today", "weekend"]
    plain = load_flows(write(tmp_path, "when", "  - id: when\n    kind: day\n    prompt: When?\n"))["plan"]
    assert isinstance(plain.step("when"), DayStep)


def test_an_unknown_pick_is_named_at_its_line(tmp_path: Path) -> None:
    step = "  - id: when\n    kind: day\n    prompt: When?\n    picks: [today, someday]\n"
    [problem] = problems(write(tmp_path, "when", step))
    assert problem.startswith(f"{tmp_path / 'plan.yaml'}:15: plan.when: 'picks' cannot be 'someday'; use one of: ")
    assert "today, tomorrow, this_week, weekend, next_week, not_sure" in problem


def test_a_pick_listed_twice_is_an_error(tmp_path: Path) -> None:
    step = "  - id: when\n    kind: day\n    prompt: When?\n    picks: [today, today]\n"
    [problem] = problems(write(tmp_path, "when", step))
    assert ":15: plan.when: a pick is listed twice" in problem


def test_next_step_day_must_name_a_day_step(tmp_path: Path) -> None:
    step = "  - id: when\n    kind: text\n    prompt: When?\n"
    [problem] = problems(write(tmp_path, "when", step))
    assert problem.endswith(":7: plan: meaning.next_step_day must name a day step, not a text step")


def test_read_from_must_name_an_earlier_text_question(tmp_path: Path) -> None:
    step = "  - id: when\n    kind: day\n    prompt: When?\n    read_from: later\n"
    [problem] = problems(write(tmp_path, "when", step))
    assert ":15: plan.when: 'read_from' names 'later', which is not a text question asked before this one" in problem
