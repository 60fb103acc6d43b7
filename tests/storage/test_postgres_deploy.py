"""Running on PostgreSQL by ``DATABASE_URL``: ``springboard migrate`` applies the schema explicitly, the bot
refuses a schema older than its code, and the terminal chat completes a flow that is stored there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import migrate
from bot.config import Settings
from bot.storage.errors import StorageError
from bot.storage.opening import open_snapshot_storage, open_storage
from tests.conftest import NOW, REPO_ROOT
from tests.postgres_server import PostgresServer
from tests.storage.conftest import POSTGRES_GROUP, fresh_schema

pytestmark = pytest.mark.xdist_group(POSTGRES_GROUP)

pytest.importorskip("asyncpg")

from bot.storage.postgres.migrations import latest_version  # noqa: E402


async def _url(server: PostgresServer, prefix: str) -> str:
    """A URL whose connections see only a fresh schema of their own (asyncpg passes search_path on)."""
    return f"{server.url()}?search_path={await fresh_schema(server, prefix)}"


def _settings(url: str, tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database_url=url, files_dir=tmp_path / "files")  # type: ignore[call-arg]


async def test_migrate_on_postgresql_applies_everything_once_then_nothing(
    postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = await _url(postgres_server, "migrate")
    settings = _settings(url, tmp_path)
    with pytest.raises(StorageError, match="springboard migrate"):
        await open_storage(settings, NOW)  # the bot refuses a schema older than its code

    assert await migrate(settings) == 0
    first = capsys.readouterr().out
    numbers = ", ".join(str(number) for number in range(1, latest_version() + 1))
    assert f"applied migration{'s' if latest_version() > 1 else ''} {numbers}" in first
    assert f"the schema is at version {latest_version()}" in first
    assert await migrate(settings) == 0
    assert "already up to date, nothing applied" in capsys.readouterr().out

    opened = await open_storage(settings, NOW)
    try:
        assert opened.database_file is None and opened.spool == tmp_path / "files"
        async with opened.storage.transaction() as tx:
            assert (await tx.user("cli:sam", NOW)).id > 0
    finally:
        await opened.close()
    worker = await open_snapshot_storage(tmp_path / "unused.sqlite3", url, NOW)  # what an export worker opens
    try:
        async with worker.storage.snapshot() as view:
            assert await view.find_user("cli:sam") is not None
    finally:
        await worker.close()


async def test_the_terminal_chat_completes_quick_on_postgresql(postgres_server: PostgresServer, tmp_path: Path) -> None:
    url = await _url(postgres_server, "chat")
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "TELEGRAM_"))}
    environment |= {"PYTHONIOENCODING": "utf-8", "DATABASE_URL": url, "FILES_DIR": str(tmp_path / "files")}

    def springboard(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            input=stdin,
            capture_output=True,
            text=True,
            encoding="utf-8",
            cwd=REPO_ROOT,
            env=environment,
            timeout=60,
            check=False,
        )

    migrated = springboard("migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert f"the schema is at version {latest_version()}" in migrated.stdout
    lines = [
        "/quick",
        "yes",
        "I missed the train to the interview",
        "Leave earlier when it matters",
        "Check the train times tonight",
    ]
    finished = springboard("chat", "--user", "sam", stdin="".join(f"{line}\n" for line in lines))
    assert finished.returncode == 0, finished.stderr
    assert "Traceback" not in finished.stderr
    assert "Saved. 🌱" in finished.stdout and "💡 Leave earlier when it matters" in finished.stdout

    opened = await open_storage(_settings(url, tmp_path), NOW)
    try:
        async with opened.storage.snapshot() as view:
            user = await view.find_user("cli:sam")
            assert user is not None
            assert await view.count_runs(user.id) == 1
            assert await view.lesson_texts(user.id) == ["Leave earlier when it matters"]
    finally:
        await opened.close()
