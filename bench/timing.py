"""Shared timing helpers for the benchmarks: samples in milliseconds, and a table of medians and ratios."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable, Mapping


async def timed(action: Callable[[], Awaitable[object]], rounds: int) -> list[float]:
    """Run ``action`` ``rounds`` times; each run's wall time in milliseconds."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def table(results: Mapping[str, list[float]], baseline: str, ratio_label: str) -> str:
    """Medians, p90 and the ratio of each median to ``baseline``'s, one row per case."""
    base = statistics.median(results[baseline])
    width = max(len(name) for name in results) + 2
    lines = [f"{'case':<{width}} {'median ms':>10} {'p90 ms':>9} {ratio_label:>14}"]
    for name, samples in results.items():
        median = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1]
        lines.append(f"{name:<{width}} {median:>10.3f} {p90:>9.3f} {median / base:>14.1f}")
    return "\n".join(lines)
