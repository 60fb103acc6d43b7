"""Timestamps are stored as ISO 8601 text in UTC; naive datetimes are refused."""

from __future__ import annotations

from datetime import UTC, datetime


def to_db(moment: datetime) -> str:
    """``moment`` in UTC as ISO 8601 text; raises ValueError for a naive datetime."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every timestamp must carry a timezone")
    return moment.astimezone(UTC).isoformat()


def from_db(text: str) -> datetime:
    """The aware UTC datetime stored by ``to_db``."""
    return datetime.fromisoformat(text).astimezone(UTC)
