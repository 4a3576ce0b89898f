"""The function catalogue end to end: LINQ expressions compiled with ``compile_linq`` and run on
each engine (DuckDB, and ClickHouse on chdb) over a one-event table, against the values Devo gives
(its 0-based days, months and substrings, 0 = Sunday, `/` real and `\\` integer division ...).
Both engines must give the very same values."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from linqd.clock import SimulatedClock
from linqd.errors import LinqError
from linqd.linq import Bounds, compile_linq
from linqd.linq.functions import unique_functions
from linqd.linq.functions.json import jq_to_jsonpath
from linqd.linq.functions.time import strftime_format
from linqd.meta import MetaStore
from linqd.store.duckdb import DuckDBStore

from .chdb_tables import ENGINES, Runner, running_on

NOW_MS = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC, a Tuesday
EVENT_MS = NOW_MS + 123
MESSAGE = '{"user": {"name": "Ana", "roles": ["admin", "dev"]}, "ok": true, "n": 42}'
URL = "https://ana@www.example.com:8443/api/v1/items?q=a+b&x=%2F#top"
CLIENT_IP = 3_232_235_786  # 192.168.1.10
# The one demo.ecommerce.data event (at EVENT_MS) the function tests read.
DEMO_ROW: dict[str, list[Any]] = {
    "clientIpAddress": [CLIENT_IP],
    "statusCode": [404],
    "uri": ["/cart?id=7"],
    "method": ["GET"],
    "bytesTransferred": [1500],
    "timeTaken": [None],
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    tmp: Path = tmp_path_factory.mktemp("functions")
    events = DuckDBStore(tmp / "e.duckdb", MetaStore(tmp / "m.sqlite"), SimulatedClock())
    events.append(
        "my.app.fn", {"message": [MESSAGE], "hostname": [URL]}, client="self", eventdates=[EVENT_MS]
    )
    events.append(
        "demo.ecommerce.data",
        DEMO_ROW,
        client="self",
        eventdates=[EVENT_MS],
    )
    yield events
    events.close()


@pytest.fixture(scope="module", params=ENGINES)
def engine(
    request: pytest.FixtureRequest, store: DuckDBStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runner]:
    with running_on(request.param, store, tmp_path_factory) as runner:
        yield runner


def run(engine: Runner, text: str, now_ms: int = NOW_MS) -> list[tuple[Any, ...]]:
    query = compile_linq(
        text,
        engine.store.schema,
        now_ms=now_ms,
        bounds=Bounds(client="self"),
        engine=engine.engine,
    )
    return engine.rows(query)


def evaluate(engine: Runner, expression: str, table: str = "my.app.fn") -> tuple[Any, str]:
    text = f"from {table} select {expression} as value"
    query = compile_linq(
        text, engine.store.schema, now_ms=NOW_MS, bounds=Bounds(client="self"), engine=engine.engine
    )
    rows = engine.rows(query)
    assert len(rows) == 1
    return rows[0][0], query.columns[-1].type.name


def at(text: str) -> datetime:
    """A naive UTC datetime, as DuckDB returns timestamps."""
    return datetime.fromisoformat(text)


CASES = [
    # -- conversion ------------------------------------------------------------------------------
    ("str(42)", "42"),
    ("str(eventdate)", "2023-11-14 22:13:20.123"),
    ("str(true)", "true"),
    ('str(ip4("10.0.0.1"))', "10.0.0.1"),
    ('int("42")', 42),
    ('int(" 7 ")', 7),
    ('int("forty")', None),
    ('int("3.7")', None),
    ('int("-12")', -12),
    ("int(3.7)", 3),
    ("int(-3.7)", -3),
    ("int(eventdate)", EVENT_MS),
    ("int(5m)", 300_000),
    ("bigint(true)", 1),
    ('float("2.5")', 2.5),
    ('float("x")', None),
    ("float8(3)", 3.0),
    ('bool("TRUE")', True),
    ('bool("no")', None),
    ("bool(0)", False),
    ("bool(2.5)", True),
    ("timestamp(1700000000000)", at("2023-11-14 22:13:20")),
    ('timestamp("2023-11-14 22:13:20.5")', at("2023-11-14 22:13:20.500")),
    ('timestamp(substring("x2023-11-14 08:00", 1))', at("2023-11-14 08:00")),
    ("timestamp(hostname)", None),
    ('duration("1h30m")', 5_400_000),
    ('duration("250ms")', 250),
    ('duration(substring("x2d5s", 1))', 2 * 86_400_000 + 5_000),
    ('duration(substring("x5 minutes", 1))', None),
    ("duration(1500)", 1500),
    ('ip4("192.168.1.10")', CLIENT_IP),
    ('ip4("x")', None),
    ('ip4("256.1.1.1")', None),
    ('ip4(substring("x10.1.2.3", 1))', 167_838_211),
    ('ip4(substring("x10.01.2.3", 1))', None),
    ("ip4(hostname)", None),
    ("ip4(2130706433)", 2_130_706_433),
    ("ip4(-1)", None),
    ('net4("10.0.0.0/8")', "10.0.0.0/8"),
    ("epoch(eventdate)", EVENT_MS),
    # -- strings ---------------------------------------------------------------------------------
    ('lower("AbC")', "abc"),
    ('upper("AbC")', "ABC"),
    ('trim("  a b  ")', "a b"),
    ('ltrim("  a  ")', "a  "),
    ('rtrim("  a  ")', "  a"),
    ('length("héllo")', 5),
    ('length(split("a,b,c", ","))', 3),
    ('substring("abcdef", 2)', "cdef"),
    ('substring("abcdef", 0, 2)', "ab"),
    ('substring("abcdef", 2, 3)', "cde"),
    ("substring(hostname, length(hostname) - 3)", "top"),
    ('split("a,b,c", ",")', ["a", "b", "c"]),
    ('split("a,b,c", ",", 0)', "a"),
    ('split("a,b,c", ",", 2)', "c"),
    ('split("a,b,c", ",", 3)', None),
    ('split("a,b,c", ",")[1]', "b"),
    ('(1, "a")[1]', "a"),
    ('(1, "a")[0]', 1),
    pytest.param('splitre("a1b22c", re("[0-9]+"))', ["a", "b", "c"]),
    pytest.param('splitre("a1b22c", re("[0-9]+"), 1)', "b"),
    pytest.param('peek(hostname, re("//[^@]+@([^:/]+)"))', "//ana@www.example.com"),
    pytest.param('peek(hostname, re("//[^@]+@([^:/]+)"), 0)', "//ana@www.example.com"),
    pytest.param('peek(hostname, re("//[^@]+@([^:/]+)"), 1)', "www.example.com"),
    pytest.param('peek(hostname, "v([0-9]+)", 1)', "1"),
    pytest.param('peek(hostname, re("nothere"))', None),
    pytest.param('str(re("a.b"))', "a.b"),
    ('replace("a-b-c", "-", "+")', "a+b-c"),
    ('replace("a.b", ".", "")', "ab"),
    ('replace("abc", "x", "+")', "abc"),
    ('replaceall("a-b-c", "-", "+")', "a+b+c"),
    ('startswith(hostname, "https:")', True),
    ('startswith(hostname, "http:")', False),
    ('endswith(hostname, "#top")', True),
    ('locate("hello", "l")', 2),
    ('locate("hello", "z")', -1),
    ('reverse("abc")', "cba"),
    ('reverse(split("a,b", ","))', ["b", "a"]),
    ('urlencode("a b/c")', "a%20b%2Fc"),
    ('urldecode("a+b%2Bc%20d")', "a b+c d"),
    ('levenshtein("kitten", "sitting")', 3),
    ('damerau("ab", "ba")', 1),
    # damerau is the unrestricted distance, osa the restricted one: they differ when a swapped
    # pair is edited again ("CA" -> "AC" -> "ABC")
    ('damerau("CA", "ABC")', 2),
    ('osa("CA", "ABC")', 3),
    ('osa("ab", "ba")', 1),
    ('damerau("kitten", "sitting")', 3),
    ('osa("kitten", "sitting")', 3),
    ('damerau("abcdef", "badcfe")', 3),
    ('osa("abcdef", "badcfe")', 3),
    ('damerau("héllo", "hlélo")', 1),  # characters, not bytes
    ('osa("é", "e")', 1),
    ('damerau("", "abc")', 3),
    ('osa("abc", "")', 3),
    ('osa("", "")', 0),
    ('damerau("Abc", "abc")', 1),
    ('damerau(str(timestamp(hostname)), "a")', None),
    ('osa("a", str(timestamp(hostname)))', None),
    ("osa(hostname, hostname)", 0),
    ('hamming("karolin", "kathrin")', 3),
    ('hamming("1011101", "1001001")', 2),
    ('hamming("héllo", "hallo")', 1),  # characters, not bytes
    ('hamming("abc", "ABC")', 3),
    ('hamming("", "")', 0),
    ('hamming("ab", "abc")', None),
    ('hamming(str(timestamp(hostname)), "a")', None),
    ("hamming(hostname, hostname)", 0),
    ('eqic("ABC", "abc")', True),
    ('eqic("ABC", "abd")', False),
    # toktains: whole tokens unless a side is extended
    ('toktains(hostname, "api")', True),
    ('toktains(hostname, "ap")', False),
    ('toktains(hostname, "ap", false, true)', True),
    ('toktains(hostname, "pi")', False),
    ('toktains(hostname, "pi", true, false)', True),
    ('toktains(hostname, "xampl", true, true)', True),
    ('toktains(hostname, "xampl", true, false)', False),
    ('toktains(hostname, "example.com")', True),
    ('toktains(hostname, "/api/v1/")', True),
    ('toktains(hostname, "API")', False),
    ('toktains(hostname, substring("xexample", 1))', True),
    ('toktains(hostname, substring("xexamp", 1))', False),
    ('toktains(hostname, substring("xexamp", 1), false, true)', True),
    ('toktains("a.b.c", substring("xb.c", 1))', True),
    ('toktains("abxc", substring("xb.c", 1), true, true)', False),
    ('weaktoktains(hostname, "API")', True),
    ('weaktoktains(hostname, "EXAMP")', False),
    ('weaktoktains(hostname, "EXAMP", false, true)', True),
    ('weakin("ABC", {"abc", "def"})', True),
    ('weakin("x", {"abc"})', False),
    ('weakin("DEV", ["Admin", "dev"])', True),
    ('weakin("ADMIN", split("admin,dev", ","))', True),
    ('weakin("WWW.EXAMPLE", hostname)', True),
    ('isempty("")', True),
    ("isempty(hostname)", False),
    ('isempty(split(hostname, "?"))', False),
    # -- null and logic --------------------------------------------------------------------------
    ("isnull(null)", True),
    ("isnull(hostname)", False),
    ("isnotnull(hostname)", True),
    ("ifthenelse(true, 1, 2)", 1),
    ("ifthenelse(false, 1, 2.5)", 2.5),
    ('ifthenelse(length(hostname) > 100, "long", "short")', "short"),
    ('decode(2, 1, "one", 2, "two", "other")', "two"),
    ('decode(3, 1, "one", 2, "two", "other")', "other"),
    ('decode(3, 1, "one", 2, "two")', None),
    # -- mathematics -----------------------------------------------------------------------------
    ("7 / 2", 3.5),
    ("7 \\ 2", 3),
    ("abs(-3)", 3),
    ("abs(-2.5)", 2.5),
    ("abs(null)", None),
    ("ceil(2.1)", 3.0),
    ("floor(2.9)", 2.0),
    ("floor(-2.1)", -3.0),
    ("round(2.567, 1)", pytest.approx(2.6)),
    ("round(2.5)", 3.0),
    ("round(7)", 7),
    ("signum(-2.5)", -1.0),
    ("signum(3)", 1),
    ("sqrt(16)", 4.0),
    ("cbrt(27)", pytest.approx(3.0)),
    ("pow(2, 10)", 1024.0),
    ("exp(0)", 1.0),
    ("log(e())", pytest.approx(1.0)),
    ("log(2, 8)", pytest.approx(3.0)),
    ("log2(8)", pytest.approx(3.0)),
    ("log10(1000)", pytest.approx(3.0)),
    ("pi()", pytest.approx(3.141592653589793)),
    ("sin(0)", 0.0),
    ("cos(0)", 1.0),
    ("tan(0)", 0.0),
    ("asin(1)", pytest.approx(1.5707963267948966)),
    ("acos(1)", 0.0),
    ("atan(0)", 0.0),
    ("atan2(1, 1)", pytest.approx(0.7853981633974483)),
    # -- time ------------------------------------------------------------------------------------
    ("now()", at("2023-11-14 22:13:20")),
    ("today()", at("2023-11-14")),
    ("yesterday()", at("2023-11-13")),
    ("tomorrow()", at("2023-11-15")),
    ('today("Europe/Madrid")', at("2023-11-13 23:00")),
    ('today("Asia/Tokyo")', at("2023-11-14 15:00")),
    ('yesterday("Asia/Tokyo")', at("2023-11-13 15:00")),
    ("now() - 2 * day()", at("2023-11-12 22:13:20")),
    ("eventdate - hour()", at("2023-11-14 21:13:20.123")),
    ("eventdate + minute()", at("2023-11-14 22:14:20.123")),
    ("second()", 1000),
    ("period(eventdate, 15m)", at("2023-11-14 22:00")),
    ("period(eventdate, 1d)", at("2023-11-14")),
    ("hour(eventdate)", 22),
    ('hour(eventdate, "Europe/Madrid")', 23),
    ("minute(eventdate)", 13),
    ("second(eventdate)", 20),
    ("millisecond(eventdate)", 123),
    ("day(eventdate)", 13),
    ('day("2023-11-01")', 0),
    ('day(eventdate, "Asia/Tokyo")', 14),
    ("daynumber(eventdate)", 14),
    ("dayofweek(eventdate)", 2),
    ('dayofweek("2023-11-12")', 0),
    ("dayofyear(eventdate)", 318),
    ("month(eventdate)", 10),
    ('month("2023-01-31")', 0),
    ("monthnumber(eventdate)", 11),
    ("year(eventdate)", 2023),
    ("weekofyear(eventdate)", 46),
    ("minuteofday(eventdate)", 22 * 60 + 13),
    ("secondofday(eventdate)", (22 * 60 + 13) * 60 + 20),
    ("dayname(eventdate)", "Tuesday"),
    ("monthname(eventdate)", "November"),
    ("isleapyear(eventdate)", False),
    ('isleapyear("2024-02-29")', True),
    ('formatdate(eventdate, "yyyy-MM-dd HH:mm:ss.SSS")', "2023-11-14 22:13:20.123"),
    ('formatdate(eventdate, "YYYY-MM-DD HH:mm")', "2023-11-14 22:13"),
    ('formatdate(eventdate, "d/M/yy h:mm a")', "14/11/23 10:13 PM"),
    ("formatdate(eventdate, \"EEE dd MMM 'at' HH''mm\")", "Tue 14 Nov at 22'13"),
    ('formatdate(eventdate, "HH:mm", "Europe/Madrid")', "23:13"),
    ('parsedate("14/11/2023 22:13", "dd/MM/yyyy HH:mm")', at("2023-11-14 22:13")),
    ('parsedate("14/11/2023 23:13", "dd/MM/yyyy HH:mm", "Europe/Madrid")', at("2023-11-14 22:13")),
    (
        'parsedate("2023-11-14 22:13:20.123", "yyyy-MM-dd HH:mm:ss.SSS")',
        at("2023-11-14 22:13:20.123"),
    ),
    ('parsedate("yesterday", "dd/MM/yyyy HH:mm")', None),
    # -- json ------------------------------------------------------------------------------------
    ("jsonparse(message)", '{"user":{"name":"Ana","roles":["admin","dev"]},"ok":true,"n":42}'),
    ('jsonparse(" [1, 2] ")', "[1,2]"),
    ('jsonparse("{junk")', None),
    ("jsonparse(hostname)", None),
    ('jsonparse(message)["n"]', "42"),
    pytest.param('jqeval(jqcompile(".user.name"), message)', '"Ana"'),
    pytest.param('str(jqeval(jqcompile(".user.name"), jsonparse(message)))', "Ana"),
    pytest.param('jqeval(jqcompile(".user.roles[1]"), message)', '"dev"'),
    pytest.param('jqeval(jqcompile(".user.roles.[-1]"), message)', '"dev"'),
    pytest.param('jqeval(jqcompile(".[\\"user\\"].name"), message)', '"Ana"'),
    pytest.param(
        'jqeval(jqcompile("."), message)',
        '{"user":{"name":"Ana","roles":["admin","dev"]},"ok":true,"n":42}',
    ),
    pytest.param('jqeval(jqcompile(".missing"), message)', None),
    pytest.param('jqeval(jqcompile(".user"), hostname)', None),
    pytest.param('int(jqeval(jqcompile(".n"), message))', 42),
    pytest.param('bool(jqeval(jqcompile(".ok"), message))', True),
    pytest.param('label(jqeval(jqcompile(".user.roles"), message))', "array"),
    pytest.param('label(jqeval(jqcompile(".n"), message))', "number"),
    pytest.param('stringify(jqeval(jqcompile(".user.name"), message))', '"Ana"'),
    ("label(message)", "object"),
    ('label(jsonparse("\\"x\\""))', "string"),
    ('label(jsonparse("true"))', "boolean"),
    ('label(jsonparse("null"))', "null"),
    ("label(hostname)", None),
    ('stringify(jsonparse("[1, 2]"))', "[1,2]"),
    ('stringify("{junk")', None),
    # -- network and web -------------------------------------------------------------------------
    ('isprivate(ip4("172.20.1.1"))', True),
    ('isprivate(ip4("172.32.0.1"))', False),
    ('ispublic(ip4("8.8.8.8"))', True),
    ('ispublic(ip4("10.1.1.1"))', False),
    ('ispublic(ip4("127.0.0.1"))', False),
    ('ispublic(ip4("169.254.0.1"))', False),
    ('ispublic(ip4("224.0.0.1"))', False),
    ('ispublic(ip4("255.255.255.255"))', False),
    ('ispublic(ip4("0.1.2.3"))', False),
    ("urischeme(hostname)", "https"),
    ("urihost(hostname)", "www.example.com"),
    ("uriport(hostname)", 8443),
    ("uripath(hostname)", "/api/v1/items"),
    ("uriquery(hostname)", "q=a+b&x=%2F"),
    ('uriquery("/a")', None),
    ('uriport("http://h/a")', None),
    ('urihost("/relative/path")', None),
    # -- where a naive ClickHouse translation differs ----------------------------------------
    ("round(-2.5)", -3.0),
    ("round(0.5)", 1.0),
    ("round(2.675, 2)", 2.68),
    ("round(1234.5678, -2)", 1200.0),
    ("255 & 15", 15),
    ("8 | 3", 11),
    ("5 ^ 3", 6),
    ("~5", -6),
    ("-8 >> 1", -4),
    ("3 << 4", 48),
    ("17 >>> 1", 8),
    ("-7 \\ 2", -3),
    ("-7 % 3", -1),
    ("-7 %% 3", 2),
    ("7 / 0", float("inf")),
    ('formatdate(eventdate, "mm")', "13"),
    ('formatdate(eventdate, "S")', "123"),
    ('weaktoktains(hostname, substring("xEXAMPLE", 1))', True),
    ('peek(upper(hostname), re("(?i)example"))', "EXAMPLE"),
    ('lower("ÉCOLE")', "école"),
    ('upper("école")', "ÉCOLE"),
    ('length("héllo wörld")', 11),
    ('substring("héllo", 1, 3)', "éll"),
    ('locate("héllo", "l")', 2),
    ('replace("héllo", "l", "L")', "héLlo"),
    ('eqic("ÉCOLE", "école")', True),
    ("str(2.0)", "2.0"),
    ("str(2.5)", "2.5"),
    ("str(1 = 1)", "true"),
    ('str(ip4("192.168.1.10"))', "192.168.1.10"),
    ('str(jsonparse("null"))', None),
    ('str(jsonparse("[1, 2]"))', "[1,2]"),
    ('int("+5")', 5),
    ("ip4(4294967296)", None),
    ('decode(null, null, "matched", "other")', "other"),
    ("nvl(null, 3)", 3),
    ('split("a,b", ",")[5]', None),
    ('split("a,b", ",")[-2]', "b"),
    ('jsonparse(message)["user"]["roles"][1]', '"dev"'),
    ('jsonparse(message)["missing"]', None),
    ('hour(eventdate, "Asia/Kolkata")', 3),
    ('formatdate(eventdate, "yyyy-MM-dd HH:mm", "Asia/Kolkata")', "2023-11-15 03:43"),
    ('parsedate("15/11/2023 03:43", "dd/MM/yyyy HH:mm", "Asia/Kolkata")', at("2023-11-14 22:13")),
    ("period(eventdate, 7m)", at("2023-11-14 22:13")),
    ('dayofweek("2023-11-18")', 6),
    ('weekofyear("2023-01-01")', 52),
    # midnight: the start of the day in UTC or the zone given, as a UTC timestamp
    ("midnight()", at("2023-11-14")),
    ("midnight(eventdate)", at("2023-11-14")),
    ('midnight(eventdate, "Asia/Kolkata")', at("2023-11-14 18:30")),
    ('midnight(eventdate, "America/New_York")', at("2023-11-14 05:00")),
    ('midnight("2023-03-26 12:00", "Europe/Madrid")', at("2023-03-25 23:00")),  # a DST day
    ("midnight(timestamp(hostname))", None),
    # weekofmonth: Monday-to-Sunday weeks, week 1 holding the 1st (a Wednesday in 2023-11)
    ("weekofmonth(eventdate)", 3),
    ('weekofmonth("2023-11-01")', 1),
    ('weekofmonth("2023-11-05")', 1),
    ('weekofmonth("2023-11-06")', 2),
    ('weekofmonth("2023-10-31")', 6),
    ('weekofmonth("2024-04-01")', 1),
    ('weekofmonth("2024-04-30 23:00", "Asia/Tokyo")', 1),
    ("weekofmonth(timestamp(hostname))", None),
    # text in [brackets] is kept as it is (Devo's `YYYY-MM-DD[T]HH:mm:ss`)
    ('formatdate(eventdate, "YYYY-MM-DD[T]HH:mm:ss")', "2023-11-14T22:13:20"),
    ('formatdate(eventdate, "[Day] D [of] MMMM")', "Day 14 of November"),
    ('formatdate(eventdate, "HH[\'h] mm")', "22'h 13"),
    ('parsedate("2023-11-14T22:13", "YYYY-MM-DD[T]HH:mm")', at("2023-11-14 22:13")),
]


@pytest.mark.parametrize(("expression", "expected"), CASES)
def test_function(engine: Runner, expression: str, expected: object) -> None:
    value, _ = evaluate(engine, expression)
    assert value == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("str(clientIpAddress)", "192.168.1.10"),
        ("str(ip4(referralUri))", None),  # no address, no text (not "")
        ("ip4(str(clientIpAddress))", CLIENT_IP),
        ("int(clientIpAddress)", CLIENT_IP),
        ("isprivate(clientIpAddress)", True),
        ("ispublic(clientIpAddress)", False),
        ('decode(statusCode, 200, "ok", 404, "missing", "other")', "missing"),
        ("ifthenelse(isnull(timeTaken), 0, timeTaken)", 0),
        ("bytesTransferred / 1000", 1.5),
        ("bytesTransferred \\ 1000", 1),
        ("float(bytesTransferred)", 1500.0),
        ("uripath(uri)", "/cart"),
        ("uriquery(uri)", "id=7"),
        ('str(statusCode) + "!"', "404!"),
        ('weakin(method, {"get", "post"})', True),
    ],
)
def test_function_on_typed_columns(engine: Runner, expression: str, expected: object) -> None:
    value, _ = evaluate(engine, expression, table="demo.ecommerce.data")
    assert value == expected


@pytest.mark.parametrize(
    ("expression", "type_name"),
    [
        ("str(1)", "str"),
        ('int("1")', "int8"),
        ("float(1)", "float8"),
        ("timestamp(0)", "timestamp"),
        ('duration("5m")', "duration"),
        ('ip4("1.2.3.4")', "ip4"),
        ('net4("10.0.0.0/8")', "net4"),
        ("epoch(eventdate)", "int8"),
        ("length(hostname)", "int4"),
        ('split(hostname, "/")', "array(str)"),
        ('split(hostname, "/", 1)', "str"),
        ("abs(-2)", "int8"),
        ("round(2.5)", "float8"),
        ("sqrt(4)", "float8"),
        ("ifthenelse(true, 1, 2.5)", "float8"),
        ("hour(eventdate)", "int4"),
        ("hour()", "duration"),
        ("eventdate - day()", "timestamp"),
        ("today()", "timestamp"),
        ("midnight(eventdate)", "timestamp"),
        ("weekofmonth(eventdate)", "int4"),
        ("jsonparse(message)", "json"),
        ("label(message)", "str"),
        ("uriport(hostname)", "int4"),
    ],
)
def test_result_types(engine: Runner, expression: str, type_name: str) -> None:
    value, ltype = evaluate(engine, expression)
    assert ltype == type_name
    assert value is not None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ('timestamp("yesterday")', "Cannot read"),
        ('duration("5 minutes")', "Cannot read '5 minutes' as duration"),
        ("net4(hostname)", "net4"),
        ("formatdate(eventdate, hostname)", "must be a constant string"),
        ('formatdate(eventdate, "yyyy Q")', "unsupported pattern letter 'Q'"),
        ('parsedate(hostname, "yyyy\'")', "unterminated quote"),
        ('formatdate(eventdate, "HH[h")', "unterminated \\["),
        ('hour(eventdate, "Mars/Olympus")', "Unknown time zone 'Mars/Olympus'"),
        ('today("Mars/Olympus")', "Unknown time zone"),
        ("today(hostname)", "must be a constant string"),
        ('toktains(hostname, "a", isnull(hostname))', "must be true or false"),
    ],
)
def test_compile_errors(engine: Runner, expression: str, message: str) -> None:
    with pytest.raises(LinqError, match=message):
        evaluate(engine, expression)


@pytest.mark.parametrize("path", ["user", ".[]", ".a | .b", ".a[x]"])
def test_jqcompile_rejects_what_is_not_a_path(engine: Runner, path: str) -> None:
    with pytest.raises(LinqError, match="Cannot compile jq"):
        evaluate(engine, f'jqcompile("{path}")')


@pytest.mark.parametrize(
    ("path", "jsonpath"),
    [
        (".", "$"),
        (".a.b", "$.a.b"),
        (".[0]", "$[0]"),
        (".a[1].b", "$.a[1].b"),
        (".a.[2]", "$.a[2]"),
        (".[-1]", "$[#-1]"),
        ('.["a b"].c', '$."a b".c'),
        ('."a-b"', '$."a-b"'),
    ],
)
def test_jq_paths_map_to_jsonpath(path: str, jsonpath: str) -> None:
    assert jq_to_jsonpath(path) == jsonpath


@pytest.mark.parametrize(
    ("pattern", "format_"),
    [
        ("yyyy-MM-dd HH:mm:ss.SSS", "%Y-%m-%d %H:%M:%S.%g"),
        ("YYYY-MM-DD HH:mm", "%Y-%m-%d %H:%M"),
        ("yyyy-MM-dd'T'HH:mm:ss", "%Y-%m-%dT%H:%M:%S"),
        ("d/M/yy h:mm a", "%-d/%-m/%y %-I:%M %p"),
        ("EEEE, MMMM d", "%A, %B %-d"),
        ("'it''s' HH", "it's %H"),
        ("DDD 100%", "%j 100%%"),
        ("YYYY-MM-DD[T]HH:mm", "%Y-%m-%dT%H:%M"),
        ("[at 100%] HH", "at 100%% %H"),
    ],
)
def test_date_patterns_map_to_strftime(pattern: str, format_: str) -> None:
    assert strftime_format(pattern) == format_


def _reference_distance(a: str, b: str, unrestricted: bool) -> int:
    """The textbook algorithms: Lowrance-Wagner (Damerau-Levenshtein) and OSA."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    last_row: dict[str, int] = {}
    for i in range(1, len(a) + 1):
        last_col = 0
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            best = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if unrestricted:
                k, col = last_row.get(b[j - 1], 0), last_col
                if k and col:
                    best = min(best, d[k - 1][col - 1] + (i - k - 1) + 1 + (j - col - 1))
                if cost == 0:
                    last_col = j
            elif i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                best = min(best, d[i - 2][j - 2] + 1)
            d[i][j] = best
        last_row[a[i - 1]] = i
    return d[len(a)][len(b)]


