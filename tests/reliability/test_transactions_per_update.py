"""What one update costs in write transactions, through the intake, the handlers and the sender.

DESIGN asks for as few fsync'd writes as can keep the guarantees: the state change commits with its outbox
rows (one), and what was sent is marked in one more per chat batch; receiving a batch of updates is one
write for the whole batch. Counted here by wrapping the one function every write transaction goes through.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from bot.storage import repository as repository_module
from tests.reliability.inprocess import rig

PEOPLE = 10


async def test_a_typed_answer_costs_at_most_two_write_transactions(monkeypatch: pytest.MonkeyPatch) -> None:
    async with rig() as session:
        people = [500 + number for number in range(PEOPLE)]
        for person in people:
            await session.start_flow("/quick", person)
        opened: list[str] = []
        real = repository_module.write_transaction

        @asynccontextmanager
        async def counted(connection: Any) -> AsyncIterator[Any]:
            opened.append("write")
            async with real(connection) as inside:
                yield inside

        monkeypatch.setattr(repository_module, "write_transaction", counted)
        await session.deliver(*(session.message("My flat flooded on the day of the move", p) for p in people))
        assert all("teach you" in session.texts_shown(person)[-1] for person in people)
        # One to store the batch, then per update: the answer with its replies, and marking them sent.
        assert len(opened) <= 1 + 2 * PEOPLE, len(opened)
