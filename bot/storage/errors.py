"""What a storage failure looks like to the rest of the bot, whichever database is behind it.

Adapters catch these (to retry, to leave an update unconfirmed, to exit with a clear line), never a
driver's own exceptions. Each implementation raises them for failures of the storage itself; the SQLite
one keeps the original ``sqlite3`` class as a second base, so its message and codes stay at hand.
"""

from __future__ import annotations


class StorageError(Exception):
    """The storage could not do what was asked; nothing of the transaction under way was kept."""


class StorageBusy(StorageError):
    """Another writer held the database for longer than we wait (worth retrying soon)."""


class StorageFull(StorageError):
    """No room left to write (disk or quota full): reads may still work, writes will not until room is made."""


class StorageUnavailable(StorageError):
    """The database cannot be read or written at all: an I/O error, read-only, closed, damaged, gone."""
