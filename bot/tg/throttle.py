"""Telegram's sending limits, kept on our side, with replies first.

Telegram takes about 30 messages a second from a bot overall and about one a second per chat (a short
burst is fine, so a reply and the next question arrive together); going over earns a 429 with a
``retry_after``. Here:

- **Two lanes.** A reply to someone who just wrote (``urgent``) goes before any bulk send (check-ins,
  exports); bulk sends fill the slots replies leave free. A reply waits at most for the send slot already
  granted, never behind a queue of check-ins.
- **Spread with a margin.** Sends are spaced evenly at ``overall × (1 − margin)`` a second instead of in
  bursts of 30, so a steady fan-out at the default limit never meets Telegram's: arrival jitter on
  Telegram's side has room.
- **A 429 pauses only its scope.** A 429 for one chat pauses that chat; 429s for several chats close
  together mean the overall limit was hit, and pause everything. A pause is only ever extended, never
  shortened (python-telegram-bot 22.8's AIORateLimiter ends a pause early whenever another request
  finishes, python-telegram-bot issue #5338).

Both rates are settings; 0 turns a limit off (a local Bot API stand-in has none), while a 429 still pauses.
Per-chat state is dropped once a chat is idle again, so memory does not grow with the number of people.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

OVERALL_PER_SECOND = 30
PER_CHAT_PER_SECOND = 1.0
PER_CHAT_BURST = 3
MARGIN = 0.1
"""The share of the overall limit left unused, for jitter between our clock and Telegram's."""
OVERALL_CATCH_UP = 3
"""Sends that may go back to back after the schedule fell behind (27 a second + 3 stays within 30)."""
CHATS_FOR_A_GLOBAL_PAUSE = 2
"""429s for this many different chats within ``GLOBAL_WINDOW_S`` pause every chat, not just theirs."""
GLOBAL_WINDOW_S = 1.0


@dataclass
class _Waiter:
    chat_id: int
    granted: asyncio.Future[None]


@dataclass
class _ChatBucket:
    tokens: float
    at: float
    paused_until: float = 0.0


@dataclass
class Pacer:
    """The pure part: given the clock, which waiting send may go now, and how long until one may.

    Kept apart from the asyncio machinery so the rules can be tested with a fake clock.
    """

    overall: float = OVERALL_PER_SECOND
    per_chat: float = PER_CHAT_PER_SECOND
    burst: int = PER_CHAT_BURST
    margin: float = MARGIN
    paused_until: float = 0.0
    next_slot: float = 0.0
    chats: dict[int, _ChatBucket] = field(default_factory=dict)
    recent_429s: deque[tuple[float, int]] = field(default_factory=deque)

    @property
    def interval(self) -> float:
        """Seconds between two sends overall (0 when the overall limit is off)."""
        return 0.0 if self.overall <= 0 else 1.0 / (self.overall * (1.0 - self.margin))

    def _tokens(self, chat_id: int, now: float) -> float:
        bucket = self.chats.get(chat_id)
        if bucket is None:
            return float(self.burst)
        return min(float(self.burst), bucket.tokens + (now - bucket.at) * self.per_chat)

    def chat_ready_in(self, chat_id: int, now: float) -> float:
        """Seconds until a message to ``chat_id`` is within its own limit and pause (0: now)."""
        bucket = self.chats.get(chat_id)
        waits = [0.0]
        if bucket is not None:
            waits.append(bucket.paused_until - now)
        if self.per_chat > 0:
            tokens = self._tokens(chat_id, now)
            if tokens < 1.0:
                waits.append((1.0 - tokens) / self.per_chat)
        return max(waits)

    def overall_ready_in(self, now: float) -> float:
        """Seconds until any message may go (a pause, or the spacing between sends); 0: now."""
        return max(0.0, self.paused_until - now, self.next_slot - now)

    def record(self, chat_id: int, now: float) -> None:
        """Count a message to ``chat_id`` as sent now."""
        # The schedule, not the moment a late wake-up happened, sets the next slot: a send that went a little
        # late lets the next ones catch up (at most OVERALL_CATCH_UP of them at once), so the rate holds on a
        # busy event loop. Any second still has at most overall × (1 − margin) + OVERALL_CATCH_UP sends.
        earliest = now - (OVERALL_CATCH_UP - 1) * self.interval
        self.next_slot = max(self.next_slot, earliest) + self.interval
        if self.per_chat > 0:
            bucket = self.chats.get(chat_id)
            tokens = self._tokens(chat_id, now) - 1.0
            if bucket is None:
                self.chats[chat_id] = _ChatBucket(tokens, now)
            else:
                bucket.tokens, bucket.at = tokens, now

    def flood(self, chat_id: int | None, seconds: float, now: float) -> bool:
        """Telegram answered 429 for ``chat_id``: pause that chat, or everything when several chats got one
        close together (or no chat is known). Returns True when everything was paused."""
        until = now + seconds
        while self.recent_429s and self.recent_429s[0][0] < now - GLOBAL_WINDOW_S:
            self.recent_429s.popleft()
        if chat_id is not None:
            self.recent_429s.append((now, chat_id))
            bucket = self.chats.setdefault(chat_id, _ChatBucket(self._tokens(chat_id, now), now))
            bucket.paused_until = max(bucket.paused_until, until)
        flooded = {chat for _, chat in self.recent_429s}
        if chat_id is None or len(flooded) >= CHATS_FOR_A_GLOBAL_PAUSE:
            self.paused_until = max(self.paused_until, until)
            return True
        return False

    def forget_idle(self, now: float, busy: set[int]) -> None:
        """Drop chats whose bucket is full again and that are not paused or waiting: absent means the same."""
        for chat_id in [chat for chat in self.chats if chat not in busy]:
            bucket = self.chats[chat_id]
            if bucket.paused_until <= now and self._tokens(chat_id, now) >= self.burst:
                del self.chats[chat_id]