def test_edit_distances_match_the_textbook_algorithms(engine: Runner) -> None:
    """damerau and osa against the algorithms they are named after, on random short texts over
    a small alphabet (where swaps and repeated letters are frequent)."""
    rng = random.Random(7)
    pairs = [
        tuple("".join(rng.choice("abcé") for _ in range(rng.randint(0, 6))) for _ in range(2))
        for _ in range(40)
    ]
    selects = ", ".join(
        f'damerau("{a}", "{b}") as d{n}, osa("{a}", "{b}") as o{n}'
        for n, (a, b) in enumerate(pairs)
    )
    [row] = run(engine, f"from my.app.fn select {selects}")
    values = row[-2 * len(pairs) :]
    expected = [
        distance
        for a, b in pairs
        for distance in (_reference_distance(a, b, True), _reference_distance(a, b, False))
    ]
    assert list(values) == expected


def test_now_and_today_follow_the_query_clock(engine: Runner) -> None:
    text = "from my.app.fn select now() as n, today() as d"
    later = run(engine, text, now_ms=NOW_MS + 2 * 86_400_000)
    assert later == [(at("2023-11-16 22:13:20"), at("2023-11-16"))]


def test_time_functions_filter_rows(engine: Runner) -> None:
    rows = run(
        engine,
        "from my.app.fn where now() - 1d < eventdate, eventdate < tomorrow(), "
        'toktains(hostname, "items") select weekofyear(eventdate) as w',
    )
    assert rows == [(46,)]


