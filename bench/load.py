"""Springboard against a bare python-telegram-bot echo bot (bench/echo_bot.py), side by side in one run.

    python -m bench.load [--smoke]

Each bot runs as its own process against the Bot API stand-in, which runs in this process together with
the simulated people. Measured, for each bot where it applies:

- **CPU per update**: people walking /quick (every step committed; the echo bot gets the same texts),
  the bot process's user + system CPU divided by the updates it handled;
- **reply times at fixed rates** over many people (open loop: a message goes at its time whether or not
  the last one was answered), p50 and p99, and the highest rate with p99 under 1 s;
- **check-in fan-out**: 2,000 people due at once, the stand-in enforcing Telegram's limits (30/s overall,
  1/s per chat): sends per second, how many 429s, and the replies of 20 people chatting meanwhile; then
  with the limit raised (stand-in unlimited, ``SEND_LIMIT_PER_SECOND=1000``);
- **memory** after 1k / 10k / 50k distinct people have written (VmRSS);
- **start-up** to the first getUpdates with 100,000 people in the database.

``--smoke`` runs every phase with tiny numbers (seconds, not minutes): `make test` runs it to keep this
file working; its timings mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.botenv import bot_env
from bot.storage.database import open_database
from standin.server import StandIn
from standin.users import user_chat

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:BENCH-load-token-abcdefghijklmnopqrs"
FIRST_PERSON = 100_000
QUICK_TEXTS = ("/quick", "I missed the deadline for the grant", "Start two weeks earlier", "Call Dana tomorrow")
CHAT_TEXT = "hello there"


@dataclass(frozen=True)
class Scale:
    """How big each phase is."""

    walkers: int
    rates: tuple[int, ...]
    rate_seconds: float
    rate_people: int
    long_rate: int
    long_seconds: float
    fan_out: int
    chatting: int
    people_marks: tuple[int, ...]
    startup_people: int
    startup_samples: int


FULL = Scale(200, (25, 50, 100, 150, 200, 300), 10, 500, 100, 30, 2000, 20, (1_000, 10_000, 50_000), 100_000, 5)
SMOKE = Scale(4, (5,), 1, 10, 5, 1, 20, 2, (20, 40), 200, 1)


# --- processes ------------------------------------------------------------------------------------------


@dataclass
class BotUnderTest:
    """One bot process: Springboard (``springboard``) or the echo bot (``echo``)."""

    kind: str
    standin: StandIn
    database: Path
    limit: int = 1000
    process: asyncio.subprocess.Process | None = None

    async def start(self) -> float:
        """Start the process; returns seconds until its first getUpdates."""
        polls = self.standin.arrived("getUpdates")
        module = "bot" if self.kind == "springboard" else "bench.echo_bot"
        args = [sys.executable, "-m", module] + (["run"] if self.kind == "springboard" else [])
        started = time.perf_counter()
        self.process = await asyncio.create_subprocess_exec(
            *args,
            env=bot_env(
                TOKEN, self.standin.url, self.database, SEND_LIMIT_PER_SECOND=str(self.limit), CHECKIN_POLL_SECONDS="1"
            ),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await self.standin.wait_until(lambda: self.standin.arrived("getUpdates") > polls, timeout=120, what="polling")
        return time.perf_counter() - started

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()

    def cpu_seconds(self) -> float:
        """User + system CPU the process has used so far."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


async def _new_database(path: Path, people: int, checkins_due: int = 0) -> None:
    """A Springboard database with ``people`` onboarded people; the first ``checkins_due`` have a check-in due."""
    now = datetime.now(UTC)
    connection = await open_database(path, now)
    await connection.close()
    stamp = now.isoformat()
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO users (external_id, created_at, onboarded_at) VALUES (?, ?, ?)",
            [(f"tg:{FIRST_PERSON + n}", stamp, stamp) for n in range(people)],
        )
        if checkins_due:
            due = (now - timedelta(minutes=1)).isoformat()
            db.execute(
                "INSERT INTO checkins (user_id, enabled, local_time, timezone, due_at, wake_at, place) "
                "SELECT id, 1, '20:00', 'UTC', ?, ?, '' FROM users ORDER BY id LIMIT ?",
                (due, due, checkins_due),
            )


# --- load -------------------------------------------------------------------------------------------------


