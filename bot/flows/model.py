"""The flow model: what a flow file may contain, validated strictly (no type coercion).

A flow is a list of steps; each step asks for free text, a choice, a number on a scale, or just says
something. See ``conversations/README.md`` for the format as a deployer reads it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FINISH = "finish"
"""The ``next`` target that ends a flow (shows its ``finish`` card and stores the run)."""

ASKED_BEFORE = "asked_before"
"""A name every prompt may use: true when this question was already shown in this run (after /back, or shown
again after a pause), so an acknowledgement of the answer before it is not said twice."""

STEP_ID_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
COMMAND_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class Option(_Strict):
    """One button of a choice step: ``value`` is stored, ``label`` is shown, and ``also`` lists other words
    or phrases that mean this option when typed (``pissed`` for Angry)."""

    value: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")]
    label: Annotated[str, Field(min_length=1, max_length=60)]
    also: Annotated[list[Annotated[str, Field(min_length=1, max_length=60)]], Field(max_length=40)] = Field(
        default_factory=list
    )

    @model_validator(mode="before")
    @classmethod
    def _from_plain_label(cls, data: Any) -> Any:
        # A bare string is the friendliest way to write an option: its value is derived from it.
        if isinstance(data, str):
            return {"value": _slug(data), "label": data}
        return data


class Branch(_Strict):
    """One rule of a branching ``next``: go to ``goto`` when ``if`` (a Jinja2 expression) is true."""

    when: str | None = Field(default=None, alias="if", min_length=1)
    goto: Annotated[str, Field(min_length=1)]


Next = str | list[Branch] | None


class _StepBase(_Strict):
    id: Annotated[str, Field(pattern=STEP_ID_PATTERN)]
    prompt: Annotated[str, Field(min_length=1)]
    next: Next = None


class _QuestionBase(_StepBase):
    optional: bool = False


class Offer(_Strict):
    """Help offered once, instead of taking an answer for which ``if`` is true (``lesson is stuck``).

    ``prompt`` is said in place of moving on; whatever the person sends next is their answer, even the same
    words again ("idk" twice is kept as it is: help is offered, never insisted on).
    """

    when: str = Field(alias="if", min_length=1)
    prompt: Annotated[str, Field(min_length=1)]


class TextStep(_QuestionBase):
    """Free text between ``min_length`` and ``max_length`` characters, with an optional ``offer`` of help."""

    kind: Literal["text"]
    min_length: Annotated[int, Field(ge=0, le=4000)] = 2
    max_length: Annotated[int, Field(ge=1, le=4000)] = 4000
    offer: Offer | None = None

    @model_validator(mode="after")
    def _lengths_in_order(self) -> TextStep:
        if self.min_length > self.max_length:
            raise ValueError("min_length is larger than max_length; swap them")
        return self


class ChoiceStep(_QuestionBase):
    """Buttons; the answer is one option's value, or a list of values when ``multiple`` is true."""

    kind: Literal["choice"]
    options: Annotated[list[Option], Field(min_length=1, max_length=12)]
    multiple: bool = False

    @field_validator("options")
    @classmethod
    def _distinct_values(cls, options: list[Option]) -> list[Option]:
        seen: set[str] = set()
        for option in options:
            if option.value in seen:
                raise ValueError(f"two options share the value '{option.value}'; give each its own value")
            seen.add(option.value)
        return options

    def option(self, value: str) -> Option | None:
        """The option with this value, if there is one."""
        return next((option for option in self.options if option.value == value), None)


class ScaleStep(_QuestionBase):
    """A whole number from ``min`` to ``max``; the ends carry labels so the numbers mean something."""

    kind: Literal["scale"]
    min: Annotated[int, Field(ge=-100, le=100)] = 0
    max: Annotated[int, Field(ge=-100, le=100)] = 10
    min_label: Annotated[str, Field(min_length=1, max_length=40)]
    max_label: Annotated[str, Field(min_length=1, max_length=40)]

    @model_validator(mode="after")
    def _range_in_order(self) -> ScaleStep:
        if self.min >= self.max:
            raise ValueError("min must be smaller than max")
        if self.max - self.min > 20:
            raise ValueError("a scale may span at most 21 numbers so its buttons fit on a phone")
        return self


