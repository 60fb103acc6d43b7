"""What the bot's services ask adapters to do, as plain data: the one vocabulary of output.

The engine, the features and the conversation service return these; the terminal chat prints them and
the Telegram adapter turns them into outbox payloads with one function (``bot.tg.payloads.outbox_payloads``)
for replies and nudges alike. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class Button:
    """One button: ``label`` is shown, ``value`` comes back in a Press. ``spoken`` says what it does in words
    where the label leans on the buttons around it ("🗑 1", "▶"): the terminal lists it alone on a line."""

    label: str
    value: str
    spoken: str = ""


@dataclass(frozen=True)
class Say:
    """A message to show, in Telegram HTML. ``question`` messages carry the step and state sequence.

    ``edit`` asks the adapter to update the question already on screen instead of sending a new one.
    """

    html: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    step_id: str | None = None
    seq: int | None = None
    edit: bool = False


@dataclass(frozen=True)
class Stale:
    """A button from an earlier question or message was pressed; nothing changed."""


@dataclass(frozen=True)
class SendFile:
    """A file to send: a ``document`` (the exports) or a ``photo`` (the feelings chart).

    ``content`` is the bytes, or a file holding them that the receiver takes over (an export is written
    to disk page by page, never held in memory whole).
    """

    filename: str
    content: bytes | Path
    caption_html: str
    kind: Literal["document", "photo"]


@dataclass(frozen=True)
class Erased:
    """Everything stored about the person was deleted: adapters drop what they keep on their side too."""


Reply = Say | Stale | SendFile | Erased
"""Everything an adapter may be asked to show or do for one person."""
