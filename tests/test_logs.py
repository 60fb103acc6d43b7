"""The log at INFO and above never carries what people wrote, from our code or from libraries, nor the token."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logs import WITHHELD, configure_logging, describe_exception

WORDS = "my manager shouted at me in front of everyone"
TOKEN = "123456789:AAE-abcdefghijklmnopqrstuvwxyz012345"


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    configure_logging("DEBUG", secrets=(TOKEN,))
    try:
        yield stream
    finally:
        root.handlers[:], root.level = before


def test_ptb_logging_a_whole_batch_at_critical_keeps_its_wording_but_not_the_batch(captured: io.StringIO) -> None:
    batch = [{"update_id": 1, "message": {"text": WORDS}}]
    logging.getLogger("telegram.Bot").critical("Error while parsing updates! Received data was %r", batch)
    logging.getLogger("telegram.request").error('Can not load invalid JSON data: "%s"', f'{{"text": "{WORDS}"')
    logging.getLogger("telegram.ext.Application").critical("Error building context for update %s", object())
    logging.getLogger("telegram.ext").info("Rate limit hit. Retrying after %f seconds", 1.5)
    shown = captured.getvalue()
    assert WORDS not in shown
    assert f"Received data was {WITHHELD}" in shown and "Retrying after 1.500000 seconds" in shown


def test_an_exception_that_quotes_the_input_keeps_its_type_and_frames_but_not_its_message(
    captured: io.StringIO,
) -> None:
    try:
        json_text = f'{{"answer": "{WORDS}\ud800"}}'
        json_text.encode("utf-8")
    except UnicodeEncodeError:
        logging.getLogger("bot.tg.handlers").exception("handling update %s for chat %s failed", 7, 42)
    try:
        int(WORDS)
    except ValueError as error:
        logging.getLogger("aiohttp.server").error("Error handling request", exc_info=error)
    shown = captured.getvalue()
    assert WORDS not in shown
    assert "handling update 7 for chat 42 failed" in shown  # our own wording and its ids stay
    assert f"UnicodeEncodeError: {WITHHELD}" in shown and f"ValueError: {WITHHELD}" in shown
    assert "json_text.encode" in shown  # the frame where it happened


def test_messages_about_the_program_or_the_system_are_kept(captured: io.StringIO) -> None:
    try:
        raise OSError("No space left on device")
    except OSError:
        logging.getLogger("bot.tg.intake").warning("could not store", exc_info=True)
    assert "OSError: No space left on device" in captured.getvalue()


def test_debug_records_are_left_alone_and_the_token_is_never_shown(captured: io.StringIO) -> None:
    logging.getLogger("bot.x").debug("answer: %s", "kept at debug")
    logging.getLogger("httpx").warning("HTTP Request: POST https://api.telegram.org/bot%s/getMe", TOKEN)
    logging.getLogger("bot.x").error("token %s", TOKEN)
    shown = captured.getvalue()
    assert "answer: kept at debug" in shown
    assert TOKEN not in shown and TOKEN.split(":")[1] not in shown


def test_a_chain_of_exceptions_is_shown_in_order() -> None:
    try:
        try:
            raise KeyError(WORDS)
        except KeyError as inner:
            raise RuntimeError("outer") from inner
    except RuntimeError as error:
        text = describe_exception(error)
    assert text.index("KeyError") < text.index("direct cause") < text.index("RuntimeError")
    assert WORDS not in text


def test_a_storage_error_and_the_driver_error_behind_it_keep_their_messages() -> None:
    import sqlite3

    from bot.storage.database import storage_error

    try:
        try:
            raise sqlite3.OperationalError("database is locked")
        except sqlite3.Error as trouble:
            raise storage_error(trouble) from trouble
    except Exception as error:
        text = describe_exception(error)
    assert "sqlite3.OperationalError: database is locked" in text
    assert "SqliteStorageBusy: database is locked" in text
    assert WITHHELD not in text
