"""Telegram handlers in-process: real Application.process_update, a recording request, a temp database."""

from __future__ import annotations

from pathlib import Path

from bot.tg.payloads import MAX_CALLBACK_BYTES
from tests.tg.conftest import Harness, make_harness


async def _to_feeling_question(harness: Harness) -> dict:
    await harness.send("/reframe")
    await harness.send("I missed the train to my interview")
    return harness.last_question()


async def test_start_welcomes_in_html(harness: Harness) -> None:
    await harness.send("/start")
    sent = harness.request.sent()
    assert len(sent) == 2  # the welcome, then the one-time offer of daily check-ins
    assert "daily check-in" in sent[1]["text"]
    assert sent[0]["parse_mode"] == "HTML"
    assert "Springboard" in sent[0]["text"]
    assert "/reframe" in sent[0]["text"]


async def test_choice_is_an_inline_keyboard_and_a_press_edits_the_question(harness: Harness) -> None:
    question = await _to_feeling_question(harness)
    labels = [b["text"] for row in question["reply_markup"]["inline_keyboard"] for b in row]
    assert "😟 Anxious" in labels
    harness.request.clear()

    await harness.press(question, "😟 Anxious")

    answers = harness.request.sent("answerCallbackQuery")
    assert len(answers) == 1 and "text" not in answers[0]
    edits = harness.request.sent("editMessageText")
    assert len(edits) == 1
    assert edits[0]["message_id"] == question["_message_id"]
    assert "😟 Anxious" in edits[0]["text"] and "reply_markup" not in edits[0]
    scale = harness.request.sent()[-1]
    assert "How strong" in scale["text"]
    assert [b["text"] for b in scale["reply_markup"]["inline_keyboard"][0]][:3] == ["0", "1", "2"]


async def test_typed_label_works_for_a_choice(harness: Harness) -> None:
    await _to_feeling_question(harness)
    await harness.send("anxious")
    assert "How strong" in harness.last_question()["text"]


async def test_stale_button_gets_a_notice_and_changes_nothing(harness: Harness) -> None:
    question = await _to_feeling_question(harness)
    await harness.press(question, "😢 Sad")
    harness.request.clear()

    await harness.press(question, "😠 Angry")  # the same, now earlier, question

    answers = harness.request.sent("answerCallbackQuery")
    assert answers and "earlier question" in answers[0]["text"]
    assert harness.request.sent() == []
    assert harness.request.sent("editMessageText") == []


async def test_button_after_the_flow_ended_is_stale(harness: Harness) -> None:
    question = await _to_feeling_question(harness)
    await harness.send("/cancel")
    harness.request.clear()
    await harness.press(question, "😢 Sad")
    assert "earlier question" in harness.request.sent("answerCallbackQuery")[0]["text"]
    assert harness.request.sent() == []


async def test_forged_callback_data_is_harmless(harness: Harness) -> None:
    question = await _to_feeling_question(harness)
    harness.request.clear()
    await harness.press_data(question, "99999:../../etc/passwd")
    await harness.press_data(question, "x" * 64)
    assert harness.request.sent() == []
    assert len(harness.request.sent("answerCallbackQuery")) == 2


async def test_user_html_is_escaped(harness: Harness) -> None:
    await harness.send("/reframe")
    await harness.send("it was <b>bad</b> & unfair")
    await harness.send("sad")
    await harness.send("3")
    await harness.send("I always <i>ruin</i> things & people")
    await harness.send("/skip")  # no thinking trap
    friend_prompt = harness.last_question()["text"]
    assert "I always &lt;i&gt;ruin&lt;/i&gt; things &amp; people" in friend_prompt


async def test_sticker_gets_a_kind_reply_and_the_question_again(harness: Harness) -> None:
    await harness.send("/quick")
    harness.request.clear()
    await harness.send_sticker()
    texts = [sent["text"] for sent in harness.request.sent()]
    assert any("only read text" in text for text in texts)
    assert "what happened" in texts[-1]


async def test_group_chats_are_refused(harness: Harness) -> None:
    await harness.send("/reframe", user_id=43, chat_type="group", chat_id=-100)
    sent = harness.request.sent()
    assert len(sent) == 1 and "private chats" in sent[0]["text"]
    async with harness.repository.transaction() as repository:
        assert await repository.find_user("tg:43") is None


async def test_allowlist_refuses_strangers_and_stores_nothing(tmp_path: Path) -> None:
    harness, connection = await make_harness(tmp_path, allowed=frozenset({1}))
    try:
        await harness.send("/reframe", user_id=42)
        assert "only open to invited people" in harness.request.sent()[0]["text"]
        async with harness.repository.transaction() as repository:
            assert await repository.find_user("tg:42") is None
        await harness.onboard(1)
        await harness.send("/reframe", user_id=1)
        assert "What happened" in harness.request.sent()[-1]["text"]
    finally:
        await harness.application.shutdown()
        await connection.close()


async def test_a_repeated_update_is_applied_once(harness: Harness) -> None:
    await harness.send("/quick")
    update = await harness.send("The demo crashed in front of the client")
    harness.request.clear()
    await harness.application.process_update(update)
    assert harness.request.sent() == []
    await harness.send("Test on the real hardware first")
    assert "next step" in harness.last_question()["text"]


