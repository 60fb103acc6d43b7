"""Turning replies into what Telegram accepts: callback data and message lengths."""

from __future__ import annotations

import pytest

from bot.tg.payloads import MAX_TEXT, clean_text, decode_callback, encode_callback, split_html, telegram_length
from standin.htmltext import parse_html


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


@pytest.mark.parametrize("data", ["1:lessons:del:" + "9" * 19, "9" * 19, "1:\ud800", "\udc00:x", "1:" + "é" * 40])
def test_callback_data_no_button_of_ours_carries_decodes_to_nothing(data: str) -> None:
    assert decode_callback(data) == (None, "")


def test_a_sequence_in_other_digits_is_no_sequence() -> None:
    assert decode_callback("²:x") == (None, "²:x")  # int("²") would raise


def test_the_longest_numbers_our_buttons_carry_still_decode() -> None:
    assert decode_callback("12:lessons:del:" + "9" * 18) == (12, "lessons:del:" + "9" * 18)


def test_lone_surrogates_are_replaced_and_whole_characters_kept() -> None:
    assert clean_text("a\ud83db\udfff 😀") == "a\ufffdb\ufffd 😀"
    clean_text("\ud800x").encode("utf-8")  # encodable now
