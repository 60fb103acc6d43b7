"""The crisis screen and the helplines: pure, loaded from ``conversations/safety/``.

Every piece of text a person sends passes :meth:`Safety.assess` before anything else sees it. Two
tiers: *clear* risk gets the crisis reply at once; *possible* risk gets one gentle, direct question
first. The decision combines written patterns (``screen.yaml``: English and other languages, after
undoing misspellings and masking) with a learned detector (:mod:`bot.safety.detector`), so a message
with no pattern for its phrasing can still be noticed. It is a screen, not a diagnosis: ``/sos`` is
always there, and onboarding says what the bot is not.
"""

from __future__ import annotations

from bot.safety.assessment import Assessment, Level
from bot.safety.book import Helpline, HelplineBook
from bot.safety.loading import SCREEN_FILE, Safety, load_safety
from bot.safety.normal import normalise
from bot.safety.screen import CrisisScreen, ScreenRules

__all__ = [
    "SCREEN_FILE",
    "Assessment",
    "CrisisScreen",
    "Helpline",
    "HelplineBook",
    "Level",
    "Safety",
    "ScreenRules",
    "load_safety",
    "normalise",
]
