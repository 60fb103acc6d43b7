"""Loading flow files: every mistake a deployer can make is reported as ``file:line: flow.step: message``."""

from __future__ import annotations

import shutil
import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.flows.errors import FlowLoadError
from bot.flows.loader import load_flows
from bot.flows.texts import load_texts
from tests.conftest import REPO_ROOT

BROKEN = Path("tests/flows/broken")


@pytest.fixture(autouse=True)
def _from_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    # Paths in messages are shown relative to the working directory, as a deployer would type them.
    monkeypatch.chdir(REPO_ROOT)


def problems(path: Path) -> list[str]:
    """Every problem line the loader reports for ``path`` (failing the test if it loads cleanly)."""
    with pytest.raises(FlowLoadError) as raised:
        load_flows(path)
    lines = [str(error) for error in raised.value.errors]
    assert str(raised.value) == "\n".join(lines)
    return lines


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param(
            "yaml_syntax",
            [
                "tests/flows/broken/yaml_syntax.yaml:8: yaml_syntax: this is not valid YAML: found unexpected "
                "end of stream (while scanning a quoted scalar); check indentation, colons and quotes"
            ],
            id="yaml-syntax-points-at-the-unclosed-quote",
        ),
        pytest.param(
            "unknown_key",
            [
                "tests/flows/broken/unknown_key.yaml:6: unknown_key.first: 'prompt' is missing; add it",
                "tests/flows/broken/unknown_key.yaml:8: unknown_key.first: unknown key 'promt' (did you mean "
                "'prompt'?); allowed here: id, prompt, next, optional, kind, min_length, max_length, offer",
            ],
            id="unknown-key",
        ),
        pytest.param(
            "optional_yes",
            [
                "tests/flows/broken/optional_yes.yaml:9: optional_yes.first: 'optional' must be true or false "
                "(got 'yes'); write true or false, not yes/no"
            ],
            id="wrong-type-yes-for-a-boolean",
        ),
        pytest.param(
            "max_text",
            ["tests/flows/broken/max_text.yaml:10: max_text.how_strong: 'max' must be a whole number (got 'ten')"],
            id="wrong-type-text-for-a-number",
        ),
        pytest.param(
            "missing_key",
            ["tests/flows/broken/missing_key.yaml:1: missing_key: 'finish' is missing; add it"],
            id="missing-key",
        ),
        pytest.param(
            "unknown_next",
            [
                "tests/flows/broken/unknown_next.yaml:9: unknown_next.first: 'next' names 'lessen', which is "
                "not a step; use one of: first, lesson, finish"
            ],
            id="unknown-next-target",
        ),
        pytest.param(
            "duplicate_step",
            [
                "tests/flows/broken/duplicate_step.yaml:9: duplicate_step.first: this step id is used twice; "
                "give each step its own id"
            ],
            id="duplicate-step-id",
        ),
        pytest.param(
            "unreachable",
            [
                "tests/flows/broken/unreachable.yaml:10: unreachable.lesson: no path leads to this step; "
                "point a 'next' at it or remove it"
            ],
            id="unreachable-step",
        ),
        pytest.param(
            "loop",
            [
                "tests/flows/broken/loop.yaml:6: loop.first: after this step the flow can never reach 'finish' "
                "(it loops forever); let one 'next' lead to finish",
                "tests/flows/broken/loop.yaml:9: loop.again: after this step the flow can never reach 'finish' "
                "(it loops forever); let one 'next' lead to finish",
            ],
            id="no-way-to-finish",
        ),
        pytest.param(
            "message_loop",
            [
                "tests/flows/broken/message_loop.yaml:9: message_loop.hello: this message can lead back to "
                "itself through other messages with no question or button in between, so the bot would talk "
                "forever; add a 'button' or change a 'next'",
                "tests/flows/broken/message_loop.yaml:16: message_loop.again: this message can lead back to "
                "itself through other messages with no question or button in between, so the bot would talk "
                "forever; add a 'button' or change a 'next'",
            ],
            id="messages-that-talk-forever",
        ),
        pytest.param(
            "prompt_syntax",
            [
                "tests/flows/broken/prompt_syntax.yaml:11: prompt_syntax.second: template error in prompt: "
                "expected token 'end of print statement', got 'now'"
            ],
            id="jinja-syntax-in-prompt",
        ),
        pytest.param(
            "html_tags",
            [
                "tests/flows/broken/html_tags.yaml:8: html_tags.first: in the prompt, <br> is not a tag Telegram "
                "accepts (use b, i, u, s, code, pre, a or blockquote); a plain new line does that",
                "tests/flows/broken/html_tags.yaml:9: html_tags: in the finish template, a bare '&': write &amp; "
                "for the sign itself",
            ],
            id="html-telegram-would-refuse",
        ),
        pytest.param(
            "bad_condition",
            [
                "tests/flows/broken/bad_condition.yaml:12: bad_condition.strength: condition error in "
                "'strength >=': unexpected 'end of template'"
            ],
            id="bad-condition",
        ),
        pytest.param(
            "later_answer",
            [
                "tests/flows/broken/later_answer.yaml:8: later_answer.first: the prompt uses 'lesson', but that "
                "answer cannot exist yet at this point; only answers from earlier steps can be used"
            ],
            id="prompt-names-a-later-answer",
        ),
        pytest.param(
            "condition_unknown_name",
            [
                "tests/flows/broken/condition_unknown_name.yaml:12: condition_unknown_name.strength: this "
                "condition uses 'strenght', which is not an answer or input of this flow; available here: "
                "strength"
            ],
            id="condition-names-an-unknown-name",
        ),
        pytest.param(
            "unknown_kind",
            [
                "tests/flows/broken/unknown_kind.yaml:6: unknown_kind.first: kind 'question' is not known; use "
                "text, choice, scale, day or message"
            ],
            id="unknown-step-kind",
        ),
        pytest.param(
            "meaning_missing_step",
            [
                "tests/flows/broken/meaning_missing_step.yaml:6: meaning_missing_step: meaning.lesson names "
                "'takeaway', which is not a question step; use one of: first, lesson"
            ],
            id="meaning-names-a-missing-step",
        ),
        pytest.param(
            "reserved_command",
            [
                "tests/flows/broken/reserved_command.yaml:5: reserved_command: /help is one of the bot's own "
                "commands; pick another"
            ],
            id="reserved-command",
        ),
    ],
)
def test_each_kind_of_mistake_gives_its_own_exact_line(name: str, expected: list[str]) -> None:
    assert problems(BROKEN / f"{name}.yaml") == expected


