"""``springboard set-webhook``: register the webhook with Telegram once, as a deploy step."""

from __future__ import annotations

from telegram import Bot
from telegram.error import TelegramError

from bot.config import Settings
from bot.tg.webhook import register_webhook


async def set_webhook_once(settings: Settings, token: str) -> str | None:
    """Ask Telegram (or ``TELEGRAM_API_URL``) to deliver to ``WEBHOOK_URL``; None when done, else why not."""
    base = settings.telegram_api_url.rstrip("/")
    bot = Bot(token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot")
    try:
        async with bot:
            await register_webhook(settings, bot)
    except TelegramError as fault:
        return fault.message
    return None
