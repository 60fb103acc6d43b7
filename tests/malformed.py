"""Updates that python-telegram-bot cannot parse, as a newer Bot API or a self-hosted server can send them.

Each carries the person's words where it can, so a test can check they never reach the log.
"""

from __future__ import annotations

from typing import Any

SECRET_WORDS = "my sister's wedding speech went so badly, zq7"


def malformed_updates(user_id: int) -> dict[str, dict[str, Any]]:
    """Malformed update bodies (without ``update_id``) from ``user_id`` in their private chat, by what is wrong."""
    person = {"id": user_id, "is_bot": False, "first_name": "Sam"}
    chat = {"id": user_id, "type": "private", "first_name": "Sam"}
    return {
        "a poll answer without option_ids": {"poll_answer": {"poll_id": "p1", "user": person}},
        "a message without a date": {"message": {"message_id": 7, "chat": chat, "from": person, "text": SECRET_WORDS}},
        "a button press without chat_instance": {
            "callback_query": {
                "id": "q1",
                "from": person,
                "data": "1:x",
                "message": {"message_id": 8, "date": 1_764_000_000, "chat": chat, "text": SECRET_WORDS},
            }
        },
    }
