"""The outbox never wedges a chat: every kind of reply goes out, and one that cannot is not allowed to block.

Replies to one person leave in order, so a row that can never be sent would hold back everything after
it, for good. These run in-process through the real Intake and handlers.
"""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime

from standin.records import ChatMessage
from standin.server import StandIn
from tests.reliability.conftest import KillableBot
from tests.reliability.inprocess import USER, rig
from tests.reliability.people import Person

NOW = datetime(2026, 3, 1, tzinfo=UTC)


async def test_an_export_arrives_as_files_and_the_conversation_goes_on() -> None:
    async with rig() as session:
        await session.start_flow("/quick")
        for answer in ("My flat flooded badly", "Check the insurance every year", "Call the insurer Monday"):
            await session.say(answer)
        await session.say("/export")
        assert "Putting everything you've written together" in session.texts_shown()[-1]
        await session.harness.build_files()
        documents = session.sent("sendDocument")
        assert documents, "no file was sent"
        assert await session.scalar("SELECT count(*) FROM outbox") == 0
        await session.say("/help")
        assert "/quick" in session.texts_shown()[-1]
        assert session.errors.records == [] and session.problems == []


async def test_a_reply_that_cannot_be_sent_is_dropped_with_an_error_not_left_to_block_the_chat() -> None:
    async with rig() as session:
        await session.start_flow("/quick")
        async with session.repository.transaction() as repository:
            await repository.enqueue_replies(USER, [json.dumps({"kind": "from a newer version"})], NOW)
        await session.say("My flat flooded badly")
        assert "teach you" in session.texts_shown()[-1]
        assert await session.scalar("SELECT count(*) FROM outbox") == 0
        [error] = session.errors.records
        assert "cannot be sent; dropping it" in error.getMessage()


async def test_html_telegram_refuses_is_shown_as_plain_text_instead_of_not_at_all() -> None:
    async with rig() as session:
        await session.start_flow("/quick")
        refusal = {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: can't parse entities: unexpected end tag",
        }
        session.harness.request.fail_methods["sendMessage"] = [(400, refusal)]
        await session.say("My flat flooded badly")
        last = session.sent()[-1]
        assert "parse_mode" not in last and "What did it teach you?" in last["text"] and "<b>" not in last["text"]


async def test_an_export_reaches_telegram_as_a_document_from_the_real_process(
    standin: StandIn, bot: KillableBot
) -> None:
    await bot.spawn()
    await bot.wait_polling()
    person = Person.make(9950, 3, random.Random(3), think=(0.0, 0.05))
    await asyncio.wait_for(person.walk(standin, random.Random(3), 20), 60)
    standin.user_sends_text(person.user_id, "/export")

    def documents() -> list[ChatMessage]:
        found = [message for message in standin.bot_messages(person.user_id) if message.document is not None]
        return found if len(found) == 2 else []  # the Markdown and the JSON

    sent = await standin.wait_until(documents, timeout=60, chat_id=person.user_id, what="the export")
    document = sent[0].document
    assert document is not None and person.answers["lesson"].encode() in document.data
    assert await bot.stop(timeout=30) == 0
    assert bot.rows("SELECT count(*) FROM outbox") == [(0,)]
    spooled = bot.database.with_name(bot.database.name + ".files")
    assert not spooled.exists() or not any(spooled.iterdir()), "a sent export was left on disk"
