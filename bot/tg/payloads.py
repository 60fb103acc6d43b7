"""Pure translation between the engine's replies and what is sent to Telegram.

Outbox rows hold JSON payloads: ``{"kind": "send", "html", "buttons"}`` or
``{"kind": "edit", "message_id", "html" (None: keep the text), "buttons"}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.effects import Button, Reply, Say, SendFile
from bot.tg.spool import Spool

MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64


def encode_callback(value: str, seq: int | None) -> str:
    """``callback_data`` for a button: the state sequence it belongs to and its value (≤ 64 bytes)."""
    data = value if seq is None else f"{seq}:{value}"
    if len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data[:20]}…")
    return data


# No number this bot puts in a button (a sequence, a page, a run id) has more digits; SQLite's integers
# end at 19 digits, so a longer one could only fail further in.
MAX_NUMBER_DIGITS = 18
_LONG_NUMBER = re.compile(f"[0-9]{{{MAX_NUMBER_DIGITS + 1},}}")
# Half of a UTF-16 surrogate pair: JSON can carry one ("\\ud83d"), UTF-8 cannot encode it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT_CHARACTER = "\ufffd"


def decode_callback(data: str | None) -> tuple[int | None, str]:
    """(sequence or None, value) from ``callback_data``; forged or odd data decodes to something harmless.

    Data no button of ours could carry (over 64 bytes, a lone surrogate, a number too long for any id we
    use) decodes to ``(None, "")``: a press that matches nothing, answered as a stale button.
    """
    if not data or _LONE_SURROGATE.search(data) or _LONG_NUMBER.search(data):
        return None, ""
    if len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        return None, ""
    head, separator, tail = data.partition(":")
    if separator and head.isascii() and head.isdigit() and len(head) < 12:
        return int(head), tail
    return None, data


def clean_text(text: str) -> str:
    """``text`` with each lone UTF-16 surrogate replaced by U+FFFD (the replacement character).

    Python decodes JSON's ``"\\ud83d"`` without a partner into a string that neither SQLite nor Telegram
    accept (it has no UTF-8 form); whole pairs arrive already joined into one character.
    """
    return _LONE_SURROGATE.sub(REPLACEMENT_CHARACTER, text)


def buttons_json(say: Say) -> list[list[dict[str, str]]]:
    """The reply's buttons as rows of ``{"label", "data"}``."""
    return [[_button(button, say.seq) for button in row] for row in say.buttons]


def _button(button: Button, seq: int | None) -> dict[str, str]:
    return {"label": button.label, "data": encode_callback(button.value, seq)}


def outbox_payloads(replies: Sequence[Reply], spool: Spool, *, edit_in: int | None = None) -> list[str]:
    """The outbox payloads for ``replies``, in order: the one translation from effects to Telegram.

    Used for replies to a person's message and for nudges alike. ``edit_in`` is the message whose button
    was pressed: a ``Say`` that asks to edit in place replaces that message (unless it has grown too long
    to edit, then it is sent afresh); without it every ``Say`` is sent as a new message. Files go into
    ``spool``; ``Stale`` and ``Erased`` send nothing.
    """
    payloads: list[str] = []
    for reply in replies:
        if isinstance(reply, SendFile):
            payloads.extend(file_payloads(spool, reply.kind, reply.filename, reply.content, reply.caption_html))
        elif isinstance(reply, Say):
            if reply.edit and edit_in is not None and telegram_length(reply.html) <= MAX_TEXT:
                payloads.append(edit_payload(edit_in, reply.html, buttons_json(reply)))
            else:
                payloads.extend(send_payloads(reply))
    return payloads


def send_payloads(say: Say) -> list[str]:
    """Outbox payloads for ``say``: one per part when it is longer than Telegram takes (buttons on the
    last part), so each part is marked sent on its own and a retry never repeats the parts that arrived."""
    parts = split_html(say.html)
    last = len(parts) - 1
    return [
        json.dumps(
            {"kind": "send", "html": part, "buttons": buttons_json(say) if number == last else []},
            ensure_ascii=False,
        )
        for number, part in enumerate(parts)
    ]


def edit_payload(message_id: int, html: str | None, buttons: list[list[dict[str, str]]]) -> str:
    """An outbox payload that edits an earlier message (its text, when given, and its buttons)."""
    return json.dumps({"kind": "edit", "message_id": message_id, "html": html, "buttons": buttons}, ensure_ascii=False)


def file_payloads(spool: Spool, kind: str, filename: str, content: bytes | Path, caption_html: str) -> list[str]:
    """Outbox payloads that send a document or a photo: the bytes go to ``spool`` and the rows name the file.

    A large document goes zipped, a huge one in parts (see :mod:`bot.tg.spool`); the caption rides on the
    first. Nothing of the content itself is written into the outbox table.
    """
    stored = [(filename, spool.put(content))] if kind == "photo" else spool.put_document(filename, content)
    return [
        json.dumps({"kind": kind, "filename": shown, "file": name, "caption": caption_html if number == 0 else ""})
        for number, (shown, name) in enumerate(stored)
    ]


def parse_payload(text: str) -> dict[str, Any]:
    """Decode an outbox payload."""
    value = json.loads(text)
    assert isinstance(value, dict)
    return value


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji such as 💡 counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def split_html(html: str, limit: int = MAX_TEXT) -> list[str]:
    """Split a message at paragraph boundaries so no part exceeds ``limit`` as Telegram counts length.

    Lengths are measured on the HTML itself, which is never shorter than what Telegram shows, so a part
    that fits here fits there. A single paragraph longer than the limit is split at line breaks, then
    spaces, after its tags are dropped (a cut inside ``<b>…</b>`` would make Telegram reject both halves).
    """
    if telegram_length(html) <= limit:
        return [html]
    parts: list[str] = []
    current = ""
    for paragraph in html.split("\n\n"):
        pieces = [paragraph] if telegram_length(paragraph) <= limit else _hard_split(paragraph, limit)
        for piece in pieces:
            candidate = f"{current}\n\n{piece}" if current else piece
            if telegram_length(candidate) <= limit:
                current = candidate
            else:
                if current:
                    parts.append(current)
                current = piece
    if current:
        parts.append(current)
    return parts


def _hard_split(paragraph: str, limit: int) -> list[str]:
    """Cut an over-long paragraph into plain-text pieces at line breaks or spaces, never inside an entity."""
    plain = _TAG.sub("", paragraph)
    tokens = re.findall(r"&[#a-zA-Z0-9]+;|\s+|[^\s&]+|&", plain)
    pieces: list[str] = []
    current = ""
    for token in tokens:
        while telegram_length(token) > limit:  # one enormous word: cut it by characters
            room = limit - telegram_length(current)
            cut = max(1, room // 2)
            current += token[:cut]
            token = token[cut:]
            pieces.append(current)
            current = ""
        if telegram_length(current) + telegram_length(token) > limit:
            pieces.append(current.rstrip())
            current = token.lstrip()
        else:
            current += token
    if current.strip():
        pieces.append(current.strip())
    return [piece for piece in pieces if piece]


_TAG = re.compile(r"<[^>]+>")
