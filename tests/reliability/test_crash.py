"""Kill -9 at moments tied to the bot's own progress while 50 people work through a setback: nothing lost,
nothing doubled.

The bot process runs for real against the stand-in. Nobody re-sends anything: an update the bot had
not stored when it died is still unconfirmed, so the stand-in (like Telegram) delivers it again; one
it had stored but not handled is replayed from the inbox; a reply committed but not sent goes out
after the restart.

Kills are not on a wall-clock schedule (a slow start would outrun it, and no process would ever reach
polling). Each one waits for a moment in the bot's life, seen from the stand-in:

- ``polling``: some time after this start began long-polling (normal work, anywhere in it);
- ``batch``: just after getUpdates handed over a batch (storing it, or handling it);
- ``replay``: as the start-up replay of the inbox runs (right after a ``batch`` kill left it full);
- ``send``: while a sendMessage is in flight (Telegram has it; the bot has not marked it sent).

Every budget is a multiple of the start-up time measured in this run, so a machine three times slower
gets three times longer, and the people think for longer so at least ``MIN_KILLS`` kills land mid-flow.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Callable

import pytest

from standin import Fault
from standin.server import StandIn
from tests.reliability.conftest import KillableBot
from tests.reliability.people import Person, check_database, check_every_question_shown, walk_while

PEOPLE = 50
MIN_KILLS = 20
PLANNED_KILLS = 30  # what the people's thinking time is sized for
MAX_KILLS = 60
MIN_PER_KIND = 4
SEED = 20260301
MOVES_PER_PERSON = 11
SEND_HELD_S = 0.5  # how long the stand-in holds a sendMessage, so a kill finds it in flight
REPLAYED = "received before the last stop"


async def _until_stored(bot: KillableBot, limit: float) -> None:
    """Return as soon as the inbox holds an update not yet handled (or after ``limit`` seconds)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if bot.rows("SELECT count(*) FROM inbox") != [(0,)]:
                return
        except sqlite3.Error:
            pass  # the bot holds a write lock or is creating the file: look again
        await asyncio.sleep(0.001)


def _rounds(rng: random.Random) -> list[str]:
    """Kill kinds in shuffled rounds of four; ``replay`` always right after ``batch`` (which fills the inbox)."""
    kinds: list[str] = []
    while len(kinds) < MAX_KILLS:
        units = [["polling"], ["batch", "replay"], ["send"]]
        rng.shuffle(units)
        kinds.extend(kind for unit in units for kind in unit)
    return kinds


@pytest.mark.xdist_group("fifty_people")  # never beside the other fifty-people test: both load the CPU
async def test_fifty_people_finish_exactly_once_while_the_bot_is_killed_again_and_again(
    standin: StandIn, bot: KillableBot
) -> None:
    rng = random.Random(SEED)
    started = time.monotonic()
    await bot.spawn()
    await bot.wait_polling(timeout=120)
    # A start is over once the crisis screen's learned readers are loaded too (their load takes the CPU
    # from the rest for a second or more, longer on a busy machine): every budget below is a multiple of it.
    await bot.wait_logged("crisis screen: ", timeout=120)
    startup = time.monotonic() - started
    # One kill cycle is a start-up plus a moment of work; the people's walks must span PLANNED_KILLS of them.
    # A walk is thinking plus waiting for replies while the bot is down, about half each (measured).
    cycle = startup + 0.6
    think = cycle * PLANNED_KILLS / MOVES_PER_PERSON / 2
    # The longest wait for any one moment or reply: generous, since a wait ends as soon as it comes, and a
    # person can meet several kills in a row while the machine is busy with other work.
    ceiling = max(40.0, 10 * cycle)
    people = [Person.make(8000 + n, n, rng, think=(0.3 * think, 1.7 * think)) for n in range(PEOPLE)]
    kills: Counter[str] = Counter()
    replays_killed = 0

    def all_done() -> bool:
        return all(person.done for person in people)

    async def moment(found: Callable[[], bool]) -> bool:
        """Wait for ``found()`` (True) or for everyone to finish (False); a ceiling keeps it bounded."""
        try:
            await standin.wait_until(lambda: found() or all_done(), timeout=ceiling, what="a moment to kill")
        except TimeoutError:
            return not all_done()
        return not all_done()

    async def reach(kind: str) -> bool:
        """Wait for this kind's moment in the current start; False when everyone finished first."""
        nonlocal replays_killed
        seen = len(standin.requests)
        polls, menus, sends = (standin.arrived(method) for method in ("getUpdates", "setMyCommands", "sendMessage"))
        if kind == "replay":
            if not await moment(lambda: standin.arrived("setMyCommands") > menus):
                return False
            replays_killed += REPLAYED in bot.log()[bot.log_mark :]
            return True
        if not await moment(lambda: standin.arrived("getUpdates") > polls):
            return False
        if kind == "polling":
            await asyncio.sleep(rng.uniform(0, 1.0) * max(1.0, startup))
        elif kind == "batch":
            handed_over = any(record.method == "getUpdates" and record.result for record in standin.requests[seen:])
            if not handed_over and not await moment(
                lambda: any(record.method == "getUpdates" and record.result for record in standin.requests[seen:])
            ):
                return False
            # Best between storing the batch and handling it, so the next start has something to replay.
            await _until_stored(bot, limit=0.2)
        else:
            standin.inject_fault("sendMessage", Fault.delay(SEND_HELD_S))
            if not await moment(lambda: standin.arrived("sendMessage") > sends):
                return False
        return not all_done()

    async def killer() -> None:
        for kind in _rounds(rng):
            if all_done() or not await reach(kind):
                return
            await bot.kill_now()
            kills[kind] += 1
            await bot.spawn()

    budget = MOVES_PER_PERSON * (1.7 * think + ceiling) + 60
    try:
        await walk_while(killer(), standin, people, SEED, ceiling, budget)
    except TimeoutError as stuck:
        raise AssertionError(f"{stuck}\n{bot.diagnosis(stuck)}") from stuck
    finished = time.monotonic() - started

    total = sum(kills.values())
    assert total >= MIN_KILLS, f"only {total} kills happened while people were mid-flow ({dict(kills)})"
    assert all(kills[kind] >= MIN_PER_KIND for kind in ("polling", "batch", "replay", "send")), dict(kills)
    assert replays_killed >= 2, f"only {replays_killed} kills landed while the inbox was being replayed"
    standin.clear_faults()
    await bot.wait_polling(timeout=ceiling)
    await standin.wait_until(lambda: bot.rows("SELECT count(*) FROM outbox") == [(0,)], timeout=ceiling)
    assert await bot.stop(timeout=ceiling) == 0
    check_database(bot.rows, people)
    check_every_question_shown(standin, people)
    print(
        f"\n{total} kills ({dict(kills)}) in {finished:.1f} s; start-up {startup:.2f} s; {bot.starts} starts, "
        f"{replays_killed} kills mid-replay; slowest wait for a question {max(max(p.waited) for p in people):.1f} s"
    )
