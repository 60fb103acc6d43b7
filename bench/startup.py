"""How long ``springboard run`` takes from its start to its first getUpdates, and where the time goes.

Each sample starts a fresh bot process against a stand-in in this process (empty database unless
``--people N`` fills one first) and measures the wall time until the stand-in sees the first getUpdates.
The samples alternate with a bare ``python -c 'import telegram'`` so the two are compared side by side
on a noisy machine. Then ``python -X importtime`` shows the slowest imports of the bot process.

    python -m bench.startup [--rounds 9] [--people 0]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.botenv import bot_env
from standin.server import StandIn

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:BENCH-startup-token-abcdefghijklmnop"


async def _one_start(standin: StandIn, database: Path) -> float:
    """Seconds from spawning the bot to its first getUpdates request."""
    polls = standin.arrived("getUpdates")
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=bot_env(TOKEN, standin.url, database),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await standin.wait_until(
            lambda: standin.arrived("getUpdates") > polls, timeout=120, what="the first getUpdates"
        )
        return time.perf_counter() - started
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()


async def _bare_import() -> float:
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", "import telegram.ext")
    await process.wait()
    return time.perf_counter() - started


def fill_people(database: Path, people: int) -> None:
    """Give the database ``people`` people, each with one finished run and check-ins on (as a busy bot has)."""
    with sqlite3.connect(database) as connection:
        rows = [(f"tg:{1_000_000 + n}", "2026-01-01T00:00:00+00:00") for n in range(people)]
        connection.executemany(
            "INSERT OR IGNORE INTO users (external_id, created_at, onboarded_at) VALUES (?, ?, ?)",
            [(external, created, created) for external, created in rows],
        )


async def measure(rounds: int, people: int) -> dict[str, list[float]]:
    """Bot start-ups and bare imports, interleaved; seconds."""
    results: dict[str, list[float]] = {"python + import telegram.ext": [], "springboard run → getUpdates": []}
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "bench.sqlite3"
        async with StandIn(tokens=[TOKEN]) as standin:
            if people:
                await _one_start(standin, database)  # creates the schema
                fill_people(database, people)
            for _ in range(rounds):
                results["python + import telegram.ext"].append(await _bare_import())
                if not people:
                    database.unlink(missing_ok=True)
                    for suffix in ("-wal", "-shm"):
                        Path(f"{database}{suffix}").unlink(missing_ok=True)
                results["springboard run → getUpdates"].append(await _one_start(standin, database))
    return results


def slowest_imports(limit: int = 15) -> list[tuple[float, str]]:
    """The cumulative import times (ms) of the bot's run path, slowest first."""
    probe = "import bot.cli, bot.tg.runner"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    found = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|(\s*)(\S+)", line)
        if match and len(match.group(2)) <= 3:  # top-level and first-level imports only
            found.append((int(match.group(1)) / 1000, match.group(3)))
    return sorted(found, reverse=True)[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--people", type=int, default=0, help="people in the database before the start")
    args = parser.parse_args()
    results = asyncio.run(measure(args.rounds, args.people))
    base = statistics.median(results["python + import telegram.ext"])
    print(f"start-up, {args.rounds} rounds, {args.people} people in the database (seconds)")
    print(f"{'case':<32} {'median':>8} {'min':>7} {'max':>7} {'× bare':>8}")
    for name, samples in results.items():
        median = statistics.median(samples)
        print(f"{name:<32} {median:>8.3f} {min(samples):>7.3f} {max(samples):>7.3f} {median / base:>8.1f}")
    print("\nslowest imports on the run path (cumulative ms, one sample):")
    for millis, module in slowest_imports():
        print(f"  {millis:>7.1f}  {module}")


if __name__ == "__main__":
    main()