@pytest.mark.parametrize(
    "expression",
    [
        "9223372036854775807 + int(eventdate)",
        "-9223372036854775807 - int(eventdate)",
        "int(eventdate) * int(eventdate)",
        "abs(-9223372036854775807 - 1)",
    ],
)
def test_integer_overflow_fails_the_query(engine: Runner, expression: str) -> None:
    with pytest.raises(Exception, match=r"(?i)overflow|out of range|converted"):
        evaluate(engine, expression)


@pytest.mark.parametrize("operator", ["\\", "%", "%%"])
def test_an_integer_division_by_zero_is_null(engine: Runner, operator: str) -> None:
    # An integer has no infinity; one row's zero divisor must not fail the whole query.
    zero = "(int(eventdate) - int(eventdate))"
    assert evaluate(engine, f"int(eventdate) {operator} {zero}") == (None, "int8")


@pytest.mark.parametrize(
    ("select", "expected"),
    [
        (
            "count() as n, sum(timeTaken) as s, avg(timeTaken) as a, nnavg(timeTaken) as nn",
            (1, None, 0.0, None),
        ),
        ("first(timeTaken) as f, nnfirst(timeTaken) as nf, last(method) as l", (None, None, "GET")),
        ("median(statusCode) as m, percentile90(bytesTransferred) as p", (404, 1500)),
        (
            "ustddev(statusCode) as u, stddev(statusCode) as s, var(timeTaken) as v",
            (None, 0.0, 0.0),
        ),
        ("collect(timeTaken) as c, collectsorted(method) as cs", ([None], ["GET"])),
        (
            "sizedistinct(method) as d, hllppcount(method) as h, sum2(statusCode) as q",
            (1, 1.0, 163216.0),
        ),
        (
            "min(eventdate) as lo, max(clientIpAddress) as hi",
            (at("2023-11-14 22:13:20.123"), CLIENT_IP),
        ),
    ],
)
def test_aggregations_of_one_event(engine: Runner, select: str, expected: tuple[Any, ...]) -> None:
    rows = run(engine, f"from demo.ecommerce.data group select {select}")
    assert rows == [expected]


def test_aggregations_of_no_rows(engine: Runner) -> None:
    rows = run(
        engine,
        "from demo.ecommerce.data where statusCode = 1 group select count() as n, "
        "sum(bytesTransferred) as s, min(method) as lo, sizedistinct(uri) as d, "
        "hllppcount(uri) as h, median(timeTaken) as m",
    )
    assert rows == [(0, None, None, 0, 0.0, None)]


def test_catalogue_has_at_least_a_hundred_functions() -> None:
    assert len(unique_functions()) >= 100


def test_every_function_has_a_translation_for_each_engine_and_a_doc() -> None:
    for fn in unique_functions():
        for engine in ENGINES:
            assert engine in fn.translate, (fn.name, engine)
        assert fn.doc.strip(), fn.name
        assert fn.signatures, fn.name
