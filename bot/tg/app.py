"""The composition root: builds the python-telegram-bot Application and registers every handler."""

from __future__ import annotations

from telegram import BotCommand
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.conversation import Conversations
from bot.flows.catalog import Catalog
from bot.render import render
from bot.tg.handlers import Gatekeeper, Handlers
from bot.tg.sender import Sender
from bot.tg.spool import Spool
from bot.tg.throttle import Throttle

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
POLL_TIMEOUT_S = 25


def build_application(
    token: str,
    api_url: str,
    conversations: Conversations,
    allowed_user_ids: frozenset[int],
    spool: Spool,
    request: BaseRequest | None = None,
    throttle: Throttle | None = None,
) -> tuple[Application, Sender]:  # type: ignore[type-arg]
    """The Application (without an Updater: the bot's own intake confirms updates only once stored).

    ``spool`` keeps files waiting to be sent; ``request`` replaces the HTTP layer (tests pass a recording one).
    """
    base = api_url.rstrip("/")
    builder = ApplicationBuilder().token(token).base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    application = builder.updater(None).build()
    sender = Sender(application.bot, conversations.repository, spool, throttle)
    handlers = Handlers(conversations, sender, Gatekeeper(allowed_user_ids))
    # Order matters: the gate (group -1) runs first and stops groups, channels and strangers.
    application.add_handler(TypeHandler(object, handlers.gate), group=-1)
    # Buttons, then commands (before plain text, since a command is text too), then text, then the rest.
    application.add_handler(CallbackQueryHandler(handlers.on_button))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, handlers.on_command))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, handlers.on_text))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, handlers.on_other))
    # Edited messages are screened for safety, and change nothing else: the earlier answer was already applied.
    application.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, handlers.on_edited))
    application.add_error_handler(handlers.on_error)
    return application, sender


def menu_commands(catalog: Catalog) -> list[BotCommand]:
    """The commands shown in Telegram's menu: every flow's command, then the bot's own."""
    texts = catalog.texts
    commands = [BotCommand(flow.command or "", flow.title) for flow in catalog.commanded]
    own = [
        ("lessons", texts.menu_lessons),
        ("done", texts.menu_done),
        ("edit", texts.menu_edit),
        ("checkin", texts.menu_checkin),
        ("export", texts.menu_export),
        ("forget", texts.menu_forget),
        ("back", texts.menu_back),
        ("skip", texts.menu_skip),
        ("resume", texts.menu_resume),
        ("cancel", texts.menu_cancel),
        ("sos", texts.menu_sos),
        ("help", texts.menu_help),
        ("start", texts.menu_start),
    ]
    commands.extend(BotCommand(name, render(description, {})[:256]) for name, description in own)
    return commands
