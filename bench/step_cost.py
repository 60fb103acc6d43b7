"""What one answered question costs, layer by layer, measured side by side in one run.

    python -m bench.step_cost [--rounds N]

Layers: the pure engine alone; the conversation service with its one SQLite transaction (what the
terminal chat does per line); the same with an update id and outbox rows (what the Telegram adapter
does before sending). Prints medians and ratios to the engine; the machine is shared and noisy, so
only ratios and medians are worth comparing.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.timing import table, timed
from bot import engine
from bot.conversation import Command, Conversations, Reply, Text
from bot.flows.catalog import load_catalog
from bot.storage.database import open_database
from bot.storage.repository import Repository

ROOT = Path(__file__).resolve().parents[1]
ANSWER = "I missed the deadline for the grant application and feel terrible about it"


def _clock() -> Callable[[], datetime]:
    moment = [datetime(2026, 1, 1, tzinfo=UTC)]

    def now() -> datetime:
        moment[0] += timedelta(milliseconds=1)
        return moment[0]

    return now


async def main(rounds: int) -> None:
    catalog = load_catalog(ROOT / "conversations")
    flow = catalog.flows["quick"]
    texts = catalog.texts
    now = datetime(2026, 1, 1, tzinfo=UTC)
    first, _ = engine.start(flow, now, texts)
    assert first is not None

    async def engine_only() -> None:
        engine.advance(flow, first, engine.Answer(ANSWER), now, texts)

    with tempfile.TemporaryDirectory() as folder:
        connection = await open_database(Path(folder) / "bench.sqlite3", now)
        try:
            conversations = Conversations(catalog, Repository(connection), _clock(), ZoneInfo("UTC"))
            counter = iter(range(10**9))

            async def service_step() -> None:
                user = f"bench:{next(counter)}"
                await conversations.handle(user, Command("quick"))
                await conversations.handle(user, Text(ANSWER))

            def outbox(replies: list[Reply], moved: bool) -> tuple[int, list[str]]:
                return 1, ["{}" for _ in replies]

            async def delivery_step() -> None:
                user = f"bench:{next(counter)}"
                await conversations.handle_update(user, Command("quick"), update_id=next(counter), outbox=outbox)
                await conversations.handle_update(user, Text(ANSWER), update_id=next(counter), outbox=outbox)

            for warm in (engine_only, service_step, delivery_step):
                await timed(warm, 20)
            results = {
                "engine.advance (pure)": await timed(engine_only, rounds),
                "service: start + answer (2 transactions)": await timed(service_step, rounds),
                "+ update ids and outbox (Telegram path)": await timed(delivery_step, rounds),
            }
        finally:
            await connection.close()

    print(table(results, "engine.advance (pure)", "× engine"))
    print(f"\n{rounds} rounds each; WAL, synchronous=FULL, one aiosqlite connection.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    asyncio.run(main(parser.parse_args().rounds))
