"""The records storage hands to the rest of the bot: plain, frozen data with no database in sight.

Services and the pure core (``bot.summaries``, ``bot.history``, the features) import these, never the
storage implementation, so they do not depend on a driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.checkins import CheckinSettings, CheckinState
from bot.storage.timestamps import to_db


@dataclass(frozen=True)
class User:
    """A person, known by an adapter-specific id such as ``tg:123`` or ``cli:alex``."""

    id: int
    external_id: str
    created_at: datetime
    is_new: bool
    onboarded: bool = False
    pending_flow: str | None = None
    safety_hold: str | None = None
    locale: str | None = None
    """The language the person's app is set to (Telegram's ``language_code``), for this message only; never stored."""
    awaiting: str | None = None
    """What their next typed message is read against outside a flow (JSON, see ``bot.conversation.Awaiting``)."""


@dataclass(frozen=True)
class LessonEntry:
    """One completed run, as lists and summaries show it."""

    run_id: int
    flow_id: str
    flow_title: str
    finished_at: datetime
    lesson: str | None
    next_step: str | None
    feeling: str | None
    feeling_before: int | None
    feeling_after: int | None
    next_step_outcome: str | None = None
    next_step_due: date | None = None
    next_step_let_go_at: datetime | None = None
    """When the step was set down: after the last "not yet", or dropped by the person (outcome ``dropped``)."""


@dataclass(frozen=True)
class HeldLesson:
    """A lesson a revisit heard had helped: its words, and whether that was a week or a month on."""

    run_id: int
    lesson: str
    kind: str


@dataclass(frozen=True)
class LessonOverview:
    """Counts and averages over a user's lessons in a period."""

    count: int
    average_before: float | None
    average_after: float | None
    with_feelings: int = 0


@dataclass(frozen=True)
class HeavyRequest:
    """An export or a chart waiting to be built for a person."""

    id: int
    user_id: int
    external_id: str
    kind: str
    detail: str


@dataclass(frozen=True)
class CheckinRow:
    """A person's check-in settings and schedule, as stored."""

    settings: CheckinSettings
    state: CheckinState
    offered: bool
    awaiting: str | None
    place: str | None = None
    """The place the person gave for their timezone, shown back to them; '' shows the zone's own city; None
    until they choose a timezone (the bot's default is then in use, and turning check-ins on asks for one)."""

    def exported(self) -> dict[str, Any]:
        """The settings and schedule as /export writes them (JSON-ready), the same for every storage."""
        return {
            "enabled": self.settings.enabled,
            "local_time": self.settings.local_time.strftime("%H:%M"),
            "timezone": self.settings.timezone,
            "place": self.place or None,
            "next_due_at": to_db(self.state.due_at) if self.state.due_at else None,
            "unanswered_in_a_row": self.state.unanswered,
        }


@dataclass(frozen=True)
class Revisit:
    """A past lesson brought back by a check-in on some local date, and the answer heard, if any."""

    id: int
    run_id: int
    lesson: str
    kind: str
    answer: str | None


@dataclass(frozen=True)
class DeliveryLag:
    """How far delivery is behind: updates stored but not handled, replies committed but not sent, and when
    the oldest of each arrived (None when there is none)."""

    inbox_pending: int
    inbox_oldest: datetime | None
    outbox_pending: int
    outbox_oldest: datetime | None