@dataclass
class Replies:
    """When each person sent each message, to pair with the bot's replies afterwards (one reply each)."""

    sent: dict[int, list[float]] = field(default_factory=dict)

    def send(self, standin: StandIn, person: int, text: str) -> None:
        self.sent.setdefault(person, []).append(time.time())
        standin.user_sends_text(person, text)

    def latencies(self, standin: StandIn) -> list[float]:
        """The k-th reply to a chat answers its k-th message: seconds between them, for every answered one."""
        replies: dict[int, list[float]] = {}
        for record in standin.requests_for("sendMessage"):
            if record.status == 200:
                chat = int(record.params.get("chat_id", 0))
                if chat in self.sent:
                    replies.setdefault(chat, []).append(record.at)
        found = []
        for chat, times in self.sent.items():
            found += [reply - sent for sent, reply in zip(times, sorted(replies.get(chat, [])), strict=False)]
        return found

    def count(self) -> int:
        return sum(len(times) for times in self.sent.values())


async def _answered(standin: StandIn, replies: Replies, timeout: float) -> None:
    """Wait until as many replies as messages were sent have arrived (checked every 0.2 s, cheaply)."""
    deadline = time.perf_counter() + timeout
    while sum(1 for record in standin.requests_for("sendMessage") if record.status == 200) < replies.count():
        if time.perf_counter() > deadline:
            return
        await asyncio.sleep(0.2)


async def _walk(standin: StandIn, person: int, texts: Sequence[str], replies: Replies) -> None:
    for text in texts:
        before = len(standin.bot_messages(person))
        replies.send(standin, person, text)
        await standin.wait_until(lambda before=before: len(standin.bot_messages(person)) > before, timeout=120)


async def _open_loop(standin: StandIn, people: Sequence[int], rate: float, seconds: float, replies: Replies) -> None:
    """``rate`` messages a second spread over ``people`` in turn, each at its time, for ``seconds``."""
    start = time.perf_counter()
    total = int(rate * seconds)
    for number in range(total):
        wait = start + number / rate - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        replies.send(standin, people[number % len(people)], CHAT_TEXT)


