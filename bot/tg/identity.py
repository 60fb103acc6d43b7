"""How a Telegram person is named outside ``bot/tg/``: ``tg:<user id>``, and back to their private chat.

The rest of the bot knows people by an adapter-specific external id; this is the only place that spells
Telegram's. In a private chat the chat id is the user's id, so the one number serves both.
"""

from __future__ import annotations

PREFIX = "tg:"


def external_id_of(user_id: int) -> str:
    """The external id of a Telegram user (``tg:123``)."""
    return f"{PREFIX}{user_id}"


def chat_of(external_id: str) -> int | None:
    """The private chat of a Telegram user (its id is the user's), or None for other adapters' users."""
    prefix, _, number = external_id.partition(":")
    return int(number) if f"{prefix}:" == PREFIX and number.lstrip("-").isdigit() else None


def is_telegram(external_id: str) -> bool:
    """True for a person this adapter can reach."""
    return chat_of(external_id) is not None
