"""``python -m bot.standin``: run the Telegram Bot API stand-in in the foreground."""

from bot.standin.cli import main

raise SystemExit(main())
