"""The Telegram adapter (named ``tg`` so it never shadows the ``telegram`` library)."""

import os

# Opt in to python-telegram-bot's timedelta time periods (RetryAfter.retry_after and friends). Without
# it, PTB 22 emits a deprecation warning each time it builds a RetryAfter error.
os.environ.setdefault("PTB_TIMEDELTA", "true")
