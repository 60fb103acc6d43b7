"""python-telegram-bot remembers every chat and user id for a persistence this bot does not have: the intake
forgets them now and then, so memory does not grow with the number of people who ever wrote."""

from __future__ import annotations

import pytest

from bot.tg import intake as intake_module
from tests.reliability.inprocess import rig

MARKS = ("_chat_ids_to_be_updated_in_persistence", "_user_ids_to_be_updated_in_persistence")


async def test_the_ids_kept_for_a_persistence_are_forgotten_every_few_hundred_updates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with rig() as session:
        application = session.harness.application
        monkeypatch.setattr(intake_module, "DROP_PERSISTENCE_MARKS_EVERY", 10**9)
        for person in range(700, 712):
            await session.say("hello there", person)
        kept = [len(getattr(application, name)) for name in MARKS]
        assert min(kept) >= 12, "python-telegram-bot no longer keeps these ids: this workaround can go"
        monkeypatch.setattr(intake_module, "DROP_PERSISTENCE_MARKS_EVERY", 5)
        for person in range(800, 812):
            await session.say("hello there", person)
        assert all(len(getattr(application, name)) < 5 for name in MARKS)
