"""What a storage failure looks like to the rest of the bot, whichever database is behind it.

Adapters catch these (to retry, to leave an update unconfirmed, to exit with a clear line), never a
driver's own exceptions. Each implementation raises them for failures of the storage itself; the SQLite
one keeps the original ``sqlite3`` class as a second base, so its message and codes stay at hand.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")
_C = TypeVar("_C", bound=type)


class StorageError(Exception):
    """The storage could not do what was asked; nothing of the transaction under way was kept."""


class StorageBusy(StorageError):
    """Another writer held the database for longer than we wait (worth retrying soon)."""


class StorageFull(StorageError):
    """No room left to write (disk or quota full): reads may still work, writes will not until room is made."""


class StorageUnavailable(StorageError):
    """The database cannot be read or written at all: an I/O error, read-only, closed, damaged, gone."""


def translating(
    driver_errors: tuple[type[BaseException], ...], translate: Callable[[BaseException], StorageError]
) -> Callable[[_C], _C]:
    """A class decorator: every public coroutine method raises storage errors (``translate`` of the driver's
    own ``driver_errors``) instead of the driver's; a storage error already raised passes through."""

    def wrap(method: Callable[_P, Awaitable[_R]]) -> Callable[_P, Awaitable[_R]]:
        @functools.wraps(method)
        async def translated(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return await method(*args, **kwargs)
            except StorageError:
                raise
            except driver_errors as trouble:
                raise translate(trouble) from trouble

        return translated

    def decorate(cls: _C) -> _C:
        for name, member in list(vars(cls).items()):
            if not name.startswith("_") and inspect.iscoroutinefunction(member):
                setattr(cls, name, wrap(member))
        return cls

    return decorate
