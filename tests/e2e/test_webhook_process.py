"""Webhook mode end to end: the real process receives updates by HTTP POST, as Telegram would send them.

The stand-in plays Telegram's Bot API (setWebhook, sendMessage…); the test plays Telegram's side of the
webhook: it takes the update the stand-in queued for a user and POSTs it to the bot with the secret header.
``springboard set-webhook`` registers the webhook as a deploy step (``BotProcess.set_webhook``); ``run`` only
checks it.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from standin.server import StandIn
from tests.e2e.harness import REPLY_CEILING_S, BotProcess, free_port
from tests.e2e.harness import WEBHOOK_HEADER as HEADER
from tests.e2e.harness import WEBHOOK_PATH as PATH
from tests.e2e.harness import WEBHOOK_SECRET as SECRET

NOT_SET_WARNING = "run `springboard set-webhook`"


def _webhook_env(bot_process: BotProcess, port: int) -> None:
    bot_process.extra_env.update(
        {
            "WEBHOOK_URL": f"https://bot.example.test{PATH}",
            "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
            "WEBHOOK_SECRET": SECRET,
        }
    )


async def _start_webhook_bot(bot_process: BotProcess, port: int, timeout: float = 60) -> None:
    """Register the webhook as a deploy does, then start the bot in webhook mode."""
    _webhook_env(bot_process, port)
    code, output = await bot_process.set_webhook()
    assert code == 0, output
    assert SECRET not in output
    await bot_process.start(ready="webhook listening", timeout=timeout)


def _update_for(standin: StandIn, update_id: int) -> dict[str, Any]:
    return next(update for update in standin.pending_updates() if update["update_id"] == update_id)


async def test_updates_by_webhook_are_stored_before_200_and_answered(standin: StandIn, bot_process: BotProcess) -> None:
    port = free_port()
    await _start_webhook_bot(bot_process, port)
    registered = standin.state()["webhook"]
    assert registered is not None and registered["url"] == f"https://bot.example.test{PATH}"
    assert registered["max_connections"] == 40
    assert NOT_SET_WARNING not in bot_process.log(), "a registered webhook is not reported missing"
    url = f"http://127.0.0.1:{port}{PATH}"

    sent = standin.user_sends_text(601, "/help")
    update = _update_for(standin, sent.update_id)
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=update, headers={HEADER: "wrong"}) as refused:
            assert refused.status == 403
        async with session.post(url, json=update) as anonymous:
            assert anonymous.status == 403
        assert bot_process.rows("SELECT count(*) FROM handled_updates WHERE update_id = ?", sent.update_id) == [(0,)]
        assert bot_process.rows("SELECT count(*) FROM inbox WHERE update_id = ?", sent.update_id) == [(0,)]

        async with session.post(url, json=update, headers={HEADER: SECRET}) as accepted:
            assert accepted.status == 200
        # 200 means stored: the update is in the inbox or already handled, never only in memory.
        stored = bot_process.rows(
            "SELECT (SELECT count(*) FROM inbox WHERE update_id = ?) + "
            "(SELECT count(*) FROM handled_updates WHERE update_id = ?)",
            sent.update_id,
            sent.update_id,
        )
        assert stored[0][0] >= 1
        reply = await standin.wait_for_bot_messages(601, timeout=30)
        assert "not a therapist" in reply[0].shown_text or "/reframe" in reply[0].shown_text

        # Telegram delivers the same update again (it did not see our 200): applied once, answered once.
        async with session.post(url, json=update, headers={HEADER: SECRET}) as again:
            assert again.status == 200
        async with session.post(url, data=b"{not json", headers={HEADER: SECRET}) as broken:
            assert broken.status == 400
        later = standin.user_sends_text(601, "/sos")
        async with session.post(url, json=_update_for(standin, later.update_id), headers={HEADER: SECRET}) as ok:
            assert ok.status == 200
        # One chat's replies go out in order: had the repeat been answered, that answer would come before this.
        await standin.wait_until(
            lambda: any("findahelpline" in m.shown_text for m in standin.bot_messages(601)), timeout=30, chat_id=601
        )
    texts = [message.shown_text for message in standin.bot_messages(601)]
    assert len(texts) == 2 and "findahelpline" in texts[1], texts
    assert bot_process.rows("SELECT count(*) FROM handled_updates WHERE update_id = ?", sent.update_id) == [(1,)]
    assert await bot_process.stop(timeout=30) == 0
    assert SECRET not in bot_process.log()


async def test_a_start_does_not_register_the_webhook_but_says_how_to(standin: StandIn, bot_process: BotProcess) -> None:
    port = free_port()
    _webhook_env(bot_process, port)
    await bot_process.start(ready="webhook listening")
    assert standin.state()["webhook"] is None, "only `springboard set-webhook` registers it"
    assert NOT_SET_WARNING in bot_process.log()
    assert await bot_process.stop(timeout=30) == 0

    code, output = await bot_process.set_webhook()
    assert code == 0 and "webhook set" in output, output
    registered = standin.state()["webhook"]
    assert registered is not None and registered["url"] == f"https://bot.example.test{PATH}"
    # Without a secret the command refuses, as the bot does, and registers nothing new.
    bot_process.extra_env["WEBHOOK_SECRET"] = ""
    code, output = await bot_process.set_webhook()
    assert code == 2 and "WEBHOOK_SECRET" in output, output


async def test_healthz_reports_the_database_and_delivery_lag_without_a_secret(
    standin: StandIn, bot_process: BotProcess
) -> None:
    port = free_port()
    await _start_webhook_bot(bot_process, port)
    url = f"http://127.0.0.1:{port}/healthz"
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as answer:
            assert answer.status == 200
            assert answer.content_type == "application/json"
            health = await answer.json()
        assert health == {
            "database": "ok",
            "inbox": {"pending": 0, "oldest_age_seconds": 0},
            "outbox": {"pending": 0, "oldest_age_seconds": 0},
        }
        # A person's conversation leaves nothing personal in it: only counts and ages.
        sent = standin.user_sends_text(602, "I failed my exam")
        async with session.post(
            f"http://127.0.0.1:{port}{PATH}", json=_update_for(standin, sent.update_id), headers={HEADER: SECRET}
        ) as accepted:
            assert accepted.status == 200
        await standin.wait_for_bot_messages(602, timeout=REPLY_CEILING_S)
        async with session.get(url) as again:
            assert again.status == 200
            text = await again.text()
    assert "exam" not in text and "602" not in text and SECRET not in text
    assert await bot_process.stop(timeout=30) == 0


async def test_a_group_message_by_webhook_gets_the_private_only_answer_and_is_not_stored(
    standin: StandIn, bot_process: BotProcess
) -> None:
    port = free_port()
    await _start_webhook_bot(bot_process, port)
    sent = standin.user_sends_text(603, "/reframe", chat_type="group", chat_id=-1003)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}{PATH}", json=_update_for(standin, sent.update_id), headers={HEADER: SECRET}
        ) as accepted,
    ):
        assert accepted.status == 200
    replies = await standin.wait_for_bot_messages(-1003, timeout=REPLY_CEILING_S)
    assert "private chats" in replies[0].shown_text
    assert bot_process.rows("SELECT count(*) FROM inbox") == [(0,)]
    assert await bot_process.stop(timeout=30) == 0
