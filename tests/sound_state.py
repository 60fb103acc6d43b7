"""One check, shared by the property tests, that a stored flow state is sound."""

from __future__ import annotations

from bot.engine import State
from bot.flows.catalog import Catalog
from bot.flows.model import ChoiceStep, MessageStep, ScaleStep, TextStep


def assert_sound(catalog: Catalog, state: State | None) -> None:
    """A stored state belongs to a real flow, sits on a real step, and holds only answers that fit their
    questions: text trimmed, non-empty, within its lengths and storable (no lone surrogates); numbers on
    their scale; choices among the options."""
    if state is None:
        return
    flow = catalog.flows[state.flow_id]
    assert flow.step(state.step) is not None, f"state on unknown step {state.step!r}"
    for step_id, value in state.answers.items():
        answered = flow.step(step_id)
        assert answered is not None and not isinstance(answered, MessageStep)
        if value is None:
            assert answered.optional
        elif isinstance(answered, TextStep):
            assert isinstance(value, str) and value == value.strip() and value
            assert answered.min_length <= len(value) <= answered.max_length
            value.encode("utf-8")
        elif isinstance(answered, ScaleStep):
            assert isinstance(value, int) and answered.min <= value <= answered.max
        elif isinstance(answered, ChoiceStep):
            chosen = value if isinstance(value, list) else [value]
            assert all(isinstance(item, str) and answered.option(item) for item in chosen)
