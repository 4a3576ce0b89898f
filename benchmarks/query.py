"""LINQ query speed against hand-written DuckDB SQL on the same connection and data.

For each query shape: the LINQ time (parse + analyze + compile + run + fetch as Arrow), the
hand-written SQL time (run + fetch), and their ratio (target <= 1.15). Then the median time of
parse + analyze + compile to SQL text alone (target <= 1 ms).

    make bench            # or: .venv/bin/python benchmarks/query.py
    LINQD_BENCH_EVENTS=1000000 .venv/bin/python benchmarks/query.py   # a quicker, smaller run
"""

from __future__ import annotations

import statistics
import time

from _setup import DAYS, EVENTS, NOW_MS, demo_data, interleaved
from linqd.linq import compile_linq
from linqd.query.dates import TimeRange
from linqd.query.run import run_query

FROM_MS = NOW_MS - int(DAYS * 86_400_000)
RANGE = TimeRange(FROM_MS, NOW_MS)
T = '"demo.ecommerce.data"'
BOUNDS = f"eventdate >= epoch_ms({FROM_MS}) AND eventdate < epoch_ms({NOW_MS}) AND client = 'self'"

SHAPES: tuple[tuple[str, str, str], ...] = (
    (
        "5-minute x user count",
        "from demo.ecommerce.data group every 5m by clientIpAddress select count() as n",
        f"SELECT time_bucket(INTERVAL 5 MINUTE, eventdate) AS eventdate, clientIpAddress, "
        f"count(*) AS n FROM {T} WHERE {BOUNDS} GROUP BY ALL ORDER BY 1, 2",
    ),
    (
        "string contains filter",
        'from demo.ecommerce.data where uri -> "product.screen" select eventdate, uri, statusCode',
        f"SELECT eventdate, uri, statusCode FROM {T} WHERE {BOUNDS} "
        "AND contains(uri, 'product.screen') ORDER BY eventdate, _seq",
    ),
    (
        "distinct estimate",
        "from demo.ecommerce.data group every 1h select hllppcount(clientIpAddress) as ips",
        f"SELECT time_bucket(INTERVAL 1 HOUR, eventdate) AS eventdate, "
        f"approx_count_distinct(clientIpAddress)::DOUBLE AS ips FROM {T} WHERE {BOUNDS} "
        "GROUP BY ALL ORDER BY 1",
    ),
    (
        "percentile by key",
        "from demo.ecommerce.data group by uri select percentile90(timeTaken) as p90",
        f"SELECT uri, quantile_disc(timeTaken, 0.9) AS p90 FROM {T} WHERE {BOUNDS} "
        "GROUP BY ALL ORDER BY 1",
    ),
    (
        "subquery filter",
        "from demo.ecommerce.data where clientIpAddress in (from demo.ecommerce.data "
        "where statusCode = 503 group every - by clientIpAddress) "
        "group by clientIpAddress select count() as n",
        f"SELECT clientIpAddress, count(*) AS n FROM {T} WHERE {BOUNDS} AND clientIpAddress IN "
        f"(SELECT clientIpAddress FROM {T} WHERE {BOUNDS} AND statusCode = 503 GROUP BY ALL) "
        "GROUP BY ALL ORDER BY 1",
    ),
)

COMPILE_ONLY = [linq for _, linq, _ in SHAPES] + [
    'from siem.logtrust.web.activity where eq(url, "https://us.devo.com/home"), '
    'eq(type, "request") where username in (from siem.logtrust.web.activity where '
    'eq(url, "https://us.devo.com/m2search"), eq(type, "request") select username) '
    "select username, userid, sessionid, locale, userAgent",
]


def main() -> None:
    data = demo_data()
    store = data.store
    reader = store.reader()
    print(f"{EVENTS:,} demo events; each figure is the median of 5 interleaved runs\n")
    print(f"{'shape':<26}{'LINQ s':>9}{'SQL s':>9}{'ratio':>8}{'rows':>10}")
    worst = 0.0
    for name, linq, sql in SHAPES:
        rows: list[int] = []

        def via_linq(linq: str = linq, rows: list[int] = rows) -> None:
            table = run_query(store, linq, time_range=RANGE, client="self", now_ms=NOW_MS)
            rows.append(table.to_table().num_rows)

        def via_sql(sql: str = sql) -> None:
            reader.sql(sql).to_arrow_table()

        linq_s, sql_s = interleaved(via_linq, via_sql, repeat=5)
        expected = reader.sql(sql).to_arrow_table().num_rows
        assert rows[-1] == expected, (name, rows[-1], expected)
        ratio = linq_s / sql_s
        worst = max(worst, ratio)
        print(f"{name:<26}{linq_s:>9.3f}{sql_s:>9.3f}{ratio:>8.2f}{expected:>10,}")
    print(f"\nworst ratio: {worst:.2f} (target <= 1.15)")

    samples = []
    for _ in range(200):
        for linq in COMPILE_ONLY:
            started = time.perf_counter()
            compile_linq(linq, store.schema, now_ms=NOW_MS).sql  # noqa: B018
            samples.append(time.perf_counter() - started)
    median_ms = statistics.median(samples) * 1000
    p99_ms = sorted(samples)[int(len(samples) * 0.99)] * 1000
    print(f"parse+analyze+compile: median {median_ms:.3f} ms, p99 {p99_ms:.3f} ms (target <= 1 ms)")
    data.close()


if __name__ == "__main__":
    main()
