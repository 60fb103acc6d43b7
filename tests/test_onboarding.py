"""Onboarding: a first-time person reads what the bot is and is not, and confirms before a flow starts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.conversation import ONBOARD_OK, ButtonPress, Command, Conversations, Text
from bot.engine import Say
from bot.flows.catalog import Catalog
from bot.render import html_to_plain
from bot.storage.database import open_database
from bot.storage.repository import Repository

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def conversations(tmp_path: Path, catalog: Catalog) -> AsyncIterator[Conversations]:
    connection = await open_database(tmp_path / "db.sqlite3", NOW)
    try:
        yield Conversations(catalog, Repository(connection), lambda: NOW, ZoneInfo("UTC"))
    finally:
        await connection.close()


def _plain(replies: list) -> str:
    return "\n".join(html_to_plain(reply.html) for reply in replies if isinstance(reply, Say))


async def test_a_first_flow_waits_for_a_confirmation_then_starts(conversations: Conversations) -> None:
    card = await conversations.handle("tg:1", Command("reframe"))
    text = _plain(card)
    assert "not a therapist" in text and "/sos" in text and "database" in text
    assert [[button.value for button in row] for row in card[0].buttons] == [[ONBOARD_OK]]

    started = await conversations.handle("tg:1", ButtonPress(ONBOARD_OK, 0))
    assert "What happened?" in _plain(started)  # the flow they asked for, not a menu


async def test_typing_instead_of_tapping_is_not_taken_as_an_answer(conversations: Conversations) -> None:
    await conversations.handle("cli:sam", Command("quick"))
    again = await conversations.handle("cli:sam", Text("my boss shouted at me"))
    assert "not a therapist" in _plain(again)
    started = await conversations.handle("cli:sam", Text("yes"))
    assert "what happened" in _plain(started)
    state_user = await conversations.repository.find_user("cli:sam")
    assert state_user is not None and state_user.onboarded


async def test_confirming_without_a_requested_flow_shows_where_to_start(conversations: Conversations) -> None:
    await conversations.handle("tg:2", Command("start"))
    done = await conversations.handle("tg:2", ButtonPress(ONBOARD_OK, 0))
    assert "/reframe" in _plain(done) and "/quick" in _plain(done)


async def test_sos_works_before_onboarding_too(conversations: Conversations) -> None:
    replies = await conversations.handle("tg:3", Command("sos"))
    assert "988" in _plain(replies)
