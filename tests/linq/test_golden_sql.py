"""LINQ → SQL golden files, one set per engine.

Each case compiles one query with a fixed schema lookup, a fixed ``now`` and fixed bounds and
compares the SQL with ``golden/<name>.txt`` for DuckDB and ``golden/clickhouse/<name>.txt`` for
ClickHouse (the LINQ text, a ``----`` line, then the SQL). The ClickHouse SQL is also run on
chdb over empty tables, so every golden file is SQL ClickHouse accepts.
Regenerate after an intended change with::

    LINQD_UPDATE_GOLDEN=1 .venv/bin/pytest tests/linq/test_golden_sql.py

and read the diff: every changed SQL must still mean what its LINQ says.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from linqd.linq import Bounds, compile_linq
from linqd.store import catalog
from linqd.store.catalog import TableSchema

from .chdb_tables import ENGINES, ClickHouseTables
from .conftest import RAW_TABLES

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_DIRS = {"duckdb": GOLDEN, "clickhouse": GOLDEN / "clickhouse"}
UPDATE = os.environ.get("LINQD_UPDATE_GOLDEN") == "1"
SEPARATOR = "\n----\n"

NOW_MS = 1_700_000_000_000
BOUNDS = Bounds(1_699_913_600_000, NOW_MS, "self")  # the last day before NOW_MS

E = "from demo.ecommerce.data"
A = "from siem.logtrust.web.activity"

CASES: dict[str, str] = {
    # filters
    "all_rows": E,
    "select_star_limit": f"{E} select * limit 1",
    "select_columns": f"{E} select eventdate,protocol,statusCode,method",
    "where_eq_int": f"{E} where statusCode = 404",
    "where_eq_int_as_string": f'{E} where statusCode = "404"',
    "where_type_mismatch": f'{E} where statusCode = "abc"',
    "where_ne_both_forms": f"{E} where statusCode != 200, statusCode /= 404",
    "where_comma_and_or_not": (
        f'{E} where statusCode >= 400, method = "GET" or not (timeTaken < 100)'
    ),
    "where_repeated": f'{E} where statusCode = 404 where method = "POST"',
    "where_timestamp_range": (
        f'{E} where "2023-11-14 07:21:35" <= eventdate < "2023-11-14 12:00:00"'
    ),
    "where_has_weakhas": f'{E} where uri -> "cart", userAgent ->> "MOZILLA"',
    "where_in_set": f"{E} where statusCode in {{404, 500, 503}}",
    "where_in_ip_set": f"{E} where clientIpAddress in {{10.0.0.1, 192.168.1.7}}",
    "where_ip_eq": f"{E} where clientIpAddress = 203.0.113.21",
    "where_cidr": f"{E} where clientIpAddress <- 10.0.0.0/8",
    # an ip6 read from text (its SQL: the RFC 4291 pattern and the groups, on DuckDB) and its
    # network as one range of 128-bit integers
    "where_ip6_in_net6": 'from my.app.test where ip6(message) <- net6("2001:db8::/32")',
    "where_regex": f'{E} where uri ~ re("\\\\.(zip|js)$")',
    # A user agent function is a subquery correlated with its argument; as a key, it is
    # computed below the grouping (uaos: the smallest of the family's rule sets).
    "useragent_group_key": f"{E} group by uaos(userAgent) select count() as n",
    "where_regex_single_quotes": f"{E} where uri ~ re('\\.(zip|js)$')",
    "where_now_minus_duration": f"{E} where now() - 1h < eventdate",
    "arithmetic": (
        f"{E} select bytesTransferred / 1024 as kb, bytesTransferred \\ 1024 as kbi, "
        "timeTaken % 7 as r, timeTaken %% 7 as m, -timeTaken as neg, timeTaken ?: 0 as t"
    ),
    "bitwise": (
        f"{E} select statusCode & 255 as a, statusCode | 1 as o, statusCode ^ 3 as x, "
        "~statusCode as n, statusCode << 2 as l, statusCode >> 2 as r"
    ),
    "string_concat_and_alias_in_where": (
        f'{E} select method + " " + uri as request where request -> "cart"'
    ),
    "hash_to16_md5": f"{E} select to16(md5(uri)) as h",
    "hash_sha256_bytes": f"{E} select sha256(uri) as h",
    "subs_template": f'{E} select subs(uri, re("^/([a-z]+)/"), template("<\\\\1>")) as s',
    "timestamp_arithmetic": f"{E} select eventdate + 1h as later, eventdate - 5m as earlier",
    "midnight_weekofmonth": (
        f'{E} select midnight(eventdate, "Europe/Madrid") as m, weekofmonth(eventdate) as w'
    ),
    # grouping
    "group_every_by_count": (
        f"{E} where statusCode = 404 group every 10m by method, clientIpAddress every 10m "
        "select count() as myCount"
    ),
    "group_every_no_keys": f"{E} group every 5m select count() as n",
    "group_by": f"{E} group by method select count() as n",
    "group_every_dash": f"{E} group every - by method select count() as n",
    "bare_group": f"{E} group select count() as n",
    "group_aggregations": (
        f"{E} group every 1h by method select sum(bytesTransferred) as s, avg(timeTaken) as a, "
        "nnavg(timeTaken) as nn, min(timeTaken) as lo, max(timeTaken) as hi, "
        "median(timeTaken) as med, percentile90(timeTaken) as p90, stddev(timeTaken) as sd"
    ),
    "group_distinct_first_last": (
        f"{E} group every 1h select hllppcount(uri) as h, sizedistinct(uri) as d, "
        "first(uri) as f, last(uri) as l, count(timeTaken) as c"
    ),
    "having": f"{E} group by method select count() as n where n > 100",
    "where_on_key_after_group": f'{E} group by method where method = "GET" select count() as n',
    "group_by_expression": f"{E} group by statusCode \\ 100 select count() as n",
    "double_grouping": (
        f"{E} group by clientIpAddress, method group by method select count() as ips"
    ),
    "group_order_limit": (
        f"{E} group every 1h by method select count() as n order by n desc limit 5"
    ),
    "domain_functions": (
        f'{E} where publicsuffix(urihost(referralUri)) = "com" '
        "select rootdomain(urihost(referralUri)) as root, topleveldomain(urihost(referralUri)) "
        "as tld group by root, tld select count() as n"
    ),
    # paging and order
    "limit_offset": f"{E} select eventdate, uri limit 10 offset 20",
    "order_by": f"{E} where statusCode > 400 order by eventdate desc, uri asc limit 20",
    # subqueries
    "in_subquery": (
        f"{E} where clientIpAddress in (from demo.ecommerce.data where statusCode = 404 "
        "group every - by clientIpAddress)"
    ),
    "in_subquery_own_range": (
        f"{A} where username in (from siem.logtrust.web.navigation "
        'where "2023-11-14 00:00:00" < eventdate < "2023-11-14 12:00:00" '
        "group every - by userEmail) group every 10m by username select count() as n"
    ),
    "tuple_in_subquery": (
        f"{E} where (clientIpAddress, method) in (from demo.ecommerce.data "
        "where statusCode = 500 group by clientIpAddress, method)"
    ),
    "lookup_map": (
        f"{A} select username, (from siem.logtrust.web.navigation group by userEmail, userid)"
        "[username] as uid"
    ),
    # reference data
    "geolocation": (
        f'{E} where mm2country(clientIpAddress) != "ES" group by clientIpAddress '
        "select asn(clientIpAddress) as asn, latitude(clientIpAddress) as lat, count() as n"
    ),
    # collections
    "map_literal": (
        f'{E} select {{"GET": 1, "POST": 2}}[method] as m, {{"a": statusCode, "b": 0}} as codes, '
        "{500, 404, 500} as s"
    ),
    "map_lambda": (
        f"{E} select map([statusCode, bytesTransferred], '_ * 2') as doubled, "
        "filter(split(uri, \"/\"), 'length(_) > 0') as parts"
    ),
    "sampled_percentile": (
        f"{E} where simplify(float8(rand())) < 0.5 group every 1h "
        "select percentile(timeTaken, 90) as p"
    ),
    "collections_as_text": (
        f"{E} select str({{method: [statusCode]}}) as m, str((method, statusCode)) as t"
    ),
    # raw table and pragmas
    "raw_table": 'from my.app.test where message -> "error" select hostname, message',
    "pragmas_ignored": f'{E} where statusCode = 404 pragma comment.free:"x" pragma tz: tz("UTC")',
}


def _golden_path(name: str, engine: str) -> Path:
    return GOLDEN_DIRS[engine] / f"{name}.txt"


def _render(linq: str, sql: str) -> str:
    return f"{linq}{SEPARATOR}{sql}\n"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_sql(name: str, engine: str, schemas: Callable[[str], TableSchema | None]) -> None:
    linq = CASES[name]
    sql = compile_linq(linq, schemas, now_ms=NOW_MS, bounds=BOUNDS, engine=engine).sql
    path = _golden_path(name, engine)
    expected = _render(linq, sql)
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(expected, encoding="utf-8")
        return
    assert path.exists(), f"missing {path}; run with LINQD_UPDATE_GOLDEN=1"
    stored = path.read_text(encoding="utf-8")
    stored_linq, _, stored_sql = stored.partition(SEPARATOR)
    assert stored_linq == linq, f"{path} holds another query; run with LINQD_UPDATE_GOLDEN=1"
    assert stored_sql.rstrip("\n") == sql


@pytest.mark.parametrize("engine", ENGINES)
def test_no_stale_golden_files(engine: str) -> None:
    stored = {p.stem for p in GOLDEN_DIRS[engine].glob("*.txt")}
    stale = sorted(stored - set(CASES))
    if UPDATE:
        for name in stale:
            _golden_path(name, engine).unlink()
        return
    assert not stale, f"golden files without a case: {stale}"


def test_clickhouse_golden_sql_runs_on_chdb(
    tmp_path: Path, schemas: Callable[[str], TableSchema | None]
) -> None:
    tables = ClickHouseTables(tmp_path)
    try:
        for schema in (*catalog.BUILTIN_TABLES, *(catalog.raw_schema(t) for t in RAW_TABLES)):
            tables.store.ensure_table(schema)
        for name, linq in sorted(CASES.items()):
            query = compile_linq(linq, schemas, now_ms=NOW_MS, bounds=BOUNDS, engine="clickhouse")
            # Raises when ClickHouse refuses the SQL (a bare group still gives its one row).
            assert tables.arrow(query.expression).num_rows <= 1, name
    finally:
        tables.close()


def test_there_are_about_forty_cases() -> None:
    assert len(CASES) >= 40
