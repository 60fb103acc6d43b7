"""The sender sends only while its process leads the deployment (bot.storage.leadership): a reply whose turn
comes after the leadership moved stays in the outbox for the new leader, and nothing is lost."""

from __future__ import annotations

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
