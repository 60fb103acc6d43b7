"""What people (or forgers) can send that no button or keyboard of ours produces: the handlers answer it
as stale or with a hint, never with "Sorry, something went wrong", and a forged sender gets nothing."""

from __future__ import annotations

import logging

import pytest

from tests.tg.conftest import Harness

APOLOGY = "something went wrong"


async def _to_feeling_question(harness: Harness) -> dict:
    await harness.send("/reframe")
    await harness.send("I missed the train to my interview")
    return harness.last_question()


@pytest.mark.parametrize(
    "data",
    [
        "1:lessons:del:" + "9" * 40,
        "lessons:sure:" + "9" * 30,
        "12:lessons:week:" + "9" * 25,
        "9" * 64,
        "²:x",
        "1:lessons:del:\ud800",
        "\udc00:x",
    ],
    ids=[
        "delete-run-40-digits",
        "confirm-delete-30-digits",
        "page-25-digits",
        "digits-only",
        "superscript-two",
        "lone-surrogate-value",
        "lone-surrogate-sequence",
    ],
)
async def test_callback_data_no_button_of_ours_carries_is_answered_as_stale(
    harness: Harness, data: str, caplog: pytest.LogCaptureFixture
) -> None:
    question = await _to_feeling_question(harness)
    harness.request.clear()
    with caplog.at_level(logging.ERROR):
        await harness.press_data(question, data)
    answers = harness.request.sent("answerCallbackQuery")
    assert len(answers) == 1 and "earlier question" in answers[0]["text"]
    assert not any(APOLOGY in sent["text"] for sent in harness.request.sent())
    assert caplog.records == []


@pytest.mark.parametrize("text", ["I lost my job \ud83d today", "\udfff", "\ud800\ud800"])
async def test_text_with_lone_surrogates_is_taken_or_gets_a_hint(harness: Harness, text: str) -> None:
    await harness.send("/reframe")
    harness.request.clear()
    await harness.send(text)
    replies = [sent["text"] for sent in harness.request.sent()]
    assert replies and not any(APOLOGY in reply for reply in replies), replies


async def test_a_lone_surrogate_answer_is_stored_with_a_replacement_character(harness: Harness) -> None:
    await harness.send("/reframe")
    await harness.send("I lost my job \ud83d today")
    user = await harness.repository.find_user("tg:42")
    assert user is not None
    state = await harness.repository.active_state(user.id)
    assert state is not None and "I lost my job \ufffd today" in state.answers.values()


async def test_a_command_and_a_caption_with_lone_surrogates_work(harness: Harness) -> None:
    await harness.send("/reframe \udfff")
    assert not any(APOLOGY in sent["text"] for sent in harness.request.sent())
    harness.request.clear()
    await harness.send_other(
        {"photo": [{"file_id": "P", "file_unique_id": "U", "width": 1, "height": 1}], "caption": "look \ud800"}
    )
    assert harness.request.sent() and not any(APOLOGY in sent["text"] for sent in harness.request.sent())


async def test_a_private_chat_update_from_someone_else_gets_no_reply_at_all(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.onboard(43)
    harness.request.clear()
    with caplog.at_level(logging.WARNING):
        await harness.send("/help", user_id=43, chat_id=42)  # "from" 43, in 42's private chat
    assert harness.request.calls == []
    async with harness.repository.transaction() as repository:
        assert await repository.pending_updates() == []
    assert any("a private chat whose sender is someone else" in record.getMessage() for record in caplog.records)
