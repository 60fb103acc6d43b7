"""The database file deleted or replaced under the running bot: it stops with exit code 1 and one clear
error, without confirming anything more to Telegram, so what arrives meanwhile is delivered again to the
next start instead of vanishing with the unlinked file.

The real process against the stand-in (the webhook side is in tests/e2e/test_webhook_hardening.py).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pytest

from standin.server import StandIn
from tests.e2e.harness import REPLY_CEILING_S, Chat
from tests.reliability.conftest import KillableBot


def _remove(database: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        path = database.with_name(database.name + suffix)
        if path.exists():
            path.unlink()


def _replace(database: Path) -> None:
    """Put another (valid, empty) SQLite file where the database was, as a restore from a backup might."""
    other = database.with_name("other.sqlite3")
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE placeholder (x)")
    os.replace(other, database)


@pytest.mark.parametrize(("change", "said"), [(_remove, "was deleted"), (_replace, "was replaced by another file")])
async def test_a_vanished_database_stops_the_bot_before_it_confirms_anything_more(
    standin: StandIn, bot: KillableBot, change: object, said: str
) -> None:
    await bot.start()
    chat = Chat(standin, 821)
    await chat.say("/help", expect="/reframe")

    assert callable(change)
    change(bot.database)
    later = standin.user_sends_text(821, "/sos")

    assert bot.process is not None
    assert await asyncio.wait_for(bot.process.wait(), REPLY_CEILING_S) == 1
    errors = [line for line in bot.log().splitlines() if " ERROR " in line]
    assert len(errors) == 1 and said in errors[0] and str(bot.database) in errors[0], errors
    # Not confirmed, and not answered from a file no one will read again.
    assert not standin.world.updates.is_confirmed(later.update_id)
    assert not any("findahelpline" in m.shown_text for m in chat.messages())

    if change is _replace:
        _remove(bot.database)  # what was swapped in is no bot database; start afresh
    await bot.start()
    await chat.next_reply(expect="findahelpline", after=1)
    await standin.wait_for_confirmation(later.update_id, timeout=REPLY_CEILING_S)
    assert await bot.stop() == 0


def test_a_file_that_cannot_be_checked_any_more_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    from bot.storage.database import DatabaseFile

    database = tmp_path / "inside" / "bot.sqlite3"
    database.parent.mkdir()
    database.write_bytes(b"")
    watched = DatabaseFile(database)
    database.unlink()
    database.parent.rmdir()
    database.parent.write_text("a file where the folder was")  # stat() now fails with NotADirectoryError
    problem = watched.problem()
    assert problem is not None and "cannot be checked" in problem
