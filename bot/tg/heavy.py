"""Exports and charts for Telegram: built a few at a time and one per person, off the event loop, then sent.

/export and a fresh /lessons only *request* their files (a row in the database, committed with the
reply that says they are coming). This job builds them from a read-only snapshot, so the write lock
and other people's replies never wait for a person with years of entries; the files go to the spool
(zipped or split when large) and their outbox rows commit in the same transaction that ends the
request. A request left by a crash is built after the restart; one whose person used /forget
meanwhile is dropped with its files.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import shutil
import socket
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.conversation import Conversations, Reply
from bot.flows.catalog import Catalog, load_catalog
from bot.logs import configure_logging
from bot.storage.opening import open_snapshot_storage
from bot.storage.records import HeavyRequest
from bot.tg.identity import chat_of
from bot.tg.nudges import nudge_outbox
from bot.tg.payloads import parse_payload
from bot.tg.sender import Sender

log = logging.getLogger(__name__)

AT_ONCE = 2
"""Requests built at the same time, across everyone: each may keep a core busy for a while."""
STOP_GRACE_S = 2.0
"""How long a stop waits for builds under way before cutting them short (they run again after a restart)."""
CHECK_EVERY_S = 5.0
"""How often the queue is read without being woken (requests left by a crash, a missed wake-up)."""
STALE_SCRATCH_S = 3600.0  # no build takes an hour: an older scratch folder is a killed process's


Build = Callable[[HeavyRequest, Path], Awaitable[list[Reply]]]
"""Makes what a request asked for (files written into the given folder); never raises."""


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker process needs to build requests on its own: the words, the database, the defaults."""

    flows_dir: Path
    database: Path
    zone: str
    helpline_country: str
    log_level: str
    database_url: str | None = None
    """PostgreSQL's URL when ``DATABASE_URL`` is set (then ``database`` is not used)."""


