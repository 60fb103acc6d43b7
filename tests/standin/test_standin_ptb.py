"""python-telegram-bot's real Bot against the stand-in: the calls the Springboard bot makes."""

from __future__ import annotations

import asyncio
import time

import telegram
from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup
from telegram.constants import ChatAction, ParseMode

from standin import StandIn

USER = 42


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=f"pick:{label}") for label in labels]])


async def test_get_me_is_the_configured_bot(standin: StandIn, bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert (me.id, me.username, me.first_name) == (standin.bot.id, standin.bot.username, standin.bot.first_name)
    assert bot.username == standin.bot.username


async def test_send_message_with_keyboard_shows_in_the_chat(standin: StandIn, bot: telegram.Bot) -> None:
    standin.user_sends_text(USER, "/start")
    sent = await bot.send_message(
        USER, "How did it go, <b>Alex</b>?", parse_mode=ParseMode.HTML, reply_markup=keyboard("Good", "Bad")
    )

    assert sent.text == "How did it go, Alex?"
    assert sent.from_user is not None and sent.from_user.id == standin.bot.id
    assert sent.chat.id == USER
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 15, 4)]
    assert sent.reply_markup == keyboard("Good", "Bad")
    shown = standin.chat_messages(USER)
    assert [m.from_bot for m in shown] == [False, True]
    assert shown[1].text == "How did it go, Alex?"
    assert shown[1].raw_text == "How did it go, <b>Alex</b>?"
    assert shown[1].button_texts == ["Good", "Bad"]


async def test_edit_message_text_changes_what_the_chat_shows(standin: StandIn, bot: telegram.Bot) -> None:
    standin.user_sends_text(USER, "hi")
    sent = await bot.send_message(USER, "Pick one", reply_markup=keyboard("A", "B"))

    edited = await bot.edit_message_text("You picked A", chat_id=USER, message_id=sent.message_id)

    assert isinstance(edited, telegram.Message)
    assert edited.text == "You picked A"
    assert edited.edit_date is not None
    assert edited.reply_markup is None  # an edit without reply_markup removes the keyboard, as in Telegram
    [message] = standin.bot_messages(USER)
    assert (message.text, message.edited, message.history, message.buttons) == ("You picked A", True, ["Pick one"], [])


async def test_edit_reply_markup_and_delete(standin: StandIn, bot: telegram.Bot) -> None:
    standin.user_sends_text(USER, "hi")
    sent = await bot.send_message(USER, "Pick one", reply_markup=keyboard("A", "B"))
    await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id, reply_markup=keyboard("C"))
    assert standin.bot_messages(USER)[0].button_texts == ["C"]

    assert await bot.delete_message(USER, sent.message_id) is True
    assert [m.from_bot for m in standin.chat_messages(USER)] == [False]
    assert standin.bot_messages(USER)[0].deleted


async def test_button_press_reaches_the_bot_and_its_answer_is_recorded(standin: StandIn, bot: telegram.Bot) -> None:
    standin.user_sends_text(USER, "hi")
    sent = await bot.send_message(USER, "Pick one", reply_markup=keyboard("A", "B"))
    pressed = standin.user_presses_button(USER, sent.message_id, text="B")

    updates = await bot.get_updates(timeout=0)
    query = updates[-1].callback_query
    assert query is not None
    assert (query.id, query.data, query.from_user.id) == (pressed.callback_query_id, "pick:B", USER)
    assert isinstance(query.message, telegram.Message) and query.message.message_id == sent.message_id

    assert await bot.answer_callback_query(query.id, text="Noted") is True
    assert pressed.callback_query_id is not None
    answer = standin.callback_answer(pressed.callback_query_id)
    assert (answer.answered, answer.answer_text) == (True, "Noted")


async def test_send_document_records_name_size_and_bytes(standin: StandIn, bot: telegram.Bot) -> None:
    standin.user_sends_text(USER, "/export")
    content = b"lesson,next step\nbe kind,walk\n"

    sent = await bot.send_document(
        USER, content, filename="lessons.csv", caption="Your <i>lessons</i>", parse_mode=ParseMode.HTML
    )

    assert sent.document is not None
    assert (sent.document.file_name, sent.document.file_size) == ("lessons.csv", len(content))
    assert sent.caption == "Your lessons"
    [message] = standin.bot_messages(USER)
    assert message.document is not None
    assert (message.document.file_name, message.document.data) == ("lessons.csv", content)

    file = await bot.get_file(sent.document.file_id)
    assert file.file_size == len(content)


async def test_send_photo_and_chat_action(standin: StandIn, bot: telegram.Bot) -> None:
    standin.user_sends_text(USER, "hi")
    png = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000020000000308060000009ef3e1")
    assert await bot.send_chat_action(USER, ChatAction.TYPING) is True
    sent = await bot.send_photo(USER, png, caption="chart")
    assert sent.photo[-1].width == 2 and sent.photo[-1].height == 3
    assert standin.chat_actions(USER) == ["typing"]
    assert standin.bot_messages(USER)[0].photo is not None


