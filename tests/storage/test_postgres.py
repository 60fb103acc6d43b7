"""What the PostgreSQL backend guarantees beyond the shared contract: migrations under an advisory lock (two
processes starting at once), a schema newer than the code refused, exactly-once claims across connections,
and driver failures surfacing as the storage's own error types. Runs on the session's server
(``tests/storage/conftest.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from bot.storage.errors import StorageBusy, StorageError, StorageFull, StorageUnavailable
from tests.conftest import NOW
from tests.postgres_server import PostgresServer
from tests.storage.conftest import POSTGRES_GROUP, fresh_database, fresh_schema

pytestmark = pytest.mark.xdist_group(POSTGRES_GROUP)

asyncpg = pytest.importorskip("asyncpg")

from bot.storage.postgres.errors import DRIVER_ERRORS, SchemaNewerThanCode, storage_error  # noqa: E402
from bot.storage.postgres.migrations import MIGRATIONS, latest_version  # noqa: E402
from bot.storage.postgres.store import PostgresStorage, open_postgres  # noqa: E402


@pytest.fixture
async def schema(postgres_server: PostgresServer) -> str:
    return await fresh_schema(postgres_server, "backend")


@pytest.fixture
async def store(postgres_server: PostgresServer, schema: str) -> AsyncIterator[PostgresStorage]:
    opened = await open_postgres(postgres_server.url(), NOW, max_size=4, server_settings={"search_path": schema})
    try:
        yield opened
    finally:
        await opened.close()


async def _versions(server: PostgresServer, schema: str) -> list[int]:
    connection = await asyncpg.connect(server.url(), server_settings={"search_path": schema})
    try:
        return [row["version"] for row in await connection.fetch("SELECT version FROM schema_migrations ORDER BY 1")]
    finally:
        await connection.close()


async def test_two_processes_starting_at_once_migrate_once(postgres_server: PostgresServer, schema: str) -> None:
    settings = {"search_path": schema}
    stores = await asyncio.gather(
        *(open_postgres(postgres_server.url(), NOW, max_size=2, server_settings=settings) for _ in range(3))
    )
    for opened in stores:
        await opened.close()
    assert await _versions(postgres_server, schema) == [m.number for m in MIGRATIONS]


async def test_a_schema_newer_than_the_code_is_refused(postgres_server: PostgresServer) -> None:
    schema = await fresh_schema(postgres_server, "newer")
    settings = {"search_path": schema}
    await (await open_postgres(postgres_server.url(), NOW, server_settings=settings)).close()  # migrated
    connection = await asyncpg.connect(postgres_server.url(), server_settings=settings)
    try:
        await connection.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'from the future', now())",
            latest_version() + 1,
        )
    finally:
        await connection.close()
    with pytest.raises(SchemaNewerThanCode, match="newer than this code knows"):
        await open_postgres(postgres_server.url(), NOW, server_settings=settings)
    with pytest.raises(SchemaNewerThanCode):
        await open_postgres(postgres_server.url(), NOW, apply_migrations=False, server_settings=settings)


async def test_without_migrating_an_old_schema_is_refused(postgres_server: PostgresServer, schema: str) -> None:
    with pytest.raises(StorageError, match="springboard migrate"):
        await open_postgres(postgres_server.url(), NOW, apply_migrations=False, server_settings={"search_path": schema})


async def test_two_connections_claiming_one_update_claim_it_once(store: PostgresStorage) -> None:
    first_claimed = asyncio.Event()
    let_first_commit = asyncio.Event()

    async def first() -> bool:
        async with store.transaction() as tx:
            claimed = await tx.claim_update(77, NOW)
            first_claimed.set()
            await let_first_commit.wait()
        return claimed

    async def second() -> bool:
        await first_claimed.wait()
        async with store.transaction() as tx:
            return await tx.claim_update(77, NOW)  # waits on the first transaction's row

    one = asyncio.ensure_future(first())
    two = asyncio.ensure_future(second())
    await first_claimed.wait()
    await asyncio.sleep(0)  # let the second reach the database; the outcome does not depend on it
    let_first_commit.set()
    assert sorted(await asyncio.gather(one, two)) == [False, True]
    assert store.was_claimed(77) and not store.was_claimed(77)


async def test_a_failing_statement_is_a_storage_error_and_the_transaction_is_kept_nothing_of(
    store: PostgresStorage,
) -> None:
    with pytest.raises(StorageUnavailable) as raised:
        async with store.transaction() as tx:
            await tx.user("cli:ana", NOW)
            await tx.record_nudge(10**12, NOW.date(), NOW, None, reminder=False)  # no such user: a foreign key
    assert isinstance(raised.value.__cause__, asyncpg.PostgresError)
    async with store.snapshot() as view:
        assert await view.find_user("cli:ana") is None


async def test_an_unreachable_server_is_unavailable() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(StorageUnavailable):
        await open_postgres(f"postgresql://nobody@127.0.0.1:{port}/none", NOW)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ("DeadlockDetectedError", StorageBusy),
        ("SerializationError", StorageBusy),
        ("LockNotAvailableError", StorageBusy),
        ("QueryCanceledError", StorageBusy),
        ("DiskFullError", StorageFull),
        ("ReadOnlySQLTransactionError", StorageUnavailable),
        ("AdminShutdownError", StorageUnavailable),
    ],
)
def test_driver_errors_map_to_the_storage_kinds(error: str, kind: type[StorageError]) -> None:
    driver_error = getattr(asyncpg.exceptions, error)("trouble")
    translated = storage_error(driver_error)
    assert type(translated) is kind and translated.__cause__ is driver_error
    assert storage_error(TimeoutError()).__class__ is StorageBusy
    assert storage_error(ConnectionResetError()).__class__ is StorageUnavailable
    # Caught wherever the store catches the driver: a connection the server dropped mid-statement raises it.
    assert isinstance(asyncpg.InternalClientError("cannot switch to state 15"), DRIVER_ERRORS)


async def test_a_check_in_row_another_transaction_holds_is_skipped_not_waited_for(store: PostgresStorage) -> None:
    from datetime import time

    from bot.checkins import CheckinSettings, CheckinState
    from bot.storage.records import CheckinRow

    async with store.transaction() as tx:
        ana = await tx.user("tg:5", NOW)
        row = CheckinRow(CheckinSettings(True, time(20, 0), "UTC"), CheckinState(due_at=NOW), True, None, None)
        await tx.save_checkin(ana.id, row)
    async with store.transaction() as holder:
        assert await holder.claim_checkin(ana.id)
        async with store.transaction() as other:
            assert not await asyncio.wait_for(other.claim_checkin(ana.id), 10), "skipped (SKIP LOCKED), not waited for"


async def test_one_replica_leads_and_another_takes_over_within_seconds_when_it_dies(
    postgres_server: PostgresServer,
) -> None:
    from bot.storage.postgres.leadership import PostgresLeadership

    database = await fresh_database(postgres_server, "leaders")
    url = postgres_server.url(database)
    replicas = [PostgresLeadership(url, period=0.1) for _ in range(2)]
    stops = [asyncio.Event() for _ in replicas]
    heard: list[list[int]] = [[], []]
    changes: list[tuple[int, bool]] = []
    campaigns = [
        asyncio.create_task(replica.campaign(stop, lambda leading, n=n: changes.append((n, leading)), heard[n].append))
        for n, (replica, stop) in enumerate(zip(replicas, stops, strict=True))
    ]
    try:
        await _until(lambda: any(replica.leading for replica in replicas))
        await asyncio.sleep(0.5)  # several campaign rounds: the other never leads as well
        assert sum(replica.leading for replica in replicas) == 1
        leader = next(n for n, replica in enumerate(replicas) if replica.leading)
        # Replies committed by anyone wake the leader with their chat.
        store = await open_postgres(url, NOW, max_size=2)
        try:
            async with store.transaction() as tx:
                await tx.enqueue_replies(42, ['{"kind": "text"}'], NOW)
            await _until(lambda: heard[leader] == [42])
        finally:
            await store.close()
        assert heard[1 - leader] == []
        # The server ends the leader's session (a restart, a failover, an administrator): the lock goes with it,
        # the other replica takes it, and the old leader, reconnecting, does not lead any more.
        await _end_the_leaders_session(url)
        await _until(lambda: replicas[1 - leader].leading and not replicas[leader].leading)
        for _ in range(10):  # several campaign rounds: still exactly one
            await asyncio.sleep(0.1)
            assert [replica.leading for replica in replicas].count(True) == 1
        leader = 1 - leader
        stops[leader].set()  # the leader goes: its session ends and the lock with it
        await campaigns[leader]
        await _until(lambda: replicas[1 - leader].leading, timeout=10)
        assert changes[-1] == (1 - leader, True) and (leader, False) in changes
    finally:
        for stop in stops:
            stop.set()
        await asyncio.gather(*campaigns, return_exceptions=True)


async def test_a_lone_replica_whose_session_was_cut_stands_back_a_few_rounds_then_leads_again(
    postgres_server: PostgresServer,
) -> None:
    from bot.storage.postgres.leadership import PostgresLeadership

    database = await fresh_database(postgres_server, "lone")
    url = postgres_server.url(database)
    period = 0.2
    replica = PostgresLeadership(url, period=period)
    stop = asyncio.Event()
    changes: list[tuple[float, bool]] = []
    loop = asyncio.get_running_loop()
    on_leading = lambda leading: changes.append((loop.time(), leading))  # noqa: E731
    campaign = asyncio.create_task(replica.campaign(stop, on_leading, lambda _chat: None))
    try:
        await _until(lambda: replica.leading)
        await _end_the_leaders_session(url)
        await _until(lambda: len(changes) >= 3)  # led, lost, leads again: with nobody else, it comes back
        (_, first), (lost_at, lost), (again_at, again) = changes[:3]
        assert (first, lost, again) == (True, False, True)
        # It gave the others their rounds first: asking again at once would come within about a period.
        assert again_at - lost_at >= 1.5 * period
    finally:
        stop.set()
        await campaign


async def _end_the_leaders_session(url: str) -> None:
    """What a server restart, a failover or an administrator does to the leader: its session ends."""
    from bot.storage.postgres.leadership import LEADER_LOCK

    admin = await asyncpg.connect(url)
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = $1 AND objid = $2",
            *LEADER_LOCK,
        )
    finally:
        await admin.close()


async def _until(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "not within the ceiling"
        await asyncio.sleep(0.02)
