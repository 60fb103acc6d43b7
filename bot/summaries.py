"""What /lessons shows: pure functions from stored entries to template context."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.storage.repository import LessonEntry


def lessons_context(entries: Sequence[LessonEntry], zone: ZoneInfo) -> dict[str, Any]:
    """Template context for the lessons list: each run's local date, title, lesson and next step."""
    runs = [
        {
            "date": _day(entry.finished_at.astimezone(zone)),
            "title": entry.flow_title,
            "lesson": entry.lesson or "",
            "next_step": entry.next_step or "",
            "feeling_before": entry.feeling_before,
            "feeling_after": entry.feeling_after,
        }
        for entry in entries
    ]
    return {"runs": runs}


def _day(moment: datetime) -> str:
    """A date as people write it, e.g. '5 Mar 2026' (no zero padding, on every platform)."""
    return f"{moment.day} {moment:%b %Y}"
