"""Shared by the benchmark scripts: the 10 M-row demo data set (built once, then reused) and a
timing helper. Not a benchmark itself."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "src"))

from linqd.clock import SimulatedClock  # noqa: E402
from linqd.datadir import DataDir, open_data_dir  # noqa: E402
from linqd.demo import generate  # noqa: E402

# A fixed "now" keeps the data set and the query ranges identical from run to run.
NOW_MS = 1_790_000_000_000
DAYS = 7.0
EVENTS = int(os.environ.get("LINQD_BENCH_EVENTS", "10000000"))


def demo_data() -> DataDir:
    """The benchmark data directory with EVENTS demo rows, generated on first use."""
    path = ROOT / ".data" / f"demo-{EVENTS}"
    ready = path / "READY"
    data = open_data_dir(path, SimulatedClock(NOW_MS))
    if not ready.exists():
        print(f"generating {EVENTS:,} demo events in {path} (once) ...", flush=True)
        started = time.perf_counter()
        generate(data.store, events=EVENTS, days=DAYS, now_ms=NOW_MS, seed=1)
        data.store.reader().execute("CHECKPOINT").fetchall()
        ready.write_text("ok\n")
        print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
    return data


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def interleaved(
    first: Callable[[], object], second: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Median times of two actions run alternately (so drift hits both alike), after a warm-up."""
    first()
    second()
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeat):
        for action, bucket in ((first, a), (second, b)):
            started = time.perf_counter()
            action()
            bucket.append(time.perf_counter() - started)
    return statistics.median(a), statistics.median(b)
