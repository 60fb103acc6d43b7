"""End to end: the real ``springboard run`` process against the local Bot API stand-in."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import pytest

from standin.server import StandIn
from tests.e2e.harness import ROOT, TOKEN, BotProcess, Chat

SETBACK_ANSWERS = {
    "what_happened": "I froze during my <b>presentation</b> & lost my place",
    "harsh_voice": "You always mess up when it matters",
    "friend_voice": "Everyone freezes sometimes; you kept going",
    "lesson": "Practise out loud twice before a talk",
    "next_step": "Rehearse Thursday's demo with Mia on Wednesday",
}


async def _walk_setback(chat: Chat, bot: BotProcess | None = None, kill_after: str | None = None) -> None:
    await chat.begin("/reframe", expect="What happened?")
    await chat.say(SETBACK_ANSWERS["what_happened"], expect="What are you feeling")
    await chat.tap("😳 Ashamed", expect="How strong")
    if kill_after == "intensity" and bot is not None:
        await bot.kill()
        await bot.start()
        await chat.say("/start", expect="How strong")
    await chat.tap("9", expect="slow down")
    await chat.tap("I'm ready to go on", expect="harshest")
    await chat.say(SETBACK_ANSWERS["harsh_voice"], expect="Does it sound like any of these?")
    await chat.tap("Skip", expect="What would you say")
    await chat.say(SETBACK_ANSWERS["friend_voice"], expect="in your control")
    await chat.tap("Skip", expect="taught you")
    await chat.say(SETBACK_ANSWERS["lesson"], expect="next step")
    await chat.say(SETBACK_ANSWERS["next_step"], expect="how strong is it now")
    await chat.tap("5", expect="Your springboard")


async def test_a_whole_setback_flow_by_buttons_and_typing(standin: StandIn, bot_process: BotProcess) -> None:
    await bot_process.start()
    chat = Chat(standin, 501)
    await _walk_setback(chat)

    card = chat.messages()[-1].shown_text
    assert "Practise out loud twice before a talk" in card
    assert "9 → 5" in card
    # The tapped question shows the chosen answer and has no keyboard left.
    feeling = next(m for m in chat.messages() if "What are you feeling" in m.shown_text)
    assert "😳 Ashamed" in feeling.shown_text and not feeling.reply_markup
    # User HTML shows exactly as typed.
    lessons = await chat.say("/lessons", expect="What you've learned")
    assert "Practise out loud" in lessons.shown_text

    runs = bot_process.rows("SELECT id, flow_id, lesson, feeling_before, feeling_after FROM runs")
    assert [(flow, lesson, before, after) for _, flow, lesson, before, after in runs] == [
        ("setback", "Practise out loud twice before a talk", 9, 5)
    ]
    answers = dict(bot_process.rows("SELECT step_id, value FROM run_answers WHERE run_id = ?", runs[0][0]))
    for step_id, text in SETBACK_ANSWERS.items():
        assert json.loads(answers[step_id]) == text
    assert json.loads(answers["control"]) is None
    assert standin.spec_problems == []

    # Every command is in Telegram's menu, the flows' own included.
    commands = {command["command"] for command in standin.bot_commands()}
    assert {"reframe", "quick", "lessons", "back", "skip", "cancel", "help", "start"} <= commands

    assert await bot_process.stop() == 0


async def test_user_html_is_shown_exactly_as_typed(standin: StandIn, bot_process: BotProcess) -> None:
    await bot_process.start()
    chat = Chat(standin, 502)
    await chat.begin("/reframe", expect="What happened?")
    await chat.say("it went <b>wrong</b> & fast", expect="What are you feeling")
    await chat.tap("😢 Sad", expect="How strong")
    await chat.tap("3", expect="harshest")
    await chat.say("I'm a <b> & a <script>", expect="Does it sound like any of these?")
    reply = await chat.tap("Skip", expect="What would you say")
    assert "“I'm a <b> & a <script>”" in reply.shown_text
    await bot_process.stop()


async def test_kill_9_mid_flow_then_continue_stores_exactly_one_run(standin: StandIn, bot_process: BotProcess) -> None:
    await bot_process.start()
    chat = Chat(standin, 503)
    await _walk_setback(chat, bot_process, kill_after="intensity")
    runs = bot_process.rows("SELECT id FROM runs")
    assert len(runs) == 1
    answers = dict(bot_process.rows("SELECT step_id, value FROM run_answers WHERE run_id = ?", runs[0][0]))
    assert {step: json.loads(value) for step, value in answers.items() if step in SETBACK_ANSWERS} == SETBACK_ANSWERS
    assert bot_process.starts == 2
    await bot_process.stop()


async def test_stale_button_gets_a_notice_and_changes_nothing(standin: StandIn, bot_process: BotProcess) -> None:
    await bot_process.start()
    chat = Chat(standin, 504)
    await chat.begin("/reframe", expect="What happened?")
    feeling = await chat.say("My bike was stolen", expect="What are you feeling")
    await chat.tap("😠 Angry", expect="How strong", on=feeling)
    before = len(chat.messages())
    stale = standin.user_presses_button(504, feeling.message_id, data="2:sad")
    answer = await standin.wait_for_callback_answer(stale.callback_query_id)
    assert "earlier question" in (answer.answer_text or "")
    await asyncio.sleep(0.3)
    assert len(chat.messages()) == before
    await bot_process.stop()


async def test_a_sticker_gets_a_kind_word_and_the_question_again(standin: StandIn, bot_process: BotProcess) -> None:
    await bot_process.start()
    chat = Chat(standin, 505)
    await chat.begin("/quick", expect="what happened")
    before = len(chat.messages())
    standin.user_sends_sticker(505)
    await standin.wait_for_bot_messages(505, before + 2)
    texts = [m.shown_text for m in chat.messages()[before:]]
    assert "only read text" in texts[0]
    assert "what happened" in texts[1]
    await bot_process.stop()


async def test_the_allowlist_turns_strangers_away_and_stores_nothing(standin: StandIn, bot_process: BotProcess) -> None:
    bot_process.extra_env["ALLOWED_USER_IDS"] = "600, 601"
    await bot_process.start()
    stranger = Chat(standin, 999)
    reply = await stranger.say("/reframe")
    assert "only open to invited people" in reply.shown_text
    friend = Chat(standin, 600)
    await friend.begin("/reframe", expect="What happened?")
    assert bot_process.rows("SELECT external_id FROM users") == [("tg:600",)]
    await bot_process.stop()


async def test_sigterm_stops_within_five_seconds(standin: StandIn, bot_process: BotProcess) -> None:
    await bot_process.start()
    started = time.monotonic()
    assert await bot_process.stop(timeout=5) == 0
    assert time.monotonic() - started < 5


async def test_the_logs_never_show_the_token_or_answers(standin: StandIn, bot_process: BotProcess) -> None:
    await bot_process.start()
    await _walk_setback(Chat(standin, 506))
    await bot_process.stop()
    log = bot_process.log()
    assert "signed in" in log  # the log was really written, at DEBUG
    assert TOKEN not in log and TOKEN.split(":")[1] not in log
    for answer in SETBACK_ANSWERS.values():
        assert answer not in log


def test_a_missing_token_gets_one_clear_line(tmp_path: os.PathLike[str]) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TELEGRAM_")}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "TELEGRAM_BOT_TOKEN is not set" in lines[0]


def test_a_malformed_token_is_refused_without_printing_it(tmp_path: os.PathLike[str]) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TELEGRAM_")}
    env.update({"PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": "not-a-token-SECRET123"})
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "SECRET123" not in result.stderr + result.stdout


async def test_every_request_and_answer_follows_the_bot_api_spec(standin: StandIn, bot_process: BotProcess) -> None:
    if standin.spec is None:
        pytest.skip("the Bot API specification (../shared/telegram-bot-api/api.json) is not here")
    await bot_process.start()
    chat = Chat(standin, 507)
    await _walk_setback(chat)
    standin.user_sends_sticker(507)
    await chat.say("/lessons", expect="What you've learned")
    await bot_process.stop()
    methods = {record.method for record in standin.requests}
    assert {"getMe", "setMyCommands", "deleteWebhook", "getUpdates", "sendMessage", "editMessageText"} <= methods
    assert {"answerCallbackQuery"} <= methods
    assert standin.spec_problems == []


async def test_crisis_language_gets_people_to_talk_to_and_the_flow_waits(
    standin: StandIn, bot_process: BotProcess
) -> None:
    await bot_process.start()
    chat = Chat(standin, 508)
    await chat.begin("/reframe", expect="What happened?")
    crisis = await chat.say("Honestly I don't want to be alive anymore", expect="only a bot")
    assert "988" in crisis.shown_text and "findahelpline.com" in crisis.shown_text
    assert crisis.button_texts == ["Continue", "Stop for now"]
    # An explicit statement right after is answered again, never suppressed.
    again = await chat.say("I want to kill myself", expect="only a bot")
    assert again.message_id != crisis.message_id
    await chat.tap("Continue", expect="What happened?", on=again)
    # Nothing of it was taken as an answer: the flow goes on from the same question.
    await chat.say("My exam went badly", expect="What are you feeling")
    sos = await chat.say("/sos", expect="only a bot")
    assert "988" in sos.shown_text
    assert bot_process.rows("SELECT count(*) FROM runs") == [(0,)]
    await bot_process.stop()


async def test_words_after_a_command_and_edited_messages_reach_the_crisis_screen(
    standin: StandIn, bot_process: BotProcess
) -> None:
    await bot_process.start()
    chat = Chat(standin, 509)
    await chat.begin("/quick", expect="what happened?")
    after_command = await chat.say("/reframe I want to kill myself", expect="only a bot")
    assert "findahelpline.com" in after_command.shown_text
    await chat.tap("Continue", expect="what happened?", on=after_command)
    written = await chat.say("I missed the bus", expect="teach you")
    before = len(chat.messages())
    standin.user_edits_message(509, written.message_id - 1, "I missed the bus and I want to end my life")
    edited = await chat.next_reply(expect="only a bot", after=before)
    assert "findahelpline.com" in edited.shown_text
    # The edit changed no answer: the stored one is what was first sent.
    await chat.tap("Continue", expect="teach you", on=edited)
    assert bot_process.rows("SELECT count(*) FROM runs") == [(0,)]
    await bot_process.stop()
