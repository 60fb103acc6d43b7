"""Kill -9 at random moments while 50 people work through a setback: nothing lost, nothing doubled.

The bot process runs for real against the stand-in. Nobody re-sends anything: an update the bot had
not stored when it died is still unconfirmed, so the stand-in (like Telegram) delivers it again; one
it had stored but not handled is replayed from the inbox; a reply committed but not sent goes out
after the restart.
"""

from __future__ import annotations

import asyncio
import random
import time

from bot.standin.server import StandIn
from tests.reliability.conftest import KillableBot
from tests.reliability.people import Person, check_database, check_every_question_shown

PEOPLE = 50
MIN_KILLS = 20
MAX_KILLS = 60
SEED = 20260301
STEP_TIMEOUT_S = 30.0
TEST_BUDGET_S = 120.0


async def test_fifty_people_finish_exactly_once_while_the_bot_is_killed_again_and_again(
    standin: StandIn, bot: KillableBot
) -> None:
    rng = random.Random(SEED)
    people = [Person.make(8000 + n, n, rng, think=(0.3, 1.5)) for n in range(PEOPLE)]
    started = time.monotonic()
    kills: list[float] = []

    async def killer() -> None:
        await bot.spawn()
        while len(kills) < MAX_KILLS and not all(person.done for person in people):
            # Any moment: during start-up (migrations, replaying the inbox, flushing the outbox) or
            # while handling and sending.
            await asyncio.sleep(rng.uniform(0.05, 1.1))
            if all(person.done for person in people):
                break
            await bot.kill_now()
            kills.append(time.monotonic() - started)
            await bot.spawn()

    kill_task = asyncio.create_task(killer())
    walks = [
        asyncio.create_task(person.walk(standin, random.Random(SEED + person.user_id), STEP_TIMEOUT_S))
        for person in people
    ]
    try:
        await asyncio.wait_for(asyncio.gather(*walks), TEST_BUDGET_S)
    except BaseException:
        kill_task.cancel()
        raise
    finally:
        for walk in walks:
            walk.cancel()
        await asyncio.gather(*walks, return_exceptions=True)
        await asyncio.gather(kill_task, return_exceptions=True)
    finished = time.monotonic() - started

    assert len(kills) >= MIN_KILLS, f"only {len(kills)} kills happened while people were mid-flow"
    await bot.wait_polling()
    assert await bot.stop(timeout=5) == 0
    check_database(bot.rows, people)
    check_every_question_shown(standin, people)
    replayed = bot.log().count("received before the last stop")
    print(
        f"\n{len(kills)} kills in {finished:.1f} s; {bot.starts} starts, {replayed} of them replaying the inbox; "
        f"slowest wait for a question {max(max(p.waited) for p in people):.1f} s"
    )