DayPick = Literal["today", "tomorrow", "this_week", "weekend", "next_week", "not_sure"]
"""A quick pick a ``day`` question may offer as a button (its label lives in ``conversations/texts``)."""


def _default_picks() -> list[DayPick]:
    return ["today", "tomorrow", "weekend", "next_week"]


class DayStep(_QuestionBase):
    """A day: tapped (``picks``) or typed the way people type it ("tmrw", "sat", "in 3 days", "dec 3").

    The answer is a day spec (see ``bot.days``), turned into a date in the person's timezone when the run is
    saved, so "tomorrow" means their tomorrow.
    """

    kind: Literal["day"]
    read_from: Annotated[str | None, Field(pattern=STEP_ID_PATTERN)] = None
    """An earlier text answer that may already name the day ("Call her tonight"): then this is not asked."""
    picks: Annotated[list[DayPick], Field(min_length=1, max_length=6)] = Field(default_factory=_default_picks)

    @field_validator("picks")
    @classmethod
    def _distinct_picks(cls, picks: list[str]) -> list[str]:
        if len(set(picks)) != len(picks):
            raise ValueError("a pick is listed twice; list each one once")
        return picks


class MessageStep(_StepBase):
    """Says something. With ``button`` it waits for a tap (a pause); without, it goes straight on."""

    kind: Literal["message"]
    button: Annotated[str | None, Field(min_length=1, max_length=40)] = None


Step = Annotated[TextStep | ChoiceStep | ScaleStep | DayStep | MessageStep, Field(discriminator="kind")]
QuestionStep = TextStep | ChoiceStep | ScaleStep | DayStep


class Meaning(_Strict):
    """Which answers carry what meaning, so summaries and check-ins work across flows."""

    lesson: str | None = None
    next_step: str | None = None
    next_step_day: str | None = None
    feeling_before: str | None = None
    feeling_after: str | None = None
    feeling: str | None = None
    mood: str | None = None
    next_step_outcome: str | None = None
    obstacle: str | None = None
    revisit: str | None = None
    """A check-in's answer about a past lesson: yes, not_yet or changed."""


class Flow(_Strict):
    """A whole conversation flow as written in one YAML file."""

    id: Annotated[str, Field(pattern=STEP_ID_PATTERN)]
    version: Annotated[int, Field(ge=1)]
    title: Annotated[str, Field(min_length=1, max_length=80)]
    description: Annotated[str, Field(min_length=1, max_length=300)]
    command: Annotated[str | None, Field(pattern=COMMAND_PATTERN)] = None
    inputs: list[Annotated[str, Field(pattern=STEP_ID_PATTERN)]] = Field(default_factory=list)
    meaning: Meaning = Field(default_factory=Meaning)
    steps: Annotated[list[Step], Field(min_length=1)]
    finish: Annotated[str, Field(min_length=1)]

    def step(self, step_id: str) -> TextStep | ChoiceStep | ScaleStep | DayStep | MessageStep | None:
        """The step with this id, or None."""
        return next((step for step in self.steps if step.id == step_id), None)

    def following(self, step_id: str) -> str:
        """The id of the step written after ``step_id``, or FINISH for the last one."""
        ids = [step.id for step in self.steps]
        index = ids.index(step_id)
        return ids[index + 1] if index + 1 < len(ids) else FINISH

    @property
    def answer_ids(self) -> list[str]:
        """Ids of the steps that collect an answer (every kind but message)."""
        return [step.id for step in self.steps if not isinstance(step, MessageStep)]


def _slug(label: str) -> str:
    cleaned = "".join(ch.lower() if ch.isalnum() else "_" for ch in label if ch.isascii())
    return "_".join(part for part in cleaned.split("_") if part)[:40] or "option"


STEP_KINDS: dict[str, type[BaseModel]] = {
    "text": TextStep,
    "choice": ChoiceStep,
    "scale": ScaleStep,
    "day": DayStep,
    "message": MessageStep,
}
