"""Oracle tests: the rows of a LINQ query run by ``run_query`` equal the rows of a hand-written
DuckDB query (or a Python computation) over the same stored data. Every LINQ query runs on both
engines: DuckDB through ``run_query``, ClickHouse (chdb) over a copy of the same rows, so each
engine's rows equal the same reference.

One store per module: 20,000 demo events over 3 days, plus a few hand-made rows (null values,
rows of another domain, rows on the edges of the query range).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from linqd import demo
from linqd.clock import SimulatedClock
from linqd.errors import LinqdError, LinqError, QueryLimitError
from linqd.linq.lexer import duration_ms
from linqd.meta import MetaStore
from linqd.query.dates import TimeRange
from linqd.query.run import run_query
from linqd.store.duckdb import DuckDBStore

from .chdb_tables import ENGINES, Runner, normalize, running_on

NOW = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC
HOUR = 3_600_000
DAY = 24 * HOUR
FROM = NOW - 2 * DAY - 12 * HOUR  # 2023-11-12 10:13:20
TO = NOW - 6 * HOUR  # 2023-11-14 16:13:20
RANGE = TimeRange(FROM, TO)

ECOM = demo.ECOMMERCE
ACT = demo.ACTIVITY
NAV = demo.NAVIGATION
BIG = "my.big.table"
NULL_ROWS = 30
OTHER_ROWS = 40


def base(table: str) -> str:
    """What LINQ sees of ``table``: the caller's domain and the query range."""
    return (
        f"(SELECT * FROM \"{table}\" WHERE client = 'self' "
        f"AND eventdate >= epoch_ms({FROM}) AND eventdate < epoch_ms({TO}))"
    )


