"""LINQ query speed on the ClickHouse store (chdb) against the same questions in hand-written
ClickHouse SQL, run by the same store on the same data.

The five shapes of ``benchmarks/query.py`` over the 10 M-row demo data set, loaded once into a
chdb store. For each: the LINQ time (parse + analyze + compile + run + fetch as Arrow through
the store) and the hand-written SQL time (the store runs the text, parsed once, and fetches
as Arrow: the same settings and the same read path), and their ratio (target <= 1.15).

    make bench    # or: .venv/bin/python benchmarks/query_clickhouse.py
    LINQD_BENCH_EVENTS=1000000 .venv/bin/python benchmarks/query_clickhouse.py   # smaller
"""

from __future__ import annotations

import time

import pyarrow as pa
import sqlglot

from _setup import DAYS, EVENTS, NOW_MS, ROOT, interleaved
from linqd.clock import SimulatedClock
from linqd.datadir import DataDir, open_data_dir
from linqd.demo import generate
from linqd.query.dates import TimeRange
from linqd.query.run import run_query
from linqd.store.base import EventStore
from query import SHAPES  # the same LINQ, shape by shape

FROM_MS = NOW_MS - int(DAYS * 86_400_000)
RANGE = TimeRange(FROM_MS, NOW_MS)
T = '"demo.ecommerce.data"'
BOUNDS = (
    f"eventdate >= fromUnixTimestamp64Milli({FROM_MS}, 'UTC') "
    f"AND eventdate < fromUnixTimestamp64Milli({NOW_MS}, 'UTC') AND client = 'self'"
)
# What a ClickHouse user would write for each shape of benchmarks/query.py, for the same rows.
SQL = {
    "5-minute x user count": (
        f"SELECT toStartOfInterval(eventdate, INTERVAL 5 MINUTE) AS bucket, clientIpAddress, "
        f"count() AS n FROM {T} WHERE {BOUNDS} GROUP BY bucket, clientIpAddress ORDER BY 1, 2"
    ),
    "string contains filter": (
        f"SELECT eventdate, uri, statusCode FROM {T} WHERE {BOUNDS} "
        "AND position(uri, 'product.screen') > 0 ORDER BY eventdate, _seq"
    ),
    "distinct estimate": (
        f"SELECT toStartOfInterval(eventdate, INTERVAL 1 HOUR) AS bucket, "
        f"toFloat64(uniqCombined64(clientIpAddress)) AS ips FROM {T} WHERE {BOUNDS} "
        "GROUP BY bucket ORDER BY 1"
    ),
    "percentile by key": (
        # The nearest rank, as LINQ's percentile (DuckDB's quantile_disc).
        f"SELECT uri, quantileExactWeighted(0.9)(timeTaken, 1) AS p90 FROM {T} WHERE {BOUNDS} "
        "GROUP BY uri ORDER BY 1"
    ),
    "subquery filter": (
        f"SELECT clientIpAddress, count() AS n FROM {T} WHERE {BOUNDS} AND clientIpAddress IN "
        f"(SELECT clientIpAddress FROM {T} WHERE {BOUNDS} AND statusCode = 503 "
        "GROUP BY clientIpAddress) GROUP BY clientIpAddress ORDER BY 1"
    ),
}


def chdb_demo_data() -> DataDir:
    """The benchmark data set in a chdb store, generated on first use."""
    path = ROOT / ".data" / f"demo-chdb-{EVENTS}"
    ready = path / "READY"
    data = open_data_dir(path, SimulatedClock(NOW_MS), store="chdb:events")
    if not ready.exists():
        print(f"generating {EVENTS:,} demo events in {path} (once) ...", flush=True)
        started = time.perf_counter()
        generate(data.store, events=EVENTS, days=DAYS, now_ms=NOW_MS, seed=1)
        ready.write_text("ok\n")
        print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
    return data


def arrow(store: EventStore, query: sqlglot.exp.Expression) -> pa.Table:
    cursor = store.stream(query)
    return pa.Table.from_batches(list(cursor), schema=cursor.schema)


def main() -> None:
    data = chdb_demo_data()
    store = data.store
    print(f"{EVENTS:,} demo events in chdb; each figure is the median of 5 interleaved runs\n")
    print(f"{'shape':<26}{'LINQ s':>9}{'SQL s':>9}{'ratio':>8}{'rows':>10}")
    worst = 0.0
    for name, linq, _ in SHAPES:
        rows: list[int] = []
        sql = sqlglot.parse_one(SQL[name], read="clickhouse")

        def via_linq(linq: str = linq, rows: list[int] = rows) -> None:
            table = run_query(store, linq, time_range=RANGE, client="self", now_ms=NOW_MS)
            rows.append(table.to_table().num_rows)

        def via_sql(sql: sqlglot.exp.Expression = sql) -> None:
            arrow(store, sql)

        linq_s, sql_s = interleaved(via_linq, via_sql, repeat=5)
        expected = arrow(store, sql).num_rows
        assert rows[-1] == expected, (name, rows[-1], expected)
        ratio = linq_s / sql_s
        worst = max(worst, ratio)
        print(f"{name:<26}{linq_s:>9.3f}{sql_s:>9.3f}{ratio:>8.2f}{expected:>10,}")
    print(f"\nworst ratio: {worst:.2f} (target <= 1.15)")
    data.close()


if __name__ == "__main__":
    main()
