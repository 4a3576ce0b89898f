"""Hash and encoding throughput over the 10 M-row demo data set: LINQ's functions against the
same work done by each engine's built-ins and by Python's standard library in a tight loop.

For each function, on DuckDB and on ClickHouse (chdb), over every event's ``uri``:

- LINQ: ``from demo.ecommerce.data group select sum(length(to16(md5(uri)))) as n`` (parse,
  analyze, compile, run, fetch), the hash printed as text so the engine cannot skip it;
- the anchor: the engine's own functions in hand-written SQL doing the same (DuckDB's
  ``md5(uri)`` is already hex text; ClickHouse's ``lower(hex(MD5(uri)))``) inside the very SQL
  linqd writes around them (the sum of lengths), through the same store and read path;
- Python: ``hashlib``/``base64`` over the first 1 M uris in a loop (a rate, rows per second).

``estimation(hllpp(uri))`` (the sketch, the same bytes on both engines) is compared with each
engine's own distinct estimate (DuckDB's ``approx_count_distinct``, ClickHouse's
``uniqCombined64``, which ``hllppcount`` compiles to): the portable sketch costs more. Each
figure is the median of 3 interleaved runs; the ratio is the LINQ time over the anchor's,
measured in the same run.

    .venv/bin/python benchmarks/hash_throughput.py
    LINQD_BENCH_EVENTS=1000000 .venv/bin/python benchmarks/hash_throughput.py   # smaller
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable

import pyarrow as pa
import sqlglot

from _setup import DAYS, NOW_MS, demo_data, interleaved
from linqd.datadir import DataDir
from linqd.query.dates import TimeRange
from linqd.query.run import run_query
from linqd.store.base import EventStore
from query_clickhouse import chdb_demo_data

FROM_MS = NOW_MS - int(DAYS * 86_400_000)
RANGE = TimeRange(FROM_MS, NOW_MS)
T = '"demo.ecommerce.data"'
BOUNDS = {
    "duckdb": f"eventdate >= epoch_ms({FROM_MS}) AND eventdate < epoch_ms({NOW_MS}) "
    "AND client = 'self'",
    "clickhouse": f"eventdate >= fromUnixTimestamp64Milli({FROM_MS}, 'UTC') "
    f"AND eventdate < fromUnixTimestamp64Milli({NOW_MS}, 'UTC') AND client = 'self'",
}
PYTHON_ROWS = 1_000_000

# The SQL linqd writes around the function for `sum(length(...))`, with {} the text: the anchors
# differ from the LINQ only in the function itself.
AROUND = {
    "duckdb": "CAST(sum(CAST(length({}) AS INT)) AS BIGINT)",
    "clickhouse": "sum(CAST(lengthUTF8({}) AS Nullable(Int32)))",
}


def _around(duck: str, house: str) -> tuple[str, str]:
    return AROUND["duckdb"].format(duck), AROUND["clickhouse"].format(house)


# name: (LINQ select expression, DuckDB anchor, ClickHouse anchor, Python per-value work)
FUNCTIONS: dict[str, tuple[str, str, str, Callable[[str], object] | None]] = {
    "md5": (
        "sum(length(to16(md5(uri))))",
        *_around("md5(uri)", "lower(hex(MD5(uri)))"),
        lambda u: hashlib.md5(u.encode()).hexdigest(),
    ),
    "sha1": (
        "sum(length(to16(sha1(uri))))",
        *_around("sha1(uri)", "lower(hex(SHA1(uri)))"),
        lambda u: hashlib.sha1(u.encode()).hexdigest(),
    ),
    "sha256": (
        "sum(length(to16(sha256(uri))))",
        *_around("sha256(uri)", "lower(hex(SHA256(uri)))"),
        lambda u: hashlib.sha256(u.encode()).hexdigest(),
    ),
    "to64": (
        "sum(length(to64(uri)))",
        *_around("to_base64(encode(uri))", "base64Encode(uri)"),
        lambda u: base64.b64encode(u.encode()),
    ),
    "hllpp": (
        "estimation(hllpp(uri))",
        "approx_count_distinct(uri)::DOUBLE",
        "toFloat64(uniqCombined64(uri))",
        None,
    ),
}


def arrow(store: EventStore, query: sqlglot.exp.Expression) -> pa.Table:
    cursor = store.stream(query)
    return pa.Table.from_batches(list(cursor), schema=cursor.schema)


def python_rate(store: EventStore, engine: str, work: Callable[[str], object]) -> float:
    """Rows per second of ``work`` over the first PYTHON_ROWS uris, in a plain loop."""
    sql = f"SELECT uri FROM {T} WHERE {BOUNDS[engine]} AND uri IS NOT NULL LIMIT {PYTHON_ROWS}"
    uris = arrow(store, sqlglot.parse_one(sql, read=engine)).column(0).to_pylist()
    started = time.perf_counter()
    for uri in uris:
        work(uri)
    return len(uris) / (time.perf_counter() - started)


def run_engine(engine: str, data: DataDir) -> None:
    store = data.store
    counted = sqlglot.parse_one(f"SELECT count(*) FROM {T} WHERE {BOUNDS[engine]}", read=engine)
    events = arrow(store, counted).column(0)[0].as_py()
    print(f"\n{engine}: {events:,} events in range; M rows/s, median of 3 interleaved runs")
    print(f"{'function':<12}{'LINQ':>9}{'built-in':>10}{'ratio':>8}{'Python':>9}")
    for name, (linq_expr, duck_sql, house_sql, work) in FUNCTIONS.items():
        linq = f"from demo.ecommerce.data group select {linq_expr} as n"
        anchor_expr = duck_sql if engine == "duckdb" else house_sql
        sql = sqlglot.parse_one(
            f"SELECT {anchor_expr} AS n FROM {T} WHERE {BOUNDS[engine]}", read=engine
        )
        answers: list[object] = []

        def via_linq(linq: str = linq, answers: list[object] = answers) -> None:
            result = run_query(store, linq, time_range=RANGE, client="self", now_ms=NOW_MS)
            answers.append(result.to_table().column(0)[0].as_py())

        def via_sql(sql: sqlglot.exp.Expression = sql) -> None:
            arrow(store, sql)

        linq_s, sql_s = interleaved(via_linq, via_sql, repeat=3)
        expected = arrow(store, sql).column(0)[0].as_py()
        if name != "hllpp":
            assert answers[-1] == expected, (name, answers[-1], expected)
        python = f"{python_rate(store, engine, work) / 1e6:>9.2f}" if work else f"{'-':>9}"
        print(
            f"{name:<12}{events / linq_s / 1e6:>9.2f}{events / sql_s / 1e6:>10.2f}"
            f"{linq_s / sql_s:>8.2f}{python}"
            + (f"   (estimates: linqd {answers[-1]:,.0f}, engine {expected:,.0f})"
               if name == "hllpp" else "")
        )  # fmt: skip


def main() -> None:
    for engine, open_data in (("duckdb", demo_data), ("clickhouse", chdb_demo_data)):
        data = open_data()
        try:
            run_engine(engine, data)
        finally:
            data.close()


if __name__ == "__main__":
    main()
