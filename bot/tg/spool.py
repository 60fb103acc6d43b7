"""Files waiting to be sent (exports, charts): kept on disk beside the database, never inside the outbox.

An outbox row names its file; the sender reads it when sending and removes it once Telegram has it.
Large documents are zipped, and split into parts if even the zip would come near Telegram's 50 MB limit
for bots. Files are private (mode 0600), and any file no outbox row names any more (after /forget, or a
transaction that rolled back) is removed by :meth:`Spool.sweep`.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import zipfile
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

ZIP_ABOVE_BYTES = 5 * 1024 * 1024
PART_BYTES = 45 * 1024 * 1024  # well under the 50 MB Telegram accepts from a bot
_NAME_LENGTH = 32


class Spool:
    """A folder of files for outbox rows to send."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, content: bytes) -> str:
        """Store ``content`` in a new private file; returns its name (what the outbox row keeps)."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = secrets.token_hex(_NAME_LENGTH // 2)
        descriptor = os.open(self.folder / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(content)
        return name

    def put_document(self, filename: str, content: bytes) -> list[tuple[str, str]]:
        """Store a document to send, zipped when large and split into parts when huge.

        Returns (filename as the person sees it, stored name) for each file to send, in order.
        """
        if len(content) <= ZIP_ABOVE_BYTES:
            return [(filename, self.put(content))]
        packed = io.BytesIO()
        with zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(filename, content)
        zipped = packed.getvalue()
        if len(zipped) <= PART_BYTES:
            return [(f"{filename}.zip", self.put(zipped))]
        parts = [zipped[start : start + PART_BYTES] for start in range(0, len(zipped), PART_BYTES)]
        # Numbered like split archives, so `cat name.zip.* > name.zip` joins them again.
        return [(f"{filename}.zip.{number:03d}", self.put(part)) for number, part in enumerate(parts, start=1)]

    def read(self, name: str) -> bytes | None:
        """The stored file's bytes, or None when it is gone."""
        if not _safe(name):
            return None
        try:
            return (self.folder / name).read_bytes()
        except FileNotFoundError:
            return None

    def remove(self, name: str) -> None:
        """Delete one stored file (gone already is fine)."""
        if _safe(name):
            (self.folder / name).unlink(missing_ok=True)

    def sweep(self, wanted: Iterable[str]) -> int:
        """Delete every stored file no outbox row names; returns how many went."""
        keep = set(wanted)
        removed = 0
        if not self.folder.is_dir():
            return 0
        for path in self.folder.iterdir():
            if path.name not in keep and path.is_file():
                path.unlink(missing_ok=True)
                removed += 1
        return removed


def _safe(name: str) -> bool:
    """Only names this spool made: hex, fixed length (never a path)."""
    return len(name) == _NAME_LENGTH and all(ch in "0123456789abcdef" for ch in name)
