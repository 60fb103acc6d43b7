"""Telegram misbehaving: errors, flood control, timeouts and dropped connections. Nothing is lost.

The stand-in answers a share of every request with 429 (retry_after), 500, 502, or a dropped
connection, fails getUpdates now and then, holds some requests past the client's timeout, and applies
Telegram's flood limits. The real bot process must retry with backoff, wait as long as each 429 says,
and still get all 50 people through the setback flow exactly once.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path

import pytest

from standin import Fault
from standin.records import ChatMessage
from standin.server import StandIn
from tests.reliability.conftest import KillableBot
from tests.reliability.people import (
    Person,
    check_database,
    check_every_question_shown,
    check_retried_patiently,
    walking,
)

PEOPLE = 50
SEED = 20260302
STEP_TIMEOUT_S = 60.0
TEST_BUDGET_S = 300.0
SHARE = 0.03  # of requests, for each of 429, 500, 502 and a dropped connection (12 % in all)
UPDATES_SHARE = 0.05  # of getUpdates calls, for each of 500, 502 and a dropped connection
CLIENT_TIMEOUT_S = 5.0  # python-telegram-bot's default read timeout
SLOW_CALLS = 2
BACKOFF_S = 0.5  # the bot's first wait after a failed send or poll


@pytest.mark.xdist_group("fifty_people")  # never beside the crash test: both load the CPU
async def test_fifty_people_finish_exactly_once_while_telegram_misbehaves(standin: StandIn, bot: KillableBot) -> None:
    for fault in (Fault.too_many_requests(1), Fault.server_error(), Fault.bad_gateway(), Fault.drop_connection()):
        standin.set_fault_chance("*", fault, SHARE)
    for fault in (Fault.server_error(), Fault.bad_gateway(), Fault.drop_connection()):
        standin.set_fault_chance("getUpdates", fault, UPDATES_SHARE)
    standin.inject_fault("getUpdates", Fault.too_many_requests(2))
    # Telegram is unwell from the start: signing in, turning off the webhook, setting the command menu.
    standin.inject_fault("getMe", Fault.server_error(), Fault.drop_connection())
    standin.inject_fault("deleteWebhook", Fault.bad_gateway(), Fault.too_many_requests(1))
    standin.inject_fault("setMyCommands", Fault.drop_connection())
    standin.enable_rate_limit(overall=30, per_chat=1)
    rng = random.Random(SEED)
    people = [Person.make(9000 + n, n, rng, think=(0.2, 1.0)) for n in range(PEOPLE)]

    await bot.spawn()
    await bot.wait_polling()
    # Some calls take longer than the client waits: it gives up and retries, and the late one lands too.
    # (A slow sendMessage has a test of its own below: here its late answer would blur the timing checks.)
    standin.inject_fault("editMessageText", Fault.delay(CLIENT_TIMEOUT_S + 1), times=SLOW_CALLS)
    standin.inject_fault("answerCallbackQuery", Fault.delay(CLIENT_TIMEOUT_S + 1))
    started = time.monotonic()
    async with walking(standin, people, SEED, STEP_TIMEOUT_S) as walks:
        await asyncio.wait_for(asyncio.gather(*walks), TEST_BUDGET_S)
    finished = time.monotonic() - started
    standin.clear_faults()
    standin.disable_rate_limit()
    stopping = time.time()
    assert await bot.stop(timeout=5) == 0

    check_database(bot.rows, people)
    check_every_question_shown(standin, people)
    assert standin.bot_commands(), "the command menu was never set"
    records = standin.requests
    statuses = Counter(record.status for record in records)
    assert statuses[429] and statuses[500] and statuses[502] and statuses[0], statuses
    updates_failed = [r for r in records if r.method == "getUpdates" and r.status in (0, 429, 500, 502)]
    assert updates_failed, "getUpdates never failed: the test did not test that"

    check_retried_patiently(records, stopping, ("sendMessage", "getUpdates"), BACKOFF_S)
    print(
        f"\n{len(records)} requests in {finished:.1f} s; faults: {dict(statuses)}; "
        f"getUpdates failed {len(updates_failed)} times"
    )


async def test_sigterm_mid_traffic_stops_within_five_seconds_and_loses_nothing(
    standin: StandIn, bot: KillableBot, tmp_path: Path
) -> None:
    await bot.spawn()
    await bot.wait_polling()
    # Traffic, not start-up, is what this test stops in the middle of: exit waits for an ONNX Runtime session
    # being built (aborting it kills the process), which on a busy machine alone can take seconds. Stopping
    # during that build is tested in tests/safety/test_encoder_runtime.py (a process exiting mid-build).
    await bot.wait_logged("crisis screen: the learned readers are ready", timeout=180)
    # A reply is on its way (Telegram slow to answer) and a long poll is waiting when SIGTERM arrives.
    standin.inject_fault("sendMessage", Fault.delay(4))
    sent = standin.user_sends_text(9901, "/quick")
    await standin.wait_for_confirmation(sent.update_id, timeout=60)  # stored, so now being handled
    await asyncio.sleep(0.5)  # the reply is in the slow send
    assert not standin.bot_messages(9901)
    started = time.monotonic()
    assert await bot.stop(timeout=5) == 0
    assert time.monotonic() - started < 5
    log = bot.log()
    assert "stopped" in log.splitlines()[-1]
    for trouble in ("Traceback", "Unclosed", "was destroyed but it is pending", "Exception ignored"):
        assert trouble not in log, log[-3000:]
    # The database connection was closed cleanly: SQLite folds its write-ahead log back in and removes it.
    assert not (tmp_path / "bot.sqlite3-wal").exists()

    # After a restart the person gets the reply (again, at worst) and can go on.
    await bot.spawn()
    await bot.wait_polling()

    def asked(text: str) -> ChatMessage | None:
        return next((m for m in standin.bot_messages(9901) if text in m.shown_text), None)

    card = await standin.wait_until(
        lambda: next((m for m in standin.bot_messages(9901) if m.button_texts), None), timeout=60
    )
    if not asked("what happened"):
        standin.user_presses_button(9901, card.message_id, text=card.button_texts[0])
    await standin.wait_until(lambda: asked("what happened"), timeout=60, chat_id=9901, what="the first question")
    assert await bot.stop(timeout=30) == 0


async def test_a_send_slower_than_the_client_waits_is_retried_and_the_person_goes_on(
    standin: StandIn, bot: KillableBot
) -> None:
    await bot.spawn()
    await bot.wait_polling()
    standin.inject_fault("sendMessage", Fault.delay(CLIENT_TIMEOUT_S + 1))
    person = Person.make(9902, 2, random.Random(SEED), think=(0.0, 0.1))
    await asyncio.wait_for(person.walk(standin, random.Random(SEED), STEP_TIMEOUT_S), TEST_BUDGET_S)
    assert await bot.stop(timeout=30) == 0
    check_database(bot.rows, [person])
    check_every_question_shown(standin, [person])
    # The bot did give up waiting (and sent again): this test did test what it says.
    assert f"sending to chat {person.user_id} failed (attempt 1): Timed out" in bot.log()
