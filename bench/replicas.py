"""Springboard behind a webhook on SQLite, on PostgreSQL with one replica, and with two, side by side in one run.

    python -m bench.replicas [--smoke]

Each deployment gets the same load: onboarded people writing to the bot at fixed rates (open loop: a
message goes at its time whether or not the last one was answered), delivered by the stand-in's
``WebhookCourier`` (with two replicas, each update to either at random, as a load balancer would). For
each rate: the updates per second the deployment answered (messages / time from the first message to the
last reply) and the reply times' p50 and p99; then the ratios to SQLite. PostgreSQL runs on this machine
(a throwaway server from the Debian packages, fsync off as in the tests), so it shares the CPUs with the
bots: these figures compare the designs on one machine, not a deployment over several.

``--smoke`` runs a few seconds with tiny numbers (`make test` keeps this file working); its timings mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.botenv import bot_env
from bench.load import FIRST_PERSON, TOKEN, Replies, _answered, _new_database, _open_loop, _p, _ratio
from standin.courier import WebhookCourier
from standin.server import StandIn
from tests.e2e.harness import free_port
from tests.postgres_server import PostgresServer, find_binaries, start_server

ROOT = Path(__file__).resolve().parent.parent
HOOK_PATH = "/hook"
SECRET = "bench-webhook-secret-0123456789"
DEPLOYMENTS = ("SQLite, 1 process", "PostgreSQL, 1 replica", "PostgreSQL, 2 replicas")


@dataclass(frozen=True)
class Scale:
    people: int
    rates: tuple[int, ...]
    seconds: float


FULL = Scale(300, (50, 100, 200, 300), 10.0)
SMOKE = Scale(10, (5,), 1.0)


@dataclass(frozen=True)
class Row:
    """What one deployment did at one rate."""

    answered_per_second: float
    p50: float
    p99: float


@asynccontextmanager
async def deployment(
    name: str, standin: StandIn, folder: Path, server: PostgresServer | None, people: int
) -> AsyncIterator[list[str]]:
    """Start the bot processes of ``name`` on a fresh database with ``people`` onboarded; yields their hooks."""
    settings = {
        "SEND_LIMIT_PER_SECOND": "1000",
        "WEBHOOK_URL": f"https://bench.example.test{HOOK_PATH}",
        "WEBHOOK_SECRET": SECRET,
    }
    database = folder / f"{len(list(folder.iterdir()))}.sqlite3"
    count = 2 if name.endswith("2 replicas") else 1
    if server is not None:
        url = await _postgres_database(server, people)
        settings["DATABASE_URL"] = url
    else:
        await _new_database(database, people)
    ports = [free_port() for _ in range(count)]
    processes = []
    for port in ports:
        env = bot_env(TOKEN, standin.url, database, WEBHOOK_LISTEN=f"127.0.0.1:{port}", **settings)
        env["FILES_DIR"] = str(folder / f"files-{port}")
        processes.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    hooks = [f"http://127.0.0.1:{port}{HOOK_PATH}" for port in ports]
    try:
        await _until_listening(hooks)
        yield hooks
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
        for process in processes:
            await process.wait()


async def _until_listening(hooks: list[str], timeout: float = 120) -> None:
    """Wait until every hook answers (a GET on /healthz says 200)."""
    import aiohttp

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        for hook in hooks:
            health = hook.replace(HOOK_PATH, "/healthz")
            while True:
                try:
                    async with session.get(health) as answer:
                        if answer.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{hook} never answered")
                await asyncio.sleep(0.1)


_databases = iter(range(1, 1_000))


async def _postgres_database(server: PostgresServer, people: int) -> str:
    """A fresh database, migrated (`springboard migrate`), with ``people`` onboarded people; its URL."""
    import asyncpg

    url = server.url(await server.create("DATABASE", f"bench_{next(_databases)}"))
    migrate = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "migrate",
        env=bot_env(TOKEN, "", Path("unused"), DATABASE_URL=url),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    assert await migrate.wait() == 0, "springboard migrate failed"
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "INSERT INTO users (external_id, created_at, onboarded_at) "
            "SELECT 'tg:' || ($1 + n), now(), now() FROM generate_series(0, $2 - 1) AS n",
            FIRST_PERSON,
            people,
        )
    finally:
        await connection.close()
    return url


async def measure(name: str, folder: Path, server: PostgresServer | None, scale: Scale, rate: int) -> Row:
    """One deployment at one rate, from a fresh start."""
    async with StandIn(tokens=[TOKEN]) as standin, deployment(name, standin, folder, server, scale.people) as hooks:
        courier = WebhookCourier(standin, hooks, SECRET, connections=40)
        courier.start()
        try:
            replies = Replies()
            people = [FIRST_PERSON + n for n in range(scale.people)]
            started = time.time()
            await _open_loop(standin, people, rate, scale.seconds, replies)
            await _answered(standin, replies, timeout=max(30.0, scale.seconds * 3))
            found = replies.latencies(standin)
            last = max((r.at for r in standin.requests_for("sendMessage") if r.status == 200), default=started)
            found += [float("inf")] * (replies.count() - len(found))
            answered = sum(1 for value in found if value != float("inf"))
            return Row(answered / max(last - started, 1e-9), _p(found, 0.5), _p(found, 0.99))
        finally:
            await courier.close()


async def main(scale: Scale) -> None:
    binaries, why_not = find_binaries()
    if binaries is None:
        sys.exit(f"PostgreSQL is needed for this benchmark: {why_not}")
    server = start_server(binaries)
    try:
        with tempfile.TemporaryDirectory() as directory:
            folder = Path(directory)
            results: dict[tuple[str, int], Row] = {}
            for rate in scale.rates:
                for name in DEPLOYMENTS:
                    print(f"… {name} at {rate} updates/s", file=sys.stderr, flush=True)
                    results[(name, rate)] = await measure(
                        name, folder, None if name.startswith("SQLite") else server, scale, rate
                    )
            _print(results, scale)
    finally:
        server.stop()


def _print(results: dict[tuple[str, int], Row], scale: Scale) -> None:
    header = ("offered", "deployment", "answered/s", "p50", "p99", "p99 vs SQLite")
    rows: list[Sequence[str]] = [header]
    for (name, rate), row in results.items():
        base = results[(DEPLOYMENTS[0], rate)]
        rows.append(
            (
                f"{rate}/s",
                name,
                f"{row.answered_per_second:.1f}",
                f"{row.p50 * 1000:.0f} ms",
                f"{row.p99 * 1000:.0f} ms",
                _ratio(row.p99, base.p99),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    print(f"\n{scale.people} people, {scale.seconds:g} s per rate, webhook delivery")
    for number, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if number == 0:
            print("  ".join("-" * width for width in widths))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny numbers, to check the benchmark runs")
    asyncio.run(main(SMOKE if parser.parse_args().smoke else FULL))