class Throttle:
    """Decides when each waiting send may go (replies first); ``wait`` returns when a send may go now."""

    def __init__(
        self,
        overall: float = OVERALL_PER_SECOND,
        per_chat: float = PER_CHAT_PER_SECOND,
        burst: int = PER_CHAT_BURST,
        clock: Callable[[], float] = time.monotonic,
        margin: float = MARGIN,
    ) -> None:
        self.pacer = Pacer(overall, per_chat, burst, margin)
        self._clock = clock
        self._lanes: tuple[deque[_Waiter], deque[_Waiter]] = (deque(), deque())  # urgent, bulk
        self._arrived = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None
        self._grants = 0

    @property
    def paused_until(self) -> float:
        """The clock reading before which nothing may be sent (after a 429 that paused everything)."""
        return self.pacer.paused_until

    def pause(self, seconds: float, chat_id: int | None = None) -> bool:
        """Telegram asked to wait ``seconds`` after sending to ``chat_id``; returns True when every chat waits."""
        everything = self.pacer.flood(chat_id, seconds, self._clock())
        self._arrived.set()
        return everything

    def waiting(self) -> int:
        """How many sends are queued (both lanes)."""
        return sum(len(lane) for lane in self._lanes)

    async def wait(self, chat_id: int, urgent: bool = True) -> None:
        """Return once a message to ``chat_id`` is within every limit, counting it as sent."""
        if not self._lanes[0] and not self._lanes[1] and self._may_go(chat_id):
            self.pacer.record(chat_id, self._clock())  # nothing queued: no need to involve the dispatcher
            self._tidy()
            return
        waiter = _Waiter(chat_id, asyncio.get_running_loop().create_future())
        self._lanes[0 if urgent else 1].append(waiter)
        self._arrived.set()
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch())
        await waiter.granted  # cancelled: the dispatcher skips it

    def _may_go(self, chat_id: int) -> bool:
        now = self._clock()
        return self.pacer.overall_ready_in(now) <= 0 and self.pacer.chat_ready_in(chat_id, now) <= 0

    async def _dispatch(self) -> None:
        """Grant slots while anyone waits: the first ready waiter of the urgent lane, else of the bulk lane."""
        while any(self._lanes):
            self._arrived.clear()
            now = self._clock()
            overall = self.pacer.overall_ready_in(now)
            if overall > 0:
                await self._sleep(overall)
                continue
            soonest = float("inf")
            for lane in self._lanes:
                granted, ready_in = self._grant_first_ready(lane, now)
                if granted:
                    break
                soonest = min(soonest, ready_in)
            else:
                if soonest != float("inf"):
                    await self._sleep(soonest)
        self._tidy()

    def _grant_first_ready(self, lane: deque[_Waiter], now: float) -> tuple[bool, float]:
        """Grant the first waiter in ``lane`` whose chat may receive now; else how soon one could."""
        soonest = float("inf")
        for index, waiter in enumerate(lane):
            if waiter.granted.done():  # its sender gave up (cancelled): skip it for good
                continue
            ready_in = self.pacer.chat_ready_in(waiter.chat_id, now)
            if ready_in <= 0:
                del lane[index]
                self.pacer.record(waiter.chat_id, now)
                waiter.granted.set_result(None)
                self._drop_given_up(lane)
                return True, 0.0
            soonest = min(soonest, ready_in)
        self._drop_given_up(lane)
        return False, soonest

    @staticmethod
    def _drop_given_up(lane: deque[_Waiter]) -> None:
        while lane and lane[0].granted.done():
            lane.popleft()

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake early when someone new starts waiting (an urgent reply may be able to go)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._arrived.wait(), timeout=seconds)

    def _tidy(self) -> None:
        self._grants += 1
        if self._grants % 256 == 0:
            busy = {waiter.chat_id for lane in self._lanes for waiter in lane}
            self.pacer.forget_idle(self._clock(), busy)