async def test_replies_wait_in_the_outbox_until_telegram_takes_them(harness: Harness) -> None:
    harness.request.fail_methods["sendMessage"] = [
        (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
    ]
    await harness.send("/quick")  # refused for good: dropped, not retried forever
    async with harness.repository.transaction() as repository:
        assert await repository.pending_replies() == []


async def test_every_button_fits_telegrams_callback_limit(harness: Harness) -> None:
    await harness.send("/reframe")
    await harness.send("Something went badly wrong today")
    for sent in harness.request.sent():
        for row in (sent.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                assert len(button["callback_data"].encode()) <= MAX_CALLBACK_BYTES


async def test_whole_setback_flow_by_buttons_and_text(harness: Harness) -> None:
    await harness.send("/reframe")
    await harness.send("My talk went badly and people left early")
    await harness.press(harness.last_question(), "😳 Ashamed")
    await harness.press(harness.last_question(), "9")
    await harness.press(harness.last_question(), "I'm ready to go on")
    await harness.send("I'm a terrible speaker")
    await harness.press(harness.last_question(), "Skip")  # no thinking trap
    await harness.send("One talk doesn't define you; you got up there")
    await harness.press(harness.last_question(), "Skip")
    await harness.send("Rehearse with a friend before a talk")
    await harness.send("Book a practice run with Jo on Thursday")
    await harness.press(harness.last_question(), "4")
    finish = harness.last_question()["text"]
    assert "Rehearse with a friend before a talk" in finish
    assert "9 → 4" in finish
    await harness.send("/lessons")
    assert "Rehearse with a friend" in harness.last_question()["text"]


async def test_first_timers_confirm_onboarding_with_a_button_first(tmp_path: Path) -> None:
    harness, connection = await make_harness(tmp_path)
    try:
        await harness.send("/reframe", user_id=7)
        card = harness.last_question()
        assert "not a therapist" in card["text"]
        await harness.press(card, "I understand, let's begin", user_id=7)
        edits = harness.request.sent("editMessageText")
        assert edits and "reply_markup" not in edits[-1]  # the button is gone once tapped
        assert "What happened?" in harness.last_question()["text"]
    finally:
        await harness.application.shutdown()
        await connection.close()


async def test_crisis_language_pauses_the_flow_and_offers_people_to_talk_to(harness: Harness) -> None:
    await harness.send("/quick")
    await harness.send("I can't do this anymore, I want to end it")
    reply = harness.last_question()
    assert "988" in reply["text"] and "only a bot" in reply["text"]
    labels = [b["text"] for row in reply["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["Continue", "Stop for now"]
    await harness.press(reply, "Continue")
    assert "what happened" in harness.last_question()["text"]  # the same question again: nothing was taken


async def test_a_person_who_blocked_the_bot_has_check_ins_switched_off(harness: Harness) -> None:
    await harness.send("/checkin")
    await harness.press(harness.last_question(), "Turn on")
    await harness.send("Berlin")  # turning on asks where the person is first
    async with harness.repository.transaction() as repository:
        user = await repository.find_user("tg:42")
        assert user is not None
        row = await repository.checkin(user.id)
        assert row is not None and row.settings.enabled
    blocked = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
    harness.request.fail_methods["sendMessage"] = [(403, blocked)]
    await harness.send("/help")
    async with harness.repository.transaction() as repository:
        row = await repository.checkin(user.id)
        assert row is not None and not row.settings.enabled and row.state.wake_at is None
        assert await repository.pending_replies() == []


async def test_a_caption_with_crisis_language_gets_the_crisis_reply(harness: Harness) -> None:
    update = harness._update(
        {
            "message": {
                "message_id": 9,
                "date": 1_764_000_000,
                "chat": {"id": 42, "type": "private", "first_name": "Sam"},
                "from": {"id": 42, "is_bot": False, "first_name": "Sam"},
                "photo": [{"file_id": "p", "file_unique_id": "pu", "width": 10, "height": 10}],
                "caption": "I want to kill myself",
            }
        }
    )
    await harness.application.process_update(update)
    assert "only a bot" in harness.last_question()["text"]


async def test_a_button_from_a_cancelled_run_does_nothing_in_the_next(harness: Harness) -> None:
    await harness.send("/reframe")
    await harness.send("Lost my keys again")
    old = harness.last_question()
    await harness.send("/cancel")
    await harness.send("/reframe")
    await harness.send("Lost my wallet this time")
    harness.request.clear()
    await harness.press(old, "😢 Sad")
    assert "earlier question" in harness.request.sent("answerCallbackQuery")[0]["text"]
    assert harness.request.sent() == []


async def test_a_shared_location_mid_flow_gets_a_kind_word_and_the_question_again(harness: Harness) -> None:
    await harness.send("/quick")
    harness.request.clear()
    update = harness._update(
        {
            "message": {
                "message_id": 11,
                "date": 1_764_000_000,
                "chat": {"id": 42, "type": "private", "first_name": "Sam"},
                "from": {"id": 42, "is_bot": False, "first_name": "Sam"},
                "location": {"latitude": 52.52, "longitude": 13.4},
            }
        }
    )
    await harness.application.process_update(update)
    texts = [sent["text"] for sent in harness.request.sent()]
    assert "didn't keep it" in texts[0] and "what happened" in texts[-1]
    async with harness.repository.transaction() as repository:
        user = await repository.find_user("tg:42")
        assert user is not None and await repository.checkin(user.id) is None  # nothing about it stored
