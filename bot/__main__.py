"""``python -m bot`` runs the springboard command line."""

import sys

from bot.cli import main

sys.exit(main())
