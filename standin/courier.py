"""Telegram's side of a webhook: POST each queued update to the bot until it answers 200.

The stand-in itself never calls out (its Bot API only answers); a test that runs the bot in webhook mode
starts a ``WebhookCourier`` beside it. Like Telegram, the courier keeps an update until a POST of it is
answered 200, tries again after anything else (a refused connection, a 5xx, no answer in time), and
sends at most ``connections`` at once. It plays a load balancer in front of several replicas too: each
attempt goes to one of ``targets``, chosen at random, so a person's consecutive updates land on any of them.
One update per chat is in flight at a time (a chat's updates are tried in order).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from typing import Any

import aiohttp

from standin.server import StandIn

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


def chat_of(update: dict[str, Any]) -> int | None:
    """The chat an update belongs to: its message's, or the message its button was under."""
    for value in update.values():
        if isinstance(value, dict):
            for holder in (value, value.get("message")):
                chat = holder.get("chat") if isinstance(holder, dict) else None
                if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                    return int(chat["id"])
    return None


class WebhookCourier:
    """Delivers the stand-in's queued updates by webhook to ``targets`` until ``close()``."""

    def __init__(
        self,
        standin: StandIn,
        targets: list[str],
        secret: str,
        *,
        connections: int = 8,
        timeout: float = 10.0,
        retry_after: float = 0.2,
        seed: int = 0,
        repeat_share: float = 0.0,
    ) -> None:
        self.standin = standin
        self.targets = targets
        self.secret = secret
        self.connections = connections
        self.timeout = timeout
        self.retry_after = retry_after
        # Telegram sends an update again when the 200 did not reach it: this share of accepted updates is
        # delivered once more, to any target.
        self.repeat_share = repeat_share
        self.repeated = 0
        self._rng = random.Random(seed)  # noqa: S311 - a load balancer's choice, not a secret
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._busy_chats: set[int] = set()
        self._not_before: dict[int, float] = {}
        self._chat_waits: dict[int, float] = {}
        self.accepted: Counter[int] = Counter()
        """How many POSTs of each update were answered 200."""
        self.failed_attempts = 0
        self._session: aiohttp.ClientSession | None = None
        self._runner: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin delivering in the background."""
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        self._runner = asyncio.create_task(self._run())

    async def close(self) -> None:
        """Stop delivering (updates not yet accepted stay queued) and close the connections."""
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        for task in list(self._in_flight.values()):
            task.cancel()
        await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            for update in self.standin.pending_updates():
                if len(self._in_flight) >= self.connections:
                    break
                update_id = update["update_id"]
                chat = chat_of(update)
                if update_id in self._in_flight or self._not_before.get(update_id, 0.0) > now:
                    continue
                if chat is not None and (chat in self._busy_chats or self._chat_waits.get(chat, 0.0) > now):
                    continue  # a chat's updates go one at a time, in order, even after a failed attempt
                if chat is not None:
                    self._busy_chats.add(chat)
                self._in_flight[update_id] = asyncio.create_task(self._deliver(update, chat))
            await self.standin.world.signal.wait(0.02)

    async def _deliver(self, update: dict[str, Any], chat: int | None) -> None:
        update_id = update["update_id"]
        try:
            if await self._post(update):
                self.accepted[update_id] += 1
                if self._rng.random() < self.repeat_share:
                    self.repeated += 1
                    self.accepted[update_id] += await self._post(update)
                self.standin.world.updates.acknowledge(update_id)
            else:
                self.failed_attempts += 1
                retry_at = asyncio.get_running_loop().time() + self.retry_after
                self._not_before[update_id] = retry_at
                if chat is not None:
                    self._chat_waits[chat] = retry_at
        finally:
            del self._in_flight[update_id]
            if chat is not None:
                self._busy_chats.discard(chat)
            self.standin.world.signal.fire()

    async def _post(self, update: dict[str, Any]) -> bool:
        """One attempt at one target; True when it answered 200."""
        assert self._session is not None
        target = self._rng.choice(self.targets)
        try:
            async with self._session.post(target, json=update, headers={SECRET_HEADER: self.secret}) as answer:
                return answer.status == 200
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False
