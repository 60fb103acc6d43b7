"""The bot's update queue, as getUpdates serves it, and the signal that wakes waiters.

Update ids only grow (by one per update, or by more after :meth:`UpdateQueue.skip_ids`, since real
ids can jump). ``confirm(offset)`` forgets every update with a smaller id, as getUpdates' offset
does. Long polling waits on a :class:`ChangeSignal` that fires whenever the world changes.
"""

from __future__ import annotations

import asyncio
from typing import Any

JsonDict = dict[str, Any]

# Update types getUpdates sends when allowed_updates was never given (or given as []).
DEFAULT_EXCLUDED_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class ChangeSignal:
    """Wakes every coroutine waiting in :meth:`wait` when :meth:`fire` is called."""

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    def fire(self) -> None:
        """Wake all current waiters (call from the event loop's thread)."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, timeout: float) -> bool:
        """Wait until the next :meth:`fire` or ``timeout`` seconds; True if it fired."""
        if timeout <= 0:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        done, _ = await asyncio.wait({waiter}, timeout=timeout)
        if not done:
            waiter.cancel()
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return bool(done)


def update_type(update: JsonDict) -> str:
    """The kind of an update: the name of its one field other than ``update_id``."""
    return next((key for key in update if key != "update_id"), "unknown")


class UpdateQueue:
    """Pending updates in id order, with Telegram's confirmation and filtering rules."""

    def __init__(self, first_update_id: int, signal: ChangeSignal) -> None:
        self._pending: list[JsonDict] = []
        self._next_id = first_update_id
        self._signal = signal
        self._confirmed_below = first_update_id
        self.allowed_updates: frozenset[str] | None = None
        self.poll_generation = 0
        # Updates queued raw (push_raw): unfiltered, unchecked.
        self.raw_ids: set[int] = set()

    @property
    def next_update_id(self) -> int:
        """The id the next queued update will get."""
        return self._next_id

    @property
    def pending(self) -> list[JsonDict]:
        """Updates not yet confirmed, oldest first (the list is a copy)."""
        return list(self._pending)

    def start_poll(self) -> int:
        """Note that a getUpdates call began, ending any poll still waiting; returns its number."""
        self.poll_generation += 1
        self._signal.fire()
        return self.poll_generation

    def push(self, kind: str, payload: JsonDict) -> int:
        """Queue an update ``{"update_id": N, kind: payload}`` and return N."""
        update_id = self._next_id
        self._next_id += 1
        self._pending.append({"update_id": update_id, kind: payload})
        self._signal.fire()
        return update_id

    def push_raw(self, body: JsonDict) -> int:
        """Queue ``{"update_id": N, **body}`` exactly as given and return N: delivered whatever
        ``allowed_updates`` says, and left out of the specification check (it may be malformed on purpose,
        as a newer Bot API or a self-hosted server can send)."""
        update_id = self._next_id
        self._next_id += 1
        self._pending.append({**body, "update_id": update_id})
        self.raw_ids.add(update_id)
        self._signal.fire()
        return update_id

    def skip_ids(self, count: int) -> None:
        """Make the next update id jump by ``count`` (Telegram's ids are not always consecutive)."""
        self._next_id += max(0, count)

    def confirm(self, offset: int) -> None:
        """Apply getUpdates' ``offset``: forget updates with id < offset; negative keeps the last -offset."""
        if offset < 0:
            keep = -offset
            dropped = self._pending[:-keep] if keep < len(self._pending) else []
            self._pending = self._pending[len(dropped) :]
            if dropped:
                self._confirmed_below = max(self._confirmed_below, dropped[-1]["update_id"] + 1)
        elif offset > 0:
            self._pending = [update for update in self._pending if update["update_id"] >= offset]
            self._confirmed_below = max(self._confirmed_below, offset)
        self._signal.fire()

    def acknowledge(self, update_id: int) -> None:
        """Forget one delivered update (a webhook answered 200 for it), whatever its place in the queue."""
        self._pending = [update for update in self._pending if update["update_id"] != update_id]
        self._signal.fire()

    def is_confirmed(self, update_id: int) -> bool:
        """True once the bot has confirmed (asked past) the update with this id."""
        return update_id < self._confirmed_below

    def set_allowed(self, types: list[str] | None) -> None:
        """Remember getUpdates' ``allowed_updates``; None keeps the previous setting, [] resets it."""
        if types is None:
            return
        self.allowed_updates = frozenset(types) if types else None

    def _allowed(self, update: JsonDict) -> bool:
        if update["update_id"] in self.raw_ids:
            return True
        kind = update_type(update)
        if self.allowed_updates is None:
            return kind not in DEFAULT_EXCLUDED_TYPES
        return kind in self.allowed_updates

    def deliverable(self, limit: int) -> list[JsonDict]:
        """Up to ``limit`` pending updates of an allowed type, oldest first."""
        return [update for update in self._pending if self._allowed(update)][: max(1, min(limit, 100))]

    def drop_all(self) -> None:
        """Forget every pending update (deleteWebhook with drop_pending_updates)."""
        if self._pending:
            self._confirmed_below = max(self._confirmed_below, self._pending[-1]["update_id"] + 1)
        self._pending = []
        self._signal.fire()

    def clear(self) -> None:
        """Forget every pending update and the allowed-updates setting (a reset)."""
        self.drop_all()
        self.allowed_updates = None