def test_two_flows_wanting_the_same_command_name_the_other_file() -> None:
    assert problems(BROKEN / "two_commands") == [
        "tests/flows/broken/two_commands/second.yaml:5: second_flow: /reflect already starts the flow in "
        "tests/flows/broken/two_commands/first.yaml"
    ]


def test_every_problem_in_a_file_is_reported_at_once() -> None:
    assert problems(BROKEN / "three_problems.yaml") == [
        "tests/flows/broken/three_problems.yaml:9: three_problems.first: unknown key 'colour'; allowed here: "
        "id, prompt, next, optional, kind, min_length, max_length, offer",
        "tests/flows/broken/three_problems.yaml:14: three_problems.second: 'multiple' must be true or false "
        "(got 'yes'); write true or false, not yes/no",
        "tests/flows/broken/three_problems.yaml:15: three_problems.third: 'min_label' is missing; add it",
    ]


def test_problems_in_several_files_are_reported_together_in_file_order(tmp_path: Path) -> None:
    for name in ("optional_yes", "unknown_kind"):
        (tmp_path / f"{name}.yaml").write_text((BROKEN / f"{name}.yaml").read_text())
    lines = problems(tmp_path)
    assert len(lines) == 2
    assert lines[0].endswith(
        "optional_yes.yaml:9: optional_yes.first: 'optional' must be true or false "
        "(got 'yes'); write true or false, not yes/no"
    )
    assert lines[1].endswith(
        "unknown_kind.yaml:6: unknown_kind.first: kind 'question' is not known; use text, choice, scale, day or message"
    )