def _p(samples: Sequence[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- phases -----------------------------------------------------------------------------------------------


async def cpu_per_update(kind: str, folder: Path, scale: Scale) -> tuple[float, float]:
    """(ms of bot CPU per update, seconds the phase took) with people walking /quick."""
    async with StandIn(tokens=[TOKEN]) as standin:
        database = folder / f"cpu-{kind}.sqlite3"
        await _new_database(database, scale.walkers)
        bot = BotUnderTest(kind, standin, database)
        await bot.start()
        try:
            before, started = bot.cpu_seconds(), time.perf_counter()
            replies = Replies()
            people = [FIRST_PERSON + n for n in range(scale.walkers)]
            await asyncio.gather(*(_walk(standin, person, QUICK_TEXTS, replies) for person in people))
            used = bot.cpu_seconds() - before
            return used * 1000 / replies.count(), time.perf_counter() - started
        finally:
            await bot.stop()


async def fixed_rates(kind: str, folder: Path, scale: Scale) -> dict[tuple[int, float], tuple[float, float]]:
    """(rate, seconds) → (p50, p99) of reply times, open loop over ``rate_people`` people."""
    results: dict[tuple[int, float], tuple[float, float]] = {}
    runs = [(rate, scale.rate_seconds) for rate in scale.rates] + [(scale.long_rate, scale.long_seconds)]
    for number, (rate, seconds) in enumerate(runs):
        async with StandIn(tokens=[TOKEN]) as standin:
            database = folder / f"rate-{kind}-{number}.sqlite3"
            await _new_database(database, scale.rate_people)
            bot = BotUnderTest(kind, standin, database)
            await bot.start()
            try:
                replies = Replies()
                people = [FIRST_PERSON + n for n in range(scale.rate_people)]
                await _open_loop(standin, people, rate, seconds, replies)
                await _answered(standin, replies, timeout=max(30.0, seconds * 3))
                found = replies.latencies(standin)
                missing = replies.count() - len(found)
                found += [float("inf")] * missing  # never answered within the wait: worse than any time
                results[(rate, seconds)] = (_p(found, 0.5), _p(found, 0.99))
            finally:
                await bot.stop()
    return results


@dataclass(frozen=True)
class FanOut:
    sends_per_second: float
    """Check-ins a second."""
    all_per_second: float
    """Every message a second over the same stretch: check-ins and the replies sent in between."""
    too_many: int
    replies_p99: float
    seconds: float


async def fan_out(folder: Path, scale: Scale, *, raised: bool) -> FanOut:
    """Springboard's check-ins to ``fan_out`` people due at once; ``chatting`` others talk meanwhile."""
    async with StandIn(tokens=[TOKEN]) as standin:
        if not raised:
            standin.enable_rate_limit(overall=30, per_chat=1, window=1.0)
        database = folder / f"fanout-{raised}.sqlite3"
        await _new_database(database, scale.fan_out + scale.chatting, checkins_due=scale.fan_out)
        bot = BotUnderTest("springboard", standin, database, limit=1000 if raised else 30)
        due = {FIRST_PERSON + n for n in range(scale.fan_out)}
        chatting = [FIRST_PERSON + scale.fan_out + n for n in range(scale.chatting)]
        for person in due:
            user_chat(standin.world, person)  # they wrote to the bot once, long ago: Telegram knows the chat
        await bot.start()
        try:
            replies = Replies()
            started = time.perf_counter()

            def nudged() -> int:
                return sum(
                    1
                    for record in standin.requests_for("sendMessage")
                    if record.status == 200 and int(record.params.get("chat_id", 0)) in due
                )

            async def chat(person: int) -> None:
                while nudged() < len(due) and time.perf_counter() - started < 600:
                    await _walk(standin, person, [CHAT_TEXT], replies)
                    await asyncio.sleep(2.0)  # reading the reply, typing the next message

            talkers = [asyncio.create_task(chat(person)) for person in chatting]
            while nudged() < len(due) and time.perf_counter() - started < 600:
                await asyncio.sleep(0.25)
            await asyncio.gather(*talkers)
            sends = sorted(
                record.at
                for record in standin.requests_for("sendMessage")
                if record.status == 200 and int(record.params.get("chat_id", 0)) in due
            )
            too_many = sum(1 for record in standin.requests if record.status == 429)
            span = (sends[-1] - sends[0]) if len(sends) > 1 else float("nan")
            every = [
                record.at
                for record in standin.requests_for("sendMessage")
                if record.status == 200 and sends[0] <= record.at <= sends[-1]
            ]
            return FanOut(
                (len(sends) - 1) / span if span else float("nan"),
                (len(every) - 1) / span if span else float("nan"),
                too_many,
                _p(replies.latencies(standin), 0.99),
                time.perf_counter() - started,
            )
        finally:
            await bot.stop()


async def memory(kind: str, folder: Path, scale: Scale) -> dict[int, float]:
    """RSS (MB) after each mark of distinct people who have written one message each."""
    found: dict[int, float] = {}
    async with StandIn(tokens=[TOKEN]) as standin:
        database = folder / f"memory-{kind}.sqlite3"
        await _new_database(database, max(scale.people_marks))
        bot = BotUnderTest(kind, standin, database)
        await bot.start()
        try:
            written = 0
            for mark in scale.people_marks:
                replies = Replies()
                people = [FIRST_PERSON + n for n in range(written, mark)]
                await _open_loop(standin, people, 200, len(people) / 200, replies)
                await _answered(standin, replies, timeout=600)
                written = mark
                standin.clear_requests()  # the stand-in's own memory is not what is measured
                _progress(f"  {kind}: {mark:,} people")
                found[mark] = bot.rss_mb()
        finally:
            await bot.stop()
    return found


async def startup(kind: str, folder: Path, scale: Scale) -> float:
    """Median seconds to the first getUpdates, with ``startup_people`` people in Springboard's database."""
    database = folder / f"startup-{kind}.sqlite3"
    if kind == "springboard":
        await _new_database(database, scale.startup_people)
    samples = []
    for _ in range(scale.startup_samples):
        async with StandIn(tokens=[TOKEN]) as standin:
            bot = BotUnderTest(kind, standin, database)
            try:
                samples.append(await bot.start())
            finally:
                await bot.stop()
    return statistics.median(samples)


# --- the table -------------------------------------------------------------------------------------------


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.1f}×" if theirs and theirs == theirs else "—"


async def main(scale: Scale) -> None:
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        rows: list[tuple[str, str, str, str]] = []

        _progress("CPU per update")
        cpu = {kind: await cpu_per_update(kind, folder, scale) for kind in ("springboard", "echo")}
        rows.append(
            (
                f"bot CPU per update, {scale.walkers} people walking /quick",
                f"{cpu['springboard'][0]:.1f} ms",
                f"{cpu['echo'][0]:.1f} ms",
                _ratio(cpu["springboard"][0], cpu["echo"][0]),
            )
        )
        _progress("reply times at fixed rates")
        rates = {kind: await fixed_rates(kind, folder, scale) for kind in ("springboard", "echo")}
        for (rate, seconds), (p50, p99) in rates["springboard"].items():
            echo50, echo99 = rates["echo"][(rate, seconds)]
            rows.append(
                (
                    f"{rate} updates/s over {scale.rate_people} people for {seconds:g} s: p50 / p99",
                    f"{p50 * 1000:.0f} / {p99 * 1000:.0f} ms",
                    f"{echo50 * 1000:.0f} / {echo99 * 1000:.0f} ms",
                    _ratio(p99, echo99),
                )
            )
        for kind_rates, name in ((rates["springboard"], "springboard"), (rates["echo"], "echo")):
            best = max((rate for (rate, _), (_, p99) in kind_rates.items() if p99 < 1.0), default=0)
            rows.append((f"highest offered rate with p99 < 1 s ({name})", f"{best}/s", "", ""))
        _progress("check-in fan-out")
        default = await fan_out(folder, scale, raised=False)
        raised = await fan_out(folder, scale, raised=True)
        rows.append(
            (
                f"{scale.fan_out} check-ins due at once, Telegram's limits (30/s, 1/s per chat)",
                f"{default.sends_per_second:.1f} check-ins/s ({default.all_per_second:.1f} sends/s in all), "
                f"{default.too_many} × 429",
                "",
                "",
            )
        )
        rows.append(
            (
                f"  replies of {scale.chatting} people chatting meanwhile: p99",
                f"{default.replies_p99 * 1000:.0f} ms",
                "",
                "",
            )
        )
        rows.append(
            (
                f"{scale.fan_out} check-ins due at once, limit raised",
                f"{raised.sends_per_second:.1f} check-ins/s ({raised.all_per_second:.1f} sends/s in all), "
                f"{raised.too_many} × 429",
                "",
                "",
            )
        )
        _progress("memory")
        rss = {kind: await memory(kind, folder, scale) for kind in ("springboard", "echo")}
        rows.append(
            (
                "RSS after " + " / ".join(f"{mark:,}" for mark in scale.people_marks) + " people",
                " / ".join(f"{rss['springboard'][mark]:.0f}" for mark in scale.people_marks) + " MB",
                " / ".join(f"{rss['echo'][mark]:.0f}" for mark in scale.people_marks) + " MB",
                "",
            )
        )
        _progress("start-up")
        boot = {kind: await startup(kind, folder, scale) for kind in ("springboard", "echo")}
        rows.append(
            (
                f"start-up to first getUpdates ({scale.startup_people:,} people in the database)",
                f"{boot['springboard']:.2f} s",
                f"{boot['echo']:.2f} s",
                _ratio(boot["springboard"], boot["echo"]),
            )
        )
        _print(rows)


def _progress(phase: str) -> None:
    print(f"… {phase}", file=sys.stderr, flush=True)


def _print(rows: list[tuple[str, str, str, str]]) -> None:
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    header = ("metric", "Springboard", "echo bot", "ratio")
    widths = [max(width, len(title)) for width, title in zip(widths, header, strict=True)]
    print()
    for row in (header, tuple("-" * width for width in widths), *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny numbers: checks the benchmark runs")
    parser.add_argument("--marks", help="people for the memory rows, e.g. 1000,10000,50000 (the default)")
    arguments = parser.parse_args()
    random.seed(5)
    chosen = SMOKE if arguments.smoke else FULL
    if arguments.marks:
        chosen = replace(chosen, people_marks=tuple(int(mark) for mark in arguments.marks.split(",")))
    asyncio.run(main(chosen))
