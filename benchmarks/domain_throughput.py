"""Throughput of the domain functions (``publicsuffix``, ``rootdomain``) on each engine, beside
the same answers from ``publicsuffixlist`` in a tight Python loop over the same hosts, and
beside ClickHouse's built-in ``topLevelDomain`` / ``cutToFirstSignificantSubdomain`` (its own
compiled-in list, not the Public Suffix List: an anchor for the cost of a native function).

The hosts: 10 M events of ``my.app.hosts`` (column ``hostname``) drawn from 200,000 distinct
hosts with Zipf-like weights (a few hosts are most of the traffic, as in web or DNS logs), under
suffixes of every kind the list has (a third of them common ones: com, co.uk, blogspot.com
...), with and without subdomains, some in upper case. Generated once per size into
``benchmarks/.data/domains-*`` (a DuckDB and a chdb data directory).

Each engine figure is a LINQ query through the store, counting the function's non-null answers
(so every row is computed and nothing but a count is fetched), the median of 3 runs after a
warm-up; the scan alone (``sum(length(lower(hostname)))``) is timed too. The library loop runs
over the same hosts read into a Python list (reading them is not timed). Rows/s = events /
seconds.
The answers are checked: the engines' and the library's counts per public suffix must be equal.

    .venv/bin/python benchmarks/domain_throughput.py     # about 10 minutes on 2 cores
    LINQD_BENCH_DOMAIN_ROWS=1000000 .venv/bin/python benchmarks/domain_throughput.py
    LINQD_BENCH_DOMAIN_DISTINCT=1000000 ...   # more distinct hosts (DuckDB's figure depends
                                              # on it: it looks each distinct host up once)
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Callable

import pyarrow as pa
import sqlglot
from publicsuffixlist import PublicSuffixList

from _setup import NOW_MS, ROOT, median_seconds
from linqd import public_suffixes
from linqd.clock import SimulatedClock
from linqd.datadir import DataDir, open_data_dir
from linqd.query.dates import TimeRange
from linqd.query.run import run_query

ROWS = int(os.environ.get("LINQD_BENCH_DOMAIN_ROWS", "10000000"))
DISTINCT = int(os.environ.get("LINQD_BENCH_DOMAIN_DISTINCT", "200000"))
TABLE = "my.app.hosts"
DAY_MS = 86_400_000
RANGE = TimeRange(NOW_MS - DAY_MS, NOW_MS)
CHUNK = 1_000_000
COMMON = ["com", "net", "org", "co.uk", "de", "com.au", "blogspot.com", "github.io", "jp", "io"]
SUBDOMAINS = ["www", "mail", "api", "cdn", "static.cdn", "login", "m"]


def distinct_hosts(count: int, seed: int = 15) -> list[str]:
    suffixes = sorted(public_suffixes.rules())
    rng = random.Random(seed)
    hosts: set[str] = set()
    while len(hosts) < count:
        suffix = rng.choice(COMMON) if rng.random() < 0.35 else rng.choice(suffixes)
        name = f"site{rng.randrange(count)}"
        labels = [name] if rng.random() < 0.4 else [rng.choice(SUBDOMAINS), name]
        host = ".".join([*labels, suffix])
        hosts.add(host.upper() if rng.random() < 0.02 else host)
    return sorted(hosts)


def event_hosts(rows: int, distinct: int) -> list[str]:
    pool = distinct_hosts(distinct)
    rng = random.Random(16)
    rng.shuffle(pool)
    weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(pool))]
    return rng.choices(pool, weights=weights, k=rows)


def data_dirs(hosts: Callable[[], list[str]]) -> dict[str, DataDir]:
    """The DuckDB and chdb data directories holding the events, generated on first use."""
    dirs = {}
    values: list[str] | None = None
    for engine, store in (("duckdb", "duckdb"), ("clickhouse", "chdb:events")):
        path = ROOT / ".data" / f"domains-{engine}-{ROWS}-{DISTINCT}"
        ready = path / "READY"
        data = open_data_dir(path, SimulatedClock(NOW_MS), store=store)
        if not ready.exists():
            if values is None:
                print(f"generating {ROWS:,} host events ({DISTINCT:,} distinct) ...", flush=True)
                values = hosts()
            started = time.perf_counter()
            for start in range(0, ROWS, CHUNK):
                part = values[start : start + CHUNK]
                stamps = [
                    NOW_MS - DAY_MS + (start + i) * (DAY_MS // ROWS) for i in range(len(part))
                ]
                data.store.append(
                    TABLE, {"hostname": pa.array(part)}, client="self", eventdates=stamps
                )
            ready.write_text("ok\n")
            print(f"  {engine}: stored in {time.perf_counter() - started:.1f} s", flush=True)
        dirs[engine] = data
    return dirs


def linq_count(data: DataDir, expression: str) -> int:
    """The non-null values of ``expression`` (``sum(...)`` for the scan: DuckDB counts the
    non-null results of a null-preserving function from the column's statistics)."""
    aggregate = "sum(v)" if expression.startswith("length(") else "count(v)"
    text = f"from {TABLE} select {expression} as v group select {aggregate} as n"
    table = run_query(data.store, text, time_range=RANGE, client="self", now_ms=NOW_MS)
    return int(table.to_table().column("n")[0].as_py())


def linq_by_suffix(data: DataDir) -> Counter[str | None]:
    text = f"from {TABLE} select publicsuffix(hostname) as s group by s select count() as n"
    table = run_query(data.store, text, time_range=RANGE, client="self", now_ms=NOW_MS)
    rows = table.to_table().to_pylist()
    return Counter({row["s"]: row["n"] for row in rows})


def sql_count(data: DataDir, expression: str) -> int:
    """A hand-written ClickHouse count over the same rows, through the same store."""
    sql = (
        f"SELECT count({expression}) FROM `{TABLE}` WHERE client = 'self' "
        f"AND eventdate >= fromUnixTimestamp64Milli({RANGE.from_ms}, 'UTC')"
    )
    return int(data.store.fetch(sqlglot.parse_one(sql, read="clickhouse"))[0][0])


def line(name: str, seconds: float) -> None:
    print(f"  {name:<52}{seconds:>8.2f} s{ROWS / seconds / 1e6:>9.2f} M rows/s", flush=True)


def main() -> None:
    dirs = data_dirs(lambda: event_hosts(ROWS, DISTINCT))
    print(f"\n{ROWS:,} events, {DISTINCT:,} distinct hosts; engine figures: median of 3 runs\n")
    counts: dict[str, Counter[str | None]] = {}
    for engine, data in dirs.items():
        print(f"{engine}:")
        for name, expression in (
            ("scan: sum(length(lower(hostname)))", "length(lower(hostname))"),
            ("publicsuffix(hostname)", "publicsuffix(hostname)"),
            ("rootdomain(hostname)", "rootdomain(hostname)"),
        ):
            linq_count(data, expression)  # warm-up (and the reference table's first load)
            line(name, median_seconds(lambda e=expression, d=data: linq_count(d, e), 3))
        if engine == "clickhouse":
            for name, expression in (
                ("built-in topLevelDomain(hostname)", "topLevelDomain(hostname)"),
                (
                    "built-in cutToFirstSignificantSubdomain(hostname)",
                    "cutToFirstSignificantSubdomain(hostname)",
                ),
            ):
                sql_count(data, expression)
                line(name, median_seconds(lambda e=expression, d=data: sql_count(d, e), 3))
        counts[engine] = linq_by_suffix(data)
    duckdb_data = dirs["duckdb"]
    hosts = [
        str(h)
        for h in duckdb_data.store.reader()
        .execute(f'SELECT hostname FROM "{TABLE}" ORDER BY _seq')
        .fetchnumpy()["hostname"]
    ]
    psl = PublicSuffixList()
    print("publicsuffixlist 1.1.2.20261023, one Python thread:")
    started = time.perf_counter()
    suffixes = [psl.publicsuffix(h) for h in hosts]
    line("psl.publicsuffix(host) for each host", time.perf_counter() - started)
    started = time.perf_counter()
    roots = [psl.privatesuffix(h) for h in hosts]
    line("psl.privatesuffix(host) for each host (rootdomain)", time.perf_counter() - started)
    expected = Counter(suffixes)
    for engine, found in counts.items():
        assert found == expected, f"{engine} answers differ from publicsuffixlist"
    print(f"\nanswers checked: {len(expected):,} public suffixes, {len(set(roots)):,} roots")
    for data in dirs.values():
        data.close()


if __name__ == "__main__":
    main()