async def test_get_updates_long_poll_returns_when_the_user_writes(standin: StandIn, bot: telegram.Bot) -> None:
    async def user_writes_soon() -> None:
        await asyncio.sleep(0.2)
        standin.user_sends_text(USER, "I missed my deadline")

    writer = asyncio.create_task(user_writes_soon())
    started = time.monotonic()
    updates = await bot.get_updates(timeout=8)
    await writer

    assert time.monotonic() - started < 6  # woke on the update, not at the timeout
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None and message.text == "I missed my deadline"
    assert message.from_user is not None and message.from_user.id == USER


async def test_get_updates_timeout_returns_nothing(standin: StandIn, bot: telegram.Bot) -> None:
    assert await bot.get_updates(timeout=1) == ()


async def test_get_updates_offset_confirms_and_limit_caps(standin: StandIn, bot: telegram.Bot) -> None:
    first = standin.user_sends_text(USER, "one")
    second = standin.user_sends_text(USER, "two")
    standin.user_sends_text(USER, "three")

    batch = await bot.get_updates(limit=2, timeout=0)
    assert [u.update_id for u in batch] == [first.update_id, second.update_id]
    assert second.update_id > first.update_id

    rest = await bot.get_updates(offset=second.update_id + 1, timeout=0)
    assert [u.message.text for u in rest if u.message] == ["three"]
    assert not standin.world.updates.is_confirmed(rest[0].update_id)
    assert await bot.get_updates(offset=rest[0].update_id + 1, timeout=0) == ()
    assert standin.pending_updates() == []
    assert standin.world.updates.is_confirmed(rest[0].update_id)


async def test_update_ids_can_jump(standin: StandIn, bot: telegram.Bot) -> None:
    first = standin.user_sends_text(USER, "one")
    standin.skip_update_ids(1000)
    second = standin.user_sends_text(USER, "two")
    assert second.update_id - first.update_id == 1001
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [first.update_id, second.update_id]


async def test_user_side_events_arrive_as_telegram_shapes(standin: StandIn, bot: telegram.Bot) -> None:
    said = standin.user_sends_text(USER, "first draft", first_name="Sam")
    standin.user_edits_message(USER, said.message_id or 0, "second draft")
    standin.user_sends_sticker(USER)
    standin.user_sends_photo(USER, caption="my notes")
    standin.user_sends_location(USER, 52.52, 13.405)
    standin.user_sends_text(7, "hello group", chat_id=-1001234, title="Circle")

    updates = await bot.get_updates(timeout=0)

    assert updates[0].message is not None and updates[0].message.from_user is not None
    assert updates[0].message.from_user.first_name == "Sam"
    edited = updates[1].edited_message
    assert edited is not None and edited.text == "second draft" and edited.edit_date is not None
    assert updates[2].message is not None and updates[2].message.sticker is not None
    assert updates[3].message is not None and updates[3].message.photo and updates[3].message.caption == "my notes"
    location = updates[4].message.location if updates[4].message else None
    assert location is not None and (location.latitude, location.longitude) == (52.52, 13.405)
    group = updates[5].message
    assert group is not None and (group.chat.id, group.chat.type, group.chat.title) == (
        -1001234,
        "supergroup",
        "Circle",
    )


async def test_commands_descriptions_and_webhook(standin: StandIn, bot: telegram.Bot) -> None:
    commands = [BotCommand("start", "Begin a reflection"), BotCommand("summary", "What I learned")]
    assert await bot.set_my_commands(commands) is True
    assert await bot.get_my_commands() == tuple(commands)
    assert standin.bot_commands() == [c.to_dict() for c in commands]
    assert await bot.delete_my_commands() is True
    assert await bot.get_my_commands() == ()

    assert await bot.set_my_description("Learn from a setback.") is True
    assert (await bot.get_my_description()).description == "Learn from a setback."
    assert await bot.set_my_short_description("Springboard") is True

    assert await bot.set_webhook("https://example.org/hook") is True
    assert (await bot.get_webhook_info()).url == "https://example.org/hook"
    assert await bot.delete_webhook(drop_pending_updates=True) is True
    assert (await bot.get_webhook_info()).url == ""


async def test_reply_keyboard_and_get_chat(standin: StandIn, bot: telegram.Bot) -> None:
    standin.user_sends_text(USER, "hi", username="alex_k")
    await bot.send_message(USER, "Pick", reply_markup=ReplyKeyboardMarkup([["1", "2"]], one_time_keyboard=True))
    assert standin.bot_messages(USER)[0].reply_keyboard == {
        "keyboard": [[{"text": "1"}, {"text": "2"}]],
        "one_time_keyboard": True,
    }
    chat = await bot.get_chat(USER)
    assert (chat.id, chat.type, chat.username) == (USER, "private", "alex_k")


async def test_wait_for_bot_messages(standin: StandIn, bot: telegram.Bot) -> None:
    standin.user_sends_text(USER, "hi")

    async def bot_replies_soon() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(USER, "one")
        await bot.send_message(USER, "two")

    replier = asyncio.create_task(bot_replies_soon())
    messages = await standin.wait_for_bot_messages(USER, 2, timeout=5)
    await replier
    assert [m.text for m in messages] == ["one", "two"]


async def test_wait_timeout_shows_the_chat(standin: StandIn) -> None:
    standin.user_sends_text(USER, "anyone there?")
    try:
        await standin.wait_for_bot_messages(USER, 1, timeout=0.1)
    except TimeoutError as error:
        assert "anyone there?" in str(error)
        assert f"chat {USER}" in str(error)
    else:
        raise AssertionError("expected a TimeoutError")
