"""Settings from the environment and ``.env``, validated once at start. Nothing else reads the environment."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TOKEN_PATTERN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{30,64}$")
WEBHOOK_SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class Settings(BaseSettings):
    """Every setting the bot reads; ``.env.example`` documents each one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_path: Path = Path("data/springboard.sqlite3")
    database_url: str | None = None
    files_dir: Path = Path("data/files")
    flows_dir: Path = Path("conversations")
    default_timezone: str = "UTC"
    allowed_user_ids: Annotated[frozenset[int], NoDecode] = Field(default_factory=frozenset)
    log_level: str = "INFO"
    helpline_country: str = "US"
    checkin_poll_seconds: float = Field(default=20.0, gt=0, le=3600)
    send_limit_per_second: float = Field(default=30.0, ge=0)
    send_limit_per_chat_per_second: float = Field(default=1.0, ge=0)
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1:8443"
    webhook_secret: SecretStr | None = None
    webhook_read_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    webhook_max_connections: int = Field(default=40, ge=1, le=100)

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{value}' is not a timezone name such as Europe/Berlin or UTC") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.strip().startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "must be a PostgreSQL URL such as postgresql://user:password@host:5432/springboard "
                "(leave it empty to use the SQLite file at DATABASE_PATH)"
            )
        return value.strip()

    @field_validator("allowed_user_ids", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part for part in re.split(r"[,\s]+", value) if part]
            if not all(part.lstrip("-").isdigit() for part in parts):
                raise ValueError("must be Telegram user ids (numbers) separated by commas")
            return frozenset(int(part) for part in parts)
        return value

    @field_validator("helpline_country")
    @classmethod
    def _country(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{2}", value):
            raise ValueError("must be a two-letter country code such as US, GB or DE")
        return value.upper()

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value.upper()

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None
        if value is not None and not TOKEN_PATTERN.match(value.get_secret_value().strip()):
            raise ValueError("does not look like a bot token from @BotFather (digits, a colon, then 30+ letters)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not WEBHOOK_SECRET_PATTERN.match(value.get_secret_value()):
            raise ValueError("must be 1 to 256 characters: letters A-Z and a-z, digits, _ and - (Telegram's rule)")
        return value

    @property
    def webhook_problem(self) -> str | None:
        """Why webhook mode cannot start with these settings, or None (also None when polling)."""
        if self.webhook_url and self.webhook_secret is None:
            return (
                "WEBHOOK_URL is set but WEBHOOK_SECRET is not; set WEBHOOK_SECRET to a long random string "
                "(letters, digits, _ and -) so that only Telegram can post updates to the bot"
            )
        return None

    @property
    def zone(self) -> ZoneInfo:
        """The default timezone as a ZoneInfo."""
        return ZoneInfo(self.default_timezone)
