"""Sending committed replies from the outbox: in order per chat, with retries, never twice on success.

A reply leaves the outbox only after Telegram accepted it, or refused it for good (the user blocked the
bot, or the message it edits is gone). A crash between sending and marking means one duplicate message
after restart; never a lost one. Network trouble is retried with growing waits, and a 429 waits exactly
as long as Telegram asks. A reply whose HTML Telegram refuses goes out as plain text rather than not at
all; a row that cannot be sent at all (a bug) is dropped with an error, never left to block the chat.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import html
import logging
import re
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.storage.protocols import Storage
from bot.tg.identity import external_id_of
from bot.tg.payloads import parse_payload, split_html, telegram_length
from bot.tg.spool import Spool
from bot.tg.throttle import Throttle

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
MAX_CAPTION = 1024
_TAG = re.compile(r"<[^>]+>")


def plain_text(html_text: str) -> str:
    """What HTML shows, as plain text: tags dropped, entities such as ``&amp;`` turned back into characters."""
    return html.unescape(_TAG.sub("", html_text))


def keyboard(rows: list[list[dict[str, str]]]) -> InlineKeyboardMarkup | None:
    """An inline keyboard from payload rows, or None when there are no buttons."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(button["label"], callback_data=button["data"]) for button in row] for row in rows]
    )


class Marks:
    """Marks sent replies in the outbox, many in one transaction: every send waiting for its mark shares the
    next commit.

    One transaction per reply made the write lock the bottleneck when many chats were sent to at once (after a
    restart with a backlog, each mark waited more than a second behind the others: a bot restarted again and
    again got almost nothing marked, and sent the same messages again at every start).
    """

    def __init__(self, repository: Storage) -> None:
        self._repository = repository
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._committing: asyncio.Task[None] | None = None

    async def mark(self, outbox_id: int) -> None:
        """Return once ``outbox_id`` is marked sent (committed); raises what the database raised.

        A caller cancelled meanwhile leaves the mark to go ahead: Telegram has the message.
        """
        marked = asyncio.get_running_loop().create_future()
        self._waiting[outbox_id] = marked
        if self._committing is None or self._committing.done():
            self._committing = asyncio.create_task(self._commit_waiting())
        await asyncio.shield(marked)

    async def _commit_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, {}
            try:
                async with self._repository.transaction() as repository:
                    await repository.mark_replies_sent(list(batch))
            except Exception as trouble:  # each waiting send hears of it, as if it had marked its own
                for marked in batch.values():
                    if not marked.done():
                        marked.set_exception(trouble)
                continue
            for marked in batch.values():
                if not marked.done():
                    marked.set_result(None)


class SteppedDown(Exception):
    """This process stopped leading while a send waited for its turn: the send is left to the new leader."""


