"""Every file shipped in ``conversations/`` loads cleanly and carries what summaries and check-ins need."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.flows.catalog import Catalog, load_catalog
from bot.flows.loader import RESERVED_COMMANDS, flow_files
from bot.flows.model import ChoiceStep, ScaleStep, TextStep
from tests.conftest import CONVERSATIONS


def test_the_whole_conversations_folder_loads_without_a_single_problem() -> None:
    catalog = load_catalog(CONVERSATIONS)  # raises FlowLoadError listing every problem otherwise
    assert {"setback", "quick", "checkin"} <= set(catalog.flows)
    assert len(catalog.flows) == len(flow_files(CONVERSATIONS))


def test_each_command_starts_exactly_one_flow_and_none_clashes_with_the_bots_own(catalog: Catalog) -> None:
    commands = [flow.command for flow in catalog.flows.values() if flow.command]
    assert len(commands) == len(set(commands))
    assert not set(commands) & RESERVED_COMMANDS
    for command in commands:
        flow = catalog.by_command(command)
        assert flow is not None and flow.command == command
    assert catalog.by_command("reframe") is catalog.flows["setback"]
    assert catalog.by_command("quick") is catalog.flows["quick"]


def test_the_checkin_has_no_command_because_the_daily_nudge_starts_it(catalog: Catalog) -> None:
    assert catalog.flows["checkin"].command is None
    assert catalog.flows["checkin"].inputs == [
        "last_next_step",
        "last_run_id",
        "not_yet_before",
        "last_ask",
        "revisit_lesson",
        "revisit_when",
        "revisit_id",
    ]


@pytest.mark.parametrize(
    ("flow_id", "roles"),
    [
        ("setback", {"lesson", "next_step", "next_step_day", "feeling", "feeling_before", "feeling_after"}),
        ("quick", {"lesson", "next_step", "next_step_day"}),
        ("checkin", {"mood", "next_step_outcome", "obstacle"}),
    ],
)
def test_flows_name_the_answers_summaries_and_checkins_rely_on(catalog: Catalog, flow_id: str, roles: set[str]) -> None:
    flow = catalog.flows[flow_id]
    meaning = {role: step for role, step in flow.meaning.model_dump().items() if step is not None}
    assert roles <= set(meaning)
    for role in roles:
        assert flow.step(meaning[role]) is not None, f"{flow_id}: meaning.{role} names no step"


def test_lessons_and_next_steps_are_free_text_and_feelings_are_scales(catalog: Catalog) -> None:
    for flow in catalog.flows.values():
        for role in ("lesson", "next_step"):
            step_id = getattr(flow.meaning, role)
            if step_id is not None:
                step = flow.step(step_id)
                assert isinstance(step, TextStep) and not step.optional, f"{flow.id}.{step_id}"
        for role in ("feeling_before", "feeling_after", "mood"):
            step_id = getattr(flow.meaning, role)
            if step_id is not None:
                assert isinstance(flow.step(step_id), ScaleStep), f"{flow.id}.{step_id}"
    setback = catalog.flows["setback"]
    before, after = setback.step("intensity_before"), setback.step("intensity_after")
    assert isinstance(before, ScaleStep) and isinstance(after, ScaleStep)
    assert (before.min, before.max) == (after.min, after.max), "before and after must be comparable"
    outcome = catalog.flows["checkin"].step("how_it_went")
    assert isinstance(outcome, ChoiceStep)
    assert {option.value for option in outcome.options} == {"done", "partly", "not_yet"}


def test_the_worked_example_in_the_readme_is_a_valid_flow_next_to_the_shipped_ones(tmp_path: Path) -> None:
    readme = (CONVERSATIONS / "README.md").read_text(encoding="utf-8")
    examples = [block for block in re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL) if "\nid: hard_talk\n" in block]
    assert len(examples) == 1
    folder = tmp_path / "conversations"
    shutil.copytree(CONVERSATIONS, folder)
    (folder / "hard_talk.yaml").write_text(examples[0], encoding="utf-8")
    catalog = load_catalog(folder)
    assert catalog.by_command("talk") is catalog.flows["hard_talk"]
