"""Every error the stand-in reproduces reaches PTB as the exception Telegram's answer would cause."""

from __future__ import annotations

import asyncio
import datetime as dtm
from collections.abc import AsyncIterator

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter

from standin import Fault, StandIn

USER = 42


def last_description(standin: StandIn, method: str) -> str:
    response = standin.requests_for(method)[-1].response
    assert response is not None
    return str(response["description"])


@pytest.fixture
async def chat(standin: StandIn) -> int:
    standin.user_sends_text(USER, "/start")
    return USER


@pytest.mark.parametrize(
    ("text", "parse_mode", "description"),
    [
        ("", None, "Bad Request: message text is empty"),
        ("   \n ", None, "Bad Request: message text is empty"),
        ("<b></b>", ParseMode.HTML, "Bad Request: message text is empty"),
        ("a" * 4097, None, "Bad Request: message is too long"),
        ("😀" * 2049, None, "Bad Request: message is too long"),  # 4098 UTF-16 units in 2049 characters
        (
            "<b>hi</i>",
            ParseMode.HTML,
            'Bad Request: can\'t parse entities: Unmatched end tag at byte offset 5, expected "</b>", found "</i>"',
        ),
        (
            "<blink>hi</blink>",
            ParseMode.HTML,
            'Bad Request: can\'t parse entities: Unsupported start tag "blink" at byte offset 0',
        ),
        (
            "<b>hi",
            ParseMode.HTML,
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
        ),
        ("Tom & Jerry", ParseMode.HTML, 'Bad Request: can\'t parse entities: Unescaped "&"'),
        ("x", "Klingon", "Bad Request: unsupported parse_mode"),
    ],
)
async def test_bad_text_is_rejected(
    standin: StandIn, bot: telegram.Bot, chat: int, text: str, parse_mode: str | None, description: str
) -> None:
    with pytest.raises(BadRequest):
        await bot.send_message(chat, text, parse_mode=parse_mode)
    assert last_description(standin, "sendMessage").startswith(description)
    assert standin.bot_messages(chat) == []


@pytest.mark.parametrize(
    ("text", "parse_mode"),
    [
        ("a" * 4096, None),
        ("😀" * 2048, None),
        ("<b>" + "a" * 4096 + "</b>", ParseMode.HTML),
        ("&lt;" * 4096, ParseMode.HTML),
        ("Tom &amp; Jerry", ParseMode.HTML),
    ],
)
async def test_text_at_the_limit_is_accepted(bot: telegram.Bot, chat: int, text: str, parse_mode: str | None) -> None:
    assert (await bot.send_message(chat, text, parse_mode=parse_mode)).message_id


async def test_unknown_chat(standin: StandIn, bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(999, "hello?")
    assert last_description(standin, "sendMessage") == "Bad Request: chat not found"


async def test_edit_errors(standin: StandIn, bot: telegram.Bot, chat: int) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(chat, "Pick", reply_markup=markup)

    with pytest.raises(BadRequest):
        await bot.edit_message_text("x", chat_id=chat, message_id=sent.message_id + 100)
    assert last_description(standin, "editMessageText") == "Bad Request: message to edit not found"

    with pytest.raises(BadRequest):
        await bot.edit_message_text("Pick", chat_id=chat, message_id=sent.message_id, reply_markup=markup)
    assert last_description(standin, "editMessageText").startswith("Bad Request: message is not modified")

    # Same text but the keyboard goes away: that is a modification.
    await bot.edit_message_text("Pick", chat_id=chat, message_id=sent.message_id)
    with pytest.raises(BadRequest):
        await bot.edit_message_reply_markup(chat_id=chat, message_id=sent.message_id)
    assert last_description(standin, "editMessageReplyMarkup").startswith("Bad Request: message is not modified")

    user_message_id = standin.chat_messages(chat)[0].message_id
    with pytest.raises(BadRequest):
        await bot.edit_message_text("hijack", chat_id=chat, message_id=user_message_id)
    assert last_description(standin, "editMessageText") == "Bad Request: message can't be edited"

    with pytest.raises(BadRequest):
        await bot.delete_message(chat, sent.message_id + 100)
    assert last_description(standin, "deleteMessage") == "Bad Request: message to delete not found"


async def test_callback_data_over_64_bytes(standin: StandIn, bot: telegram.Bot, chat: int) -> None:
    fits = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="é" * 32)]])  # 64 bytes
    assert await bot.send_message(chat, "fits", reply_markup=fits)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("no", callback_data="x" * 65)]])
    with pytest.raises(BadRequest):
        await bot.send_message(chat, "too long", reply_markup=too_long)
    assert last_description(standin, "sendMessage") == "Bad Request: BUTTON_DATA_INVALID"