class ProcessBuilder:
    """Builds requests in worker processes.

    Rendering years of entries or drawing a chart is CPU work; in a thread it would hold the GIL and stall
    the event loop's many short hand-offs (every other person's reply), in another process it only takes
    its share of a core. Each worker reads the database through its own read-only connection, and writes
    the files where the bot picks them up.
    """

    def __init__(self, setup: WorkerSetup, conversations: Conversations, workers: int) -> None:
        self._setup = setup
        self._conversations = conversations
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None

    async def __call__(self, request: HeavyRequest, scratch: Path) -> list[Reply]:
        """Build ``request`` in a worker; a worker that died is replaced and the person told kindly."""
        if self._pool is None:
            # Spawned, not forked: a fork would copy the event loop's threads (aiosqlite's) mid-flight.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                self._workers, mp_context=context, initializer=_start_worker, initargs=(self._setup,)
            )
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, _build_in_worker, request, scratch)
        except BrokenProcessPool:
            log.error("a worker building a %s died; starting new ones", request.kind)
            self.close()
            return self._conversations.heavy_failed(request)

    def close(self) -> None:
        """Stop the workers now, builds under way included (their requests are built again later)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # ProcessPoolExecutor has no public way to stop a busy worker before Python 3.14.
        workers = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            worker.terminate()


_worker_setup: WorkerSetup | None = None
_worker_catalog: Catalog | None = None


def _start_worker(setup: WorkerSetup) -> None:
    """In a new worker process: the same log rules as the bot (no one's words in the log), the flows loaded."""
    global _worker_setup, _worker_catalog
    configure_logging(setup.log_level)
    _worker_setup, _worker_catalog = setup, load_catalog(setup.flows_dir)


def _build_in_worker(request: HeavyRequest, scratch: Path) -> list[Reply]:
    """In a worker process: build one request, as the bot itself would, from a read-only connection."""
    return asyncio.run(_build(request, scratch))


async def _build(request: HeavyRequest, scratch: Path) -> list[Reply]:
    setup, catalog = _worker_setup, _worker_catalog
    assert setup is not None and catalog is not None, "a worker runs _start_worker first"
    opened = await open_snapshot_storage(setup.database, setup.database_url, datetime.now(UTC))
    try:
        conversations = Conversations(
            catalog, opened.storage, lambda: datetime.now(UTC), ZoneInfo(setup.zone), setup.helpline_country
        )
        return await conversations.build_heavy(request, scratch)
    finally:
        await opened.close()


def scratch_folder(sender: Sender) -> Path:
    """Where this process writes export files while building them: beside the spool (a rename away from it),
    in a folder the spool's sweep leaves alone, one per process (replicas may share ``FILES_DIR``)."""
    return sender.spool.folder / "building" / f"{socket.gethostname()}-{os.getpid()}"


def remove_stale_scratch(scratch: Path, older_than: float = STALE_SCRATCH_S) -> None:
    """Remove what processes killed mid-build left beside ``scratch``: at once for a process of this machine
    that is gone, after ``older_than`` seconds for another machine's (it may still be building)."""
    host, now = socket.gethostname(), time.time()
    for left in scratch.parent.glob("*"):
        with contextlib.suppress(OSError):
            if left == scratch:
                continue
            owner_host, _, owner_pid = left.name.rpartition("-")
            gone = owner_host == host and owner_pid.isdigit() and not _alive(int(owner_pid))
            if gone or now - left.stat().st_mtime > older_than:
                if left.is_dir():
                    shutil.rmtree(left, ignore_errors=True)
                else:
                    left.unlink()  # a file an older version wrote straight into the folder


def _alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


async def run_heavy_job(
    conversations: Conversations,
    sender: Sender,
    stop: asyncio.Event,
    setup: WorkerSetup | None = None,
    at_once: int = AT_ONCE,
    every: float = CHECK_EVERY_S,
) -> None:
    """Until ``stop``: build waiting requests, at most ``at_once`` at a time and one per person.

    With ``setup`` they are built in worker processes (see ``ProcessBuilder``), else in this one.
    """
    builder = ProcessBuilder(setup, conversations, at_once) if setup is not None else None
    build: Build = builder or conversations.build_heavy
    scratch = scratch_folder(sender)
    remove_stale_scratch(scratch)  # half-written files of builds a kill interrupted
    running: dict[int, asyncio.Task[None]] = {}
    wake = conversations.heavy_waiting
    try:
        while not stop.is_set():
            wake.clear()
            try:
                # Built where they are sent: by the replica that leads (the others leave the queue to it).
                waiting = await conversations.heavy_requests() if sender.leading else []
            except Exception:  # the queue is read again shortly; the job must outlive any one failure
                log.exception("reading the export and chart queue failed")
                waiting = []
            for request in waiting:
                if len(running) >= at_once:
                    break
                if request.user_id not in running and chat_of(request.external_id) is not None:
                    running[request.user_id] = asyncio.create_task(
                        deliver(conversations, sender, request, scratch, build)
                    )
            await _until_something_changes(list(running.values()), wake, stop, every)
            for user_id, task in list(running.items()):
                if task.done():
                    del running[user_id]
                    if not task.cancelled() and task.exception() is not None:
                        log.error("an export or chart failed", exc_info=task.exception())
    finally:
        # A build that is nearly done (sending, or marking what was sent) gets a moment to finish, so a stop
        # does not make Telegram receive the same file twice after the restart.
        try:
            if running:
                await asyncio.wait(list(running.values()), timeout=STOP_GRACE_S)
        finally:
            for task in running.values():
                task.cancel()
            await asyncio.gather(*running.values(), return_exceptions=True)
            if builder is not None:
                builder.close()
            shutil.rmtree(scratch, ignore_errors=True)
            with contextlib.suppress(OSError):
                scratch.parent.rmdir()  # when no other process shares it


async def _until_something_changes(
    running: list[asyncio.Task[None]], wake: asyncio.Event, stop: asyncio.Event, every: float
) -> None:
    """Wait until a build ends, a new request arrives, the bot stops, or ``every`` seconds pass."""
    signals = [asyncio.create_task(wake.wait()), asyncio.create_task(stop.wait())]
    try:
        await asyncio.wait([*running, *signals], timeout=every, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in signals:
            task.cancel()
        await asyncio.gather(*signals, return_exceptions=True)


async def deliver(
    conversations: Conversations, sender: Sender, request: HeavyRequest, scratch: Path, build: Build | None = None
) -> None:
    """Build one request (here, or with ``build``), put its files in the spool, commit its outbox rows, send."""
    replies = await (build or conversations.build_heavy)(request, scratch)
    # Zipping or splitting a large export is CPU and disk work: not on the event loop.
    delivery = await asyncio.to_thread(nudge_outbox, sender.spool, request.external_id, replies)
    if not await conversations.finish_heavy(request, delivery):
        for payload in delivery[1] if delivery else []:
            name = parse_payload(payload).get("file")
            if isinstance(name, str):
                sender.spool.remove(name)  # the person used /forget while it was being built
        return
    if delivery is not None:
        await sender.flush(delivery[0], urgent=False)
