"""A deployer editing checkin.yaml cannot silently break check-ins: the contract is checked at load."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.flows.catalog import load_catalog
from bot.flows.contract import CHECKIN_INPUTS, MOOD_RANGE, OUTCOME_VALUES, REVISIT_VALUES
from bot.flows.errors import FlowLoadError

CONVERSATIONS = Path(__file__).resolve().parents[2] / "conversations"


def _problems(tmp_path: Path, old: str, new: str, count: int = 1) -> list[str]:
    """Every problem loading a copy of conversations/ whose checkin.yaml has ``old`` replaced by ``new``
    (``count`` times; -1 for everywhere)."""
    folder = tmp_path / "conversations"
    shutil.copytree(CONVERSATIONS, folder)
    flow = folder / "checkin.yaml"
    text = flow.read_text(encoding="utf-8")
    assert text.count(old) >= max(count, 1), f"checkin.yaml no longer holds {old!r}: update this test"
    flow.write_text(text.replace(old, new, count), encoding="utf-8")
    with pytest.raises(FlowLoadError) as raised:
        load_catalog(folder)
    return [str(error).replace(str(folder), "conversations") for error in raised.value.errors]


def _line_of(needle: str) -> int:
    lines = (CONVERSATIONS / "checkin.yaml").read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if needle in line)


def test_the_shipped_check_in_keeps_the_contract() -> None:
    flow = load_catalog(CONVERSATIONS).flows["checkin"]
    assert set(flow.inputs) <= set(CHECKIN_INPUTS)
    assert MOOD_RANGE == (1, 5) and "not_yet" in OUTCOME_VALUES and "yes" in REVISIT_VALUES


def test_a_renamed_id_is_reported_at_its_line(tmp_path: Path) -> None:
    found = _problems(tmp_path, "id: checkin", "id: daily")
    assert len(found) == 1, found  # (the missing check-in flow is reported only once the flows load)
    assert found[0].endswith(
        f"checkin.yaml:{_line_of('id: checkin')}: daily: the daily check-in is found by its id: "
        "keep 'id: checkin' in this file (with 'daily', no check-in would ever start)"
    )


def test_a_deleted_check_in_flow_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "conversations"
    shutil.copytree(CONVERSATIONS, folder)
    (folder / "checkin.yaml").unlink()
    with pytest.raises(FlowLoadError) as raised:
        load_catalog(folder)
    assert [error.message for error in raised.value.errors] == [
        "no flow has 'id: checkin', so /checkin could be turned on but no check-in would ever come; "
        "restore checkin.yaml"
    ]


def test_a_changed_outcome_value_is_reported_at_the_option(tmp_path: Path) -> None:
    found = _problems(tmp_path, "- value: done", "- value: finished")
    line = _line_of("- value: done")
    assert found == [
        f"conversations/checkin.yaml:{line}: checkin.how_it_went: the option value 'finished' means nothing to the "
        "code that stores meaning.next_step_outcome; use one of: done, partly, not_yet (labels can say anything)"
    ]


def test_an_input_the_code_never_passes_is_reported(tmp_path: Path) -> None:
    # A typo in the declared input and in the template that uses it: the flow is consistent, yet the step
    # would never be asked about.
    found = _problems(tmp_path, "last_next_step", "last_nextstep", count=-1)
    line = _line_of("  - last_next_step")
    assert [problem for problem in found if "never given" in problem] == [
        f"conversations/checkin.yaml:{line}: checkin: the check-in is never given an input 'last_nextstep', so it "
        f"would always be empty; it is given: {', '.join(CHECKIN_INPUTS)}"
    ]


def test_a_mood_on_another_scale_is_reported_at_its_range(tmp_path: Path) -> None:
    found = _problems(tmp_path, "    max: 5\n", "    max: 10\n")
    assert len(found) == 1 and found[0].startswith(
        f"conversations/checkin.yaml:{_line_of('    max: 5')}: checkin.mood:"
    )
    assert "must run from 1 to 5" in found[0]


def test_revisit_answers_and_a_missing_outcome_meaning_are_reported(tmp_path: Path) -> None:
    found = _problems(tmp_path, "      - value: changed\n", "      - value: different\n")
    assert len(found) == 1 and "the option value 'different' means nothing" in found[0]
    assert "meaning.revisit; use one of: yes, not_yet, changed" in found[0]
    missing = _problems(tmp_path / "again", "  next_step_outcome: how_it_went\n", "")
    assert missing == [
        f"conversations/checkin.yaml:{_line_of('meaning:')}: checkin: meaning.next_step_outcome is missing: without "
        "it no check-in records how a next step went; name the choice step that asks it"
    ]


def test_a_command_on_the_check_in_is_reported(tmp_path: Path) -> None:
    found = _problems(tmp_path, "title: Daily check-in\n", "title: Daily check-in\ncommand: daily\n")
    assert len(found) == 1 and "remove 'command'" in found[0]
