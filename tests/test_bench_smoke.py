"""`make bench`'s load benchmark still runs: every phase with tiny numbers (no timing is judged here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CEILING_S = 600

pytestmark = pytest.mark.process


def _smoke(module: str) -> str:
    """Run ``python -m MODULE --smoke``; what it printed (it must succeed)."""
    finished = subprocess.run(
        [sys.executable, "-m", module, "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CEILING_S,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    return finished.stdout


def test_the_load_benchmark_runs_every_phase_and_prints_its_table() -> None:
    table = _smoke("bench.load")
    for row in ("bot CPU per update", "updates/s over", "check-ins due at once", "RSS after", "start-up"):
        assert row in table, table


@pytest.mark.xdist_group("postgres")  # starts a PostgreSQL server of its own; kept off the busiest worker
def test_the_replicas_benchmark_runs_every_deployment_and_prints_its_table() -> None:
    from tests.postgres_server import REQUIRED, find_binaries

    binaries, why_not = find_binaries()
    if binaries is None:
        if REQUIRED:
            pytest.fail(f"SPRINGBOARD_REQUIRE_POSTGRES=1 but {why_not}")
        pytest.skip(why_not)
    table = _smoke("bench.replicas")
    for row in ("SQLite, 1 process", "PostgreSQL, 1 replica", "PostgreSQL, 2 replicas", "p99 vs SQLite"):
        assert row in table, table
