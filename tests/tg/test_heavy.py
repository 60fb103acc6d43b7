"""Exports and charts built in the background: limits per person and overall, worker processes, /forget."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.conversation import Reply
from bot.history import SendFile
from bot.storage.repository import HeavyRequest
from bot.tg.heavy import ProcessBuilder, WorkerSetup, run_heavy_job, scratch_folder
from tests.tg.conftest import Harness

ROOT = Path(__file__).resolve().parents[2]
CEILING_S = 60.0
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


async def _with_entries(harness: Harness, *people: int) -> None:
    for person in people:
        await harness.onboard(person)
        for text in ("/quick", "Missed the train", "Leave earlier", "Set an alarm", "today"):
            await harness.send(text, user_id=person)


def _documents(harness: Harness, person: int) -> list[str]:
    return [
        str(call.params.get("document", ""))
        for call in harness.request.calls
        if call.method == "sendDocument" and str(call.params.get("chat_id")) == str(person)
    ]


async def test_builds_run_a_few_at_a_time_overall_and_one_at_a_time_per_person(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = (51, 52, 53)
    await _with_entries(harness, *people)
    for person in people:
        await harness.send("/export", user_id=person)
        await harness.send("/lessons", user_id=person)  # quick entries have no feelings: no chart requested
    conversations = harness.conversations
    real_build = conversations.build_heavy
    running: list[int] = []
    most_overall, most_for_one = 0, 0

    async def watched_build(request: HeavyRequest, scratch: Path) -> list[Reply]:
        nonlocal most_overall, most_for_one
        running.append(request.user_id)
        most_overall = max(most_overall, len(running))
        most_for_one = max(most_for_one, running.count(request.user_id))
        await asyncio.sleep(0.05)  # long enough for every other waiting build to start if it were allowed
        try:
            return await real_build(request, scratch)
        finally:
            running.remove(request.user_id)

    monkeypatch.setattr(conversations, "build_heavy", watched_build)
    stop = asyncio.Event()
    job = asyncio.create_task(run_heavy_job(conversations, harness.sender, stop, at_once=2, every=0.05))
    try:
        async with asyncio.timeout(CEILING_S):
            while any(len(_documents(harness, person)) < 2 for person in people):
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await job
    assert most_overall == 2 and most_for_one == 1
    assert await conversations.heavy_requests() == []
    assert not scratch_folder(harness.sender).exists()  # nothing half-written left behind


async def test_a_worker_process_builds_the_same_export_as_the_bot_would(harness: Harness, tmp_path: Path) -> None:
    await _with_entries(harness, 61)
    await harness.send("/export", user_id=61)
    [request] = await harness.conversations.heavy_requests()
    setup = WorkerSetup(ROOT / "conversations", tmp_path / "bot.sqlite3", "UTC", "US", "WARNING")
    builder = ProcessBuilder(setup, harness.conversations, workers=1)
    try:
        async with asyncio.timeout(CEILING_S):
            replies = await builder(request, tmp_path / "building")
    finally:
        builder.close()
    files = [reply for reply in replies if isinstance(reply, SendFile)]
    assert [Path(file.filename).suffix for file in files] == [".md", ".json"]
    assert all(isinstance(file.content, Path) for file in files)
    exported = json.loads(Path(str(files[1].content)).read_text())
    assert [run["lesson"] for run in exported["runs"]] == ["Leave earlier"]


async def test_an_export_asked_for_before_forget_is_dropped_with_its_files(harness: Harness) -> None:
    await _with_entries(harness, 71)
    await harness.send("/export", user_id=71)
    [request] = await harness.conversations.heavy_requests()
    replies = await harness.conversations.build_heavy(request, scratch_folder(harness.sender))
    await harness.send("/forget", user_id=71)
    await harness.press(harness.request.sent()[-1], "Yes, delete everything", user_id=71)
    assert not await harness.conversations.finish_heavy(request, (71, []))
    assert all(isinstance(reply, SendFile) for reply in replies)
    assert _documents(harness, 71) == []


def test_stale_scratch_of_dead_processes_goes_and_a_live_ones_stays(tmp_path: Path) -> None:
    import os
    import socket

    from bot.tg.heavy import remove_stale_scratch

    building = tmp_path / "building"
    mine = building / f"{socket.gethostname()}-{os.getpid()}"
    dead = building / f"{socket.gethostname()}-999999999"  # no such process
    elsewhere = building / "another-host-123"  # another machine's: kept until it is old
    loose = building / "0123abcd"  # a file an older version left in the folder itself
    for folder in (mine, dead, elsewhere):
        folder.mkdir(parents=True)
        (folder / "export.md").write_text("words")
    loose.write_text("words")
    os.utime(loose, (0, 0))
    remove_stale_scratch(mine)
    assert sorted(p.name for p in building.iterdir()) == sorted([mine.name, elsewhere.name])
    os.utime(elsewhere, (0, 0))
    remove_stale_scratch(mine)
    assert [p.name for p in building.iterdir()] == [mine.name]
