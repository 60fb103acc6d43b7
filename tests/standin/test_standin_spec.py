"""The Bot API specification checker, and the stand-in's traffic measured against it."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode

from standin import SpecChecker, StandIn
from standin.params import FilePart

USER = 42


async def test_ptb_requests_and_standin_answers_conform(spec: SpecChecker, standin: StandIn, bot: telegram.Bot) -> None:
    said = standin.user_sends_text(USER, "/start")
    standin.user_sends_sticker(USER)
    standin.user_sends_location(USER, 1.5, 2.5)
    standin.user_edits_message(USER, said.message_id or 0, "/start again")
    updates = await bot.get_updates(timeout=0, allowed_updates=["message", "edited_message", "callback_query"])
    await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Yes", callback_data="y"), InlineKeyboardButton("Site", url="https://example.org")]]
    )
    sent = await bot.send_message(
        USER, "<b>Hi</b> <i>there</i>", parse_mode=ParseMode.HTML, reply_markup=markup, disable_notification=True
    )
    standin.user_presses_button(USER, sent.message_id, text="Yes")
    [press] = await bot.get_updates(timeout=0)
    assert press.callback_query is not None
    await bot.answer_callback_query(press.callback_query.id, text="ok", show_alert=False)
    await bot.edit_message_text("Done", chat_id=USER, message_id=sent.message_id)
    await bot.send_chat_action(USER, "typing")
    await bot.send_document(USER, b"data", filename="d.txt", caption="doc")
    await bot.delete_message(USER, sent.message_id)
    await bot.get_chat(USER)
    await bot.set_my_commands([("start", "Begin")])
    await bot.get_webhook_info()
    standin.block_bot(USER)
    await bot.get_updates(timeout=0)

    checked = set()
    for record in standin.requests:
        assert spec.check_request(record.method, record.params) == [], record.method
        if record.ok:
            assert spec.check_response(record.method, record.result) == [], record.method
        checked.add(record.method)
    assert {
        "getMe",
        "getUpdates",
        "sendMessage",
        "editMessageText",
        "answerCallbackQuery",
        "sendDocument",
        "deleteMessage",
        "getChat",
        "setMyCommands",
        "sendChatAction",
    } <= checked
    assert standin.spec_problems == []


@pytest.mark.parametrize(
    ("method", "params", "problem"),
    [
        ("sendTelepathy", {}, "unknown method 'sendTelepathy'"),
        ("sendMessage", {"chat_id": "1", "text": "x", "colour": "red"}, "unknown parameter 'colour'"),
        ("sendMessage", {"chat_id": "1"}, "missing required parameter 'text'"),
        ("getUpdates", {"offset": "abc"}, "parameter 'offset': expected Integer, got 'abc'"),
        ("getUpdates", {"offset": "1.5"}, "parameter 'offset': expected Integer"),
        (
            "sendMessage",
            {"chat_id": "1", "text": "x", "disable_notification": "maybe"},
            "parameter 'disable_notification': expected Boolean",
        ),
        ("sendMessage", {"chat_id": "1", "text": "x", "reply_markup": "{not json"}, "parameter 'reply_markup'"),
        (
            "sendMessage",
            {"chat_id": "1", "text": "x", "reply_markup": '{"inline_keyboard": [[{"text": "a", "callback_data": 5}]]}'},
            "reply_markup'.inline_keyboard[0][0].callback_data: expected String",
        ),
        ("getUpdates", {"allowed_updates": '"message"'}, "expected Array of String"),
        ("sendMessage", {"chat_id": 1.5, "text": "x"}, "expected Integer or String, got 1.5"),
        # A string stands for a number or boolean wherever it appears, as the Bot API server reads it.
        ("sendMessage", {"chat_id": 1, "text": "x", "disable_notification": "true"}, None),
        (
            "sendDocument",
            {"chat_id": "1", "document": FilePart("document", "a.txt", "text/plain", b"x"), "thumbnail": 5},
            "parameter 'thumbnail': expected InputFile or String",
        ),
        ("setMyCommands", {"commands": '[{"command": "start"}]'}, "missing required field 'description'"),
    ],
)
def test_wrong_requests_are_caught(spec: SpecChecker, method: str, params: dict[str, Any], problem: str | None) -> None:
    problems = spec.check_request(method, params)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("sendMessage", {"chat_id": "42", "text": "x", "parse_mode": "HTML"}),
        ("sendMessage", {"chat_id": "@channel", "text": "x"}),
        (
            "sendMessage",
            {
                "chat_id": 42,
                "text": "x",
                "disable_notification": True,
                "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]},
            },
        ),
        ("sendDocument", {"chat_id": "1", "document": FilePart("document", "a.txt", "text/plain", b"x")}),
        (
            "sendDocument",
            {"chat_id": "1", "document": "attach://file1", "file1": FilePart("file1", "a.txt", None, b"x")},
        ),
        ("getUpdates", {"offset": "-1", "limit": "100", "timeout": "10", "allowed_updates": '["message"]'}),
        (
            "setMyCommands",
            {"commands": '[{"command": "start", "description": "Begin"}]', "scope": '{"type": "all_private_chats"}'},
        ),
        ("getme", {}),  # method names are case-insensitive, as Telegram's are
    ],
)
def test_right_requests_pass(spec: SpecChecker, method: str, params: dict[str, Any]) -> None:
    assert spec.check_request(method, params) == []


def message(**overrides: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "message_id": 1,
        "date": 1_700_000_000,
        "chat": {"id": 42, "type": "private", "first_name": "Alex"},
        "from": {"id": 1, "is_bot": True, "first_name": "Bot", "username": "bot"},
        "text": "hi",
        "entities": [{"type": "bold", "offset": 0, "length": 2}],
        "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]},
    }
    result.update(overrides)
    return result


@pytest.mark.parametrize(
    ("method", "result", "problem"),
    [
        ("sendMessage", message(), None),
        ("sendMessage", message(chat={"type": "private"}), "sendMessage result.chat: missing required field 'id'"),
        ("sendMessage", message(colour="red"), "unknown field 'colour' for Message"),
        ("sendMessage", message(date="yesterday"), "result.date: expected Integer"),
        (
            "sendMessage",
            message(**{"from": {"id": 1, "is_bot": "yes", "first_name": "B"}}),
            "result.from.is_bot: expected Boolean",
        ),
        (
            "sendMessage",
            message(reply_markup={"inline_keyboard": [[{"text": 1}]]}),
            "result.reply_markup.inline_keyboard[0][0].text: expected String",
        ),
        ("sendMessage", message(entities=[{"type": "bold", "offset": 0}]), "missing required field 'length'"),
        ("editMessageText", True, None),  # Message or True
        ("deleteMessage", True, None),
        ("deleteMessage", "yes", "expected Boolean"),
        ("getUpdates", [{"update_id": 1, "message": message()}], None),
        ("getUpdates", [{"update_id": 1, "message": message(message_id=None)}], "result[0].message.message_id"),
        (
            "getUpdates",
            [
                {
                    "update_id": 1,
                    "my_chat_member": {
                        "chat": {"id": 1, "type": "private"},
                        "from": {"id": 1, "is_bot": False, "first_name": "A"},
                        "date": 1,
                        "old_chat_member": {"status": "member", "user": {"id": 2, "is_bot": True, "first_name": "B"}},
                        "new_chat_member": {
                            "status": "kicked",
                            "user": {"id": 2, "is_bot": True, "first_name": "B"},
                            "until_date": 0,
                        },
                    },
                }
            ],
            None,
        ),  # ChatMember is one of its subtypes
        ("getMe", {"id": 1, "is_bot": True, "first_name": "B", "can_join_groups": True}, None),
    ],
)
def test_responses_are_checked(spec: SpecChecker, method: str, result: Any, problem: str | None) -> None:
    problems = spec.check_response(method, result)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


async def test_standin_collects_spec_problems_when_given_a_checker(
    spec: SpecChecker, http: aiohttp.ClientSession
) -> None:
    async with StandIn(spec=spec) as server:
        server.user_sends_text(USER, "hi")
        url = f"{server.bot_api_url}{server.token}/sendMessage"
        async with http.post(url, data={"chat_id": str(USER), "text": "x", "colour": "red"}) as response:
            assert response.status == 200
        assert server.spec_problems == ["sendMessage: unknown parameter 'colour'"]
