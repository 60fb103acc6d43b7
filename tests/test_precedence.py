"""The order in which the parts of the bot answer a message is written once, as data, with safety first."""

from __future__ import annotations

from bot.conversation import PRECEDENCE, Turn


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
    stages = [stage for _, stage in PRECEDENCE]
    assert len(stages) == len(set(stages))
    assert all(callable(getattr(Turn, f"_stage_{stage}", None)) for stage in stages)
    defined = {name.removeprefix("_stage_") for name in vars(Turn) if name.startswith("_stage_")}
    assert defined == set(stages), "a stage not in the table would never run"
    assert stages[-1] == "flow"
