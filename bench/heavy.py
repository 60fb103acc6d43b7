"""Do other people's replies stay fast while a few people with years of entries spam /export and /lessons?

    python -m bench.heavy [--entries 10000] [--heavy 4] [--light 20] [--quiet 10] [--requests 10]

Seeds a database with ``--heavy`` people holding ``--entries`` completed entries each (eight answers per
entry) and ``--light`` people with none, then runs the real ``springboard run`` process against the Bot
API stand-in (in this process) in two phases, side by side in one run:

- **quiet**: the light people each send /help, wait for the reply, pause 0.3 s, again, for ``--quiet`` s;
- **spam**: the same, while every heavy person sends ``--requests`` /export and ``--requests`` /lessons,
  alternating, one every 0.25 s without waiting for anything, until every export has arrived.

Prints, per phase, the light people's reply times (median, p95, worst) and the bot's peak memory (VmHWM),
then the exports delivered, the largest file sent and the largest outbox row (files never go into it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.botenv import bot_env
from bot.storage.database import open_database
from standin.server import StandIn

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:BENCH-heavy-token-abcdefghijklmnopq"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
HEAVY_BASE = 1000
LIGHT_BASE = 2000
STEPS = (
    "what_happened",
    "feeling",
    "intensity_before",
    "harsh_voice",
    "friend_voice",
    "control",
    "lesson",
    "next_step",
)
WORDS = ("the", "deadline", "slipped", "again", "and", "I", "told", "nobody", "until", "it", "was", "too", "late")


def seed(path: Path, heavy: int, entries: int, light: int) -> None:
    """Heavy people with ``entries`` runs of eight answers each, light people with none; all onboarded."""
    asyncio.run(_create(path))
    rng = random.Random(11)
    stamp = NOW.isoformat()
    with sqlite3.connect(path) as db:
        people = [(f"tg:{HEAVY_BASE + n}", stamp, stamp) for n in range(heavy)]
        people += [(f"tg:{LIGHT_BASE + n}", stamp, stamp) for n in range(light)]
        db.executemany("INSERT INTO users (external_id, created_at, onboarded_at) VALUES (?, ?, ?)", people)
        for n in range(heavy):
            (user_id,) = db.execute("SELECT id FROM users WHERE external_id = ?", (f"tg:{HEAVY_BASE + n}",)).fetchone()
            for index in range(entries):
                finished = NOW - timedelta(minutes=index * 97)
                text = " ".join(rng.choice(WORDS) for _ in range(12))
                cursor = db.execute(
                    "INSERT INTO runs (user_id, flow_id, flow_version, flow_title, started_at, finished_at, lesson, "
                    "next_step, feeling, feeling_before, feeling_after, meaning, inputs) "
                    "VALUES (?, 'setback', 1, 'Work through a setback', ?, ?, ?, ?, 'sad', ?, ?, '{}', '{}')",
                    (
                        user_id,
                        (finished - timedelta(minutes=6)).isoformat(),
                        finished.isoformat(),
                        f"lesson {index}: {text}",
                        "ask for help on Monday",
                        rng.randint(4, 10),
                        rng.randint(0, 8),
                    ),
                )
                answered = finished.isoformat()
                db.executemany(
                    "INSERT INTO run_answers (run_id, step_id, value, shown, answered_at) VALUES (?, ?, ?, ?, ?)",
                    [(cursor.lastrowid, step, json.dumps(text), text, answered) for step in STEPS],
                )


async def _create(path: Path) -> None:
    connection = await open_database(path, NOW)
    await connection.close()


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker_rss_mb(pid: int) -> list[float]:
    """Peak resident memory of each child process (the export and chart workers), in MB."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    found = []
    for child in children:
        try:
            found.append(peak_rss_mb(child))
        except OSError:  # ended meanwhile
            continue
    return found


async def light_person(standin: StandIn, user_id: int, until: asyncio.Event, samples: list[float]) -> None:
    """/help, wait for the reply, a short pause; again until ``until``. Reply times go into ``samples``."""
    while not until.is_set():
        before = len(standin.bot_messages(user_id))
        started = time.perf_counter()
        standin.user_sends_text(user_id, "/help")
        await standin.wait_until(
            lambda before=before: len(standin.bot_messages(user_id)) > before, timeout=120, what="a reply"
        )
        samples.append(time.perf_counter() - started)
        await asyncio.sleep(0.3)


async def heavy_person(standin: StandIn, user_id: int, requests: int) -> None:
    """Alternate /export and /lessons every 0.25 s, never waiting for a reply."""
    for _ in range(requests):
        for command in ("/export", "/lessons"):
            standin.user_sends_text(user_id, command)
            await asyncio.sleep(0.25)


def _exports_arrived(standin: StandIn, heavy: int) -> int:
    return sum(
        1
        for n in range(heavy)
        for message in standin.bot_messages(HEAVY_BASE + n)
        if message.document is not None
        and (message.document.file_name or "").startswith("springboard-")
        and ".json" in (message.document.file_name or "")
    )


