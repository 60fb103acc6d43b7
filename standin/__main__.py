"""``python -m standin``: run the Telegram Bot API stand-in in the foreground."""

from standin.cli import main

raise SystemExit(main())
