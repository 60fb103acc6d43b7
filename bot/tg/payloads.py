"""Pure translation between the engine's replies and what is sent to Telegram.

Outbox rows hold JSON payloads: ``{"kind": "send", "html", "buttons"}`` or
``{"kind": "edit", "message_id", "html" (None: keep the text), "buttons"}``.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from bot.engine import Button, Say

MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64


def encode_callback(value: str, seq: int | None) -> str:
    """``callback_data`` for a button: the state sequence it belongs to and its value (≤ 64 bytes)."""
    data = value if seq is None else f"{seq}:{value}"
    if len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data[:20]}…")
    return data


def decode_callback(data: str | None) -> tuple[int | None, str]:
    """(sequence or None, value) from ``callback_data``; forged or odd data decodes to something harmless."""
    if not data:
        return None, ""
    head, separator, tail = data.partition(":")
    if separator and head.isdigit() and len(head) < 12:
        return int(head), tail
    return None, data


def buttons_json(say: Say) -> list[list[dict[str, str]]]:
    """The reply's buttons as rows of ``{"label", "data"}``."""
    return [[_button(button, say.seq) for button in row] for row in say.buttons]


def _button(button: Button, seq: int | None) -> dict[str, str]:
    return {"label": button.label, "data": encode_callback(button.value, seq)}


def send_payload(say: Say) -> str:
    """An outbox payload that sends ``say`` as a new message."""
    return json.dumps({"kind": "send", "html": say.html, "buttons": buttons_json(say)}, ensure_ascii=False)


def edit_payload(message_id: int, html: str | None, buttons: list[list[dict[str, str]]]) -> str:
    """An outbox payload that edits an earlier message (its text, when given, and its buttons)."""
    return json.dumps({"kind": "edit", "message_id": message_id, "html": html, "buttons": buttons}, ensure_ascii=False)


def file_payload(kind: str, filename: str, content: bytes, caption_html: str) -> str:
    """An outbox payload that sends a document or a photo (its bytes travel base64-encoded)."""
    return json.dumps(
        {
            "kind": kind,
            "filename": filename,
            "data": base64.b64encode(content).decode("ascii"),
            "caption": caption_html,
        }
    )


def parse_payload(text: str) -> dict[str, Any]:
    """Decode an outbox payload."""
    value = json.loads(text)
    assert isinstance(value, dict)
    return value


def split_html(html: str, limit: int = MAX_TEXT) -> list[str]:
    """Split a message at paragraph boundaries so no part exceeds ``limit`` characters.

    A single paragraph longer than the limit is split at line breaks, then spaces, after its tags are
    dropped (a cut inside ``<b>…</b>`` would make Telegram reject both halves).
    """
    if len(html) <= limit:
        return [html]
    parts: list[str] = []
    current = ""
    for paragraph in html.split("\n\n"):
        pieces = [paragraph] if len(paragraph) <= limit else _hard_split(paragraph, limit)
        for piece in pieces:
            candidate = f"{current}\n\n{piece}" if current else piece
            if len(candidate) <= limit:
                current = candidate
            else:
                if current:
                    parts.append(current)
                current = piece
    if current:
        parts.append(current)
    return parts


def _hard_split(paragraph: str, limit: int) -> list[str]:
    plain = _TAG.sub("", paragraph)
    pieces: list[str] = []
    while len(plain) > limit:
        cut = plain.rfind("\n", 0, limit)
        if cut <= 0:
            cut = plain.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        amp = plain.rfind("&", max(0, cut - 10), cut)
        if amp > 0 and ";" not in plain[amp:cut]:
            cut = amp  # never cut an entity such as &amp; in half
        pieces.append(plain[:cut].rstrip())
        plain = plain[cut:].lstrip()
    if plain:
        pieces.append(plain)
    return pieces


_TAG = re.compile(r"<[^>]+>")
