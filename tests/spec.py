"""Where the Bot API specification lives for the tests, and its checker (None in a user's plain clone)."""

from __future__ import annotations

from pathlib import Path

from standin.spec import SpecChecker

REPO_ROOT = Path(__file__).resolve().parents[1]
SPEC_PATH = REPO_ROOT.parent / "shared" / "telegram-bot-api" / "api.json"


def load_spec() -> SpecChecker | None:
    """The Bot API 10.0 specification checker, or None where ``../shared`` is absent."""
    return SpecChecker.from_file(SPEC_PATH) if SPEC_PATH.is_file() else None
