"""The control API over HTTP, and the Bot API reached without PTB (JSON bodies, query strings)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from standin import StandIn

USER = 42


async def control(http: aiohttp.ClientSession, standin: StandIn, action: str, expect: int = 200, **args: Any) -> Any:
    async with http.post(f"{standin.url}/_control/{action}", json=args) as response:
        body = await response.json()
        assert response.status == expect, body
        return body["result"] if expect == 200 else body["description"]


async def test_a_conversation_driven_over_http(
    standin: StandIn, bot: telegram.Bot, http: aiohttp.ClientSession
) -> None:
    sent = await control(http, standin, "user_sends_text", user_id=USER, text="/start", first_name="Mia")
    [update] = await bot.get_updates(timeout=0)
    assert update.update_id == sent["update_id"]
    assert update.message is not None and update.message.text == "/start"

    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes")]])
    reply = await bot.send_message(USER, "Ready?", reply_markup=markup)
    async with http.get(f"{standin.url}/_control/chat_messages", params={"chat_id": USER}) as response:
        shown = (await response.json())["result"]
    assert [(m["from_bot"], m["text"]) for m in shown] == [(False, "/start"), (True, "Ready?")]
    assert shown[1]["button_texts"] == ["Yes"]

    pressed = await control(http, standin, "user_presses_button", user_id=USER, message_id=reply.message_id, text="Yes")
    updates = await bot.get_updates(offset=update.update_id + 1, timeout=0)
    assert updates[0].callback_query is not None
    await bot.answer_callback_query(updates[0].callback_query.id, text="Great")
    answers = await control(http, standin, "callback_answers")
    assert answers == [{**answers[0], "id": pressed["callback_query_id"], "answered": True, "answer_text": "Great"}]

    waited = await control(http, standin, "wait_for_bot_messages", chat_id=USER, count=1, timeout=1)
    assert waited[0]["text"] == "Ready?"
    transcript = await control(http, standin, "transcript", chat_id=USER)
    assert "#2 bot: Ready? [Yes]" in transcript

    log = await control(http, standin, "requests", method="sendMessage")
    assert log[0]["params"]["reply_markup"] == markup.to_dict()
    state = await control(http, standin, "state")
    assert state["chats"] == [USER] and state["pending_updates"][0]["type"] == "callback_query"


async def test_user_events_and_blocking_over_http(
    standin: StandIn, bot: telegram.Bot, http: aiohttp.ClientSession
) -> None:
    said = await control(http, standin, "user_sends_text", user_id=USER, text="draft")
    await control(http, standin, "user_edits_message", user_id=USER, message_id=said["message_id"], text="final")
    await control(http, standin, "user_sends_sticker", user_id=USER)
    await control(http, standin, "user_sends_photo", user_id=USER, caption="look")
    await control(http, standin, "user_sends_location", user_id=USER, latitude=1.5, longitude=-2.25)
    await control(http, standin, "block_bot", user_id=USER)
    kinds = [next(k for k in u.to_dict() if k != "update_id") for u in await bot.get_updates(timeout=0)]
    assert kinds == ["message", "edited_message", "message", "message", "message", "my_chat_member"]
    with pytest.raises(telegram.error.Forbidden):
        await bot.send_message(USER, "hello?")
    await control(http, standin, "unblock_bot", user_id=USER)
    assert await bot.send_message(USER, "hello again")


async def test_control_errors(standin: StandIn, bot: telegram.Bot, http: aiohttp.ClientSession) -> None:
    await control(http, standin, "user_sends_text", user_id=USER, text="hi")
    sent = await bot.send_message(
        USER, "Pick", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    )

    missing_button = await control(
        http, standin, "user_presses_button", 404, user_id=USER, message_id=sent.message_id, text="B"
    )
    assert "['A']" in missing_button
    assert "no message 99" in await control(
        http, standin, "user_presses_button", 404, user_id=USER, message_id=99, text="A"
    )
    assert "missing argument 'text'" in await control(http, standin, "user_sends_text", 400, user_id=USER)
    assert "must be an integer" in await control(http, standin, "chat_messages", 400, chat_id="abc")
    assert "no control action" in await control(http, standin, "teleport", 404)
    timed_out = await control(http, standin, "wait_for_bot_messages", 408, chat_id=USER, count=5, timeout=0.05)
    assert "#2 bot: Pick [A]" in timed_out
    async with http.get(f"{standin.url}/_control/reset") as response:
        assert response.status == 405  # changes state: POST only
    async with http.get(f"{standin.url}/_control/") as response:
        index = (await response.json())["result"]
    assert {"user_sends_text", "user_presses_button", "chat_messages", "inject_fault", "reset"} <= set(index)


async def test_forged_press_with_raw_data(standin: StandIn, bot: telegram.Bot, http: aiohttp.ClientSession) -> None:
    await control(http, standin, "user_sends_text", user_id=USER, text="hi")
    sent = await bot.send_message(
        USER, "Pick", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    )
    await bot.edit_message_text("Picked", chat_id=USER, message_id=sent.message_id)  # the keyboard is gone
    await control(http, standin, "user_presses_button", user_id=USER, message_id=sent.message_id, data="a")
    [_, press] = await bot.get_updates(timeout=0)
    assert press.callback_query is not None and press.callback_query.data == "a"


async def test_reset_forgets_everything(standin: StandIn, http: aiohttp.ClientSession) -> None:
    await control(http, standin, "user_sends_text", user_id=USER, text="hi")
    assert await control(http, standin, "reset") is True
    assert standin.chat_messages(USER) == [] and standin.pending_updates() == [] and standin.requests == []


async def test_bot_api_accepts_json_query_string_and_any_case(
    bare_standin: StandIn, http: aiohttp.ClientSession
) -> None:
    bare_standin.user_sends_text(USER, "hi")
    base = f"{bare_standin.bot_api_url}{bare_standin.token}"
    payload = {
        "chat_id": USER,
        "text": "<i>json</i>",
        "parse_mode": "HTML",
        "reply_markup": {"inline_keyboard": [[{"text": "x", "callback_data": "y"}]]},
    }
    async with http.post(f"{base}/sendMessage", json=payload) as response:
        body = await response.json()
    assert body["ok"] is True and body["result"]["text"] == "json"
    assert body["result"]["reply_markup"] == payload["reply_markup"]

    async with http.get(f"{base}/SENDMESSAGE", params={"chat_id": str(USER), "text": "query"}) as response:
        assert (await response.json())["result"]["text"] == "query"
    assert [r.method for r in bare_standin.requests] == ["sendMessage", "sendMessage"]

    async with http.post(f"{base}/getMe") as response:
        assert (await response.json())["result"]["username"] == bare_standin.bot.username
    async with http.get(f"{bare_standin.bot_api_url}not-a-token/getMe") as response:
        assert response.status == 404
        assert await response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_file_download_route(standin: StandIn, bot: telegram.Bot, http: aiohttp.ClientSession) -> None:
    standin.user_sends_text(USER, "hi")
    sent = await bot.send_document(USER, b"lesson one", filename="l.txt")
    assert sent.document is not None
    file = await bot.get_file(sent.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"lesson one"
    async with http.get(f"{standin.file_url}{standin.token}/documents/unknown") as response:
        assert response.status == 404


async def test_wait_for_polling_over_http(standin: StandIn, bot: telegram.Bot, http: aiohttp.ClientSession) -> None:
    assert "polling getUpdates" in await control(http, standin, "wait_for_polling", 408, timeout=0.05)
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    assert await control(http, standin, "wait_for_polling", timeout=30) is True
    await control(http, standin, "user_sends_text", user_id=USER, text="wake up")
    assert len(await poll) == 1
    assert not standin.is_polling


async def test_a_raw_update_is_delivered_as_given_unfiltered_and_unchecked(
    standin: StandIn, http: aiohttp.ClientSession
) -> None:
    # A poll answer without option_ids: malformed, and of a kind the poller did not ask for.
    raw = {"poll_answer": {"poll_id": "p1", "user": {"id": USER, "is_bot": False, "first_name": "Sam"}}}
    normal = await control(http, standin, "user_sends_text", user_id=USER, text="hi")
    update_id = await control(http, standin, "queue_raw_update", update=raw)
    assert update_id == normal["update_id"] + 1
    assert "must be a JSON object" in await control(http, standin, "queue_raw_update", 400, update=[1])

    url = f"{standin.bot_api_url}{standin.token}/getUpdates"
    async with http.post(url, json={"timeout": 0, "allowed_updates": ["message"]}) as response:
        delivered = (await response.json())["result"]
    assert delivered[-1] == {"update_id": update_id, **raw}
    assert [update["update_id"] for update in delivered] == [normal["update_id"], update_id]
    # The fixture asserts no specification problems: the raw update is left out of the check.
