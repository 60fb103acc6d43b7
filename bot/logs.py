"""Logging set-up: one format, quiet HTTP libraries, the bot token scrubbed from every line, and what
people wrote kept out of every line at INFO and above.

httpx logs each request URL at INFO, and Bot API URLs contain the token; ``RedactTokens`` replaces any
token-shaped text, at every level, in every handler's output. python-telegram-bot logs whole updates and
server answers when it cannot parse them (at CRITICAL and ERROR), and an exception's message can quote
the text it choked on; ``WithholdContent`` keeps both out of records at INFO and above.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Mapping

from bot.storage.errors import StorageError

_TOKEN_SHAPE = re.compile(r"\d{3,20}:[A-Za-z0-9_-]{30,64}")
REDACTED = "<token>"
WITHHELD = "<withheld>"
# Our own records carry only ids, counts and reasons; everything else is a library's.
OWN_LOGGERS = ("bot", "__main__")
# Exceptions whose messages speak of the program or the system (a database, a socket, a missing name),
# never of the input they were handling; other messages (a ValueError quoting a literal, a
# UnicodeEncodeError carrying the whole string) are withheld.
_PLAIN_SPOKEN: tuple[type[BaseException], ...] = (
    StorageError,
    OSError,
    TimeoutError,
    AttributeError,
    NameError,
    ImportError,
    NotImplementedError,
    RecursionError,
    MemoryError,
)
_PLAIN_SPOKEN_MODULES = ("bot.", "telegram.", "httpx", "httpcore")
_CONVERSION = re.compile(r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<kind>[a-zA-Z%])")


class RedactTokens(logging.Filter):
    """Replaces the configured secrets and anything shaped like a bot token in the formatted message."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._secrets = tuple(secret for secret in secrets if secret)

    def redact(self, text: str) -> str:
        """``text`` with every secret and token-shaped string replaced."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return _TOKEN_SHAPE.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class WithholdContent(logging.Filter):
    """At INFO and above, keeps what people wrote out of a record (below INFO, records pass unchanged).

    A library's record keeps its fixed wording, with every argument that is not a number withheld (that is
    where python-telegram-bot puts a whole update or a server's answer). Any record's exception keeps its
    type and traceback; its message is withheld unless the type only speaks of the program or the system.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.INFO:
            return True
        if not _is_own(record.name):
            record.msg = _fixed_wording(record.msg, record.args)
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = describe_exception(record.exc_info[1])
        return True


def _is_own(name: str) -> bool:
    return any(name == own or name.startswith(own + ".") for own in OWN_LOGGERS)


def _fixed_wording(message: object, args: object) -> str:
    """``message`` with each %-placeholder filled by its argument if that is a number, else withheld."""
    if not isinstance(message, str):
        return WITHHELD  # an object logged as the message itself (an update, a dict): all of it is content
    if not args:
        return message
    named = args if isinstance(args, Mapping) else None
    positional = iter(args) if isinstance(args, tuple) else iter((args,))

    def fill(match: re.Match[str]) -> str:
        if match.group("kind") == "%":
            return "%"
        name = match.group("name")
        value = (named or {}).get(name) if name is not None else next(positional, None)
        if isinstance(value, int | float):
            try:
                return match.group(0) % ({name: value} if name is not None else value)
            except (TypeError, ValueError):
                return WITHHELD
        return WITHHELD

    return _CONVERSION.sub(fill, message)


def _plain_spoken(error: BaseException) -> bool:
    return isinstance(error, _PLAIN_SPOKEN) or type(error).__module__.startswith(_PLAIN_SPOKEN_MODULES)


def describe_exception(error: BaseException) -> str:
    """A traceback of ``error`` and the exceptions it came from, as Python prints it, except that a message
    that might quote what someone wrote is withheld (the type and every frame stay)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    parts: list[str] = []
    for older, newer in zip(reversed(chain), [*reversed(chain[:-1]), None], strict=True):
        if older.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_tb(older.__traceback__))
        kind = type(older)
        name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
        # The database driver's own error behind a storage error says what the storage error says.
        driver = isinstance(newer, StorageError) and newer.__cause__ is older
        message = str(older) if driver or _plain_spoken(older) else WITHHELD
        parts.append(f"{name}: {message}\n" if message else f"{name}\n")
        if newer is not None:
            parts.append(
                "\nThe above exception was the direct cause of the following exception:\n\n"
                if newer.__cause__ is older
                else "\nDuring handling of the above exception, another exception occurred:\n\n"
            )
    return "".join(parts).rstrip("\n")


def configure_logging(level: str, secrets: tuple[str, ...] = ()) -> None:
    """Log to stderr at ``level``; HTTP client chatter only from WARNING; secrets never printed; nothing
    people wrote in any line at INFO or above."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # Withhold first: the token filter then formats (and scrubs) the exception text it leaves.
    handler.addFilter(WithholdContent())
    handler.addFilter(RedactTokens(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    numeric = logging.getLevelName(level)
    for noisy in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, numeric))
    # These log request parameters, updates and SQL parameters at DEBUG: that is what people wrote.
    for talkative in ("telegram", "aiosqlite"):
        logging.getLogger(talkative).setLevel(max(logging.INFO, numeric))
