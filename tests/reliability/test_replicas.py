"""Two bot processes on one PostgreSQL database behind a webhook, killed with SIGKILL again and again while
50 people work through a setback: every answer applied exactly once, every person's replies in order.

Telegram's side is the stand-in's ``WebhookCourier``: it POSTs each update to either replica (a load
balancer's random choice) until one answers 200, so a person's consecutive messages land on both. Nobody
re-sends anything by hand: an update a replica stored is handled by whichever replica drains that chat (or
by the other's sweep, if the one that stored it died); a reply committed but not sent goes out from the
replica that leads next.

Kills wait for moments in the replicas' lives, not the wall clock (a slow machine would outrun a schedule).
Each waits until the deployment recovered from the one before (both replicas listen, and everyone who was
waiting for a reply then has had it), and then:

- ``either``: some time later, a replica chosen at random;
- ``leader``: while the leading replica's sendMessage is in flight (Telegram has it, the outbox not yet
  marked), so the leadership moves with replies half sent.

Budgets are multiples of the start-up time measured in this run.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from standin import Fault
from standin.courier import WebhookCourier
from standin.server import StandIn
from standin.users import user_chat
from tests.e2e.harness import WEBHOOK_PATH, WEBHOOK_SECRET, free_port
from tests.postgres_server import REQUIRED, PostgresServer, find_binaries, start_server
from tests.reliability.conftest import KillableBot
from tests.reliability.people import (
    Person,
    check_database,
    check_every_question_shown,
    check_replies_in_order,
    check_retried_patiently,
    walk_while,
    walking,
)
from tests.storage.conftest import POSTGRES_GROUP, fresh_database

asyncpg = pytest.importorskip("asyncpg")

PEOPLE = 50
MIN_KILLS = 12
PLANNED_KILLS = 16
MAX_KILLS = 40
MIN_PER_KIND = 4
SEED = 20261130
MOVES_PER_PERSON = 11
SEND_HELD_S = 0.5
FAULT_SHARE = 0.03  # of requests, for each of 429, 500, 502 and a dropped connection
REPEAT_SHARE = 0.1  # of updates, delivered a second time (Telegram never saw the 200)
FAULTS_STEP_TIMEOUT_S = 60.0
FAULTS_BUDGET_S = 300.0
SEND_BACKOFF_S = 0.5  # the bot's first wait after a failed send
OUTAGE_PEOPLE = 20
OUTAGE_S = 1.0  # how long PostgreSQL stays down each time: a quick failover or restart
BURST_PEOPLE = 30
CHECKIN_PEOPLE = 30
CHECKIN_PACE = 5  # messages a second the leader sends
SCREEN_LOADED = "crisis screen: "  # the log line a start ends with, loaded or not
JUST_AROUND_S = 2.0  # a send this close to the kill may not have been marked sent
LISTENING = "webhook listening"
LEADS = "this replica leads now"
SLOW_SNAPSHOTS = 8  # slow waits described as they happen, at most


_MADE: list[Replica] = []


@pytest.fixture(autouse=True)
async def no_replica_outlives_its_test() -> AsyncIterator[None]:
    """Kill whatever replica a test left running (a failed test leaves them retrying, loading the machine
    for every later test)."""
    yield
    while _MADE:
        replica = _MADE.pop()
        if replica.alive:
            await replica.kill_now()


class Replica(KillableBot):
    """One ``springboard run`` in webhook mode on the shared database, listening on its own port."""

    def __init__(self, standin: StandIn, workdir: Path, url: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        super().__init__(standin, workdir)
        _MADE.append(self)
        self.port = free_port()
        self.extra_env.update(
            {
                "DATABASE_URL": url,
                "WEBHOOK_URL": f"https://bot.example.test{WEBHOOK_PATH}",
                "WEBHOOK_LISTEN": f"127.0.0.1:{self.port}",
                "WEBHOOK_SECRET": WEBHOOK_SECRET,
                "FILES_DIR": str(workdir / "files"),
            }
        )

    @property
    def hook(self) -> str:
        return f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def this_start(self) -> str:
        return self.log()[self.log_mark :]

    def listening(self) -> bool:
        return self.alive and LISTENING in self.this_start()

    def leads(self) -> bool:
        return self.alive and LEADS in self.this_start()


def postgres_rows(url: str) -> Any:
    """``rows(query, *params)`` for ``check_database``: the query (``?`` placeholders) run on PostgreSQL."""

    def rows(query: str, *params: Any) -> list[tuple[Any, ...]]:
        parts = query.split("?")
        numbered = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], start=1))

        async def fetch() -> list[tuple[Any, ...]]:
            connection = await asyncpg.connect(url)
            try:
                return [tuple(row) for row in await connection.fetch(numbered, *params)]
            finally:
                await connection.close()

        with ThreadPoolExecutor(1) as worker:  # a loop of its own: the test's loop is busy waiting on this
            return worker.submit(asyncio.run, fetch()).result()

    return rows


async def _migrate(replica: Replica) -> None:
    """``springboard migrate``, the deploy step before the replicas start."""
    code, output = await replica.command("migrate")
    assert code == 0, output


@pytest.mark.xdist_group(POSTGRES_GROUP)
async def test_fifty_people_finish_exactly_once_while_either_of_two_replicas_is_killed(
    standin: StandIn, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    url = postgres_server.url(await fresh_database(postgres_server, "replicas"))
    # At DEBUG each replica logs every update it stores, begins and handles: what a failure's diagnosis shows.
    replicas = _replicas(standin, tmp_path, url, LOG_LEVEL="DEBUG")
    await _migrate(replicas[0])
    rows = postgres_rows(url)
    courier = WebhookCourier(standin, [replica.hook for replica in replicas], WEBHOOK_SECRET, seed=SEED)
    try:
        started = time.monotonic()
        await _start(replicas)
        # A start is over once the crisis screen's learned readers are loaded too (their load takes the CPU
        # from the rest for a second or more, longer on a busy machine): every budget below is a multiple of it.
        await _wait_for(lambda: all(SCREEN_LOADED in r.this_start() for r in replicas), 120, "the screen loaded")
        startup = time.monotonic() - started
        await _wait_for(lambda: any(r.leads() for r in replicas), 60, "a leader")
        courier.start()

        cycle = startup + 1.0
        # A kill waits for the recovery from the last one (a start and a replay, about one cycle) and a moment
        # more: people think long enough that PLANNED_KILLS of them fit in a walk, with room to spare.
        think = cycle * PLANNED_KILLS / MOVES_PER_PERSON
        # Generous: a wait ends as soon as its reply comes, and with both replicas killed in turn on a busy
        # two-core machine a person behind a backlog waited 44 s in one CI run (nothing lost, only slow).
        ceiling = max(90.0, 20 * cycle)
        people = [Person.make(9000 + n, n, rng, think=(0.3 * think, 1.7 * think)) for n in range(PEOPLE)]
        kills: Counter[str] = Counter()
        takeovers: list[float] = []

        def all_done() -> bool:
            return all(person.done for person in people)

        # The waits open at the last kill (person → since when). A kill comes only once each of them has ended
        # and both replicas listen again: a CI run on a busy machine, killing on a timer, had both replicas
        # killed every few seconds with thirty updates to replay at each start, and replies took up to a minute.
        # That storm tests nothing the next kill does not; after a recovery every kill meets fresh work.
        open_at_kill: dict[int, float] = {}

        def recovered() -> bool:
            back = all(replica.listening() for replica in replicas)
            still = [person for person in people if person.user_id in open_at_kill]
            return back and all(person.waiting_since != open_at_kill[person.user_id] for person in still)

        async def moment(found: Any) -> bool:
            """Wait for ``found()`` or for everyone to finish; True when the moment came first."""
            try:
                await _wait_for(lambda: found() or all_done(), ceiling, "a moment to kill")
            except TimeoutError:
                return False
            return not all_done()

        async def killer() -> None:
            kinds = [kind for _ in range(MAX_KILLS // 2) for kind in rng.sample(["either", "leader"], 2)]
            for kind in kinds:
                if not await moment(recovered):
                    return
                if kind == "either":
                    target = rng.choice(replicas)
                    await asyncio.sleep(rng.uniform(0.2, 1.5) * startup)
                else:
                    standin.inject_fault("sendMessage", Fault.delay(SEND_HELD_S))
                    sending = functools.partial(_leader_sending, standin, replicas, standin.arrived("sendMessage"))
                    if not await moment(sending):
                        return
                    target = next(r for r in replicas if r.leads())
                if all_done():
                    return
                open_at_kill.clear()
                open_at_kill.update(
                    {person.user_id: person.waiting_since for person in people if person.waiting_since is not None}
                )
                await target.kill_now()
                kills[kind] += 1
                killed_at = time.monotonic()
                await target.spawn()
                if kind == "leader" and await moment(lambda: any(r.leads() for r in replicas)):
                    takeovers.append(time.monotonic() - killed_at)

        # (Cancelling the killer as soon as everyone was done once left a replica down between a kill and its
        # restart, and the wait for both to listen below ran out in CI: walk_while awaits it instead.)
        budget = MOVES_PER_PERSON * (1.7 * think + ceiling) + 60
        slow: list[str] = []
        watching = asyncio.create_task(_watch_slow_waits(people, standin, replicas, rows, slow))
        try:
            await walk_while(killer(), standin, people, SEED, ceiling, budget)
        except TimeoutError as stuck:
            raise AssertionError(
                f"{stuck}\n{_diagnosis(stuck, standin, replicas, rows)}\nslow waits seen:\n" + "\n\n".join(slow)
            ) from stuck
        finally:
            watching.cancel()
        print("\n\n".join(slow))
        finished = time.monotonic() - started

        total = sum(kills.values())
        assert total >= MIN_KILLS, f"only {total} kills happened while people were mid-flow ({dict(kills)})"
        assert all(kills[kind] >= MIN_PER_KIND for kind in ("either", "leader")), dict(kills)
        standin.clear_faults()
        await _wait_for(lambda: all(r.listening() for r in replicas), ceiling, "both replicas listening")
        await standin.wait_until(lambda: not standin.pending_updates(), timeout=ceiling, what="every update delivered")
        await _until_empty(rows, ceiling)
        await courier.close()
        codes = [await replica.stop(timeout=ceiling) for replica in replicas]
        assert codes == [0, 0], [replica.log()[-3000:] for replica in replicas]
        check_database(rows, people, sqlite=False)
        check_every_question_shown(standin, people)
        check_replies_in_order(standin, people)
        print(
            f"\n{total} kills ({dict(kills)}) in {finished:.1f} s; start-up {startup:.2f} s; "
            f"{sum(r.starts for r in replicas)} starts; leadership taken over in "
            f"{max(takeovers, default=0):.1f} s at most; {courier.failed_attempts} webhook attempts failed; "
            f"waits for a question: {_spread([wait for person in people for wait in person.waited])}"
        )
    finally:
        await courier.close()  # closed above when all went well; here too when it did not


async def _watch_slow_waits(
    people: list[Person], standin: StandIn, replicas: list[Replica], rows: Any, slow: list[str], after: float = 15.0
) -> None:
    """Note, once per wait, what a wait longer than ``after`` seconds looked like at that moment (a long wait
    that ends well is the same thing as one that fails, caught earlier); the first ``SLOW_SNAPSHOTS`` only.

    Each note reads the database and both logs on the test's own event loop, which the stand-in and the courier
    share: a storm of slow waits noted without a cap would slow the deployment it describes."""
    seen: set[tuple[int, float]] = set()
    loop = asyncio.get_running_loop()
    while len(slow) < SLOW_SNAPSHOTS:
        await asyncio.sleep(0.5)
        for person in people:
            since = person.waiting_since
            if since is None or loop.time() - since < after or (person.user_id, since) in seen:
                continue
            seen.add((person.user_id, since))
            what = TimeoutError(f"user {person.user_id} waiting {loop.time() - since:.0f} s")
            slow.append(f"{what}\n{_diagnosis(what, standin, replicas, rows, lines=15)}")


def _spread(values: list[float]) -> str:
    """Median, 95th percentile and maximum of ``values`` (seconds), for the summary line."""
    ordered = sorted(values) or [0.0]
    return (
        f"median {ordered[len(ordered) // 2]:.1f} s, p95 {ordered[int(len(ordered) * 0.95)]:.1f} s, "
        f"max {ordered[-1]:.1f} s"
    )


def _diagnosis(stuck: BaseException, standin: StandIn, replicas: list[Replica], rows: Any, lines: int = 40) -> str:
    """What a stuck replicas test needs to tell a bug from a slow machine: for the chat ``stuck`` names, what
    waits in the inbox and the outbox, what Telegram still holds and what it was asked; for each replica,
    whether it runs and leads, its log lines about that chat and the end of its log."""
    named = re.search(r"user (\d+)", str(stuck))
    if named is None:
        return "(no chat named)"
    chat = int(named.group(1))
    parts = [f"chat {chat}:"]
    try:
        inbox = rows("SELECT update_id, attempts, received_at FROM inbox WHERE chat_id = ? ORDER BY update_id", chat)
        outbox = rows("SELECT id, substr(payload, 1, 80) FROM outbox WHERE chat_id = ? ORDER BY id", chat)
        parts.append(f"  inbox: {inbox}\n  outbox: {outbox}")
        sessions = rows(
            "SELECT pid, state, wait_event_type, wait_event, round(extract(epoch FROM now() - xact_start)), "
            "left(query, 70) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        parts.append("  sessions (pid, state, waiting on, seconds in transaction, query):")
        parts.extend(f"    {session}" for session in sessions)
    except Exception as trouble:  # a diagnosis must not hide the failure it describes
        parts.append(f"  the database could not be read: {trouble!r}")
    held = [u["update_id"] for u in standin.pending_updates() if f'"id": {chat}' in json.dumps(u)]
    parts.append(f"  updates Telegram still holds for it: {held}")
    parts.extend(
        f"  {record.at:.2f} {record.method} {record.status} {str(record.params.get('text', ''))[:40]!r}"
        for record in standin.requests
        if str(record.params.get("chat_id")) == str(chat)
    )
    for replica in replicas:
        log = replica.log().splitlines()
        about = [line for line in log if str(chat) in line][-lines:]
        parts.append(
            f"replica {replica.workdir.name}: start {replica.starts}, {'alive' if replica.alive else 'dead'}, "
            f"{'leads' if replica.leads() else 'does not lead'}; lines about the chat:\n"
            + "\n".join(about)
            + "\nend of its log:\n"
            + "\n".join(log[-lines:])
        )
    return "\n".join(parts)


async def _wait_for(condition: Any, timeout: float, what: str) -> None:
    """Look every 20 ms until ``condition()`` (logs change without the stand-in noticing); TimeoutError after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g} s")
        await asyncio.sleep(0.02)


