"""`make bench`'s load benchmark still runs: every phase with tiny numbers (no timing is judged here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CEILING_S = 600

pytestmark = pytest.mark.process


def test_the_load_benchmark_runs_every_phase_and_prints_its_table() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "bench.load", "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CEILING_S,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    table = finished.stdout
    for row in ("bot CPU per update", "updates/s over", "check-ins due at once", "RSS after", "start-up"):
        assert row in table, table
