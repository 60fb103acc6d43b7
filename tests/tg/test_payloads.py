"""Turning replies into what Telegram accepts: callback data and message lengths."""

from __future__ import annotations

import pytest

from bot.standin.htmltext import parse_html
from bot.tg.payloads import MAX_TEXT, decode_callback, encode_callback, split_html, telegram_length


@pytest.mark.parametrize(
    "html",
    [
        "\n\n".join(["💡 <b>Lesson</b> " + "x" * 150] * 40),  # emoji count twice in Telegram's limit
        ("a &amp; b " * 900) + ("🙂" * 3000),
        "y" * 10_000,
        "<i>" + "word " * 2000 + "</i>",
    ],
)
def test_every_part_fits_and_still_parses(html: str) -> None:
    parts = split_html(html)
    assert len(parts) > 1
    for part in parts:
        assert telegram_length(part) <= MAX_TEXT
        parse_html(part)  # raises on a tag or entity cut in half


def test_a_short_message_is_left_alone() -> None:
    assert split_html("<b>hi</b>") == ["<b>hi</b>"]


def test_callback_data_round_trips_and_refuses_over_64_bytes() -> None:
    assert decode_callback(encode_callback("anxious", 7)) == (7, "anxious")
    assert decode_callback("no-sequence") == (None, "no-sequence")
    with pytest.raises(ValueError, match="64 bytes"):
        encode_callback("é" * 40, 1)