class Sender:
    """Delivers outbox rows through ``bot``; one chat's rows go out one at a time and in order."""

    def __init__(self, bot: Bot, repository: Storage, spool: Spool, throttle: Throttle | None = None) -> None:
        self._bot = bot
        self._repository = repository
        self.spool = spool
        self._throttle = throttle or Throttle()
        # Per chat, only while someone is sending to it: its lock, how many flushes want it, how many of those
        # are replies (which make every send to that chat urgent). Idle chats keep nothing.
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}
        self._replies_waiting: dict[int, int] = {}
        # False while another replica leads the deployment (bot.storage.leadership): it sends everything, woken
        # by the database when replies commit here, so Telegram's limits hold for the whole deployment.
        self.leading = True
        self._idle = asyncio.Event()  # set while no flush is in progress
        self._idle.set()
        self._marks = Marks(repository)

    async def flush(self, chat_id: int, urgent: bool = True) -> bool:
        """Send every pending reply of one chat, in order; True when the chat's outbox is empty afterwards (False
        at once, sending nothing, while another replica leads).

        ``urgent`` for replies to someone who just wrote (they go before bulk sends); False for check-ins,
        exports and retries. Rows are read without the write lock, and each is marked sent as soon as Telegram
        takes it, before the next goes: a crash in between sends that one again after a restart (before
        anything newer), never loses it.
        """
        if not self.leading:
            return False  # committed, so not lost: the leader sends it
        self._users[chat_id] = self._users.get(chat_id, 0) + 1
        self._idle.clear()
        if urgent:
            self._replies_waiting[chat_id] = self._replies_waiting.get(chat_id, 0) + 1
        try:
            async with self._chat_locks.setdefault(chat_id, asyncio.Lock()):
                return await self._flush_locked(chat_id)
        finally:
            self._leave(chat_id, urgent)

    def _leave(self, chat_id: int, urgent: bool) -> None:
        if urgent:
            self._replies_waiting[chat_id] -= 1
            if not self._replies_waiting[chat_id]:
                del self._replies_waiting[chat_id]
        self._users[chat_id] -= 1
        if not self._users[chat_id]:
            del self._users[chat_id]
            del self._chat_locks[chat_id]
        if not self._users:
            self._idle.set()

    async def quiesce(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) until no flush is in progress: after ``leading`` turned False each
        stops at its next row, leaving the rest in the outbox for the next leader."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)

    async def _flush_locked(self, chat_id: int) -> bool:
        async with self._repository.snapshot() as view:
            pending = await view.pending_replies(chat_id)
        for outbox_id, _, payload in pending:
            if not self.leading:
                return False  # another replica leads now (or soon): it sends the rest
            try:
                delivered = await self._deliver(chat_id, parse_payload(payload))
            except (KeyError, TypeError, ValueError, AssertionError):
                # A row this code cannot send would block every later reply to this person: drop it.
                log.exception("outbox row %s for chat %s cannot be sent; dropping it", outbox_id, chat_id)
                delivered = True
            if not delivered:
                return False
            # Marked before the next one goes: a crash can then repeat only this message, and the repeat goes
            # out before anything newer. (Marked once per batch, a crash late in a batch sent all of it again,
            # so an earlier question could land under a newer one.) The chats being sent to share each commit.
            await self._marks.mark(outbox_id)
            log.debug("outbox row %s for chat %s sent", outbox_id, chat_id)
            self._forget_file(payload)
        return True

    async def _pace(self, chat_id: int) -> None:
        """Wait for the throttle's go; raise ``SteppedDown`` if meanwhile another replica came to lead (a 429's
        pause can outlast the leadership), so the next leader alone sends what is left."""
        await self._throttle.wait(chat_id, self._urgent(chat_id))
        if not self.leading:
            raise SteppedDown

    def _urgent(self, chat_id: int) -> bool:
        """A send is urgent while a reply to this chat is waiting: a check-in never holds a reply up."""
        return chat_id in self._replies_waiting

    def _forget_file(self, payload: str) -> None:
        """Remove the spooled file a sent (or dropped) row named: Telegram has it now, or never will."""
        try:
            name = parse_payload(payload).get("file")
        except (ValueError, AssertionError):
            return
        if isinstance(name, str):
            try:
                self.spool.remove(name)
            except OSError:  # the sweep at the next start removes it; the chat's later replies must not wait
                log.exception("could not remove the sent file %s from the spool", name)

    async def sweep_files(self) -> None:
        """Remove spooled files no pending outbox row names (after /forget, or a write that rolled back)."""
        async with self._repository.snapshot() as view:
            pending = await view.pending_replies()
        wanted = []
        for _, _, payload in pending:
            try:
                name = parse_payload(payload).get("file")
            except (ValueError, AssertionError):
                continue
            if isinstance(name, str):
                wanted.append(name)
        removed = self.spool.sweep(wanted)
        if removed:
            log.info("removed %d spooled file(s) no reply needs any more", removed)

    async def flush_all(self) -> None:
        """Send what every chat has pending (after a restart, or after Telegram was unreachable); nothing while
        another replica leads.

        The chat whose reply has waited longest starts first. (In chat id order, a bot restarted again and
        again before it got through the backlog served the same low ids every time, and left the others
        waiting: the crash test saw a person wait 40 s for a question committed long before.)
        """
        if not self.leading:
            return
        async with self._repository.snapshot() as view:
            chats = await view.chats_with_pending_replies()
        await asyncio.gather(*(self.flush(chat_id, urgent=False) for chat_id in chats))

    async def _deliver(self, chat_id: int, payload: dict[str, Any]) -> bool:
        """Send one payload, retrying transient faults; False leaves it in the outbox for later."""
        delay = FIRST_BACKOFF_S
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if attempt > 1 and not self.leading:
                return False  # left in the outbox for the replica that leads now
            try:
                await self._send(chat_id, payload)
                return True
            except SteppedDown:
                return False  # left in the outbox for the replica that leads now
            except RetryAfter as flood:
                wait = flood.retry_after
                seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                log.warning("flood control (chat %s): it waits %.0f s", chat_id, seconds)
                if self._throttle.pause(seconds, chat_id):  # this chat waits it out; several chats: all of them
                    log.warning("flood control across chats: every send waits %.0f s", seconds)
            except Forbidden:
                log.info("chat %s blocked the bot; dropping a reply and switching its check-ins off", chat_id)
                await self._switch_off_checkins(chat_id)
                return True
            except BadRequest as refused:
                if "parse entities" in refused.message.lower() and not payload.get("plain"):
                    # Telegram would not take the HTML: show the words as plain text rather than nothing.
                    log.error(
                        "Telegram refused the HTML of a reply to chat %s: %s; sending it as plain text",
                        chat_id,
                        refused.message,
                    )
                    payload = {**payload, "plain": True}
                    continue
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

    async def _switch_off_checkins(self, chat_id: int) -> None:
        try:
            async with self._repository.transaction() as repository:
                await repository.switch_off_checkins_for(external_id_of(chat_id))
        except Exception:  # the reply is dropped either way; the next nudge will try again
            log.exception("could not switch check-ins off for chat %s", chat_id)

    async def _send(self, chat_id: int, payload: dict[str, Any]) -> None:
        markup = keyboard(payload.get("buttons") or [])
        plain = bool(payload.get("plain"))
        mode = None if plain else ParseMode.HTML

        def shown(text: str) -> str:
            return plain_text(text) if plain else text

        if payload["kind"] == "edit":
            if payload.get("html") is None:
                await self._pace(chat_id)
                await self._bot.edit_message_reply_markup(chat_id, payload["message_id"], reply_markup=markup)
            else:
                await self._pace(chat_id)
                await self._bot.edit_message_text(
                    shown(payload["html"]), chat_id, payload["message_id"], parse_mode=mode, reply_markup=markup
                )
            return
        if payload["kind"] in ("document", "photo"):
            await self._send_file(chat_id, payload, shown(payload.get("caption") or ""), mode)
            return
        parts = split_html(payload["html"])
        for number, part in enumerate(parts):
            last = number == len(parts) - 1
            await self._pace(chat_id)
            await self._bot.send_message(chat_id, shown(part), parse_mode=mode, reply_markup=markup if last else None)

    async def _send_file(self, chat_id: int, payload: dict[str, Any], caption: str, mode: ParseMode | None) -> None:
        """A document or photo; a caption too long for one goes out as a message of its own after it."""
        if "file" in payload:
            data = self.spool.read(payload["file"])
            if data is None:
                raise ValueError(f"spooled file {payload['file']} is gone")
        else:
            data = base64.b64decode(payload["data"])  # rows written before files were spooled
        content = InputFile(data, filename=payload["filename"])
        fits = telegram_length(caption) <= MAX_CAPTION
        with_caption = caption if fits and caption else None
        if payload["kind"] == "photo":
            await self._pace(chat_id)
            await self._bot.send_photo(chat_id, content, caption=with_caption, parse_mode=mode)
        else:
            await self._pace(chat_id)
            await self._bot.send_document(chat_id, content, caption=with_caption, parse_mode=mode)
        if caption and not fits:
            for part in split_html(caption):
                await self._pace(chat_id)
                await self._bot.send_message(chat_id, part, parse_mode=mode)
