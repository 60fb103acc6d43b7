"""The one periodic job: every few seconds, send the check-ins that are due.

Nothing is kept in memory per person: each run asks the database who is due (an indexed ``wake_at``),
commits each nudge with its schedule change and outbox rows, then sends. A restart needs nothing rebuilt.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

from bot.conversation import Conversations
from bot.effects import Reply
from bot.tg.identity import chat_of as chat_of  # re-exported: bot.tg.heavy reads it from here
from bot.tg.identity import is_telegram
from bot.tg.payloads import outbox_payloads
from bot.tg.sender import Sender
from bot.tg.spool import Spool

log = logging.getLogger(__name__)

CHECK_EVERY_S = 20.0


def nudge_outbox(spool: Spool, external_id: str, replies: list[Reply]) -> tuple[int, list[str]] | None:
    """Outbox payloads for a nudge's replies (files into ``spool``), or None for someone not on Telegram."""
    chat_id = chat_of(external_id)
    if chat_id is None:
        return None
    return chat_id, outbox_payloads(replies, spool)


async def send_due_checkins(conversations: Conversations, sender: Sender) -> int:
    """Commit and send every check-in due now; returns how many people were nudged.

    A batch's messages start going out (in the bulk lane, behind any reply) while the next batch is
    committed; the pass ends when no one due is left, so a crowd due at once goes out without gaps.
    """
    outbox = functools.partial(nudge_outbox, sender.spool)
    sending: list[asyncio.Task[bool]] = []
    count = 0
    async for batch in conversations.checkin_batches(outbox=outbox, whose=is_telegram):
        chats = [chat for external_id, _ in batch if (chat := chat_of(external_id)) is not None]
        sending += [asyncio.create_task(sender.flush(chat, urgent=False)) for chat in chats]
        count += len(batch)
    try:
        await asyncio.gather(*sending)
    finally:
        for task in sending:
            task.cancel()
    if count:
        log.info("sent %d check-in(s)", count)
    return count


async def run_checkin_job(
    conversations: Conversations, sender: Sender, stop: asyncio.Event, every: float = CHECK_EVERY_S
) -> None:
    """Until ``stop``: send due check-ins (while this process leads the deployment, see ``Sender.leading``),
    then wait ``every`` seconds. A failure is logged, never fatal."""
    while not stop.is_set():
        try:
            if sender.leading:
                await send_due_checkins(conversations, sender)
        except Exception:  # one bad pass must not end the job for everyone
            log.exception("sending check-ins failed; trying again in %.0f s", every)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
