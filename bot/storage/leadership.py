"""Which process of a deployment sends and schedules: the outbox sender, its throttle, the check-in job and the
builder of exports run in one process at a time, so Telegram's limits (30 messages/s, a 429's retry_after)
hold for the whole deployment and nobody is nudged twice.

With SQLite there is one process, always the leader (``SoleLeader``). With PostgreSQL the replicas campaign
for an advisory lock (``bot.storage.postgres.leadership``): one holds it, the others try again every second
and take over within seconds of its death; replies committed by any replica wake the leader by NOTIFY.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

OnLeading = Callable[[bool], None]
"""Told True when this process becomes the leader, False when it stops being it."""
OnReplies = Callable[[int], None]
"""Told a chat id whenever any process commits replies for that chat (only while leading)."""
Settle = Callable[[], Awaitable[None]]
"""Awaited when this process stops leading of its own accord, before it lets the leadership go."""


async def nothing_to_settle() -> None:
    """The default ``Settle``: nothing in progress to wait for."""


class Leadership(Protocol):
    """Whether this process leads the deployment now, and news of replies committed anywhere."""

    @property
    def leading(self) -> bool:
        """True while this process holds the leadership."""
        ...

    async def campaign(
        self, stop: asyncio.Event, on_leading: OnLeading, on_replies: OnReplies, settle: Settle = nothing_to_settle
    ) -> None:
        """Seek and keep the leadership until ``stop``, calling ``on_leading`` at each change and
        ``on_replies`` for replies committed elsewhere while leading; on ``stop`` it stops leading, awaits
        ``settle()`` and only then gives the leadership up."""
        ...


class SoleLeader:
    """The only process there is (SQLite): it leads from the start and its own handlers send their replies."""

    @property
    def leading(self) -> bool:
        """Always True."""
        return True

    async def campaign(
        self, stop: asyncio.Event, on_leading: OnLeading, on_replies: OnReplies, settle: Settle = nothing_to_settle
    ) -> None:
        """Lead until ``stop``: nobody else commits replies, so there is no news to pass on, and no successor
        to wait for."""
        on_leading(True)
        await stop.wait()
