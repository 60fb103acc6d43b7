"""The bot's own texts: names they use are checked at load time, so a typo never reaches a person."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.flows.errors import FlowLoadError
from bot.flows.texts import load_texts

ROOT = Path(__file__).resolve().parents[2]


def _copy_with(tmp_path: Path, old: str, new: str) -> Path:
    shutil.copytree(ROOT / "conversations" / "texts", tmp_path / "texts")
    file = tmp_path / "texts" / "bot.yaml"
    source = file.read_text(encoding="utf-8")
    assert old in source
    file.write_text(source.replace(old, new), encoding="utf-8")
    return file


def test_a_misspelled_variable_is_reported_with_what_the_text_can_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _copy_with(tmp_path, "I can keep up to {{ max }}", "I can keep up to {{ maximum }}")
    with pytest.raises(FlowLoadError) as raised:
        load_texts(tmp_path)
    [error] = raised.value.errors
    assert str(error).startswith("texts/bot.yaml:")
    assert "hint_text_too_long: uses 'maximum', which this text is not given; it can use: length, max" in str(error)


def test_a_text_defined_in_two_files_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _copy_with(tmp_path, 'skip_button: "Skip"', 'skip_button: "Skip"')
    (tmp_path / "texts" / "extra.yaml").write_text('skip_button: "Leave it"\n', encoding="utf-8")
    with pytest.raises(FlowLoadError) as raised:
        load_texts(tmp_path)
    [error] = raised.value.errors
    assert str(error) == (
        "texts/extra.yaml:1: texts.skip_button: this text is already defined in texts/bot.yaml; keep one of them"
    )


def test_month_names_for_the_chart_must_be_twelve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "conversations" / "texts", tmp_path / "texts")
    file = tmp_path / "texts" / "lessons.yaml"
    source = file.read_text(encoding="utf-8")
    assert "Nov, Dec" in source
    file.write_text(source.replace("Nov, Dec", "Nov Dec"), encoding="utf-8")
    line = next(n for n, text in enumerate(source.splitlines(), start=1) if text.startswith("chart_months:"))
    with pytest.raises(FlowLoadError) as raised:
        load_texts(tmp_path)
    assert [str(error) for error in raised.value.errors] == [
        f"texts/lessons.yaml:{line}: texts.chart_months: needs 12 names separated by commas"
    ]


def test_a_quoted_text_over_several_lines_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """YAML would join its lines with spaces, so the line breaks the writer meant would be lost."""
    monkeypatch.chdir(tmp_path)
    file = _copy_with(tmp_path, 'skip_button: "Skip"', 'skip_button: "Skip\nthis one"')
    line = file.read_text(encoding="utf-8").splitlines().index('skip_button: "Skip') + 1
    with pytest.raises(FlowLoadError) as raised:
        load_texts(tmp_path)
    [error] = raised.value.errors
    assert str(error).startswith(f"texts/bot.yaml:{line}: texts.skip_button: this text goes on over several lines")
    assert "write it as a block ('skip_button: |-'" in str(error)