def _send_times(standin: StandIn) -> dict[int, list[float]]:
    """When Telegram accepted each message, by chat (wall-clock times)."""
    times: dict[int, list[float]] = {}
    for record in standin.requests_for("sendMessage"):
        if record.status == 200:
            times.setdefault(int(record.params["chat_id"]), []).append(record.at)
    return {chat: sorted(found) for chat, found in times.items()}


def _leader_sending(standin: StandIn, replicas: list[Replica], sends_before: int) -> bool:
    """A sendMessage began after ``sends_before`` had, and a replica leads (only the leader sends)."""
    return standin.arrived("sendMessage") > sends_before and any(replica.leads() for replica in replicas)


async def _until_empty(rows: Any, ceiling: float) -> None:
    """Wait until no update waits in the inbox and no reply in the outbox."""
    deadline = time.monotonic() + ceiling
    while rows("SELECT (SELECT count(*) FROM inbox) + (SELECT count(*) FROM outbox)") != [(0,)]:
        assert time.monotonic() < deadline, "the inbox or the outbox never emptied"
        await asyncio.sleep(0.2)


async def _two_replicas(
    standin: StandIn, postgres_server: PostgresServer, tmp_path: Path, name: str, **settings: str
) -> tuple[list[Replica], str]:
    """Two replicas on a fresh, migrated database, both started and listening; and the database's URL."""
    url = postgres_server.url(await fresh_database(postgres_server, name))
    replicas = _replicas(standin, tmp_path, url, **settings)
    await _migrate(replicas[0])
    await _start(replicas)
    await _wait_for(lambda: any(r.leads() for r in replicas), 60, "a leader")
    return replicas, url


