"""A whole PTB Application polling the stand-in, as the Springboard bot will run against it."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from standin import StandIn

USER = 42


async def test_an_application_polls_replies_and_shuts_down_cleanly(standin: StandIn) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes")]])
        await context.bot.send_message(update.effective_chat.id, "Shall we begin?", reply_markup=keyboard)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Let's go")
        await query.edit_message_text(f"You said {query.data}.")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(f"Heard: {update.message.text}", do_quote=True)

    application = (
        Application.builder().token(standin.token).base_url(standin.bot_api_url).base_file_url(standin.file_url).build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(pressed))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))

    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=5, allowed_updates=Update.ALL_TYPES)
        try:
            await standin.wait_for_polling()
            assert standin.in_flight() == {"getUpdates": 1}
            standin.user_sends_text(USER, "/start")
            [question] = await standin.wait_for_bot_messages(USER, 1)
            assert question.button_texts == ["Yes"]

            press = standin.user_presses_button(USER, question.message_id, text="Yes")
            assert press.callback_query_id is not None
            answer = await standin.wait_for_callback_answer(press.callback_query_id)
            assert answer.answer_text == "Let's go"
            await standin.wait_until(
                lambda: standin.bot_messages(USER)[0].text == "You said yes.", chat_id=USER, what="the edit"
            )

            standin.user_sends_text(USER, "I was late again")
            messages = await standin.wait_for_bot_messages(USER, 2)
            assert messages[1].text == "Heard: I was late again"
            assert messages[1].reply_to_message_id == standin.chat_messages(USER)[-2].message_id
        finally:
            await application.updater.stop()
            await application.stop()

    methods = [record.method for record in standin.requests]
    assert methods[:3] == ["getMe", "deleteWebhook", "getUpdates"]
    assert standin.pending_updates() == []  # everything was confirmed on the way out