async def run(args: argparse.Namespace, database: Path) -> None:
    async with StandIn(tokens=[TOKEN]) as standin:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            # Telegram's pacing would measure the limiter, not the bot: unpaced in both phases.
            env=bot_env(TOKEN, standin.url, database, SEND_LIMIT_PER_SECOND="0", SEND_LIMIT_PER_CHAT_PER_SECOND="0"),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            await standin.wait_for_polling(timeout=60)
            light = [LIGHT_BASE + n for n in range(args.light)]
            rows = []

            quiet: list[float] = []
            stop = asyncio.Event()
            walkers = [asyncio.create_task(light_person(standin, who, stop, quiet)) for who in light]
            await asyncio.sleep(args.quiet)
            stop.set()
            await asyncio.gather(*walkers)
            rows.append(("quiet", quiet, peak_rss_mb(process.pid), None))

            spam: list[float] = []
            stop = asyncio.Event()
            walkers = [asyncio.create_task(light_person(standin, who, stop, spam)) for who in light]
            started = time.perf_counter()
            await asyncio.gather(*(heavy_person(standin, HEAVY_BASE + n, args.requests) for n in range(args.heavy)))
            # At least one export per heavy person; more if their later /export came after one was delivered.
            # Checked twice a second rather than on every message: the check must not slow the stand-in down.
            deadline = time.perf_counter() + 900
            while _exports_arrived(standin, args.heavy) < args.heavy or _waiting(database):
                if time.perf_counter() > deadline:
                    raise TimeoutError("the exports did not all arrive within 15 minutes")
                await asyncio.sleep(0.5)
            drained = time.perf_counter() - started
            stop.set()
            await asyncio.gather(*walkers)
            rows.append(("spam", spam, peak_rss_mb(process.pid), drained))
            workers = worker_rss_mb(process.pid)
        finally:
            process.terminate()
            await process.wait()
        _report(args, rows, standin, database)
        print(f"worker processes: {len(workers)}, peak RSS each: {', '.join(f'{mb:.0f} MB' for mb in workers)}")


def _waiting(database: Path) -> bool:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return db.execute("SELECT count(*) FROM heavy_requests").fetchone()[0] > 0


def _report(
    args: argparse.Namespace, rows: list[tuple[str, list[float], float, float | None]], standin: StandIn, database: Path
) -> None:
    print(
        f"\n{args.heavy} people × {args.entries:,} entries spamming /export and /lessons "
        f"({args.requests} of each per person); {args.light} others sending /help"
    )
    print(
        f"{'phase':<8} {'replies':>8} {'median s':>9} {'p95 s':>7} {'worst s':>8} {'peak RSS MB':>12} {'drained s':>10}"
    )
    quiet_p95 = None
    for name, samples, rss, drained in rows:
        p95 = statistics.quantiles(samples, n=20)[-1] if len(samples) >= 2 else samples[0]
        quiet_p95 = quiet_p95 or p95
        print(
            f"{name:<8} {len(samples):>8} {statistics.median(samples):>9.3f} {p95:>7.3f} {max(samples):>8.3f} "
            f"{rss:>12.0f} {'' if drained is None else f'{drained:.1f}':>10}"
        )
    spam_p95 = statistics.quantiles(rows[-1][1], n=20)[-1]
    print(f"p95 ratio spam / quiet: {spam_p95 / quiet_p95:.1f}×")
    files = [
        message.document
        for n in range(args.heavy)
        for message in standin.bot_messages(HEAVY_BASE + n)
        if message.document is not None
    ]
    photos = sum(1 for n in range(args.heavy) for m in standin.bot_messages(HEAVY_BASE + n) if m.photo)
    largest = max((len(document.data) for document in files), default=0)
    print(f"documents sent: {len(files)} (exports: {_exports_arrived(standin, args.heavy)}), charts sent: {photos}")
    print(f"largest file sent: {largest / 1e6:.1f} MB; names: {sorted({d.file_name or '' for d in files})[:4]}")
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        (outbox_largest,) = db.execute("SELECT coalesce(max(length(payload)), 0) FROM outbox").fetchone()
    print(f"largest outbox row left: {outbox_largest} bytes (files are spooled on disk, never in the outbox)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--heavy", type=int, default=4)
    parser.add_argument("--light", type=int, default=20)
    parser.add_argument("--quiet", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "bench.sqlite3"
        started = time.perf_counter()
        seed(database, args.heavy, args.entries, args.light)
        print(
            f"seeded {args.heavy * args.entries:,} entries in {time.perf_counter() - started:.1f} s "
            f"({database.stat().st_size / 1e6:.0f} MB)"
        )
        asyncio.run(run(args, database))


if __name__ == "__main__":
    main()
