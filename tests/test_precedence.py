"""The order in which the parts of the bot answer a message is written once, as data, with safety first; the
features are found in a registry, each owning its commands and buttons."""

from __future__ import annotations

import pytest

from bot.conversation import FEATURES, PRECEDENCE, REGISTRY, ROUTER
from bot.features.base import Feature, Registry


async def _noop(*_: object) -> None:  # pragma: no cover - never called
    return None


def test_safety_answers_before_anything_else() -> None:
    assert PRECEDENCE[0] == ("safety", "screen")
    stages = [stage for _, stage in PRECEDENCE]
    safety = [stages.index(stage) for owner, stage in PRECEDENCE if owner == "safety"]
    features = [stages.index(name) for name in ("onboarding", "buttons", "location", "typed", "commands", "flow")]
    assert max(safety) < min(features), "every safety stage runs before any feature sees the message"


def test_onboarding_comes_before_every_feature_a_person_can_use() -> None:
    stages = [stage for _, stage in PRECEDENCE]
    assert stages.index("onboarding") < min(stages.index(name) for name in ("buttons", "typed", "commands", "flow"))
    assert stages.index("held") < stages.index("onboarding"), "the safety question is answered even before onboarding"


def test_every_stage_exists_is_listed_once_and_the_last_answers_everything() -> None:
    assert len(PRECEDENCE) == len(set(PRECEDENCE))
    registered = {(owner, stage) for owner, stage in PRECEDENCE if owner != ROUTER}
    assert registered == set(REGISTRY.stages), "a stage not in the table would never run"
    assert {stage for owner, stage in PRECEDENCE if owner == ROUTER} == {"buttons", "commands"}
    assert PRECEDENCE[-1] == ("flows", "flow")


def test_each_command_and_button_has_one_owner() -> None:
    owners = {name: feature.name for feature in FEATURES for name in feature.commands}
    assert owners == {
        "start": "onboarding",
        "help": "onboarding",
        "resume": "flows",
        "cancel": "flows",
        "back": "flows",
        "skip": "flows",
        "checkin": "checkins",
        "lessons": "history",
        "export": "history",
        "forget": "history",
        "done": "history",
        "edit": "history",
    }
    assert REGISTRY.command("reframe") is REGISTRY.any_command is not None
    owner = REGISTRY.feature_of("ci:snooze")
    assert owner is not None and owner.name == "checkins"
    owner = REGISTRY.feature_of("lessons:page:2")
    assert owner is not None and owner.name == "history"
    assert REGISTRY.feature_of("__sos_go") is None, "a crisis reply's buttons are answered by safety's stages"


def test_two_features_cannot_claim_the_same_command_or_button() -> None:
    with pytest.raises(ValueError, match="command"):
        Registry([Feature("a", commands={"x": _noop}), Feature("b", commands={"x": _noop})])
    with pytest.raises(ValueError, match="button"):
        Registry([Feature("a", buttons={"p:": _noop}), Feature("b", buttons={"p:": _noop})])
