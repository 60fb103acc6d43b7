"""Sending committed replies from the outbox: in order per chat, with retries, never twice on success.

A reply leaves the outbox only after Telegram accepted it, or refused it for good (the user blocked the
bot, or the message it edits is gone). A crash between sending and marking means one duplicate message
after restart; never a lost one.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.storage.repository import Repository
from bot.tg.payloads import parse_payload, split_html

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0


def keyboard(rows: list[list[dict[str, str]]]) -> InlineKeyboardMarkup | None:
    """An inline keyboard from payload rows, or None when there are no buttons."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(button["label"], callback_data=button["data"]) for button in row] for row in rows]
    )


class Sender:
    """Delivers outbox rows through ``bot``; one chat's rows go out one at a time and in order."""

    def __init__(self, bot: Bot, repository: Repository) -> None:
        self._bot = bot
        self._repository = repository
        self._chat_locks: dict[int, asyncio.Lock] = {}

    def _lock(self, chat_id: int) -> asyncio.Lock:
        return self._chat_locks.setdefault(chat_id, asyncio.Lock())

    async def flush(self, chat_id: int) -> bool:
        """Send every pending reply of one chat; True when the chat's outbox is empty afterwards."""
        async with self._lock(chat_id):
            async with self._repository.transaction() as repository:
                pending = await repository.pending_replies(chat_id)
            for outbox_id, _, payload in pending:
                if not await self._deliver(chat_id, parse_payload(payload)):
                    return False
                async with self._repository.transaction() as repository:
                    await repository.mark_reply_sent(outbox_id)
        return True

    async def flush_all(self) -> None:
        """Send what every chat has pending (after a restart, or after Telegram was unreachable)."""
        async with self._repository.transaction() as repository:
            chats = sorted({chat_id for _, chat_id, _ in await repository.pending_replies()})
        await asyncio.gather(*(self.flush(chat_id) for chat_id in chats))

    async def _deliver(self, chat_id: int, payload: dict[str, Any]) -> bool:
        """Send one payload, retrying transient faults; False leaves it in the outbox for later."""
        delay = FIRST_BACKOFF_S
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                await self._send(chat_id, payload)
                return True
            except RetryAfter as flood:
                wait = flood.retry_after
                seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                log.warning("flood control for chat %s: waiting %.0f s", chat_id, seconds)
                await asyncio.sleep(seconds)
            except Forbidden:
                log.info("chat %s blocked the bot; dropping a reply", chat_id)
                return True
            except BadRequest as refused:
                if payload["kind"] == "edit":
                    log.debug("edit in chat %s refused (%s); skipping it", chat_id, refused.message)
                else:
                    log.error("Telegram refused a reply to chat %s: %s; dropping it", chat_id, refused.message)
                return True
            except NetworkError as fault:
                log.warning("sending to chat %s failed (attempt %d): %s", chat_id, attempt, fault.message)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
            except TelegramError as fault:
                log.error("unexpected Telegram error for chat %s: %s; dropping the reply", chat_id, fault.message)
                return True
        return False

    async def _send(self, chat_id: int, payload: dict[str, Any]) -> None:
        markup = keyboard(payload.get("buttons") or [])
        if payload["kind"] == "edit":
            if payload.get("html") is None:
                await self._bot.edit_message_reply_markup(chat_id, payload["message_id"], reply_markup=markup)
            else:
                await self._bot.edit_message_text(
                    payload["html"],
                    chat_id,
                    payload["message_id"],
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )
            return
        parts = split_html(payload["html"])
        for number, part in enumerate(parts):
            last = number == len(parts) - 1
            await self._bot.send_message(
                chat_id, part, parse_mode=ParseMode.HTML, reply_markup=markup if last else None
            )
