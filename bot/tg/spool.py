"""Files waiting to be sent (exports, charts): kept on disk beside the database, never inside the outbox.

An outbox row names its file; the sender reads it when sending and removes it once Telegram has it.
Large documents are zipped, and split into parts if even the zip would come near Telegram's 50 MB limit
for bots. Files are private (mode 0600), and any file no outbox row names any more (after /forget, or a
transaction that rolled back) is removed by :meth:`Spool.sweep`.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

ZIP_ABOVE_BYTES = 5 * 1024 * 1024
PART_BYTES = 45 * 1024 * 1024  # well under the 50 MB Telegram accepts from a bot
_NAME_LENGTH = 32
_BLOCK = 1024 * 1024


class Spool:
    """A folder of files for outbox rows to send."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, content: bytes | Path) -> str:
        """Store ``content`` (bytes, or a file this spool takes over) as a new private file; returns its name
        (what the outbox row keeps)."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = secrets.token_hex(_NAME_LENGTH // 2)
        target = self.folder / name
        if isinstance(content, Path):
            try:
                os.replace(content, target)  # the usual case: written beside the spool, on the same disk
            except OSError:
                with content.open("rb") as source, _new_private(target) as out:
                    shutil.copyfileobj(source, out, _BLOCK)
                content.unlink(missing_ok=True)
            return name
        with _new_private(target) as out:
            out.write(content)
        return name

    def put_document(self, filename: str, content: bytes | Path) -> list[tuple[str, str]]:
        """Store a document to send (bytes, or a file this spool takes over), zipped when large and split
        into parts when huge. Files are streamed, never read into memory whole.

        Returns (filename as the person sees it, stored name) for each file to send, in order.
        """
        size = content.stat().st_size if isinstance(content, Path) else len(content)
        if size <= ZIP_ABOVE_BYTES:
            return [(filename, self.put(content))]
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        zipped = self.folder / secrets.token_hex(_NAME_LENGTH // 2)
        try:
            with _new_private(zipped) as out, zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                if isinstance(content, Path):
                    archive.write(content, arcname=filename)
                else:
                    archive.writestr(filename, content)
            if isinstance(content, Path):
                content.unlink(missing_ok=True)
            if zipped.stat().st_size <= PART_BYTES:
                return [(f"{filename}.zip", self.put(zipped))]
            # Numbered like split archives, so `cat name.zip.* > name.zip` joins them again.
            return [(f"{filename}.zip.{number:03d}", name) for number, name in enumerate(self._split(zipped), start=1)]
        finally:
            zipped.unlink(missing_ok=True)

    def _split(self, path: Path) -> list[str]:
        """Copy ``path`` into parts of at most PART_BYTES each; returns their stored names, in order."""
        names: list[str] = []
        with path.open("rb") as source:
            while block := source.read(min(_BLOCK, PART_BYTES)):
                name = secrets.token_hex(_NAME_LENGTH // 2)
                names.append(name)
                with _new_private(self.folder / name) as out:
                    written = 0
                    while block:
                        out.write(block)
                        written += len(block)
                        block = source.read(min(_BLOCK, PART_BYTES - written))
        return names

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


def _new_private(path: Path) -> BinaryIO:
    """A new file only this account can read or write (it holds what people wrote)."""
    return os.fdopen(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "wb")
