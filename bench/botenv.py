"""The environment a benchmark gives the bot process it starts: the stand-in, a database, this checkout."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bot_env(token: str, standin_url: str, database: Path, **settings: str) -> dict[str, str]:
    """This process's environment without its Telegram and database settings, pointed at ``standin_url`` and
    ``database``, quiet in the log (WARNING), importing this checkout; ``settings`` add or override more."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TELEGRAM_", "DATABASE_"))}
    env.update(
        {
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_URL": standin_url,
            "DATABASE_PATH": str(database),
            "FLOWS_DIR": str(ROOT / "conversations"),
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
            **settings,
        }
    )
    return env
