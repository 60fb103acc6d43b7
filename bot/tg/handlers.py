"""Thin Telegram handlers: turn an update into an Incoming, hand it to the conversation service, send.

The service commits the state change and the replies (as outbox rows) in one transaction; the handler
then sends the outbox. Nothing here keeps state in memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.conversation import ButtonPress, Command, Conversations, Edited, Incoming, Location, NotText, Text
from bot.effects import Erased, Reply, Stale
from bot.engine import DONE_VALUE, PICKED_MARK
from bot.flows.texts import Texts
from bot.render import render
from bot.tg.identity import external_id_of
from bot.tg.payloads import clean_text, decode_callback, edit_payload, outbox_payloads
from bot.tg.sender import Sender

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
FORGED = -1


@dataclass(frozen=True)
class Gatekeeper:
    """Who may talk to the bot: private chats only, and only allow-listed users when a list is set."""

    allowed_user_ids: frozenset[int]

    def admits(self, update: Update) -> bool:
        """True when this update may reach the conversation service (and be stored)."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or chat.type != ChatType.PRIVATE or impersonates(update):
            return False
        return not self.allowed_user_ids or user.id in self.allowed_user_ids


def impersonates(update: Update) -> bool:
    """True for an update in a private chat sent by someone other than that chat's person.

    Telegram never sends one (a private chat's id is its person's user id), so it is forged: acting on
    it could deliver one person's /export into another's chat, or erase them.
    """
    chat, user = update.effective_chat, update.effective_user
    return chat is not None and user is not None and chat.type == ChatType.PRIVATE and chat.id != user.id


