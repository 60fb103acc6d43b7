"""Webhook mode against hostile or broken input, through the real process: no start without a secret, 400
(never 500) for bodies that are not updates, malformed updates quarantined, forged senders and far-off
update ids refused, slow requests cut off, connections capped, a vanished database never confirmed into.

As in test_webhook_process.py, the stand-in plays the Bot API and the test plays Telegram's side of the
webhook, POSTing updates (the stand-in numbers them) with the secret header.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from typing import Any

import aiohttp
import pytest

from bot.history import FORGET_YES
from bot.tg.intake import UPDATE_ID_WINDOW
from standin.server import StandIn
from tests.e2e.harness import REPLY_CEILING_S, BotProcess, free_port
from tests.e2e.harness import WEBHOOK_HEADER as HEADER
from tests.e2e.harness import WEBHOOK_PATH as PATH
from tests.e2e.harness import WEBHOOK_SECRET as SECRET
from tests.malformed import SECRET_WORDS, malformed_updates


class Webhook:
    """The bot process in webhook mode, and Telegram's side of the webhook."""

    def __init__(self, standin: StandIn, bot: BotProcess) -> None:
        self.standin = standin
        self.bot = bot
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}{PATH}"
        bot.extra_env.update(
            {
                "WEBHOOK_URL": f"https://bot.example.test{PATH}",
                "WEBHOOK_LISTEN": f"127.0.0.1:{self.port}",
                "WEBHOOK_SECRET": SECRET,
                "LOG_LEVEL": "INFO",  # the README's promise about the log is for INFO and above
            }
        )

    async def start(self, **env: str) -> None:
        self.bot.extra_env.update(env)
        code, output = await self.bot.set_webhook()  # the deploy step, before the bot starts
        assert code == 0, output
        await self.bot.start(ready="webhook listening")

    async def post(self, body: bytes | Any) -> int:
        """POST one body with the secret; returns the status."""
        data = io.BytesIO(body if isinstance(body, bytes) else json.dumps(body).encode())
        headers = {HEADER: SECRET, "Content-Type": "application/json"}
        async with aiohttp.ClientSession() as session, session.post(self.url, data=data, headers=headers) as answer:
            return answer.status

    def queued(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` numbered as the stand-in numbers updates (its next id), ready to POST."""
        update_id = self.standin.queue_raw_update(body)
        return {**body, "update_id": update_id}

    async def user_says(self, user_id: int, text: str, expect: str | None = None) -> int:
        """POST a text from ``user_id`` as Telegram would and wait for the bot's answer; returns its update id."""
        before = len(self.standin.bot_messages(user_id))
        sent = self.standin.user_sends_text(user_id, text)
        update = next(u for u in self.standin.pending_updates() if u["update_id"] == sent.update_id)
        assert await self.post(update) == 200

        def answered() -> bool:
            return any(expect is None or expect in m.shown_text for m in self.standin.bot_messages(user_id)[before:])

        await self.standin.wait_until(answered, timeout=REPLY_CEILING_S, chat_id=user_id, what=f"an answer to {text}")
        return sent.update_id

    def stored(self, update_id: int) -> bool:
        found = self.bot.rows(
            "SELECT (SELECT count(*) FROM inbox WHERE update_id = ?) + "
            "(SELECT count(*) FROM handled_updates WHERE update_id = ?)",
            update_id,
            update_id,
        )
        return bool(found[0][0])


@pytest.fixture
def webhook(standin: StandIn, bot_process: BotProcess) -> Webhook:
    return Webhook(standin, bot_process)


async def _exit_code(bot: BotProcess) -> int:
    """Start the process as configured and wait (up to the ceiling) for it to exit on its own."""
    bot.starts += 1
    with bot.log_path.open("ab") as log:
        bot.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=bot.workdir, env=bot.env(), stdout=log, stderr=log
        )
    return await asyncio.wait_for(bot.process.wait(), REPLY_CEILING_S)


@pytest.mark.parametrize("secret", [None, ""])
async def test_webhook_mode_refuses_to_start_without_a_secret(webhook: Webhook, secret: str | None) -> None:
    if secret is None:
        del webhook.bot.extra_env["WEBHOOK_SECRET"]
    else:
        webhook.bot.extra_env["WEBHOOK_SECRET"] = secret
    os.environ.pop("WEBHOOK_SECRET", None)

    assert await _exit_code(webhook.bot) == 2
    lines = webhook.bot.log().strip().splitlines()
    assert len(lines) == 1 and "WEBHOOK_SECRET" in lines[0], lines
    assert webhook.standin.state()["webhook"] is None  # nothing was registered with Telegram


async def test_a_secret_telegram_would_refuse_is_refused_at_start(webhook: Webhook) -> None:
    webhook.bot.extra_env["WEBHOOK_SECRET"] = "has spaces and ü"
    assert await _exit_code(webhook.bot) == 2
    assert "WEBHOOK_SECRET" in webhook.bot.log()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"null", id="null"),
        pytest.param(b"[]", id="array"),
        pytest.param(b"1", id="number"),
        pytest.param(b'"x"', id="string"),
        pytest.param(b'{"update_id":"a"}', id="text-id"),
        pytest.param(b'{"update_id":true}', id="boolean-id"),
        pytest.param(b'{"update_id":1.5}', id="fraction-id"),
        pytest.param(b'{"update_id":-3}', id="negative-id"),
        pytest.param(b'{"update_id":9223372036854775807}', id="huge-id"),
        pytest.param(b'{"message":{}}', id="no-id"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-past-the-stack"),
        pytest.param(b'{"update_id":5,"message":' + b"[" * 200 + b"]" * 200 + b"}", id="nested-deep"),
        pytest.param(b"\xff\xfe{not utf-8", id="not-utf-8"),
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"", id="empty"),
    ],
)
async def test_a_body_that_is_not_an_update_gets_400_and_no_traceback(webhook: Webhook, body: bytes) -> None:
    await webhook.start()
    assert await webhook.post(body) == 400
    await webhook.user_says(611, "/help")  # and the next real update is served
    log = webhook.bot.log()
    assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
    assert "refused a body that is not an update object" in log


async def test_malformed_updates_by_webhook_are_quarantined_and_the_next_ones_flow(webhook: Webhook) -> None:
    await webhook.start()
    posted = {what: webhook.queued(body) for what, body in malformed_updates(612).items()}
    for what, update in posted.items():
        assert await webhook.post(update) == 200, what  # kept: Telegram must not send it again and again
    again = posted["a message without a date"]
    assert await webhook.post(again) == 200  # a resend is recognised, not quarantined twice

    await webhook.user_says(612, "/help")
    ids = sorted(update["update_id"] for update in posted.values())
    assert [row[0] for row in webhook.bot.rows("SELECT update_id FROM dead_letters ORDER BY update_id")] == ids
    log = webhook.bot.log()
    for update_id in ids:
        assert log.count(f"quarantined update {update_id}:") == 1
    assert SECRET_WORDS not in log and "Traceback" not in log


async def test_a_forged_sender_can_neither_export_nor_erase_someone_else(webhook: Webhook) -> None:
    victim, attacker = 701, 702
    await webhook.start()
    await webhook.user_says(victim, "/start")
    await webhook.user_says(attacker, "/help")
    shown_to_attacker = len(webhook.standin.bot_messages(attacker))

    person = {"id": victim, "is_bot": False, "first_name": "Victim"}
    chat = {"id": attacker, "type": "private", "first_name": "Attacker"}

    def forged_command(text: str) -> dict[str, Any]:
        entities = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        message = {"message_id": 90, "date": 1_764_000_000, "from": person, "chat": chat, "text": text}
        return webhook.queued({"message": {**message, "entities": entities}})

    confirm = {
        "id": "forged-1",
        "from": person,
        "chat_instance": "ci",
        "data": f"1:{FORGET_YES}",
        "message": {"message_id": 91, "date": 1_764_000_000, "chat": chat, "text": "Delete everything?"},
    }
    forged = [forged_command("/export"), forged_command("/forget"), webhook.queued({"callback_query": confirm})]
    for update in forged:
        assert await webhook.post(update) == 200  # taken, and dropped: Telegram need not send it again

    # The attacker's chat is served in order: whatever the forged updates caused would come before this.
    await webhook.user_says(attacker, "/sos", expect="findahelpline")
    assert len(webhook.standin.bot_messages(attacker)) == shown_to_attacker + 1
    assert webhook.standin.requests_for("sendDocument") == []
    assert webhook.bot.rows("SELECT count(*) FROM users WHERE external_id = ?", f"tg:{victim}") == [(1,)]
    log = webhook.bot.log()
    for update in forged:
        assert not webhook.stored(update["update_id"])
        assert f"refused update {update['update_id']}: a private chat whose sender is someone else" in log


async def test_an_update_id_far_ahead_is_refused_and_never_becomes_the_offset(webhook: Webhook) -> None:
    await webhook.start()
    seen = await webhook.user_says(613, "/help")
    offset = webhook.bot.rows("SELECT value FROM bot_state WHERE key = 'update_offset'")
    assert offset == [(str(seen + 1),)]

    webhook.standin.skip_update_ids(UPDATE_ID_WINDOW + 1000)
    far = webhook.queued({"message": _text_message(613, "/sos")})
    assert await webhook.post(far) == 200
    huge = {**far, "update_id": 2**63 - 1}
    assert await webhook.post(huge) == 400  # not an update id Telegram could send at all

    assert not webhook.stored(far["update_id"])
    assert webhook.bot.rows("SELECT value FROM bot_state WHERE key = 'update_offset'") == offset
    assert f"refused update {far['update_id']}: its id is more than" in webhook.bot.log()
    # An id that jumps by less is Telegram's own: still served.
    near = {"update_id": seen + UPDATE_ID_WINDOW // 2, "message": _text_message(613, "/sos")}
    assert await webhook.post(near) == 200
    await webhook.standin.wait_until(
        lambda: any("findahelpline" in m.shown_text for m in webhook.standin.bot_messages(613)),
        timeout=REPLY_CEILING_S,
        chat_id=613,
    )


def _text_message(user_id: int, text: str) -> dict[str, Any]:
    person = {"id": user_id, "is_bot": False, "first_name": "Sam"}
    chat = {"id": user_id, "type": "private", "first_name": "Sam"}
    entities = [{"type": "bot_command", "offset": 0, "length": len(text)}] if text.startswith("/") else []
    return {"message_id": 5, "date": 1_764_000_000, "from": person, "chat": chat, "text": text, "entities": entities}


async def test_a_slow_or_oversized_request_is_cut_off_and_a_silent_connection_closed(webhook: Webhook) -> None:
    await webhook.start(WEBHOOK_READ_TIMEOUT_SECONDS="1")

    reader, writer = await asyncio.open_connection("127.0.0.1", webhook.port)
    head = f"POST {PATH} HTTP/1.1\r\nHost: bot\r\n{HEADER}: {SECRET}\r\nContent-Length: 500\r\n\r\n"
    writer.write(head.encode() + b'{"update_id": 1, "mess')  # …and the rest never comes
    answer = await asyncio.wait_for(reader.read(100), REPLY_CEILING_S)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    writer.close()

    reader, writer = await asyncio.open_connection("127.0.0.1", webhook.port)
    writer.write(f"POST {PATH} HTTP/1.1\r\nHost: bot\r\n".encode())  # a request head that never ends
    assert await asyncio.wait_for(reader.read(100), REPLY_CEILING_S) == b""  # closed by the bot
    writer.close()

    oversized = b'{"update_id": 1, "padding": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    assert await webhook.post(oversized) == 413

    await webhook.user_says(614, "/help")
    assert "Traceback" not in webhook.bot.log()


async def test_connections_over_the_cap_are_turned_away(webhook: Webhook) -> None:
    await webhook.start(WEBHOOK_MAX_CONNECTIONS="2", WEBHOOK_READ_TIMEOUT_SECONDS="120")
    assert webhook.standin.state()["webhook"]["max_connections"] == 2  # Telegram is asked to keep to it

    idle = [await asyncio.open_connection("127.0.0.1", webhook.port) for _ in range(2)]
    reader, writer = await asyncio.open_connection("127.0.0.1", webhook.port)
    answer = await asyncio.wait_for(reader.read(), REPLY_CEILING_S)  # turned away without reading a thing
    assert answer.startswith(b"HTTP/1.1 503"), answer
    writer.close()

    idle[0][1].close()  # one connection ends: there is room again
    sent = webhook.standin.user_sends_text(615, "/help")
    update = next(u for u in webhook.standin.pending_updates() if u["update_id"] == sent.update_id)

    async def accepted() -> bool:
        try:
            return await webhook.post(update) == 200
        except aiohttp.ClientConnectionError:  # turned away while the bot had not yet seen the close
            return False

    for _ in range(int(REPLY_CEILING_S * 10)):
        if await accepted():
            break
        await asyncio.sleep(0.1)
    await webhook.standin.wait_for_bot_messages(615, timeout=REPLY_CEILING_S)
    idle[1][1].close()


async def test_a_deleted_database_is_never_confirmed_into(webhook: Webhook) -> None:
    await webhook.start()
    await webhook.user_says(616, "/help")
    for suffix in ("", "-wal", "-shm"):
        path = webhook.bot.database.with_name(webhook.bot.database.name + suffix)
        if path.exists():
            path.unlink()

    sent = webhook.standin.user_sends_text(616, "/sos")
    update = next(u for u in webhook.standin.pending_updates() if u["update_id"] == sent.update_id)
    try:
        status = await webhook.post(update)
    except aiohttp.ClientConnectionError:  # the bot noticed on its own first and stopped listening
        status = None
    assert status in {503, None}  # never 200: Telegram keeps the update and sends it again later

    process = webhook.bot.process
    assert process is not None
    assert await asyncio.wait_for(process.wait(), REPLY_CEILING_S) == 1
    log = webhook.bot.log()
    assert "was deleted while the bot was running" in log
    assert not any("findahelpline" in m.shown_text for m in webhook.standin.bot_messages(616))
