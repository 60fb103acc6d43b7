"""Telegram's sending limits, kept on our side: about 30 messages a second overall and about one a second
per chat (a short burst of a few is allowed so a reply and the next question arrive together), and a 429
pauses every send until its ``retry_after`` has passed. Both rates are settings; 0 turns a limit off
(a local Bot API stand-in has none), while a 429 still pauses everything.

python-telegram-bot 22.8's AIORateLimiter ends such a pause early whenever any other request finishes
(python-telegram-bot issue #5338). Here a pause can only ever be extended, never shortened.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

OVERALL_PER_SECOND = 30
PER_CHAT_PER_SECOND = 1.0
PER_CHAT_BURST = 3


class Throttle:
    """Decides when the next message to a chat may go; ``wait`` sleeps until then."""

    def __init__(
        self,
        overall: float = OVERALL_PER_SECOND,
        per_chat: float = PER_CHAT_PER_SECOND,
        burst: int = PER_CHAT_BURST,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._overall = overall
        self._per_chat = per_chat
        self._burst = burst
        self._clock = clock
        self._sleep = sleep
        self._recent: deque[float] = deque()
        self._chat_tokens: dict[int, tuple[float, float]] = {}
        self._paused_until = 0.0

    @property
    def paused_until(self) -> float:
        """The clock reading before which nothing may be sent (after a 429)."""
        return self._paused_until

    def pause(self, seconds: float) -> None:
        """Telegram asked to wait: no chat sends anything for ``seconds`` (an earlier, longer pause stays)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _tokens(self, chat_id: int, now: float) -> float:
        tokens, at = self._chat_tokens.get(chat_id, (float(self._burst), now))
        return min(float(self._burst), tokens + (now - at) * self._per_chat)

    def delay(self, chat_id: int) -> float:
        """How long the next message to ``chat_id`` must wait (0 when it may go now)."""
        now = self._clock()
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        waits = [self._paused_until - now]
        if self._overall > 0 and len(self._recent) >= self._overall:
            waits.append(self._recent[0] + 1.0 - now)
        if self._per_chat > 0:
            tokens = self._tokens(chat_id, now)
            if tokens < 1.0:
                waits.append((1.0 - tokens) / self._per_chat)
        return max(0.0, *waits)

    def _record(self, chat_id: int) -> None:
        now = self._clock()
        if self._overall > 0:
            self._recent.append(now)
        if self._per_chat > 0:
            self._chat_tokens[chat_id] = (self._tokens(chat_id, now) - 1.0, now)

    async def wait(self, chat_id: int) -> None:
        """Sleep until a message to ``chat_id`` is within every limit, then count it as sent."""
        while (pause := self.delay(chat_id)) > 0:
            await self._sleep(pause)
        self._record(chat_id)