def bucket(period_ms: int) -> str:
    """The start of the UTC-epoch-aligned bucket, computed with epoch arithmetic."""
    return f"make_timestamp((epoch_ms(eventdate) // {period_ms}) * {period_ms} * 1000)"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    path: Path = tmp_path_factory.mktemp("oracle")
    s = DuckDBStore(path / "events.duckdb", MetaStore(path / "meta.sqlite"), SimulatedClock(NOW))
    demo.generate(s, events=20_000, days=3, now_ms=NOW, seed=7)
    # Rows with null numbers (avg counts them as zero, nnavg skips them).
    stamps = [FROM + 1_234 + i * (TO - FROM) // NULL_ROWS for i in range(NULL_ROWS)]
    s.append(
        ECOM,
        {
            "method": ["GET"] * NULL_ROWS,
            "uri": [f"/null-row-{i}" for i in range(NULL_ROWS)],
            "statusCode": [200] * NULL_ROWS,
            "timeTaken": [None] * NULL_ROWS,
            "bytesTransferred": [None] * NULL_ROWS,
        },
        client="self",
        eventdates=stamps,
    )
    # Another domain's rows, inside the range and looking like ours.
    s.append(
        ECOM,
        {
            "clientIpAddress": [int(ipaddress.IPv4Address("10.9.9.9"))] * OTHER_ROWS,
            "method": ["GET"] * OTHER_ROWS,
            "uri": ["/other-client"] * OTHER_ROWS,
            "statusCode": [404] * OTHER_ROWS,
            "timeTaken": [1] * OTHER_ROWS,
            "bytesTransferred": [1] * OTHER_ROWS,
        },
        client="other",
        eventdates=[FROM + i * HOUR for i in range(OTHER_ROWS)],
    )
    # The edges of the query range: from is inside, to is outside.
    s.append(
        ECOM,
        {
            "method": ["PUT"] * 4,
            "uri": ["/edge-before", "/edge-from", "/edge-last", "/edge-to"],
            "statusCode": [299] * 4,
            "timeTaken": [5] * 4,
            "bytesTransferred": [5] * 4,
        },
        client="self",
        eventdates=[FROM - 1, FROM, TO - 1, TO],
    )
    # More than 32,000 distinct messages for the subquery cap, in one append.
    big = 32_001
    s.append(
        BIG,
        {"hostname": ["h"] * big, "message": [f"m{i}" for i in range(big)]},
        client="self",
        eventdates=[FROM + i for i in range(big)],
    )
    yield s
    s.close()


@pytest.fixture(scope="module", params=ENGINES)
def engine(
    request: pytest.FixtureRequest, store: DuckDBStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runner]:
    with running_on(request.param, store, tmp_path_factory) as runner:
        yield runner


# -- helpers -------------------------------------------------------------------------------------


def _norm(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else float(f"{value:.9g}")
    if isinstance(value, list):
        return tuple(_norm(v) for v in value)
    return value


def _rows(rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    return [tuple(_norm(v) for v in row) for row in rows]


def linq_table(engine: Runner, text: str, *, client: str = "self", **kw: Any) -> pa.Table:
    """The Arrow result of a LINQ query run on ``engine``'s store over the query range."""
    result = run_query(engine.target, text, time_range=RANGE, client=client, now_ms=NOW, **kw)
    table = result.to_table()
    if table.num_rows:
        assert table.column_names == [c.name for c in result.columns]
    return table


def linq(engine: Runner, text: str, *, client: str = "self", **kw: Any) -> list[tuple[Any, ...]]:
    table = linq_table(engine, text, client=client, **kw)
    return _rows([tuple(normalize(v) for v in r.values()) for r in table.to_pylist()])


def sql(store: DuckDBStore, text: str) -> list[tuple[Any, ...]]:
    return _rows(store.reader().sql(text).fetchall())


def _sortkey(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((v is None, str(type(v)), v if v is not None else 0) for v in row)


E = f"from {ECOM}"
BE = base(ECOM)
CART = "uri LIKE '%cart%'"
TEN_NET = "(clientIpAddress >> 24) = 10"

# (id, LINQ, reference SQL, ordered): ordered cases compare exact lists (LINQ defines the order:
# eventdate then arrival without grouping, bucket then keys with grouping).
CASES: list[tuple[str, str, str, bool]] = [
    (
        "eq",
        f"{E} where statusCode = 404 select eventdate, uri",
        f"SELECT eventdate, uri FROM {BE} WHERE statusCode = 404 ORDER BY eventdate, _seq",
        True,
    ),
    (
        "ne",
        f"{E} where statusCode != 200 select eventdate, statusCode",
        f"SELECT eventdate, statusCode FROM {BE} WHERE statusCode <> 200 ORDER BY eventdate, _seq",
        True,
    ),
    (
        "ne_slash",
        f"{E} where statusCode /= 200, statusCode /= 404 select eventdate, statusCode",
        f"SELECT eventdate, statusCode FROM {BE} WHERE statusCode NOT IN (200, 404) "
        "ORDER BY eventdate, _seq",
        True,
    ),
    (
        "lt_le_gt_ge",
        f"{E} where timeTaken < 20 or timeTaken >= 30000, bytesTransferred > 100, "
        "bytesTransferred <= 5000 select eventdate, timeTaken, bytesTransferred",
        f"SELECT eventdate, timeTaken, bytesTransferred FROM {BE} WHERE (timeTaken < 20 OR "
        "timeTaken >= 30000) AND bytesTransferred BETWEEN 101 AND 5000 ORDER BY eventdate, _seq",
        True,
    ),
    (
        "timestamp_text_range",
        f'{E} where "2023-11-13 00:00:00" <= eventdate < "2023-11-13 06:00:00" '
        "select eventdate, uri",
        f"SELECT eventdate, uri FROM {BE} WHERE eventdate >= TIMESTAMP '2023-11-13 00:00:00' "
        "AND eventdate < TIMESTAMP '2023-11-13 06:00:00' ORDER BY eventdate, _seq",
        True,
    ),
    (
        "timestamp_text_range_cut_by_bounds",
        f'{E} where eventdate >= "2023-11-12", eventdate < "2023-11-12 12:00" select eventdate',
        f"SELECT eventdate FROM {BE} WHERE eventdate < TIMESTAMP '2023-11-12 12:00:00' "
        "ORDER BY eventdate, _seq",
        True,
    ),
    (
        "has",
        f'{E} where uri -> "cart" select eventdate, uri',
        f"SELECT eventdate, uri FROM {BE} WHERE {CART} ORDER BY eventdate, _seq",
        True,
    ),
    (
        "has_is_case_sensitive",
        f'{E} where uri -> "CART" select eventdate, uri',
        f"SELECT eventdate, uri FROM {BE} WHERE uri LIKE '%CART%' ORDER BY eventdate, _seq",
        True,
    ),
    (
        "weakhas_ignores_case",
        f'{E} where uri ->> "CART" select eventdate, uri',
        f"SELECT eventdate, uri FROM {BE} WHERE {CART} ORDER BY eventdate, _seq",
        True,
    ),
    (
        "weakhas",
        f'{E} where userAgent ->> "IPHONE" select eventdate, userAgent',
        f"SELECT eventdate, userAgent FROM {BE} WHERE userAgent ILIKE '%iphone%' "
        "ORDER BY eventdate, _seq",
        True,
    ),
    (
        "in_set",
        f"{E} where statusCode in {{404, 500, 408}} select eventdate, statusCode",
        f"SELECT eventdate, statusCode FROM {BE} WHERE statusCode = 404 OR statusCode = 500 "
        "OR statusCode = 408 ORDER BY eventdate, _seq",
        True,
    ),
    (
        "in_string_set",
        f'{E} where method in {{"POST", "PUT"}} select eventdate, method',
        f"SELECT eventdate, method FROM {BE} WHERE method <> 'GET' ORDER BY eventdate, _seq",
        True,
    ),
    (
        "cidr_8",
        f"{E} where clientIpAddress <- 10.0.0.0/8 select eventdate, clientIpAddress",
        f"SELECT eventdate, clientIpAddress FROM {BE} WHERE {TEN_NET} ORDER BY eventdate, _seq",
        True,
    ),
    (
        "cidr_16",
        f"{E} where clientIpAddress <- 192.168.0.0/16 select eventdate, clientIpAddress",
        f"SELECT eventdate, clientIpAddress FROM {BE} WHERE (clientIpAddress >> 16) = "
        f"{192 * 256 + 168} ORDER BY eventdate, _seq",
        True,
    ),
    (
        "regex_double_quotes",
        f'{E} where uri ~ re("^/cart\\\\.do\\\\?action=(view|remove)") select eventdate, uri',
        f"SELECT eventdate, uri FROM {BE} WHERE uri LIKE '/cart.do?action=view%' "
        "OR uri LIKE '/cart.do?action=remove%' ORDER BY eventdate, _seq",
        True,
    ),
    (
        "regex_single_quotes",
        f"{E} where uri ~ re('\\.screen\\?') select eventdate, uri",
        f"SELECT eventdate, uri FROM {BE} WHERE uri LIKE '%.screen?%' ORDER BY eventdate, _seq",
        True,
    ),
    (
        "not",
        f'{E} where not (uri -> "cart"), not statusCode = 200 select eventdate, uri',
        f"SELECT eventdate, uri FROM {BE} WHERE NOT ({CART}) AND statusCode <> 200 "
        "ORDER BY eventdate, _seq",
        True,
    ),
    (
        "type_mismatch_is_no_rows",
        f'{E} where statusCode = "abc" select eventdate',
        f"SELECT eventdate FROM {BE} WHERE false",
        True,
    ),
    (
        "number_as_string",
        f'{E} where statusCode = "404" select eventdate, uri',
        f"SELECT eventdate, uri FROM {BE} WHERE statusCode = 404 ORDER BY eventdate, _seq",
        True,
    ),
    (
        "select_alias_used_by_later_where",
        f"{E} select bytesTransferred \\ 1024 as kb where kb >= 10 select eventdate, kb",
        f"SELECT eventdate, bytesTransferred // 1024 FROM {BE} WHERE bytesTransferred >= 10240 "
        "ORDER BY eventdate, _seq",
        True,
    ),
    (
        "arithmetic",
        f"{E} where statusCode = 503 select eventdate, timeTaken / 4 as q, timeTaken \\ 4 as d, "
        "timeTaken % 4 as r, -timeTaken %% 7 as m, timeTaken ?: -1 as t",
        f"SELECT eventdate, timeTaken / 4.0, timeTaken // 4, timeTaken % 4, "
        f"((-timeTaken % 7) + 7) % 7, coalesce(timeTaken, -1) FROM {BE} WHERE statusCode = 503 "
        "ORDER BY eventdate, _seq",
        True,
    ),
    (
        "group_every_5m_by_key",
        f"{E} group every 5m by method select count() as n, sum(bytesTransferred) as s, "
        "min(timeTaken) as lo, max(timeTaken) as hi",
        f"SELECT {bucket(300_000)} AS b, method, count(*), sum(bytesTransferred), "
        f"min(timeTaken), max(timeTaken) FROM {BE} GROUP BY b, method ORDER BY b, method",
        True,
    ),
    (
        "group_avg_counts_nulls_as_zero",
        f"{E} group every 1h select avg(timeTaken) as a, nnavg(timeTaken) as nn, "
        "stddev(timeTaken) as sd, count(timeTaken) as c, count() as n",
        f"SELECT {bucket(HOUR)} AS b, sum(timeTaken) / count(*), sum(timeTaken) / "
        "count(timeTaken), stddev_pop(coalesce(timeTaken, 0)), count(timeTaken), count(*) "
        f"FROM {BE} GROUP BY b ORDER BY b",
        True,
    ),
    (
        "group_median_percentile",
        f"{E} group every 6h by method select median(timeTaken) as m, "
        "percentile90(timeTaken) as p90, percentile25(timeTaken) as p25",
        f"SELECT {bucket(6 * HOUR)} AS b, method, quantile_disc(timeTaken, 0.5), "
        f"quantile_disc(timeTaken, 0.9), quantile_disc(timeTaken, 0.25) FROM {BE} "
        "GROUP BY b, method ORDER BY b, method",
        True,
    ),
    (
        "group_distinct_counts",
        f"{E} group every 1d by method select sizedistinct(uri) as d, hllppcount(uri) as h",
        f"SELECT {bucket(DAY)} AS b, method, count(DISTINCT uri), "
        f"approx_count_distinct(uri)::DOUBLE FROM {BE} GROUP BY b, method ORDER BY b, method",
        True,
    ),
    (
        "group_first_last",
        f"{E} group every 1h select first(uri) as f, last(uri) as l",
        f"SELECT b, max(CASE WHEN up = 1 THEN uri END), max(CASE WHEN down = 1 THEN uri END) "
        f"FROM (SELECT {bucket(HOUR)} AS b, uri, "
        f"row_number() OVER (PARTITION BY {bucket(HOUR)} ORDER BY eventdate, _seq) AS up, "
        f"row_number() OVER (PARTITION BY {bucket(HOUR)} ORDER BY eventdate DESC, _seq DESC) "
        f"AS down FROM {BE}) GROUP BY b ORDER BY b",
        True,
    ),
    (
        "group_by_two_keys",
        f"{E} group by method, statusCode select count() as n",
        f"SELECT method, statusCode, count(*) FROM {BE} GROUP BY ALL ORDER BY method, statusCode",
        True,
    ),
    (
        "group_every_dash",
        f"{E} group every - by statusCode select count() as n, nnavg(bytesTransferred) as b",
        f"SELECT statusCode, count(*), avg(bytesTransferred) FROM {BE} GROUP BY ALL "
        "ORDER BY statusCode",
        True,
    ),
    (
        "bare_group",
        f"{E} group select count() as n, sum(bytesTransferred) as s, max(eventdate) as last",
        f"SELECT count(*), sum(bytesTransferred), max(eventdate) FROM {BE}",
        True,
    ),
    (
        "having",
        f"{E} group by clientIpAddress select count() as n where n > 100",
        f"SELECT clientIpAddress, count(*) AS n FROM {BE} GROUP BY ALL HAVING n > 100 "
        "ORDER BY clientIpAddress",
        True,
    ),
    (
        "where_on_key_after_group",
        f'{E} group every 1h by method where method = "POST" select count() as n',
        f"SELECT {bucket(HOUR)} AS b, method, count(*) FROM {BE} WHERE method = 'POST' "
        "GROUP BY ALL ORDER BY b",
        True,
    ),
    (
        "double_grouping",
        f"{E} group by clientIpAddress, method group by method select count() as ips",
        f"SELECT method, count(DISTINCT coalesce(clientIpAddress, -1)) FROM {BE} "
        "GROUP BY method ORDER BY method",
        True,
    ),
    (
        "double_grouping_in_time",
        f"{E} group every 1h by method select count() as n group every 1d by method "
        "select max(n) as peak, sum(n) as total",
        f"SELECT {bucket(DAY)} AS d, method, max(n), sum(n) FROM (SELECT {bucket(HOUR)} "
        f"AS eventdate, method, count(*) AS n FROM {BE} GROUP BY ALL) GROUP BY d, method "
        "ORDER BY d, method",
        True,
    ),
    (
        "limit_offset",
        f"{E} select eventdate, uri limit 7 offset 3",
        f"SELECT eventdate, uri FROM {BE} ORDER BY eventdate, _seq LIMIT 7 OFFSET 3",
        True,
    ),
    (
        "order_by_desc",
        f"{E} where statusCode >= 500 select eventdate, statusCode order by eventdate desc "
        "limit 15",
        f"SELECT eventdate, statusCode FROM {BE} WHERE statusCode >= 500 "
        "ORDER BY eventdate DESC LIMIT 15",
        True,
    ),
    (
        "group_order_by_count",
        f"{E} group by statusCode select count() as n order by n desc",
        f"SELECT statusCode, count(*) AS n FROM {BE} GROUP BY ALL ORDER BY n DESC",
        True,
    ),
    (
        "in_subquery",
        f"{E} where clientIpAddress in (from {ECOM} where statusCode = 404 "
        "group every - by clientIpAddress) select eventdate, clientIpAddress, statusCode",
        f"SELECT eventdate, clientIpAddress, statusCode FROM {BE} WHERE clientIpAddress IN "
        f"(SELECT clientIpAddress FROM {BE} WHERE statusCode = 404) ORDER BY eventdate, _seq",
        True,
    ),
    (
        "in_subquery_renamed_key",
        f'from {ACT} where username in (from {NAV} where section = "alerts" '
        "group every - by userEmail select userEmail as username) select eventdate, username",
        f"SELECT eventdate, username FROM {base(ACT)} WHERE username IN (SELECT userEmail FROM "
        f"{base(NAV)} WHERE section = 'alerts') ORDER BY eventdate, _seq",
        True,
    ),
    (
        "tuple_in_subquery",
        f"{E} where (clientIpAddress, method) in (from {ECOM} where statusCode = 500 "
        "group by clientIpAddress, method) select eventdate, clientIpAddress, method",
        f"SELECT eventdate, clientIpAddress, method FROM {BE} WHERE (clientIpAddress, method) IN "
        f"(SELECT (clientIpAddress, method) FROM {BE} WHERE statusCode = 500) "
        "ORDER BY eventdate, _seq",
        True,
    ),
    (
        "subquery_in_grouped_query",
        f"from {ACT} where username in (from {NAV} group every - by userEmail) "
        "group every 10m by username select count() as n",
        f"SELECT {bucket(600_000)} AS b, username, count(*) FROM {base(ACT)} WHERE username IN "
        f"(SELECT userEmail FROM {base(NAV)}) GROUP BY ALL ORDER BY b, username",
        True,
    ),
    (
        "lookup_map",
        f"from {ACT} select eventdate, username, (from {NAV} group by userEmail, userid)"
        "[username] as uid",
        f"SELECT a.eventdate, a.username, n.userid FROM {base(ACT)} a LEFT JOIN (SELECT DISTINCT "
        f"userEmail, userid FROM {base(NAV)}) n ON n.userEmail = a.username "
        "ORDER BY a.eventdate, a._seq",
        True,
    ),
    (
        "unordered_group_compared_as_sets",
        f"{E} group by uri select count() as n, sum(timeTaken) as t",
        f"SELECT uri, count(*), sum(timeTaken) FROM {BE} GROUP BY uri",
        False,
    ),
]


# hllppcount is an estimate: DuckDB's HyperLogLog and ClickHouse's uniqCombined64 differ
# (docs/devo-compatibility.md). uniqCombined64 counts exactly up to thousands of distinct values:
# on ClickHouse the reference is the exact count.
CLICKHOUSE_REFERENCES = {
    "group_distinct_counts": (
        f"SELECT {bucket(DAY)} AS b, method, count(DISTINCT uri), count(DISTINCT uri)::DOUBLE "
        f"FROM {BE} GROUP BY b, method ORDER BY b, method"
    ),
}


@pytest.mark.parametrize(("name", "text", "reference", "ordered"), CASES, ids=[c[0] for c in CASES])
def test_linq_matches_reference_sql(
    engine: Runner, name: str, text: str, reference: str, ordered: bool
) -> None:
    got = linq(engine, text)
    if engine.engine == "clickhouse":
        reference = CLICKHOUSE_REFERENCES.get(name, reference)
    expected = sql(engine.store, reference)
    if not ordered:
        got, expected = sorted(got, key=_sortkey), sorted(expected, key=_sortkey)
    assert len(got) == len(expected)
    assert got == expected


def test_cases_select_rows(store: DuckDBStore) -> None:
    """The reference queries are not vacuous: all but the two meant to be empty return rows."""
    empty = [name for name, _, reference, _ in CASES if not sql(store, reference)]
    assert empty == ["has_is_case_sensitive", "type_mismatch_is_no_rows"]


# -- time buckets and order ------------------------------------------------------------------------


def test_buckets_are_epoch_aligned_starts_and_empty_ones_are_skipped(engine: Runner) -> None:
    period = 7 * 60_000  # 7 minutes: not a divisor of an hour, so alignment is visible
    rows = linq(engine, f"{E} where statusCode = 404 group every 7m select count() as n")
    starts = [r[0] for r in rows]
    assert starts == sorted(starts)
    stamps = sql(engine.store, f"SELECT epoch_ms(eventdate) FROM {BE} WHERE statusCode = 404")
    counts: dict[int, int] = defaultdict(int)
    for (ms,) in stamps:
        counts[ms - ms % period] += 1
    expected = [
        (dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=start), n)
        for start, n in sorted(counts.items())
    ]
    assert rows == expected
    assert all(n > 0 for _, n in rows)


def test_rows_come_in_eventdate_then_arrival_order(engine: Runner) -> None:
    # Three rows at the same eventdate, appended in two batches: arrival order breaks the tie.
    at = FROM + 7 * HOUR + 17
    table = f"my.app.ties{engine.engine}"  # the store is shared by both engines' runs
    engine.store.append(table, {"message": ["first", "second"]}, client="self", eventdates=[at, at])
    engine.store.append(table, {"message": ["third"]}, client="self", eventdates=[at])
    engine.store.append(table, {"message": ["earlier"]}, client="self", eventdates=[at - 1])
    engine.refresh()
    rows = linq(engine, f"from {table} select message")
    assert rows == [("earlier",), ("first",), ("second",), ("third",)]


def test_median_and_percentile_are_nearest_rank_values(engine: Runner) -> None:
    rows = linq(
        engine,
        f"{E} where statusCode = 500 group every 1d select median(timeTaken) as m, "
        "percentile90(timeTaken) as p",
    )
    expected = []
    for start, ordered in _daily_times_of_500s(engine):
        rank = [ordered[max(0, math.ceil(q * len(ordered)) - 1)] for q in (0.5, 0.9)]
        expected.append((start, *rank))
    assert rows == expected


def _daily_times_of_500s(engine: Runner) -> list[tuple[dt.datetime, list[int]]]:
    """Each day's non-null timeTaken of the status-500 events, sorted, by hand-written SQL."""
    values: dict[dt.datetime, list[int]] = defaultdict(list)
    for start, v in sql(
        engine.store, f"SELECT {bucket(DAY)}, timeTaken FROM {BE} WHERE statusCode = 500"
    ):
        if v is not None:
            values[start].append(v)
    return [(start, sorted(values[start])) for start in sorted(values)]


def test_percentile_interpolates_linearly(engine: Runner) -> None:
    rows = linq(
        engine,
        f"{E} where statusCode = 500 group every 1d select percentile(timeTaken, 90) as p, "
        "percentile(timeTaken, 37.5) as q, percentile(timeTaken, 0) as low",
    )

    def interpolated(ordered: list[int], q: float) -> float:
        # R-7, a spreadsheet's PERCENTILE.INC: position (n - 1) * q, between its neighbours.
        position = (len(ordered) - 1) * q
        low = math.floor(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    expected = [
        (start, *(interpolated(ordered, q) for q in (0.9, 0.375, 0.0)))
        for start, ordered in _daily_times_of_500s(engine)
    ]
    assert len(rows) == len(expected) > 1
    for got, want in zip(rows, expected, strict=True):
        assert got[0] == want[0]
        assert got[1:] == pytest.approx(want[1:])


def test_percentile_needs_a_constant_from_0_to_100(engine: Runner) -> None:
    for level in ("101", "-1", "statusCode", "true"):
        with pytest.raises(LinqError, match="percentile"):
            linq(engine, f"{E} group select percentile(timeTaken, {level}) as p")


def test_rand_draws_a_number_for_each_row(engine: Runner) -> None:
    rows = linq(engine, f"{E} select rand() as r")
    draws = [r[-1] for r in rows]
    assert len(draws) > 100
    assert all(0 <= d < 1 for d in draws)
    assert len(set(draws)) > len(draws) // 2  # drawn per row, not once per query
    # Devo's own sampling query: about half the rows for p = 0.5, none for 0, all for 1.
    counts = [
        linq(engine, f"{E} where simplify(float8(rand())) < {p} group select count() as n")
        for p in ("0", "0.5", "1")
    ]
    (none,), (half,), (every,) = ([row[-1] for row in c] for c in counts)
    assert none == 0 and every == len(draws)
    assert 0.3 * every < half < 0.7 * every


def test_avg_and_nnavg_differ_where_nulls_are(engine: Runner) -> None:
    (row,) = linq(
        engine,
        f'{E} where uri -> "/null-row-" or statusCode = 299 group '
        "select avg(timeTaken) as a, nnavg(timeTaken) as nn, count() as n",
    )
    # 30 null rows and 2 edge rows worth 5 inside the range.
    assert row == (5 * 2 / 32, 5.0, 32)


def test_hllppcount_estimates_the_distinct_count(engine: Runner) -> None:
    rows = linq(
        engine, f"{E} group by method select hllppcount(cookie) as h, sizedistinct(cookie) as d"
    )
    assert rows
    for _, estimate, exact in rows:
        assert isinstance(estimate, float)
        assert abs(estimate - exact) <= 0.1 * exact


# -- addresses -----------------------------------------------------------------------------------


def test_unquoted_and_quoted_ip_equality(engine: Runner) -> None:
    ((ip, count),) = sql(
        engine.store,
        f"SELECT clientIpAddress, count(*) AS n FROM {BE} WHERE clientIpAddress IS NOT NULL "
        "GROUP BY ALL ORDER BY n DESC, clientIpAddress LIMIT 1",
    )
    text = str(ipaddress.IPv4Address(ip))
    unquoted = linq(engine, f"{E} where clientIpAddress = {text} select clientIpAddress")
    quoted = linq(engine, f'{E} where clientIpAddress = "{text}" select clientIpAddress')
    assert unquoted == quoted == [(ip,)] * count
    in_set = linq(engine, f"{E} where clientIpAddress in {{{text}, 1.2.3.4}} select eventdate")
    assert len(in_set) == count


def test_quoted_ips_in_a_set_match_an_ip4_column(engine: Runner) -> None:
    ((ip,),) = sql(
        engine.store,
        f"SELECT clientIpAddress FROM {BE} WHERE clientIpAddress IS NOT NULL "
        "ORDER BY clientIpAddress LIMIT 1",
    )
    text = str(ipaddress.IPv4Address(ip))
    rows = linq(engine, f'{E} where clientIpAddress in {{"{text}"}} select clientIpAddress')
    assert rows and all(r == (ip,) for r in rows)


# -- range and domain ----------------------------------------------------------------------------


def test_range_is_from_inclusive_to_exclusive(engine: Runner) -> None:
    rows = linq(engine, f'{E} where uri -> "/edge-" select uri')
    assert rows == [("/edge-from",), ("/edge-last",)]


def test_other_domains_rows_never_show(engine: Runner) -> None:
    assert sql(engine.store, f"SELECT count(*) FROM \"{ECOM}\" WHERE client = 'other'") == [
        (OTHER_ROWS,)
    ]
    queries = [
        f'{E} where uri = "/other-client"',
        f"{E} where clientIpAddress = 10.9.9.9",
        f'{E} group by uri where uri = "/other-client" select count() as n',
        f"{E} where uri in (from {ECOM} where statusCode = 404 group by uri) "
        'where uri = "/other-client"',
        f'{E} select (from {ECOM} where uri = "/other-client" group by statusCode, uri)'
        "[statusCode] as u where isnotnull(u)",
    ]
    for text in queries:
        assert linq(engine, text) == [], text
    total = linq(engine, f"{E} group select count() as n")
    assert total == sql(engine.store, f"SELECT count(*) FROM {BE}")


def test_the_other_domain_sees_only_its_rows(engine: Runner) -> None:
    rows = linq(engine, f"{E} select uri", client="other")
    in_range = sum(1 for i in range(OTHER_ROWS) if FROM + i * HOUR < TO)
    assert rows == [("/other-client",)] * in_range


def test_request_limit_and_offset_apply_on_top_of_linq(engine: Runner) -> None:
    rows = linq(
        engine, f"{E} where statusCode = 404 select eventdate, uri limit 20", limit=5, offset=2
    )
    expected = sql(
        engine.store,
        f"SELECT eventdate, uri FROM {BE} WHERE statusCode = 404 ORDER BY eventdate, _seq "
        "LIMIT 5 OFFSET 2",
    )
    assert rows == expected


# -- the subquery cap ----------------------------------------------------------------------------


def test_subquery_over_32000_rows_fails(engine: Runner) -> None:
    with pytest.raises(QueryLimitError) as info:
        linq(engine, f"{E} where uri in (from {BIG} group by message)")
    # The same text on every engine, Devo's.
    assert str(info.value) == (
        "Exceeded limits while computing data for subproblem: max value for size is 32000 "
        "but reached 32001"
    )


def test_subquery_of_exactly_32000_rows_runs(engine: Runner) -> None:
    rows = linq(
        engine,
        f'{E} where uri in (from {BIG} where message != "m0" group by message) select uri',
    )
    assert rows == []


def test_a_failing_query_is_a_linqd_error(engine: Runner) -> None:
    with pytest.raises(LinqdError):
        linq(engine, f"{E} where nosuchcolumn = 1")


# -- known bugs ----------------------------------------------------------------------------------


def test_empty_result_keeps_its_columns(engine: Runner) -> None:
    table = linq_table(engine, f"{E} where statusCode = 1 select eventdate, uri")
    assert table.num_rows == 0
    assert table.column_names == ["eventdate", "uri"]


def test_tuple_alias_in_subquery(engine: Runner) -> None:
    literal = linq(
        engine,
        f"{E} where (clientIpAddress, method) in (from {ECOM} where statusCode = 500 "
        "group by clientIpAddress, method) select eventdate",
    )
    aliased = linq(
        engine,
        f"{E} select (clientIpAddress, method) as t where t in (from {ECOM} "
        "where statusCode = 500 group by clientIpAddress, method) select eventdate",
    )
    # Every select adds its columns: `t` first, then eventdate.
    assert [r[-1:] for r in aliased] == literal


def test_subquery_has_is_in_reversed(engine: Runner) -> None:
    reversed_form = linq(
        engine,
        f"{E} where (from {ECOM} where statusCode = 408 select uri) -> uri select eventdate",
    )
    in_form = linq(
        engine,
        f"{E} where uri in (from {ECOM} where statusCode = 408 group by uri) select eventdate",
    )
    assert reversed_form == in_form


def test_aggregate_alias_equal_to_a_key_is_rejected(engine: Runner) -> None:
    try:
        rows = linq(engine, f"{E} group every 1d by method select count() as method")
    except LinqError as error:
        assert "used more than once" in error.message
        return
    raise AssertionError(f"accepted, and the count is gone: {rows[:2]}")


def test_lookup_subquery_over_32000_rows_fails(engine: Runner) -> None:
    try:
        linq(
            engine,
            f'{E} where uri = "/edge-from" '
            f"select (from {BIG} group by message, hostname)[uri] as h",
        )
    except QueryLimitError as error:
        assert "max value for size is 32000 but reached" in str(error)
        return
    raise AssertionError("the lookup ran over 32,001 rows")


@pytest.mark.parametrize(
    "every",
    ["1500ms", "1s", "7s", "1m", "7m", "45m", "90m", "1h", "5h", "8h", "1d", "2d", "7d"],
)
def test_every_period_buckets_from_the_epoch(engine: Runner, every: str) -> None:
    # ClickHouse buckets whole seconds, minutes, hours and days with its own intervals, which
    # start afresh each day: only periods that divide a day, or whole days, may use them.
    period = duration_ms(every)
    got = linq(engine, f"{E} group every {every} select count() as n")
    expected = sql(
        engine.store, f"SELECT {bucket(period)} AS b, count(*) FROM {BE} GROUP BY b ORDER BY b"
    )
    assert got == expected


@pytest.mark.parametrize("every", ["1500ms", "1s", "5m", "1h", "1d", "7d"])
def test_buckets_before_1970_are_floored_like_the_rest(engine: Runner, every: str) -> None:
    # ClickHouse's second-and-coarser intervals clamp times before 1970 to the epoch; buckets
    # must floor them as DuckDB's time_bucket does.
    stamps = [-90_061_001, -1, -DAY - 5, -5 * HOUR - 1, 3 * HOUR]
    table = f"my.old.{engine.engine}_{every}"  # the store is shared by every run here
    engine.store.append(table, {"message": ["m"] * len(stamps)}, client="self", eventdates=stamps)
    engine.refresh()
    result = run_query(
        engine.target,
        f"from {table} group every {every} select count() as n",
        time_range=TimeRange(-30 * DAY, DAY),
        client="self",
        now_ms=NOW,
    ).to_table()
    got = [(normalize(b), n) for b, n in zip(*result.to_pydict().values(), strict=True)]
    period = duration_ms(every)
    counts = Counter(stamp // period * period for stamp in stamps)
    epoch = dt.datetime(1970, 1, 1)
    expected = [(epoch + dt.timedelta(milliseconds=b), n) for b, n in sorted(counts.items())]
    assert got == expected