async def test_reply_markup_that_is_not_json(bare_standin: StandIn) -> None:
    bare_standin.user_sends_text(USER, "hi")
    async with telegram.Bot(bare_standin.token, base_url=bare_standin.bot_api_url) as bot:
        with pytest.raises(BadRequest):
            await bot.send_message(USER, "x", api_kwargs={"reply_markup": "{not json"})
        assert last_description(bare_standin, "sendMessage") == (
            "Bad Request: can't parse reply keyboard markup JSON object"
        )
        with pytest.raises(BadRequest):
            await bot.send_message(USER, "x", api_kwargs={"reply_markup": '{"inline_keyboard": [[{"text": "x"}]]}'})
        assert "Text buttons are unallowed" in last_description(bare_standin, "sendMessage")


async def test_unknown_or_repeated_callback_answer(standin: StandIn, bot: telegram.Bot, chat: int) -> None:
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("123456789")
    assert last_description(standin, "answerCallbackQuery") == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )
    sent = await bot.send_message(
        chat, "Pick", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    )
    pressed = standin.user_presses_button(chat, sent.message_id, text="A")
    assert pressed.callback_query_id is not None
    assert await bot.answer_callback_query(pressed.callback_query_id)
    with pytest.raises(BadRequest):
        await bot.answer_callback_query(pressed.callback_query_id)


async def test_expired_callback_query() -> None:
    now = [1_000.0]
    async with StandIn(clock=lambda: now[0], callback_query_lifetime=15) as server:
        server.user_sends_text(USER, "hi")
        async with telegram.Bot(server.token, base_url=server.bot_api_url) as bot:
            sent = await bot.send_message(
                USER, "Pick", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
            )
            pressed = server.user_presses_button(USER, sent.message_id, data="a")
            now[0] += 16
            with pytest.raises(BadRequest):
                await bot.answer_callback_query(pressed.callback_query_id or "")


async def test_blocked_user(standin: StandIn, bot: telegram.Bot, chat: int) -> None:
    standin.block_bot(chat)
    with pytest.raises(Forbidden):
        await bot.send_message(chat, "Time for your check-in")
    assert last_description(standin, "sendMessage") == "Forbidden: bot was blocked by the user"
    with pytest.raises(Forbidden):
        await bot.send_document(chat, b"data", filename="x.txt")

    updates = await bot.get_updates(timeout=0)
    member_update = updates[-1].my_chat_member
    assert member_update is not None and member_update.new_chat_member.status == "kicked"

    standin.unblock_bot(chat)
    assert await bot.send_message(chat, "Welcome back")


async def test_caption_over_1024(standin: StandIn, bot: telegram.Bot, chat: int) -> None:
    assert await bot.send_document(chat, b"x", filename="a.txt", caption="c" * 1024)
    with pytest.raises(BadRequest):
        await bot.send_document(chat, b"x", filename="a.txt", caption="c" * 1025)
    assert last_description(standin, "sendDocument") == "Bad Request: message caption is too long"


async def test_empty_upload(standin: StandIn, bot: telegram.Bot, chat: int) -> None:
    with pytest.raises(BadRequest):
        await bot.send_document(chat, b"", filename="empty.txt")
    assert last_description(standin, "sendDocument") == "Bad Request: file must be non-empty"


async def test_wrong_chat_action(standin: StandIn, bot: telegram.Bot, chat: int) -> None:
    with pytest.raises(BadRequest):
        await bot.send_chat_action(chat, "dancing")
    assert last_description(standin, "sendChatAction") == "Bad Request: wrong parameter action in request"


async def test_flood_control_fault_gives_retry_after(standin: StandIn, bot: telegram.Bot, chat: int) -> None:
    standin.inject_fault("sendMessage", Fault.too_many_requests(retry_after=3))
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(chat, "hi")
    assert caught.value.retry_after == dtm.timedelta(seconds=3)
    response = standin.requests_for("sendMessage")[-1].response
    assert response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    assert await bot.send_message(chat, "hi")  # a queued fault happens once


async def test_wrong_token(standin: StandIn) -> None:
    with pytest.raises(InvalidToken):
        async with telegram.Bot("999:not-the-token", base_url=standin.bot_api_url):
            pass
    assert standin.requests[-1].response == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_unknown_method(bare_standin: StandIn) -> None:
    async with telegram.Bot(bare_standin.token, base_url=bare_standin.bot_api_url) as bot:
        with pytest.raises(telegram.error.EndPointNotFound):
            await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": USER})
    assert bare_standin.requests[-1].status == 404


@pytest.fixture
async def two_pollers(standin: StandIn) -> AsyncIterator[tuple[telegram.Bot, telegram.Bot]]:
    async with (
        telegram.Bot(standin.token, base_url=standin.bot_api_url) as first,
        telegram.Bot(standin.token, base_url=standin.bot_api_url) as second,
    ):
        yield first, second


async def test_a_second_poller_ends_the_first_with_conflict(
    standin: StandIn, two_pollers: tuple[telegram.Bot, telegram.Bot]
) -> None:
    first, second = two_pollers
    waiting = asyncio.create_task(first.get_updates(timeout=5))
    await standin.wait_until(lambda: standin.world.updates.poll_generation == 1, what="the first poll")
    assert await second.get_updates(timeout=0) == ()
    with pytest.raises(Conflict):
        await waiting
