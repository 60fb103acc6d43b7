"""The crisis screen against the project's corpus: every risk statement caught, few benign ones flagged."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.flows.yaml_source import load_yaml
from bot.safety import Safety, load_safety, normalise

ROOT = Path(__file__).resolve().parents[2]
CORPUS = load_yaml((Path(__file__).parent / "corpus.yaml").read_text(encoding="utf-8")).value
MAX_FALSE_ALARM_RATE = 0.05


@pytest.fixture(scope="module")
def safety() -> Safety:
    return load_safety(ROOT / "conversations")


def test_the_corpus_is_big_enough() -> None:
    assert len(CORPUS["risk"]) >= 60
    assert len(CORPUS["benign"]) >= 60


def test_every_risk_statement_is_caught_and_few_benign_ones_are_flagged(safety: Safety) -> None:
    missed = [text for text in CORPUS["risk"] if not safety.screen.flags(text)]
    false_alarms = [text for text in CORPUS["benign"] if safety.screen.flags(text)]
    caught_rate = 1 - len(missed) / len(CORPUS["risk"])
    false_rate = len(false_alarms) / len(CORPUS["benign"])
    print(
        f"\ncrisis screen: caught {caught_rate:.1%} of {len(CORPUS['risk'])} risk statements, "
        f"flagged {false_rate:.1%} of {len(CORPUS['benign'])} benign look-alikes"
    )
    assert missed == []
    assert false_rate <= MAX_FALSE_ALARM_RATE, false_alarms


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("I’m   going  to  DIE", "i'm going to die"),
        ("im gonna", "i'm going to"),
        ("k\u200bill\tnow", "kill now"),
        ("kill myself.", "kill myself ."),
    ],
)
def test_normalising_handles_case_quotes_spaces_and_spellings(safety: Safety, written: str, expected: str) -> None:
    assert normalise(written, safety.screen.spellings) == expected


def test_helplines_name_988_findahelpline_and_an_emergency_number(safety: Safety) -> None:
    lines = safety.lines_for("US")
    contacts = " ".join(f"{line.name} {line.contact} {line.url}" for line in lines)
    assert "988" in contacts and "findahelpline.com" in contacts
    assert safety.emergency_number("US") == "911"
    assert all(line.verified for line in lines)


@pytest.mark.parametrize(
    "answer",
    [
        "yes",
        "no",
        "idk",
        "nothing",
        "7",
        "ok",
        "hello",
        "not sure",
        "Disappointed",
        "😞 Disappointed",
        "skip",
        "thanks",
        "Start earlier and ask for help sooner",
        "Ask my manager for a check-in on Friday",
        "I missed the deadline at work and my manager was upset",
        "Email Dana about the report on Monday",
    ],
)
def test_everyday_answers_to_a_flow_are_never_flagged(safety: Safety, answer: str) -> None:
    assert safety.assess(answer).level.name == "NONE"
