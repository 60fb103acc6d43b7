"""Sent replies are marked in the outbox as they go, and the chats being sent to at once share each commit:
one transaction per reply made the write lock the bottleneck after a restart with a backlog."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.storage.errors import StorageUnavailable
from bot.tg.sender import Marks
from tests.tg.conftest import Harness

CHATS = 30


async def queue_one_reply_each(harness: Harness, chats: range) -> None:
    async with harness.repository.transaction() as tx:
        for chat_id in chats:
            payload = json.dumps({"kind": "send", "html": f"to {chat_id}", "buttons": []})
            await tx.enqueue_replies(chat_id, [payload], datetime.now(UTC))


async def test_replies_sent_to_many_chats_at_once_are_marked_in_a_few_commits(harness: Harness) -> None:
    await queue_one_reply_each(harness, range(1000, 1000 + CHATS))
    repository = harness.repository
    opened = repository.transaction
    commits = 0

    @asynccontextmanager
    async def counted() -> AsyncIterator[Any]:
        nonlocal commits
        async with opened() as tx:
            yield tx
        commits += 1

    repository.transaction = counted  # type: ignore[method-assign]
    await harness.sender.flush_all()
    async with repository.snapshot() as view:
        assert await view.pending_replies() == []
    assert len(harness.request.sent()) == CHATS
    assert commits <= CHATS // 3, f"{commits} commits marked {CHATS} replies"


async def test_a_mark_the_database_refuses_is_raised_to_every_send_waiting_and_the_rows_stay(
    harness: Harness,
) -> None:
    await queue_one_reply_each(harness, range(1, 3))
    repository = harness.repository
    opened = repository.transaction

    @asynccontextmanager
    async def refusing() -> AsyncIterator[Any]:
        async with opened() as tx:
            yield tx
            raise StorageUnavailable("disk went away")

    marks = Marks(repository)
    repository.transaction = refusing  # type: ignore[method-assign]
    async with repository.snapshot() as view:
        waiting = [outbox_id for outbox_id, _, _ in await view.pending_replies()]
    for outbox_id in waiting:
        with pytest.raises(StorageUnavailable):
            await marks.mark(outbox_id)
    repository.transaction = opened  # type: ignore[method-assign]
    async with repository.snapshot() as view:
        assert [outbox_id for outbox_id, _, _ in await view.pending_replies()] == waiting, "sent again later"
    await marks.mark(waiting[0])
    async with repository.snapshot() as view:
        assert [outbox_id for outbox_id, _, _ in await view.pending_replies()] == waiting[1:]
