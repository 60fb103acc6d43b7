"""Files waiting to be sent: on disk beside the database, never in the outbox, zipped or split when large."""

from __future__ import annotations

import io
import json
import random
import stat
import zipfile
from pathlib import Path

from bot.tg import spool as spool_module
from bot.tg.payloads import file_payloads
from bot.tg.spool import Spool


def test_a_payload_names_its_file_and_carries_none_of_its_content(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "files")
    [payload] = file_payloads(spool, "document", "export.json", b'{"lesson": "MARKER-7d2c"}', "Your copy")
    row = json.loads(payload)
    assert "MARKER-7d2c" not in payload and "data" not in row
    assert spool.read(row["file"]) == b'{"lesson": "MARKER-7d2c"}'
    stored = spool.folder / row["file"]
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600


def test_a_large_document_goes_zipped_and_a_huge_one_in_parts(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    spool = Spool(tmp_path / "files")
    big = ("I should have asked for help sooner. " * 200_000).encode()  # ~7 MB, compresses well
    [(name, stored)] = spool.put_document("springboard.md", big)
    assert name == "springboard.md.zip"
    with zipfile.ZipFile(io.BytesIO(spool.read(stored) or b"")) as archive:
        assert archive.read("springboard.md") == big
    monkeypatch.setattr(spool_module, "PART_BYTES", 1000)
    monkeypatch.setattr(spool_module, "ZIP_ABOVE_BYTES", 10)
    noise = random.Random(1).randbytes(5000)  # does not compress: the zip needs several parts
    parts = spool.put_document("export.json", noise)
    assert [name for name, _ in parts][:2] == ["export.json.zip.001", "export.json.zip.002"]
    joined = b"".join(spool.read(stored) or b"" for _, stored in parts)
    with zipfile.ZipFile(io.BytesIO(joined)) as archive:
        assert archive.read("export.json") == noise


def test_sweep_keeps_what_rows_name_and_removes_the_rest(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "files")
    kept, dropped = spool.put(b"kept"), spool.put(b"dropped")
    assert spool.sweep([kept]) == 1
    assert spool.read(kept) == b"kept" and spool.read(dropped) is None


def test_names_that_are_not_the_spools_own_are_never_read_or_removed(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "files")
    secret = tmp_path / "secret.txt"
    secret.write_text("not for sending")
    assert spool.read("../secret.txt") is None
    spool.remove("../secret.txt")
    assert secret.exists()
