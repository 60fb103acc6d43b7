"""Arbitrary YAML anywhere in a conversations folder: ``file:line`` errors, never a traceback.

tests/flows/test_loader.py fuzzes single flow files; this scrambles every other file the bot loads at
start (its texts, the crisis screen, the helplines) inside a full copy of the shipped folder.
"""

from __future__ import annotations

import shutil
import string
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.flows.catalog import load_catalog
from bot.flows.errors import FlowLoadError
from tests.flows.test_loader import _replace_somewhere, structures
from tests.tg.conftest import ROOT

FILES = sorted(str(path.relative_to(ROOT / "conversations")) for path in (ROOT / "conversations").rglob("*.yaml"))
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _original(name: str) -> Any:
    return yaml.safe_load((ROOT / "conversations" / name).read_text(encoding="utf-8"))


def _loads_or_reports(name: str, text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "conversations"
        shutil.copytree(ROOT / "conversations", copy)
        (copy / name).write_text(text, encoding="utf-8")
        try:
            load_catalog(copy)
        except FlowLoadError as problem:
            assert problem.errors
            for error in problem.errors:
                assert str(error).startswith(f"{error.file}:{error.line}: "), str(error)
                assert error.line >= 1


def test_every_shipped_file_is_fuzzed() -> None:
    assert {"texts/bot.yaml", "safety/screen.yaml", "safety/helplines.yaml", "setback.yaml"} <= set(FILES)


@FUZZ
@given(name=st.sampled_from(FILES), data=structures)
def test_any_yaml_in_any_file_gives_file_and_line_errors(name: str, data: Any) -> None:
    _loads_or_reports(name, yaml.safe_dump(data, allow_unicode=True))


@FUZZ
@given(
    name=st.sampled_from(FILES),
    path=st.lists(st.integers(min_value=0, max_value=40), max_size=4),
    replacement=structures,
)
def test_a_shipped_file_with_one_part_scrambled_gives_file_and_line_errors(
    name: str, path: list[int], replacement: Any
) -> None:
    scrambled = _replace_somewhere(_original(name), path, replacement)
    _loads_or_reports(name, yaml.safe_dump(scrambled, allow_unicode=True))


@FUZZ
@given(name=st.sampled_from(FILES), text=st.text(alphabet=string.printable + "äé🌱\u00a0", max_size=200))
def test_any_text_in_any_file_gives_file_and_line_errors(name: str, text: str) -> None:
    _loads_or_reports(name, text)