class Handlers:
    """The bot's handlers, sharing one conversation service and one sender."""

    def __init__(self, conversations: Conversations, sender: Sender, gatekeeper: Gatekeeper) -> None:
        self._conversations = conversations
        self._sender = sender
        self._gatekeeper = gatekeeper

    @property
    def _texts(self) -> Texts:
        return self._conversations.catalog.texts

    async def gate(self, update: Update, context: Context) -> None:
        """Stop updates from groups, channels and (with an allowlist) strangers, with a polite word."""
        if self._gatekeeper.admits(update):
            return
        if impersonates(update):
            log.warning("refused update %s: a private chat whose sender is someone else", update.update_id)
            raise ApplicationHandlerStop  # no reply: the chat named in a forged update is not the sender's
        chat = update.effective_chat
        if update.callback_query is not None:
            await _quietly(update.callback_query.answer())
        if chat is not None and update.effective_message is not None and update.effective_user is not None:
            text = self._texts.private_only if chat.type != ChatType.PRIVATE else self._texts.not_allowed
            await _quietly(context.bot.send_message(chat.id, render(text, {}), parse_mode=ParseMode.HTML))
        raise ApplicationHandlerStop

    async def on_command(self, update: Update, context: Context) -> None:
        """A /command: the first word, without the bot's @username suffix."""
        message = update.effective_message
        assert message is not None and message.text is not None
        # Any whitespace ends the command's name: "/reframe⏎I missed it" is /reframe with its words.
        first, *rest = message.text.split(maxsplit=1)
        name = first[1:].split("@", 1)[0].lower()
        await self._apply(update, Command(clean_text(name), clean_text(rest[0].strip()) if rest else None))

    async def on_edited(self, update: Update, context: Context) -> None:
        """An edited message: screened for safety like any text; it changes no answer already given."""
        message = update.edited_message
        assert message is not None
        text = message.text or message.caption
        if text:
            await self._apply(update, Edited(clean_text(text)))

    async def on_text(self, update: Update, context: Context) -> None:
        """Typed text: an answer, or a nudge towards a flow."""
        message = update.effective_message
        assert message is not None and message.text is not None
        await self._apply(update, Text(clean_text(message.text)))

    async def on_other(self, update: Update, context: Context) -> None:
        """Stickers, photos, voice, documents: a kind word and the current question again. A location is
        used only to set the check-in timezone (and is never stored)."""
        message = update.effective_message
        assert message is not None
        if message.location is not None:
            await self._apply(update, Location(message.location.latitude, message.location.longitude))
            return
        kind = next(
            (name for name in ("sticker", "photo", "voice", "document", "location", "video") if getattr(message, name)),
            "other",
        )
        caption = clean_text(message.caption) if message.caption is not None else None
        await self._apply(update, NotText(kind, caption))

    async def on_button(self, update: Update, context: Context) -> None:
        """A tapped inline button; a stale one gets a short notice and changes nothing."""
        query = update.callback_query
        assert query is not None
        seq, value = decode_callback(query.data)
        if seq is None:
            seq = FORGED  # every button this bot sends carries its sequence; one without is not ours
        message = query.message if isinstance(query.message, Message) else None
        replies = await self._apply(update, ButtonPress(value, seq), pressed_on=message, pressed_data=query.data)
        stale = any(isinstance(reply, Stale) for reply in replies)
        await _quietly(query.answer(render(self._texts.stale_button, {}) if stale else None))

    async def _apply(
        self,
        update: Update,
        incoming: Incoming,
        pressed_on: Message | None = None,
        pressed_data: str | None = None,
    ) -> list[Reply]:
        chat, user = update.effective_chat, update.effective_user
        assert chat is not None and user is not None
        texts = self._texts

        def to_outbox(replies: list[Reply], moved: bool) -> tuple[int, list[str]]:
            payloads: list[str] = []
            if moved and pressed_on is not None and pressed_on.text:
                label = _button_label(pressed_on, pressed_data)
                chosen = render(texts.chosen_answer, {"answer": label}) if label else ""
                html = f"{pressed_on.text_html}\n\n{chosen}" if chosen else pressed_on.text_html
                payloads.append(edit_payload(pressed_on.message_id, html, []))
            edit_in = pressed_on.message_id if pressed_on is not None else None
            payloads.extend(outbox_payloads(replies, self._sender.spool, edit_in=edit_in))
            return chat.id, payloads

        handled = await self._conversations.handle_update(
            external_id_of(user.id), incoming, update_id=update.update_id, outbox=to_outbox, locale=user.language_code
        )
        if handled.duplicate:
            log.info("update %s was already handled; ignoring the repeat", update.update_id)
        await self._sender.flush(chat.id)
        if any(isinstance(reply, Erased) for reply in handled.replies):
            await self._sender.sweep_files()  # /forget removed the person's outbox rows; their files go too
        return handled.replies

    async def on_error(self, update: object, context: Context) -> None:
        """Log the failure with its context (never the user's text) and tell the person, kindly."""
        update_id = update.update_id if isinstance(update, Update) else None
        chat = update.effective_chat if isinstance(update, Update) else None
        log.error(
            "handling update %s for chat %s failed",
            update_id,
            chat.id if chat else None,
            exc_info=context.error,
        )
        if chat is not None:
            await _quietly(
                context.bot.send_message(
                    chat.id, render(self._texts.something_went_wrong, {}), parse_mode=ParseMode.HTML
                )
            )


def _button_label(message: Message, data: str | None) -> str | None:
    """The label of the tapped button; for "Done" under a pick-several question, the picked labels."""
    markup = message.reply_markup
    if markup is None or data is None:
        return None
    buttons = [button for row in markup.inline_keyboard for button in row]
    tapped = next((button for button in buttons if button.callback_data == data), None)
    if tapped is None:
        return None
    if decode_callback(data)[1] == DONE_VALUE:
        picked = [button.text.removeprefix(PICKED_MARK) for button in buttons if button.text.startswith(PICKED_MARK)]
        return ", ".join(picked) or None
    return tapped.text


async def _quietly(call: object) -> None:
    """Await a best-effort Telegram call (a callback answer, a notice); its failure changes nothing."""
    try:
        await call  # type: ignore[misc]
    except TelegramError as problem:
        log.debug("best-effort call failed: %s", problem.message)
