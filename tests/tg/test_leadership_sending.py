"""The sender sends only while its process leads the deployment (bot.storage.leadership): a reply whose turn
comes after the leadership moved stays in the outbox for the new leader, and nothing is lost."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tests.tg.conftest import Harness


async def test_a_reply_whose_turn_comes_after_the_leadership_moved_stays_for_the_next_leader(
    harness: Harness,
) -> None:
    await harness.onboard()
    before = len(harness.request.sent())
    sender = harness.sender
    paced = sender._throttle.wait

    async def wait_then_lose_the_lead(*args: Any) -> None:
        await paced(*args)
        sender.leading = False  # e.g. a 429's pause outlasted the lock

    sender._throttle.wait = wait_then_lose_the_lead  # type: ignore[method-assign]
    await harness.send("/help")
    assert len(harness.request.sent()) == before, "nothing went out once another replica leads"
    async with harness.repository.snapshot() as view:
        assert len(await view.pending_replies(42)) == 1, "the reply is kept for the next leader"

    sender._throttle.wait = paced  # type: ignore[method-assign]
    assert not await sender.flush(42), "a replica that does not lead sends nothing"
    sender.leading = True  # this process leads again (or the next leader's sender runs)
    assert await sender.flush(42)
    assert len(harness.request.sent()) == before + 1
    async with harness.repository.snapshot() as view:
        assert await view.pending_replies(42) == []


async def test_each_reply_is_marked_sent_before_the_next_one_goes(harness: Harness) -> None:
    """A process killed mid-batch (no ``finally`` runs) then repeats only the message in flight, before anything
    newer: an earlier question can never land again under a later one."""
    await harness.onboard()
    sender = harness.sender
    sender.leading = False  # the replies queue up as one batch
    await harness.send("/help")
    await harness.send("/help")
    async with harness.repository.snapshot() as view:
        queued = [outbox_id for outbox_id, _, _ in await view.pending_replies(42)]
    assert len(queued) >= 2
    still_pending_at_each_send: list[list[int]] = []
    deliver = sender._deliver

    async def looking(chat_id: int, payload: Any) -> bool:
        async with harness.repository.snapshot() as view:
            still_pending_at_each_send.append([outbox_id for outbox_id, _, _ in await view.pending_replies(chat_id)])
        return await deliver(chat_id, payload)

    sender._deliver = looking  # type: ignore[method-assign]
    sender.leading = True
    assert await sender.flush(42)
    assert still_pending_at_each_send == [queued[index:] for index in range(len(queued))]


async def test_after_a_restart_the_reply_that_waited_longest_goes_first_whatever_the_chat_id(
    harness: Harness,
) -> None:
    """A bot restarted again and again before it got through its backlog must not serve the same chats each
    time (in chat id order, the high ids waited on and on)."""
    sender = harness.sender
    now = datetime.now(UTC)
    async with harness.repository.transaction() as tx:
        for chat_id in (9001, 12, 500, 9001, 12):
            await tx.enqueue_replies(
                chat_id, [json.dumps({"kind": "send", "html": f"to {chat_id}", "buttons": []})], now
            )
    first_sent_to: list[int] = []
    deliver = sender._deliver

    async def noting(chat_id: int, payload: Any) -> bool:
        if chat_id not in first_sent_to:
            first_sent_to.append(chat_id)
        return await deliver(chat_id, payload)

    sender._deliver = noting  # type: ignore[method-assign]
    await sender.flush_all()
    assert first_sent_to == [9001, 12, 500]
    async with harness.repository.snapshot() as view:
        assert await view.pending_replies() == []
