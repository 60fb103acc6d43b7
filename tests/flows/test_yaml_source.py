"""The YAML reader flows are written in: values stay as a person wrote them, and every line is known."""

from __future__ import annotations

import pytest

from bot.flows.yaml_source import YamlSyntaxError, load_yaml


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("9:30", "9:30"),  # YAML 1.1 reads this as 570 (base 60)
        ("no", "no"),
        ("yes", "yes"),
        ("on", "on"),
        ("off", "off"),
        ("No", "No"),
        ("y", "y"),
        ("2024-01-02", "2024-01-02"),  # would be a date
        ("2024-01-02 10:00:00", "2024-01-02 10:00:00"),  # would be a datetime
        ("1e3", "1e3"),
        ("0x1F", "0x1F"),
        (".inf", ".inf"),
        ("1_000", "1_000"),
    ],
)
def test_values_that_yaml_1_1_would_change_stay_text(written: str, expected: str) -> None:
    assert load_yaml(f"value: {written}\n").value == {"value": expected}


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("true", True),
        ("false", False),
        ("True", True),
        ("null", None),
        ("~", None),
        ("", None),
        ("10", 10),
        ("-3", -3),
        ("010", 10),  # decimal, not octal 8
        ("08", 8),  # octal rules would crash on this
        ("1.5", 1.5),
        ('"10"', "10"),
        ("'true'", "true"),
    ],
)
def test_plain_numbers_booleans_and_nulls_still_work(written: str, expected: object) -> None:
    value = load_yaml(f"value: {written}\n").value["value"]
    assert value == expected
    assert type(value) is type(expected)


def test_a_key_written_twice_is_an_error_on_the_second_line() -> None:
    text = "id: one\ntitle: first\nid: two\n"
    with pytest.raises(YamlSyntaxError) as raised:
        load_yaml(text)
    assert raised.value.line == 3
    assert "'id' appears twice" in raised.value.problem


def test_the_same_key_in_two_different_blocks_is_fine() -> None:
    text = "steps:\n  - id: a\n  - id: b\n"
    assert load_yaml(text).value == {"steps": [{"id": "a"}, {"id": "b"}]}


def test_nested_keys_and_list_items_know_their_lines() -> None:
    text = (
        "id: demo\n"  # 1
        "steps:\n"  # 2
        "  - id: first\n"  # 3
        "    kind: text\n"  # 4
        "    prompt: |\n"  # 5
        "      Hello\n"  # 6
        "      there\n"  # 7
        "  - id: second\n"  # 8
        "    next:\n"  # 9
        "      - if: first\n"  # 10
        "        goto: finish\n"  # 11
    )
    document = load_yaml(text)
    assert document.line_of(("id",)) == 1
    assert document.line_of(("steps",)) == 2
    assert document.line_of(("steps", 0)) == 3
    assert document.line_of(("steps", 0, "kind")) == 4
    assert document.line_of(("steps", 0, "prompt")) == 5
    assert document.line_of(("steps", 1, "id")) == 8
    assert document.line_of(("steps", 1, "next", 0, "goto")) == 11
    # A key that is not there points at the nearest block that is.
    assert document.line_of(("steps", 1, "prompt")) == 8
    assert document.line_of(("steps", 1, "next", 0, "missing")) == 10


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("id: a\ntitle: [unclosed\nsteps: []\n", 3),
        ("id: a\n  title: indented wrongly\n", 2),
        ('id: a\nprompt: "open quote\nfinish: x\n', 2),  # where the quote opens, not past the end
        ("id: a\n- item\n", 2),
        ("id: a\n\ttitle: tab\n", 2),
    ],
)
def test_syntax_errors_say_which_line(text: str, line: int) -> None:
    with pytest.raises(YamlSyntaxError) as raised:
        load_yaml(text)
    assert raised.value.line == line
    assert raised.value.problem


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a: &x [1]\nb: *x\n", 2, "aliases"),
        ("a: &x [*x]\n", 1, "aliases"),  # would recurse forever
        ("a: !!python/name:os.system\n", 1, "not supported"),
        ("a: !!int abc\n", 1, "cannot be read as int"),
        ("a: !!bool maybe\n", 1, "cannot be read as bool"),
        ("a: 1\n<<: {b: 2}\n", 2, "merge keys"),
        ("? [a, b]\n: c\n", 1, "plain word"),
        ("[" * 1500 + "]" * 1500, 1, "nested too deeply"),
    ],
)
def test_unsafe_or_surprising_yaml_is_refused_with_a_line(text: str, line: int, words: str) -> None:
    with pytest.raises(YamlSyntaxError) as raised:
        load_yaml(text)
    assert raised.value.line == line
    assert words in raised.value.problem


def test_an_empty_file_is_an_empty_document() -> None:
    assert load_yaml("# only a comment\n").value is None
