"""Geolocation speed: ``mm2country(clientIpAddress)`` grouped over the 10 M-row demo data set,
against the same question as a hand-written range join in each engine's SQL, over the same
reference table the store loaded (the packaged GeoLite2 country data). Target: ratio <= 1.3.

- DuckDB: the LINQ query (a correlated ASOF subquery, see ``functions/geo.py``) against a
  hand-written ASOF join, and, for scale, the textbook ``BETWEEN`` join.
- ClickHouse (chdb): the LINQ query against a hand-written ``dictGet`` on the IP-trie
  dictionary the store built over the same rows.

    .venv/bin/python benchmarks/geo_country.py
    LINQD_BENCH_EVENTS=1000000 .venv/bin/python benchmarks/geo_country.py   # a quicker run
"""

from __future__ import annotations

import time

import sqlglot

from _setup import DAYS, EVENTS, NOW_MS, demo_data, interleaved
from linqd.query.dates import TimeRange
from linqd.query.run import run_query
from query_clickhouse import arrow, chdb_demo_data

FROM_MS = NOW_MS - int(DAYS * 86_400_000)
RANGE = TimeRange(FROM_MS, NOW_MS)
T = '"demo.ecommerce.data"'
LINQ = (
    "from demo.ecommerce.data select mm2country(clientIpAddress) as country "
    "group by country select count() as n"
)
DUCK_BOUNDS = (
    f"eventdate >= epoch_ms({FROM_MS}) AND eventdate < epoch_ms({NOW_MS}) AND client = 'self'"
)
DUCK_ASOF = (
    "SELECT CASE WHEN clientIpAddress <= r.stop THEN r.countrycode END AS country, "
    f'count(*) AS n FROM {T} ASOF LEFT JOIN "ref$geo4_city" r ON clientIpAddress >= r.start '
    f"WHERE {DUCK_BOUNDS} GROUP BY ALL ORDER BY 1"
)
DUCK_BETWEEN = (
    f'SELECT r.countrycode AS country, count(*) AS n FROM {T} LEFT JOIN "ref$geo4_city" r '
    f"ON clientIpAddress BETWEEN r.start AND r.stop WHERE {DUCK_BOUNDS} GROUP BY ALL ORDER BY 1"
)
CH_BOUNDS = (
    f"eventdate >= fromUnixTimestamp64Milli({FROM_MS}, 'UTC') "
    f"AND eventdate < fromUnixTimestamp64Milli({NOW_MS}, 'UTC') AND client = 'self'"
)
CH_DICT = (
    "SELECT nullIf(dictGet('ref$geo4_city$trie', 'countrycode', assumeNotNull(clientIpAddress)), "
    "'') AS country, "
    f"count() AS n FROM {T} WHERE {CH_BOUNDS} GROUP BY country ORDER BY 1"
)


def _report(name: str, linq_s: float, sql_s: float, rows: int) -> float:
    ratio = linq_s / sql_s
    print(f"{name:<34}{linq_s:>9.3f}{sql_s:>9.3f}{ratio:>8.2f}{rows:>8,}")
    return ratio


def main() -> None:
    print(f"{EVENTS:,} demo events; each figure is the median of 5 interleaved runs\n")
    print(f"{'engine: anchor':<34}{'LINQ s':>9}{'SQL s':>9}{'ratio':>8}{'rows':>8}")
    rows: list[int] = []

    def via_linq() -> None:
        table = run_query(store, LINQ, time_range=RANGE, client="self", now_ms=NOW_MS)
        rows.append(table.to_table().num_rows)

    data = demo_data()
    store = data.store
    started = time.perf_counter()
    via_linq()  # loads the reference table: not part of the figure
    print(f"(DuckDB: first query with the reference load {time.perf_counter() - started:.1f} s)")
    reader = store.reader()
    worst = 0.0
    for name, sql in (("DuckDB: ASOF join", DUCK_ASOF), ("DuckDB: BETWEEN join", DUCK_BETWEEN)):
        linq_s, sql_s = interleaved(via_linq, lambda s=sql: reader.sql(s).fetchall(), repeat=5)
        expected = reader.sql(sql).fetchall()
        assert rows[-1] == len(expected), (name, rows[-1], len(expected))
        ratio = _report(name, linq_s, sql_s, len(expected))
        if name.endswith("ASOF join"):
            worst = ratio
    data.close()

    data = chdb_demo_data()
    store = data.store
    started = time.perf_counter()
    via_linq()
    print(
        f"(ClickHouse: first query with the reference load {time.perf_counter() - started:.1f} s)"
    )
    query = sqlglot.parse_one(CH_DICT, read="clickhouse")
    linq_s, sql_s = interleaved(via_linq, lambda: arrow(store, query), repeat=5)
    expected_rows = arrow(store, query).num_rows
    assert rows[-1] == expected_rows, (rows[-1], expected_rows)
    worst = max(worst, _report("ClickHouse: dictGet", linq_s, sql_s, expected_rows))
    data.close()
    print(f"\nworst ratio against the engine's best hand-written SQL: {worst:.2f} (target <= 1.3)")


if __name__ == "__main__":
    main()
