"""``DATABASE_URL`` chooses the database (SQLite by default), and ``springboard migrate`` says what it applied."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.cli import main
from bot.config import Settings
from bot.storage.migrations import latest_version
from bot.storage.opening import redacted


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_without_a_url_the_sqlite_file_is_used() -> None:
    settings = _settings()
    assert settings.database_url is None
    assert settings.database_path == Path("data/springboard.sqlite3")
    assert settings.files_dir == Path("data/files")


@pytest.mark.parametrize("url", ["", "   "])
def test_an_empty_url_means_sqlite(url: str) -> None:
    assert _settings(database_url=url).database_url is None


@pytest.mark.parametrize("url", ["postgresql://bot:pw@db:5432/springboard", "postgres://db/springboard"])
def test_a_postgresql_url_is_taken(url: str) -> None:
    assert _settings(database_url=url, files_dir="/srv/files").database_url == url


@pytest.mark.parametrize("url", ["sqlite:///data/x.sqlite3", "mysql://db/x", "data/springboard.sqlite3"])
def test_anything_else_is_refused_with_what_to_write(url: str) -> None:
    with pytest.raises(ValidationError, match="postgresql://"):
        _settings(database_url=url)


def test_a_url_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot@db/springboard")
    monkeypatch.setenv("FILES_DIR", "/var/lib/springboard/files")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "postgresql://bot@db/springboard"
    assert settings.files_dir == Path("/var/lib/springboard/files")


def test_passwords_are_left_out_of_messages() -> None:
    assert redacted("postgresql://bot:secret@db:5432/springboard") == "postgresql://bot@db:5432/springboard"
    assert redacted("postgresql://db/springboard") == "postgresql://db/springboard"


def test_migrate_on_a_sqlite_file_applies_everything_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "new" / "bot.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(database))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's is read
    assert main(["migrate"]) == 0
    first = capsys.readouterr().out
    assert f"applied migrations {', '.join(str(n) for n in range(1, latest_version() + 1))}" in first
    assert f"the schema is at version {latest_version()}" in first
    assert database.is_file() and (database.stat().st_mode & 0o777) == 0o600
    assert main(["migrate"]) == 0
    second = capsys.readouterr().out
    assert "already up to date, nothing applied" in second
    assert f"the schema is at version {latest_version()}" in second
