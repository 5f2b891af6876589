"""Paths, timing loops and summary statistics shared by the benchmarks."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app import resources

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
CONTEXTS_DIR = resources.CONTEXTS_DIR
RESULTS_DIR = BENCH_DIR / "results"
PEER_DIR = BENCH_DIR / "peer"

Json = dict[str, Any]


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks; ``sorted_values`` must be sorted."""
    if not sorted_values:
        return math.nan
    position = (len(sorted_values) - 1) * fraction
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return sorted_values[low]
    weight = position - low
    return sorted_values[low] * (1 - weight) + sorted_values[high] * weight


def latency_summary(seconds: Sequence[float]) -> Json:
    """Milliseconds: mean, p50, p90, p99 and max of a list of durations in seconds."""
    ordered = sorted(seconds)
    if not ordered:
        return {"count": 0}
    return {
        "count": len(ordered),
        "mean_ms": 1000 * sum(ordered) / len(ordered),
        "p50_ms": 1000 * percentile(ordered, 0.50),
        "p90_ms": 1000 * percentile(ordered, 0.90),
        "p99_ms": 1000 * percentile(ordered, 0.99),
        "max_ms": 1000 * ordered[-1],
    }


def timed_loop(
    operation: Callable[[], object],
    *,
    seconds: float,
    max_iterations: int,
    warmup: int,
) -> Json:
    """Run ``operation`` ``warmup`` times untimed, then as often as fits in ``seconds``.

    Bounded by both time and count. Returns the per-iteration latency summary and the rate
    (operations per second of wall time, sequentially, one thread).
    """
    for _ in range(warmup):
        operation()
    durations: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds
    while len(durations) < max_iterations:
        before = time.perf_counter()
        operation()
        after = time.perf_counter()
        durations.append(after - before)
        if after >= deadline:
            break
    elapsed = time.perf_counter() - started
    summary = latency_summary(durations)
    summary["seconds"] = elapsed
    summary["per_second"] = len(durations) / elapsed if elapsed > 0 else math.nan
    return summary


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
