"""Split the labelled crisis-screen corpus into train / dev / test, once, before any training or tuning.

Each message goes to a split by a hash of its text (60 / 20 / 20), so the split is stable, needs no random
seed, and a message never moves when others are added. Run from the repository root:

    python -m tools.split_corpus tests/safety/corpus/incoming/*.jsonl

It writes ``tests/safety/corpus/{train,dev,test}.jsonl`` (sorted by category, then text).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

OUT = Path("tests/safety/corpus")
SPLITS = (("train", 60), ("dev", 20), ("test", 20))


def split_of(text: str) -> str:
    """Which split a message belongs to: a stable function of its text alone."""
    bucket = int(hashlib.sha256(text.strip().casefold().encode()).hexdigest(), 16) % 100
    for name, share in SPLITS:
        if bucket < share:
            return name
        bucket -= share
    raise AssertionError("unreachable")


def main(files: list[str]) -> None:
    rows: dict[str, list[dict[str, str]]] = {name: [] for name, _ in SPLITS}
    seen: set[str] = set()
    for file in files:
        for line in Path(file).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            key = row["text"].strip().casefold()
            if key in seen:
                continue
            seen.add(key)
            rows[split_of(row["text"])].append(row)
    for name, found in rows.items():
        found.sort(key=lambda row: (row["label"], row["category"], row["text"]))
        with (OUT / f"{name}.jsonl").open("w", encoding="utf-8") as out:
            for row in found:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{name}: {len(found)} messages")


if __name__ == "__main__":
    main(sys.argv[1:])
