"""The cost of coordination: alert throughput of one node whose metadata is PostgreSQL and whose
definitions are held by leases (heartbeat and renewal every third of the term, a fenced commit
per pass), against the same node with SQLite metadata and no leases, measured in the same run.

The workload is ``benchmarks/alerts.py``'s section (a): 100 ``each`` rules on one table while
events arrive in 2,000-event appends from one thread; the figure is events / (time from the
first append until every rule has read the last event). Both runs store the same firings,
checked against the hand-written SQL counts. The PostgreSQL server is Debian's, started in a
temporary directory on 127.0.0.1 (``tests/pgserver.py``) and stopped afterwards. Rounds
alternate (SQLite, PostgreSQL, SQLite, ...); the same side varies by 10 % between rounds on a
2-core machine, so a round streams a million events (about 5 s; with 300,000 the best-round
ratio of one run ranged from 0.86 to 0.98), and the figure is each side's best round (the
ratio of their medians is printed beside it).
Target: ratio >= 0.9.

    make bench    # or: .venv/bin/python benchmarks/cluster_coordination.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent / "tests"))

from _elastalert_anchor import history  # noqa: E402
from alerts import APPEND, DOMAIN, SPAN_MS, STREAM_TABLE, Bench, _positions, each_rules  # noqa: E402
from linqd.alerts.engine import AlertEngine  # noqa: E402
from linqd.clock import SystemClock  # noqa: E402
from linqd.cluster.leases import DEFAULT_TERM_MS  # noqa: E402
from linqd.cluster.service import alert_resource, join_cluster  # noqa: E402
from pgserver import PostgresServer  # noqa: E402

EVENTS = int(os.environ.get("LINQD_BENCH_COORDINATION_EVENTS", "1000000"))
ROUNDS = int(os.environ.get("LINQD_BENCH_COORDINATION_ROUNDS", "3"))


def batches() -> list[dict[str, list[str]]]:
    events = history(EVENTS, 0, SPAN_MS)
    out = []
    for start in range(0, EVENTS, APPEND):
        chunk = [next(events) for _ in range(min(APPEND, EVENTS - start))]
        out.append({"hostname": [e[1] for e in chunk], "message": [e[2] for e in chunk]})
    return out


def one_round(
    path: Path, stream: list[dict[str, list[str]]], meta: str | None
) -> tuple[float, int]:
    """Events/s and firings stored, for one node (with leases when ``meta`` is given)."""
    clock = SystemClock()
    bench = Bench(path, clock, meta)
    seed = bench.table(STREAM_TABLE)
    for index, (linq, _) in enumerate(each_rules()):
        bench.define(
            f"each {index}", f"from {STREAM_TABLE} where {linq}", {"kind": "each"}, "$message"
        )
    cluster = None
    if meta is not None:
        cluster = join_cluster(
            bench.data.meta,
            "bench-node",
            "127.0.0.1:0",
            DEFAULT_TERM_MS,
            clock,
            lambda: [alert_resource(d.id) for d in bench.definitions.active()],
        )
    engine = AlertEngine(bench.store, bench.definitions, bench.triggered, clock, ownership=cluster)
    if cluster is not None:
        cluster.subscribe(engine.reconcile)
        cluster.start()
    engine.start()
    try:
        _wait(lambda: min(_positions(engine) or [-1]) >= seed)
        started = time.perf_counter()
        last = seed
        for columns in stream:
            last = bench.store.append(STREAM_TABLE, columns, client=DOMAIN).last_seq
        _wait(lambda: min(_positions(engine) or [-1]) >= last)
        elapsed = time.perf_counter() - started
    finally:
        engine.close()
        if cluster is not None:
            cluster.leave()
    fired = sum(bench.firings().values())
    bench.close()
    return EVENTS / elapsed, fired


def _wait(done: Callable[[], bool]) -> None:
    deadline = time.perf_counter() + 600
    while not done():
        if time.perf_counter() > deadline:
            raise TimeoutError("the alert engine did not catch up in 600 s")
        time.sleep(0.005)


def main() -> int:
    stream = batches()
    server = PostgresServer()
    rates: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
    fired: dict[str, set[int]] = {"sqlite": set(), "postgresql": set()}
    try:
        with tempfile.TemporaryDirectory() as folder:
            for n in range(ROUNDS):
                for side in ("sqlite", "postgresql"):
                    meta = server.fresh_url() if side == "postgresql" else None
                    rate, stored = one_round(Path(folder) / f"{side}-{n}", stream, meta)
                    print(f"  round {n + 1} {side}: {rate:,.0f} events/s, {stored:,} firings")
                    rates[side].append(rate)
                    fired[side].add(stored)
    finally:
        server.stop()
    same = len(fired["sqlite"] | fired["postgresql"]) == 1
    best = {side: max(values) for side, values in rates.items()}
    middle = {side: statistics.median(values) for side, values in rates.items()}
    ratio = best["postgresql"] / best["sqlite"]
    print(
        f"coordination cost: {best['postgresql']:,.0f} events/s with PostgreSQL metadata and "
        f"leases (anchor: {best['sqlite']:,.0f} events/s with SQLite and no leases, ratio "
        f"{ratio:.2f}, of the medians {middle['postgresql'] / middle['sqlite']:.2f}; "
        f"target >= 0.9); firings {'equal' if same else 'DIFFERENT'}"
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