def test_a_folder_without_flow_files_says_so(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a flow")
    [line] = problems(tmp_path)
    assert line.endswith(": -: no flow files (*.yaml) found here")


def test_a_file_that_is_not_utf8_says_how_to_fix_it(tmp_path: Path) -> None:
    (tmp_path / "latin.yaml").write_bytes("title: caf\xe9\n".encode("latin-1"))
    [line] = problems(tmp_path)
    assert line.endswith("latin.yaml:1: latin: the file is not UTF-8 text; save it as UTF-8")


def test_a_flow_file_that_is_a_list_says_what_a_flow_looks_like(tmp_path: Path) -> None:
    (tmp_path / "list.yaml").write_text("- one\n- two\n")
    [line] = problems(tmp_path)
    assert line.endswith(
        "list.yaml:1: list: a flow file must be a mapping with id, version, title, description, steps and finish"
    )


# --- never a traceback -----------------------------------------------------------------------------

VALID = {
    "id": "fuzz",
    "version": 1,
    "title": "Fuzz",
    "description": "A small flow that gets scrambled.",
    "command": "fuzz",
    "meaning": {"lesson": "lesson"},
    "steps": [
        {"id": "first", "kind": "text", "prompt": "What happened?"},
        {
            "id": "strength",
            "kind": "scale",
            "prompt": "How strong? You said {{ first }}",
            "min_label": "low",
            "max_label": "high",
            "next": [{"if": "strength >= 8", "goto": "pause"}, {"goto": "lesson"}],
        },
        {"id": "pause", "kind": "message", "prompt": "Breathe.", "button": "Go on"},
        {"id": "lesson", "kind": "choice", "prompt": "Which?", "options": ["A", {"value": "b", "label": "B"}]},
    ],
    "finish": "{{ shown.lesson }}",
}
WORDS = [
    "id", "version", "title", "description", "command", "inputs", "meaning", "steps", "finish", "kind",
    "text", "choice", "scale", "message", "prompt", "next", "if", "goto", "optional", "options", "value",
    "label", "multiple", "min", "max", "min_label", "max_label", "min_length", "max_length", "button",
    "lesson", "first", "strength", "pause", "help", "{{ first }}", "{{", "{% if %}", "yes", "no", "9:30",
]  # fmt: skip

scalars = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=12),
    st.integers(min_value=-1000, max_value=1000),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
)
structures = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=6), children, max_size=5),
    ),
    max_leaves=20,
)


def _replace_somewhere(data: Any, path: list[int], replacement: Any) -> Any:
    """``data`` with one value (chosen by ``path``) swapped for ``replacement``."""
    if not path or not isinstance(data, dict | list) or not data:
        return replacement
    keys = list(data) if isinstance(data, dict) else list(range(len(data)))
    key = keys[path[0] % len(keys)]
    copy: Any = dict(data) if isinstance(data, dict) else list(data)
    copy[key] = _replace_somewhere(copy[key], path[1:], replacement)
    return copy


def _loads_or_reports(folder: Path, text: str) -> None:
    (folder / "fuzz.yaml").write_text(text, encoding="utf-8")
    try:
        load_flows(folder)
    except FlowLoadError as problem:
        assert problem.errors
        for error in problem.errors:
            assert str(error).startswith(f"{error.file}:{error.line}: ")
            assert error.line >= 1


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(text=st.text(alphabet=string.printable + "äé🌱\u00a0", max_size=200))
def test_random_text_never_gives_a_traceback(tmp_path: Path, text: str) -> None:
    _loads_or_reports(tmp_path, text)


@FUZZ
@given(data=structures)
def test_random_yaml_structures_never_give_a_traceback(tmp_path: Path, data: Any) -> None:
    _loads_or_reports(tmp_path, yaml.safe_dump(data, allow_unicode=True))


@FUZZ
@given(path=st.lists(st.integers(min_value=0, max_value=20), max_size=5), replacement=structures)
def test_a_valid_flow_with_one_part_scrambled_never_gives_a_traceback(
    tmp_path: Path, path: list[int], replacement: Any
) -> None:
    _loads_or_reports(tmp_path, yaml.safe_dump(_replace_somewhere(VALID, path, replacement), allow_unicode=True))


def test_the_fuzzing_base_flow_is_itself_valid(tmp_path: Path) -> None:
    (tmp_path / "fuzz.yaml").write_text(yaml.safe_dump(VALID))
    assert list(load_flows(tmp_path)) == ["fuzz"]


def test_the_bots_own_texts_are_checked_for_html_telegram_would_refuse(tmp_path: Path) -> None:
    shutil.copytree(REPO_ROOT / "conversations" / "texts", tmp_path / "texts")
    source = (REPO_ROOT / "conversations" / "texts" / "bot.yaml").read_text(encoding="utf-8")
    broken = source.replace('skipped_answer: "(skipped)"', 'skipped_answer: "<skipped>"')
    assert broken != source
    (tmp_path / "texts" / "bot.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(FlowLoadError) as raised:
        load_texts(tmp_path)
    [error] = raised.value.errors
    assert (error.step, error.message) == (
        "skipped_answer",
        "<skipped> is not a tag Telegram accepts (use b, i, u, s, code, pre, a or blockquote)",
    )
    assert broken.splitlines()[error.line - 1].startswith("skipped_answer:")
