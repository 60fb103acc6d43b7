"""The leadership of a PostgreSQL deployment: a session-level advisory lock on a connection of its own.

Every replica campaigns: once a second it asks ``pg_try_advisory_lock``; the one that gets it leads and
LISTENs on the outbox channel (``enqueue_replies`` notifies it with the chat id when replies commit). The
leader checks its connection every second; when it cannot, it stops leading at once (it may no longer hold
the lock). When a leader dies, its session ends, PostgreSQL releases the lock, and the next replica to ask
gets it: a takeover within about a second of the server noticing (at once for a killed process, whose
socket the operating system closes; within the keepalive probes below for a machine that vanished). A
replica that lost the lock lets a few rounds pass before asking again, so one still connected takes over; alone,
it leads again after those rounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

from bot.storage.leadership import OnLeading, OnReplies, Settle, nothing_to_settle
from bot.storage.postgres.errors import DRIVER_ERRORS
from bot.storage.postgres.store import OUTBOX_CHANNEL

log = logging.getLogger(__name__)

LEADER_LOCK = (0x5B0B, 1)
"""The advisory lock whose holder leads (two keys, apart from the people's locks)."""
_TROUBLE: tuple[type[BaseException], ...] = (*DRIVER_ERRORS, OSError, TimeoutError)
CAMPAIGN_PERIOD_S = 1.0
STAND_BACK_PERIODS = 2
"""Campaign rounds a replica that lost the leadership lets pass before asking again: the others, still
connected, ask every round, so a healthy one takes over rather than the one whose session was just cut."""
CALL_TIMEOUT_S = 5.0
# The server probes an idle leader's connection: a leader whose machine vanished loses the lock in ~15 s.
# tcp_user_timeout covers what keepalives do not: data (a NOTIFY) sent and never acknowledged.
KEEPALIVE = {
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "5",
    "tcp_user_timeout": "15000",
}
# Whether this session still holds the leader's lock (a two-key advisory lock: classid, objid, objsubid 2).
_STILL_HELD = (
    "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
    "AND classid = $1 AND objid = $2 AND objsubid = 2 AND granted"
)


class PostgresLeadership:
    """One replica's campaign for the leadership of the deployment (``bot.storage.leadership.Leadership``)."""

    def __init__(self, url: str, period: float = CAMPAIGN_PERIOD_S) -> None:
        self._url = url
        self._period = period
        self._connection: asyncpg.Connection[Any] | None = None
        self._leading = False
        self._ask_again_at = 0.0  # event-loop time before which this replica does not ask for the lock

    @property
    def leading(self) -> bool:
        """True while this replica holds the leader's lock (as of its last check, at most a period ago)."""
        return self._leading

    async def campaign(
        self, stop: asyncio.Event, on_leading: OnLeading, on_replies: OnReplies, settle: Settle = nothing_to_settle
    ) -> None:
        """Seek and keep the leadership until ``stop``; on return the lock is released (the session closed),
        after ``settle()`` (the sends in progress finishing), so no successor sends them again meanwhile."""

        def heard(_connection: object, _pid: int, _channel: str, payload: str) -> None:
            with contextlib.suppress(ValueError):
                on_replies(int(payload))

        try:
            while not stop.is_set():
                try:
                    await self._round(on_leading, heard)
                except _TROUBLE as trouble:
                    if self._leading:
                        log.warning("lost the connection that holds the leadership (%s)", type(trouble).__name__)
                    await self._step_down(on_leading)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self._period)
        finally:
            try:
                if self._leading:
                    self._leading = False
                    on_leading(False)
                    await settle()  # still holding the lock: nobody else sends what is on its way now
            finally:
                await self._step_down(on_leading)  # even when cancelled while settling

    async def _round(self, on_leading: OnLeading, heard: Any) -> None:
        connection = self._connection
        if connection is None or connection.is_closed():
            # A lock belongs to its session: a connection that closed took the leadership with it.
            await self._step_down(on_leading)
            connection = await asyncio.wait_for(asyncpg.connect(self._url, server_settings=KEEPALIVE), CALL_TIMEOUT_S)
            self._connection = connection
        assert connection is not None
        if self._leading:
            held = await asyncio.wait_for(connection.fetchval(_STILL_HELD, *LEADER_LOCK), CALL_TIMEOUT_S)
            if not held:
                log.warning("the leadership lock is no longer held by this replica; stepping down")
                await self._step_down(on_leading)
            return
        if asyncio.get_running_loop().time() < self._ask_again_at:
            return
        won = await asyncio.wait_for(
            connection.fetchval("SELECT pg_try_advisory_lock($1, $2)", *LEADER_LOCK), CALL_TIMEOUT_S
        )
        if won:
            await connection.add_listener(OUTBOX_CHANNEL, heard)
            self._leading = True
            log.info("this replica leads now: it sends the replies and the check-ins of the deployment")
            on_leading(True)

    async def _step_down(self, on_leading: OnLeading) -> None:
        """Stop leading and close the connection (which releases the lock, if the server still has it)."""
        connection, self._connection = self._connection, None
        if self._leading:
            self._leading = False
            self._ask_again_at = asyncio.get_running_loop().time() + STAND_BACK_PERIODS * self._period
            on_leading(False)
        if connection is not None and not connection.is_closed():
            try:
                await asyncio.wait_for(connection.close(), CALL_TIMEOUT_S)
            except Exception:  # closing a broken connection: cut it instead
                connection.terminate()
