"""asyncpg's failures as the storage's own error types (``bot.storage.errors``), by SQLSTATE class.

The driver's exception is kept as ``__cause__`` and its SQLSTATE as ``sqlstate``; callers catch only the
``bot.storage.errors`` types.
"""

from __future__ import annotations

import asyncio

import asyncpg

from bot.storage.errors import StorageBusy, StorageError, StorageFull, StorageUnavailable
from bot.storage.errors import translating as translating_errors

_BUSY_STATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available
        "57014",  # query_canceled (statement_timeout, lock_timeout)
        "53300",  # too_many_connections
        "57P03",  # cannot_connect_now (starting up, shutting down)
    }
)
_FULL_STATES = frozenset({"53100", "53200", "54000"})  # disk_full, out_of_memory, program_limit_exceeded


class SchemaNewerThanCode(StorageUnavailable):
    """The database was migrated by a newer version of the bot: this one must not write to it."""


def storage_error(error: BaseException) -> StorageError:
    """``error`` (from asyncpg, the socket or a timeout) as the storage error it means."""
    if isinstance(error, StorageError):
        return error
    state = str(getattr(error, "sqlstate", "") or "")
    kind: type[StorageError]
    if state in _BUSY_STATES or isinstance(error, TimeoutError | asyncio.TimeoutError):
        kind = StorageBusy
    elif state in _FULL_STATES:
        kind = StorageFull
    else:
        kind = StorageUnavailable  # connection lost, read-only, admin shutdown, a broken statement…
    translated = kind(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)
    translated.__dict__["sqlstate"] = state or None
    translated.__cause__ = error
    return translated


DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a connection the server dropped mid-statement, found in a confused state
    OSError,  # refused, reset, unreachable (ConnectionError is one)
    TimeoutError,
    asyncio.TimeoutError,
)
"""What asyncpg and the network raise for a failure of the database itself."""

translating = translating_errors(DRIVER_ERRORS, storage_error)
"""A class decorator: every public coroutine method raises storage errors, never asyncpg's or the socket's."""