def _replicas(standin: StandIn, tmp_path: Path, url: str, **settings: str) -> list[Replica]:
    """Two replicas (not started yet) on the database at ``url``, with extra ``settings``."""
    replicas = [Replica(standin, tmp_path / letter, url) for letter in ("a", "b")]
    for replica in replicas:
        replica.extra_env.update(settings)
    return replicas


async def _start(replicas: list[Replica]) -> None:
    """Start every replica and wait until each is listening."""
    for replica in replicas:
        await replica.spawn()
    await _wait_for(lambda: all(r.listening() for r in replicas), 120, "every replica listening")


@pytest.mark.xdist_group(POSTGRES_GROUP)
async def test_an_update_a_dead_replica_stored_is_handled_by_the_live_one(
    standin: StandIn, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    replicas, url = await _two_replicas(standin, postgres_server, tmp_path, "orphans")
    try:
        # Replica a acknowledged an update (Telegram will never send it again), stored it, and died.
        await replicas[0].kill_now()
        sent = standin.user_sends_text(9501, "/help")
        [update] = [u for u in standin.pending_updates() if u["update_id"] == sent.update_id]
        standin.world.updates.acknowledge(sent.update_id)
        connection = await asyncpg.connect(url)
        try:
            await connection.execute(
                "INSERT INTO inbox (update_id, chat_id, payload, received_at) VALUES ($1, $2, $3, now())",
                sent.update_id,
                9501,
                json.dumps(update),
            )
        finally:
            await connection.close()
        # Nobody restarts it: the live replica's sweep finds the update and answers.
        replies = await standin.wait_for_bot_messages(9501, timeout=60)
        assert "/reframe" in replies[0].shown_text
        assert postgres_rows(url)("SELECT count(*) FROM inbox") == [(0,)]
        assert await replicas[1].stop(timeout=30) == 0
    finally:
        for replica in replicas:
            if replica.alive:
                await replica.kill_now()


@pytest.mark.xdist_group(POSTGRES_GROUP)
async def test_check_ins_go_out_once_each_while_the_sending_replica_dies_and_the_other_takes_over(
    standin: StandIn, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    people = [9600 + n for n in range(CHECKIN_PEOPLE)]
    url = postgres_server.url(await fresh_database(postgres_server, "checkins"))
    await _due_checkins(tmp_path, url, people)
    for person in people:
        user_chat(standin.world, person)  # they wrote to the bot once, long ago
    # Paced at a few messages a second so the leader dies with check-ins still to send.
    replicas = _replicas(standin, tmp_path, url, CHECKIN_POLL_SECONDS="1", SEND_LIMIT_PER_SECOND=str(CHECKIN_PACE))
    await _start(replicas)

    def sent_to() -> Counter[int]:
        return Counter(
            int(record.params["chat_id"]) for record in standin.requests_for("sendMessage") if record.status == 200
        )

    try:
        await _wait_for(lambda: len(sent_to()) >= CHECKIN_PEOPLE // 3, 120, "the first check-ins")
        leader = next(r for r in replicas if r.leads())
        await leader.kill_now()
        killed_at = time.time()
        other = replicas[1 - replicas.index(leader)]
        await _wait_for(other.leads, 30, "the other replica taking the leadership over")
        await _wait_for(lambda: len(sent_to()) == CHECKIN_PEOPLE, 120, "every check-in")
        # Everything committed has gone out (the outbox is empty), and every nudge is recorded: nothing is left
        # that could go out again.
        rows = postgres_rows(url)
        await _until_empty(rows, 120)
        counts = sent_to()
        assert set(counts) == set(people)
        # A check-in Telegram took just before the leader died, which it could not mark sent, goes out once more
        # from the next leader (at least once, never lost); nothing else is ever sent twice.
        for chat, times in _send_times(standin).items():
            if len(times) > 1:
                # (a send in flight at the kill is answered, and so logged, just after it)
                assert len(times) == 2 and abs(times[0] - killed_at) < JUST_AROUND_S, (chat, times, killed_at)
        nudges = rows("SELECT user_id, count(*) FROM nudges GROUP BY user_id")
        assert len(nudges) == CHECKIN_PEOPLE and all(count == 1 for _, count in nudges), nudges
        assert await other.stop(timeout=30) == 0
    finally:
        for replica in replicas:
            if replica.alive:
                await replica.kill_now()


async def _due_checkins(tmp_path: Path, url: str, people: list[int]) -> None:
    """Migrate the database and give every person a check-in due a minute ago."""
    from datetime import UTC, datetime, time, timedelta

    from bot.checkins import CheckinSettings, CheckinState
    from bot.storage.postgres.store import open_postgres
    from bot.storage.records import CheckinRow

    now = datetime.now(UTC)
    store = await open_postgres(url, now)  # migrates, as `springboard migrate` would
    try:
        async with store.transaction() as tx:
            for person in people:
                user = await tx.user(f"tg:{person}", now)
                await tx.mark_onboarded(user.id, now)
                settings = CheckinSettings(True, time(20, 0), "UTC")
                await tx.save_checkin(
                    user.id, CheckinRow(settings, CheckinState(due_at=now - timedelta(minutes=1)), True, None, None)
                )
    finally:
        await store.close()


@pytest.mark.xdist_group(POSTGRES_GROUP)
async def test_fifty_people_finish_exactly_once_on_two_replicas_while_telegram_misbehaves(
    standin: StandIn, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    rng = random.Random(SEED + 1)
    replicas, url = await _two_replicas(standin, postgres_server, tmp_path, "faults")
    for fault in (Fault.too_many_requests(1), Fault.server_error(), Fault.bad_gateway(), Fault.drop_connection()):
        standin.set_fault_chance("*", fault, FAULT_SHARE)
    standin.enable_rate_limit(overall=30, per_chat=1)  # for the whole deployment: only the leader sends
    courier = WebhookCourier(
        standin, [replica.hook for replica in replicas], WEBHOOK_SECRET, seed=SEED, repeat_share=REPEAT_SHARE
    )
    courier.start()
    people = [Person.make(9700 + n, n, rng, think=(0.2, 1.0)) for n in range(PEOPLE)]
    try:
        async with walking(standin, people, SEED, FAULTS_STEP_TIMEOUT_S) as walks:
            await asyncio.wait_for(asyncio.gather(*walks), FAULTS_BUDGET_S)
    finally:
        await courier.close()
    standin.clear_faults()
    standin.disable_rate_limit()
    stopping = time.time()
    rows = postgres_rows(url)
    await _until_empty(rows, FAULTS_STEP_TIMEOUT_S)
    assert [await replica.stop(timeout=30) for replica in replicas] == [0, 0]
    check_database(rows, people, sqlite=False)
    check_every_question_shown(standin, people)
    check_replies_in_order(standin, people)
    records = standin.requests
    statuses = Counter(record.status for record in records)
    assert statuses[429] and statuses[500] and statuses[502] and statuses[0], statuses
    assert courier.repeated, "no update was delivered twice: the test did not test that"
    check_retried_patiently(records, stopping, ("sendMessage",), SEND_BACKOFF_S)
    print(f"\n{len(records)} requests; faults: {dict(statuses)}; {courier.repeated} updates delivered twice")


@pytest.mark.xdist_group(POSTGRES_GROUP)
async def test_messages_sent_back_to_back_apply_in_order_whichever_replica_receives_each(
    standin: StandIn, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    people = [9800 + n for n in range(BURST_PEOPLE)]
    url = postgres_server.url(await fresh_database(postgres_server, "bursts"))
    await _onboarded(url, people)
    replicas = _replicas(standin, tmp_path, url)
    await _start(replicas)
    courier = WebhookCourier(standin, [replica.hook for replica in replicas], WEBHOOK_SECRET, seed=SEED)
    courier.start()
    try:
        # Each person types the whole /quick flow without waiting for a question: each update is stored by
        # whichever replica the balancer picks, the next one often by the other while the first is handled.
        for person in people:
            for text in _burst(person):
                standin.user_sends_text(person, text)
        rows = postgres_rows(url)
        await _wait_for(
            lambda: rows("SELECT count(*) FROM runs") == [(BURST_PEOPLE,)], 120, "every person's run completed"
        )
        await _until_empty(rows, 60)
    finally:
        await courier.close()
    for person in people:
        answers = dict(
            rows(
                "SELECT step_id, value::text FROM run_answers JOIN runs ON runs.id = run_answers.run_id "
                "JOIN users ON users.id = runs.user_id WHERE users.external_id = ?",
                f"tg:{person}",
            )
        )
        _, happened, lesson, step = _burst(person)
        expected = {"what_happened": happened, "lesson": lesson, "next_step": step}
        assert {key: json.loads(answers[key]) for key in expected} == expected, answers
    assert [await replica.stop(timeout=30) for replica in replicas] == [0, 0]


def _burst(person: int) -> tuple[str, str, str, str]:
    """What a person types, back to back: the command and the /quick flow's three answers."""
    return (
        "/quick",
        f"I missed the grant deadline, person {person}",
        f"Start two weeks earlier, person {person}",
        f"Call Dana tomorrow about it, person {person}",
    )


async def _onboarded(url: str, people: list[int]) -> None:
    """Migrate the database and add these people, onboarded (they have used the bot before)."""
    from datetime import UTC, datetime

    from bot.storage.postgres.store import open_postgres

    now = datetime.now(UTC)
    store = await open_postgres(url, now)
    try:
        async with store.transaction() as tx:
            for person in people:
                await tx.mark_onboarded((await tx.user(f"tg:{person}", now)).id, now)
    finally:
        await store.close()


@pytest.mark.xdist_group(POSTGRES_GROUP)
async def test_people_finish_exactly_once_on_two_replicas_while_postgresql_restarts_under_them(
    standin: StandIn, tmp_path: Path
) -> None:
    binaries, why_not = find_binaries()
    if binaries is None:
        pytest.fail(why_not) if REQUIRED else pytest.skip(why_not)
    server = start_server(binaries)  # its own server: this test takes it down
    try:
        rng = random.Random(SEED + 2)
        replicas, url = await _two_replicas(standin, server, tmp_path, "outage")
        courier = WebhookCourier(standin, [replica.hook for replica in replicas], WEBHOOK_SECRET, seed=SEED)
        courier.start()
        people = [Person.make(9900 + n, n, rng, think=(0.2, 1.0)) for n in range(OUTAGE_PEOPLE)]

        def messages() -> int:
            return sum(len(standin.bot_messages(person.user_id)) for person in people)

        try:
            async with walking(standin, people, SEED, FAULTS_STEP_TIMEOUT_S) as walks:
                # Twice, mid-flow: every session ends (the leader's too), nothing answers for a moment, then it
                # is back.
                for share in (0.3, 0.6):
                    await _wait_for(
                        lambda share=share: messages() >= share * OUTAGE_PEOPLE * 13, 120, "people mid-flow"
                    )
                    await asyncio.to_thread(server.restart, OUTAGE_S)
                await asyncio.wait_for(asyncio.gather(*walks), FAULTS_BUDGET_S)
        finally:
            await courier.close()
        rows = postgres_rows(url)
        await _until_empty(rows, FAULTS_STEP_TIMEOUT_S)
        await _wait_for(lambda: any(r.leads() for r in replicas), 30, "a leader after the outages")
        assert [await replica.stop(timeout=30) for replica in replicas] == [0, 0]
        check_database(rows, people, sqlite=False)
        check_every_question_shown(standin, people)
        check_replies_in_order(standin, people)
    finally:
        server.stop()
