"""How fast /lessons builds its first page for a person with 10,000 entries.

    python -m bench.lessons [--entries N] [--rounds N]

Seeds a temporary database with N completed runs for one person (spread over two years, a third of
them in the last 30 days) plus 2,000 runs of other people, then times, side by side in one run:
the first page for the default period (last 30 days) and for all time, with and without the chart,
and the same queries with the summary index dropped. Prints medians, p90 and ratios, and the query
plans, so "uses an index" is shown rather than assumed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.timing import table, timed
from bot.flows.catalog import load_catalog
from bot.history import History
from bot.storage.database import open_database
from bot.storage.repository import Repository
from bot.storage.timestamps import to_db

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WORDS = [
    "ask",
    "help",
    "earlier",
    "sleep",
    "plan",
    "rest",
    "breathe",
    "prepare",
    "practise",
    "talk",
    "listen",
    "patience",
    "focus",
    "kind",
]


def _lesson(rng: random.Random) -> str:
    return " ".join(rng.sample(WORDS, 4)).capitalize() + " next time"


async def _seed(repository: Repository, entries: int) -> int:
    rng = random.Random(7)
    async with repository.transaction() as repo:
        me = await repo.user("tg:1", NOW)
        others = [await repo.user(f"tg:{n}", NOW) for n in range(2, 22)]
        rows = []
        for index in range(entries):
            recent = index % 3 == 0
            age = timedelta(days=rng.uniform(0, 30) if recent else rng.uniform(30, 730))
            rows.append((me.id, NOW - age, rng))
        rows += [(rng.choice(others).id, NOW - timedelta(days=rng.uniform(0, 730)), rng) for _ in range(2000)]
        for user_id, finished, r in rows:
            await repo._db.execute(
                "INSERT INTO runs (user_id, flow_id, flow_version, flow_title, started_at, finished_at, lesson, "
                "next_step, feeling, feeling_before, feeling_after, meaning, inputs) "
                "VALUES (?, 'setback', 1, 'Work through a setback', ?, ?, ?, ?, 'sad', ?, ?, ?, '{}')",
                (
                    user_id,
                    to_db(finished - timedelta(minutes=5)),
                    to_db(finished),
                    _lesson(r),
                    "Try again on Friday",
                    r.randint(4, 10),
                    r.randint(0, 8),
                    json.dumps({}),
                ),
            )
        await repo.mark_onboarded(me.id, NOW)
    return me.id


async def main(entries: int, rounds: int) -> None:
    catalog = load_catalog(ROOT / "conversations")
    with tempfile.TemporaryDirectory() as folder:
        connection = await open_database(Path(folder) / "bench.sqlite3", NOW)
        try:
            repository = Repository(connection)
            await _seed(repository, entries)
            history = History(repository, catalog.texts, ZoneInfo("Europe/Berlin"))
            async with repository.transaction() as repo:
                me = await repo.user("tg:1", NOW)

            def page(period: str, with_chart: bool):  # type: ignore[no-untyped-def]
                async def run() -> None:
                    async with repository.transaction():
                        await history.lessons(me, NOW, period, 1, edit=not with_chart)

                return run

            cases = [
                ("first page, last 30 days", page("30d", False)),
                ("first page, all time", page("all", False)),
                ("first page + chart, last 30 days", page("30d", True)),
                ("first page + chart, all time", page("all", True)),
            ]
            results = {}
            for name, action in cases:
                await timed(action, 3)
                results[name] = await timed(action, rounds)
            plans = []
            for sql in (
                "SELECT id FROM runs WHERE user_id = 1 AND finished_at >= '' AND lesson IS NOT NULL "
                "ORDER BY finished_at DESC, id DESC LIMIT 5",
                "SELECT count(*), avg(feeling_before) FROM runs WHERE user_id = 1 AND finished_at >= ''",
            ):
                async with connection.execute(f"EXPLAIN QUERY PLAN {sql}") as cursor:
                    plans.append(" / ".join(str(row[3]) for row in await cursor.fetchall()))
            await connection.execute("DROP INDEX runs_by_user_and_time")
            await connection.execute("DROP INDEX runs_by_user_flow_and_time")
            for name, action in cases[:2]:
                await timed(action, 3)
                results[f"{name} (indexes dropped)"] = await timed(action, rounds)
        finally:
            await connection.close()

    print(f"{entries:,} entries for one person, 2,000 for others; {rounds} rounds each\n")
    print(table(results, "first page, last 30 days", "× 30-day page"))
    print("\nquery plans:")
    for plan in plans:
        print(f"  {plan}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=15)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.entries, arguments.rounds))
