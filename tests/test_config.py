"""Settings that guard webhook mode: a secret is required, and it must be one Telegram accepts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.config import Settings


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_polling_needs_no_secret() -> None:
    assert _settings().webhook_problem is None


@pytest.mark.parametrize("secret", [None, ""])
def test_a_webhook_without_a_secret_is_a_problem_named_in_one_line(secret: str | None) -> None:
    problem = _settings(webhook_url="https://bot.example.org/hook", webhook_secret=secret).webhook_problem
    assert problem is not None and "WEBHOOK_SECRET" in problem and "\n" not in problem


def test_a_webhook_with_a_secret_is_fine() -> None:
    settings = _settings(webhook_url="https://bot.example.org/hook", webhook_secret="a-B_9" * 10)
    assert settings.webhook_problem is None
    assert settings.webhook_max_connections == 40 and settings.webhook_read_timeout_seconds == 10


@pytest.mark.parametrize("secret", ["with space", "ümlaut", "x" * 257])
def test_a_secret_telegram_would_refuse_is_refused(secret: str) -> None:
    with pytest.raises(ValidationError, match="letters"):
        _settings(webhook_secret=secret)


@pytest.mark.parametrize(
    ("name", "value"),
    [("webhook_max_connections", 0), ("webhook_max_connections", 101), ("webhook_read_timeout_seconds", 0)],
)
def test_webhook_limits_stay_in_range(name: str, value: int) -> None:
    with pytest.raises(ValidationError):
        _settings(**{name: value})
