"""Response modes: DuckDB line text against Python's own encoders, framing shapes, devo-sdk's
in-band error regexes, keep-alives, msgpack and xlsx documents."""

from __future__ import annotations

import csv
import datetime as dt
import io
import ipaddress
import json
import math
import re
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import msgpack
import openpyxl  # type: ignore[import-untyped]
import pyarrow as pa
import pytest
import requests
from devo.api import client as devo_client
from hypothesis import given, settings
from hypothesis import strategies as st

from linqd.errors import ValidationError
from linqd.linq import types as t
from linqd.linq.ir import ResultColumn
from linqd.linq.types import Kind, LType
from linqd.query.documents import encode_msgpack, encode_xls
from linqd.query.framing import Framing
from linqd.query.lines import line_expression
from linqd.query.modes import EncodeOptions, KeepAlive, Mode, parse_keep_alive, parse_mode

UTC = dt.UTC
DUCK = "duckdb"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)

# devo-sdk 7.0.2's in-band error patterns, copied from spec/query-api.md §6.3.
SDK_ERRORS = {
    Mode.JSON_SIMPLE_COMPACT: r'{"e":\[(\d+),"([^"]+)"]}',
    Mode.JSON_SIMPLE: r'\["error",(\d+),"([^"]+)"\]',
    Mode.JSON: r'"error":\s\[(\d+),"([^"]+)"\]',
    Mode.JSON_COMPACT: r'"e":\s\[(\d+),"([^"]+)"\]',
    Mode.CSV: r"devo\.api\.error,(\d+),([^,\n]+)",
    Mode.TSV: r"devo\.api\.error(?:\t|\s+)(\d+)(?:\t|\s+)([^\t\n]+)",
}
SDK_PREFIX = '{"m":{"eventdate":{"type":"timestamp","index":0'
TEXT_MODES = [m for m in Mode if not m.whole]

COLUMNS = (
    ResultColumn("eventdate", t.TIMESTAMP),
    ResultColumn("s", t.STR),
    ResultColumn("i4", t.INT4),
    ResultColumn("i8", t.INT8),
    ResultColumn("f", t.FLOAT8),
    ResultColumn("b", t.BOOL),
    ResultColumn("ip", t.IP4),
    ResultColumn("j", t.JSON),
    ResultColumn("tags", t.array_of(t.STR)),
    ResultColumn("stamps", t.array_of(t.TIMESTAMP)),
    ResultColumn("ips", t.set_of(t.IP4)),
    ResultColumn("took", t.DURATION),
)
DDL = (
    "CREATE TABLE t (eventdate TIMESTAMP, s VARCHAR, i4 INTEGER, i8 BIGINT, f DOUBLE, b BOOLEAN,"
    " ip UINTEGER, j VARCHAR, tags VARCHAR[], stamps TIMESTAMP[], ips UINTEGER[], took BIGINT)"
)
D = dt.datetime
ROWS: list[tuple[Any, ...]] = [
    (
        D(2024, 1, 2, 3, 4, 5, 678000),
        "plain",
        1,
        2**62,
        0.1,
        True,
        2130706433,
        '{"a": 1.50, "b":[1 ,2], "s": "q\\"u\\u00e9"}',
        ["a", "b,c"],
        [D(2024, 1, 1)],
        [1, 2],
        1500,
    ),
    (
        D(1969, 12, 31, 23, 59, 59, 999000),
        'quote " back \\ slash / comma, here',
        -7,
        -(2**63),
        -2.25,
        False,
        0,
        "not json",
        ['q"uote', "\\"],
        [],
        [4294967295],
        0,
    ),
    (
        D(2024, 7, 1, 22, 30),
        "line\nbreak\r\ttab \x00\x01\x1f\x7f",
        2**31 - 1,
        0,
        1e20,
        True,
        4294967295,
        "[1, null, true]",
        [],
        None,
        None,
        -5,
    ),
    (
        D(2024, 3, 31, 0, 59, 59, 1000),
        "unicode é 日本 😀 \u2028\u2029",
        0,
        1,
        0.30000000000000004,
        None,
        167772161,
        '"just a string"',
        [None, "é"],
        [None],
        [None],
        None,
    ),
    (D(2000, 2, 29), "", None, None, float("nan"), False, None, "null", None, None, None, None),
    (None, None, None, None, None, None, None, None, None, None, None, None),
]
EXTRA_FLOATS = [float("inf"), float("-inf"), 1e-7, 1e16, 1e15, 5e-324, -0.0, 1.7976931348623157e308]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    db = duckdb.connect()
    db.execute(DDL)
    db.executemany(f"INSERT INTO t VALUES ({', '.join('?' * len(COLUMNS))})", ROWS)
    return db


def lines_of(
    con: duckdb.DuckDBPyConnection,
    mode: Mode,
    options: EncodeOptions,
    columns: Sequence[ResultColumn] = COLUMNS,
    *,
    framed: bool = False,
    source: str = "t",
) -> list[str]:
    expr = line_expression(mode, columns, options, engine=DUCK, framed=framed).sql(dialect="duckdb")
    return [r[0] for r in con.execute(f"SELECT {expr} AS line FROM {source}").fetchall()]


# --- Python references ----------------------------------------------------------------------------


def ref_json(value: Any, ltype: LType, ip_as_string: bool = False) -> Any:
    if value is None:
        return None
    if ltype.kind in (Kind.ARRAY, Kind.SET):
        assert ltype.element is not None
        return [ref_json(v, ltype.element, ip_as_string) for v in value]
    if isinstance(value, dt.datetime):
        return math.floor((value.replace(tzinfo=UTC) - EPOCH).total_seconds() * 1000 + 1e-6)
    if ltype.kind is Kind.IP4 and ip_as_string:
        return str(ipaddress.IPv4Address(value))
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if ltype.kind is Kind.JSON:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def ref_text(value: Any, ltype: LType, options: EncodeOptions) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        local = value.replace(tzinfo=UTC).astimezone(options.tz)
        if options.date_format == "iso":
            return local.isoformat(timespec="milliseconds")
        return local.strftime("%Y-%m-%d %H:%M:%S.") + f"{local.microsecond // 1000:03d}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if ltype.kind is Kind.IP4 and options.ip_as_string:
        return str(ipaddress.IPv4Address(value))
    if isinstance(value, list):
        return dumps(ref_json(value, ltype, options.ip_as_string))
    return str(value)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def ref_csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()[:-2]


def ref_line(mode: Mode, row: tuple[Any, ...], options: EncodeOptions) -> str:
    cols = COLUMNS
    if mode in (Mode.CSV, Mode.TSV):
        cells = [ref_text(v, c.type, options) for v, c in zip(row, cols, strict=True)]
        if mode is Mode.CSV:
            return ref_csv_line(cells)
        return "\t".join(c.translate({9: 32, 10: 32, 13: 32}) for c in cells)
    values = [ref_json(v, c.type, options.ip_as_string) for v, c in zip(row, cols, strict=True)]
    if mode in (Mode.JSON, Mode.JSON_SIMPLE):
        return dumps({c.name: v for c, v in zip(cols, values, strict=True)})
    if mode is Mode.JSON_COMPACT:
        return dumps(values)
    return dumps({"d": values})


def hex_lower(text: str) -> str:
    """DuckDB writes ``\\u000F`` where Python writes ``\\u000f``: the same JSON string."""
    return re.sub(r"\\(u[0-9A-F]{4}|.)", lambda m: "\\" + m.group(1).lower(), text)


def same_line(mode: Mode, got: str, row: tuple[Any, ...], options: EncodeOptions) -> None:
    """Exact text, except floats DuckDB spells differently (1e20): those compare parsed."""
    want = ref_line(mode, row, options)
    if mode.is_json:
        got = hex_lower(got)
    if got == want:
        return
    assert mode.is_json, (got, want)
    assert json.loads(got) == json.loads(want)
    assert json.loads(got, parse_float=str) != json.loads(want, parse_float=str), "not a float"


# --- line text ------------------------------------------------------------------------------------


OPTION_SETS = [
    EncodeOptions(),
    EncodeOptions(ip_as_string=True),
    EncodeOptions(tz=ZoneInfo("Europe/Madrid")),
    EncodeOptions(tz=ZoneInfo("America/New_York"), date_format="iso", ip_as_string=True),
    EncodeOptions(tz=dt.timezone(dt.timedelta(hours=2)), date_format="sql"),
    EncodeOptions(tz=dt.timezone(-dt.timedelta(hours=5, minutes=30)), date_format="iso"),
    EncodeOptions(date_format="iso"),
]


@pytest.mark.parametrize("mode", TEXT_MODES, ids=lambda m: m.value)
@pytest.mark.parametrize(
    "options", OPTION_SETS, ids=[f"options{i}" for i in range(len(OPTION_SETS))]
)
def test_line_text_matches_python(
    con: duckdb.DuckDBPyConnection, mode: Mode, options: EncodeOptions
) -> None:
    got = lines_of(con, mode, options)
    assert len(got) == len(ROWS)
    for line, row in zip(got, ROWS, strict=True):
        same_line(mode, line, row, options)


def test_json_values_spot_checks(con: duckdb.DuckDBPyConnection) -> None:
    plain, stringy = EncodeOptions(), EncodeOptions(ip_as_string=True)
    first = json.loads(lines_of(con, Mode.JSON_SIMPLE, plain)[0])
    assert first["eventdate"] == 1704164645678
    assert first["ip"] == 2130706433
    assert first["i8"] == 2**62
    assert first["j"] == {"a": 1.5, "b": [1, 2], "s": 'q"ué'}
    assert first["stamps"] == [1704067200000]
    assert first["took"] == 1500
    assert json.loads(lines_of(con, Mode.JSON_SIMPLE, stringy)[0])["ip"] == "127.0.0.1"
    assert json.loads(lines_of(con, Mode.JSON_SIMPLE, stringy)[1])["ips"] == ["255.255.255.255"]
    second = json.loads(lines_of(con, Mode.JSON_COMPACT, plain)[1])
    assert second[0] == -1 and second[3] == -(2**63) and second[7] == "not json"
    nan_row = lines_of(con, Mode.JSON_SIMPLE_COMPACT, plain)[4]
    assert json.loads(nan_row)["d"][4] is None and "NaN" not in nan_row
    assert lines_of(con, Mode.JSON_SIMPLE, plain)[5] == dumps({c.name: None for c in COLUMNS})


def test_csv_spot_checks(con: duckdb.DuckDBPyConnection) -> None:
    madrid = EncodeOptions(tz=ZoneInfo("Europe/Madrid"))
    rows = list(csv.reader(io.StringIO("\r\n".join(lines_of(con, Mode.CSV, madrid)))))
    assert rows[0][:3] == ["2024-01-02 04:04:05.678", "plain", "1"]
    assert rows[2][0] == "2024-07-02 00:30:00.000"  # summer time, +2
    assert rows[1][1] == 'quote " back \\ slash / comma, here'
    assert rows[0][8] == '["a","b,c"]'
    assert rows[5] == [""] * len(COLUMNS)
    iso = lines_of(con, Mode.TSV, EncodeOptions(tz=ZoneInfo("America/New_York"), date_format="iso"))
    assert iso[0].split("\t")[0] == "2024-01-01T22:04:05.678-05:00"
    assert iso[2].split("\t")[0] == "2024-07-01T18:30:00.000-04:00"
    assert iso[2].split("\t")[1] == "line break  tab \x00\x01\x1f\x7f"


@pytest.mark.parametrize("value", EXTRA_FLOATS)
def test_float_spellings(value: float) -> None:
    db = duckdb.connect()
    db.execute("CREATE TABLE t (f DOUBLE)")
    db.execute("INSERT INTO t VALUES (?)", [value])
    cols = [ResultColumn("f", t.FLOAT8)]
    [simple] = lines_of(db, Mode.JSON_SIMPLE_COMPACT, EncodeOptions(), cols)
    expected = value if math.isfinite(value) else None
    assert json.loads(simple) == {"d": [expected]}
    assert math.copysign(1, json.loads(simple)["d"][0] or 1) == math.copysign(1, expected or 1)
    [text] = lines_of(db, Mode.CSV, EncodeOptions(), cols)
    assert text == (repr(value) if math.isfinite(value) else '""')


def test_awkward_column_names(con: duckdb.DuckDBPyConnection) -> None:
    db = duckdb.connect()
    db.execute('CREATE TABLE t ("line" INTEGER, "q" VARCHAR, "we""ird,\tnamé" BOOLEAN)')
    db.execute("INSERT INTO t VALUES (1, 'x', true)")
    cols = [
        ResultColumn("line", t.INT4),
        ResultColumn("q", t.STR),
        ResultColumn('we"ird,\tnamé', t.BOOL),
    ]
    source = "(SELECT * FROM t) AS q"
    [obj] = lines_of(db, Mode.JSON_SIMPLE, EncodeOptions(), cols, source=source)
    assert obj == dumps({"line": 1, "q": "x", 'we"ird,\tnamé': True})
    framing = Framing(Mode.CSV, cols, EncodeOptions(), cid="c", timestamp_ms=0)
    assert framing.head() == b'line,q,"we""ird,\tnam\xc3\xa9"\r\n'
    framing = Framing(Mode.TSV, cols, EncodeOptions(), cid="c", timestamp_ms=0)
    assert framing.head() == 'line\tq\twe"ird, namé\r\n'.encode()


def test_single_column_csv_never_empty_line() -> None:
    db = duckdb.connect()
    db.execute("CREATE TABLE t (s VARCHAR)")
    db.executemany("INSERT INTO t VALUES (?)", [[None], [""], ["a"]])
    cols = [ResultColumn("s", t.STR)]
    assert lines_of(db, Mode.CSV, EncodeOptions(), cols) == [
        ref_csv_line([v]) for v in ("", "", "a")
    ]


@pytest.fixture(scope="module")
def scratch() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_any_string_through_json_and_csv(scratch: duckdb.DuckDBPyConnection, text: str) -> None:
    cols = [ResultColumn("s", t.STR), ResultColumn("n", t.INT4)]
    source = "(SELECT $1::VARCHAR AS s, 1 AS n)"

    def line(mode: Mode) -> str:
        expr = line_expression(mode, cols, EncodeOptions(), engine=DUCK).sql(dialect="duckdb")
        found: str = scratch.execute(f"SELECT {expr} FROM {source}", [text]).fetchall()[0][0]
        return found

    simple = line(Mode.JSON_SIMPLE)
    assert json.loads(simple) == {"s": text, "n": 1}
    assert hex_lower(simple) == dumps({"s": text, "n": 1})
    assert hex_lower(line(Mode.JSON_COMPACT)) == dumps([text, 1])
    assert line(Mode.CSV) == ref_csv_line([text, "1"])
    assert line(Mode.TSV).split("\t") == [text.translate({9: 32, 10: 32, 13: 32}), "1"]


def test_whole_modes_have_no_line_expression() -> None:
    for mode in (Mode.MSGPACK, Mode.XLS):
        with pytest.raises(ValueError):
            line_expression(mode, COLUMNS, EncodeOptions(), engine=DUCK)
        with pytest.raises(ValueError):
            Framing(mode, COLUMNS, EncodeOptions(), cid="c", timestamp_ms=0)


# --- framing --------------------------------------------------------------------------------------


def body_of(
    con: duckdb.DuckDBPyConnection,
    mode: Mode,
    options: EncodeOptions = EncodeOptions(),  # noqa: B008 - frozen, shared safely
    *,
    arrow: bool,
    framed: bool,
    keep_alives: bool = False,
) -> bytes:
    """A whole response as the server assembles it: head, batches of 2 rows (and an empty
    batch), keep-alives in between when asked, tail."""
    framing = Framing(mode, COLUMNS, options, cid="cafe01", timestamp_ms=1_700_000_000_123)
    expr = line_expression(mode, COLUMNS, options, engine=DUCK, framed=framed).sql(dialect="duckdb")
    table = con.sql(f"SELECT {expr} AS line FROM t").to_arrow_table()
    parts = [framing.head()]
    if keep_alives:
        parts.append(framing.keep_alive())
    for batch in [table.slice(0, 0), *table.to_batches(max_chunksize=2)]:
        column = batch.column(0)
        lines: Any = column if arrow else column.to_pylist()
        parts.append(framing.rows(lines))
        if keep_alives:
            parts.append(framing.keep_alive())
    parts.append(framing.tail())
    return b"".join(parts)


VARIANTS = [(a, f) for a in (False, True) for f in (False, True)]


@pytest.mark.parametrize(("arrow", "framed"), VARIANTS)
@pytest.mark.parametrize("keep_alives", [False, True])
def test_json_document(
    con: duckdb.DuckDBPyConnection, arrow: bool, framed: bool, keep_alives: bool
) -> None:
    body = body_of(con, Mode.JSON, arrow=arrow, framed=framed, keep_alives=keep_alives)
    doc = json.loads(body)
    assert list(doc) == ["msg", "status", "timestamp", "cid", "object"]
    assert (doc["msg"], doc["status"], doc["timestamp"], doc["cid"]) == (
        "",
        0,
        1700000000123,
        "cafe01",
    )
    expected = [json.loads(ref_line(Mode.JSON, r, EncodeOptions())) for r in ROWS]
    assert doc["object"] == expected


@pytest.mark.parametrize(("arrow", "framed"), VARIANTS)
def test_json_compact_document(con: duckdb.DuckDBPyConnection, arrow: bool, framed: bool) -> None:
    doc = json.loads(body_of(con, Mode.JSON_COMPACT, arrow=arrow, framed=framed, keep_alives=True))
    obj = doc["object"]
    assert list(obj) == ["m", "metadata", "d"]
    assert obj["m"]["eventdate"] == {"type": "timestamp", "index": 0}
    assert obj["m"]["tags"] == {"type": "array(str)", "index": 8}
    assert obj["m"]["ips"] == {"type": "set(ip4)", "index": 10}
    assert [m["name"] for m in obj["metadata"]] == [c.name for c in COLUMNS]
    assert [m["type"] for m in obj["metadata"]] == [c.type.name for c in COLUMNS]
    assert obj["d"] == [json.loads(ref_line(Mode.JSON_COMPACT, r, EncodeOptions())) for r in ROWS]


@pytest.mark.parametrize(("arrow", "framed"), VARIANTS)
def test_json_simple_compact_stream(
    con: duckdb.DuckDBPyConnection, arrow: bool, framed: bool
) -> None:
    body = body_of(con, Mode.JSON_SIMPLE_COMPACT, arrow=arrow, framed=framed).decode()
    assert body.startswith(SDK_PREFIX)
    assert body.endswith("\r\n")
    first, *rest = body[:-2].split("\r\n")
    meta = json.loads(first)
    assert list(meta) == ["m", "metadata"]
    assert len(rest) == len(ROWS)
    for line, row in zip(rest, ROWS, strict=True):
        same_line(Mode.JSON_SIMPLE_COMPACT, line, row, EncodeOptions())


@pytest.mark.parametrize("mode", [Mode.JSON_SIMPLE, Mode.CSV, Mode.TSV], ids=lambda m: m.value)
@pytest.mark.parametrize(("arrow", "framed"), VARIANTS)
def test_line_streams(
    con: duckdb.DuckDBPyConnection, mode: Mode, arrow: bool, framed: bool
) -> None:
    body = body_of(con, mode, arrow=arrow, framed=framed).decode()
    options = EncodeOptions()
    expected = "".join(ref_line(mode, r, options) + "\r\n" for r in ROWS)
    if mode is Mode.JSON_SIMPLE:
        assert body.endswith("\r\n")
        for line, row in zip(body[:-2].split("\r\n"), ROWS, strict=True):
            same_line(mode, line, row, options)
        return
    header = Framing(mode, COLUMNS, options, cid="c", timestamp_ms=0).head().decode()
    assert body == header + expected
    if mode is Mode.CSV:
        parsed = list(csv.reader(io.StringIO(body, newline="")))
        assert parsed[0] == [c.name for c in COLUMNS]
        assert len(parsed) == len(ROWS) + 1


def test_arrow_inputs_of_any_shape(con: duckdb.DuckDBPyConnection) -> None:
    """Chunked, sliced (non-zero offset) and large_string columns give the same bytes."""
    for mode in (Mode.JSON, Mode.JSON_SIMPLE_COMPACT, Mode.CSV):
        for framed in (False, True):
            line = line_expression(mode, COLUMNS, EncodeOptions(), engine=DUCK, framed=framed)
            expr = line.sql("duckdb")
            column = con.sql(f"SELECT {expr} AS line FROM t").to_arrow_table().column(0)
            texts = column.to_pylist()
            shapes = [
                column,
                pa.chunked_array([column.combine_chunks().slice(0, 3), column.slice(3)]),
                column.cast(pa.large_string()).combine_chunks(),
            ]
            want = Framing(mode, COLUMNS, EncodeOptions(), cid="c", timestamp_ms=0).rows(texts)
            for shape in shapes:
                framing = Framing(mode, COLUMNS, EncodeOptions(), cid="c", timestamp_ms=0)
                assert framing.rows(shape) == want


def test_empty_results() -> None:
    cols = [ResultColumn("eventdate", t.TIMESTAMP), ResultColumn("n", t.INT8)]

    def whole(mode: Mode) -> bytes:
        framing = Framing(mode, cols, EncodeOptions(), cid="x", timestamp_ms=5)
        return framing.head() + framing.rows([]) + framing.tail()

    assert json.loads(whole(Mode.JSON))["object"] == []
    assert json.loads(whole(Mode.JSON_COMPACT))["object"]["d"] == []
    assert whole(Mode.JSON_SIMPLE) == b""
    simple_compact = whole(Mode.JSON_SIMPLE_COMPACT).decode()
    assert simple_compact == (
        '{"m":{"eventdate":{"type":"timestamp","index":0},"n":{"type":"int8","index":1}},'
        '"metadata":[{"name":"eventdate","type":"timestamp"},{"name":"n","type":"int8"}]}\r\n'
    )
    assert whole(Mode.CSV) == b"eventdate,n\r\n"
    assert whole(Mode.TSV) == b"eventdate\tn\r\n"


def test_modes_properties() -> None:
    assert {m for m in Mode if m.streamed} == {
        Mode.JSON_SIMPLE,
        Mode.JSON_SIMPLE_COMPACT,
        Mode.CSV,
        Mode.TSV,
    }
    assert Mode.CSV.content_type == "text/csv; charset=utf-8"
    assert Mode.TSV.content_type.startswith("text/tab-separated-values")
    assert Mode.JSON.content_type.startswith("application/json")
    assert Mode.MSGPACK.content_type == "application/x-msgpack"
    assert Mode.XLS.content_type.endswith("spreadsheetml.sheet")
    assert all("charset=utf-8" in m.content_type for m in TEXT_MODES)


# --- in-band errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", TEXT_MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("written", [False, True])
def test_in_band_errors_match_sdk(
    con: duckdb.DuckDBPyConnection, mode: Mode, written: bool
) -> None:
    framing = Framing(mode, COLUMNS, EncodeOptions(), cid="c", timestamp_ms=0)
    parts = [framing.head()]
    if written:
        parts.append(framing.rows(lines_of(con, mode, EncodeOptions())[:2]))
    message = 'Unknown table `x`, "quoted"\tand\r\nbroken \\ here'
    parts.append(framing.error(2086000, message))
    parts.append(framing.tail())  # nothing more after an error
    body = b"".join(parts).decode()
    match = re.search(SDK_ERRORS[mode], body)
    assert match is not None, body
    assert match.group(1) == "2086000"
    captured = match.group(2).strip()  # devo-sdk strips it (csv/tsv capture the CR)
    assert '"' not in captured and "\t" not in captured and "\n" not in captured
    assert "Unknown table `x`" in captured and "'quoted'" in captured
    if mode is Mode.CSV:
        assert captured == "Unknown table `x`; 'quoted' and broken \\ here"
    if mode in (Mode.JSON, Mode.JSON_COMPACT):
        doc = json.loads(body)  # the document stays valid JSON
        error = doc["error"] if mode is Mode.JSON else doc["object"]["e"]
        assert error == [2086000, "Unknown table `x`, 'quoted' and broken \\ here"]
    else:
        assert body.endswith("\r\n")


def test_json_error_needs_the_space() -> None:
    framing = Framing(Mode.JSON, COLUMNS, EncodeOptions(), cid="c", timestamp_ms=0)
    assert b'"error": [500,"boom"]' in framing.error(500, "boom")
    framing = Framing(Mode.JSON_COMPACT, COLUMNS, EncodeOptions(), cid="c", timestamp_ms=0)
    assert framing.error(7, "").endswith(b'"e": [7,"Error"]}}')


@pytest.mark.parametrize("mode", [Mode.JSON_SIMPLE, Mode.JSON_SIMPLE_COMPACT, Mode.CSV])
def test_error_after_keep_alive_starts_a_line(mode: Mode) -> None:
    options = EncodeOptions(keep_alive=KeepAlive("token", "@@"))
    framing = Framing(mode, COLUMNS, options, cid="c", timestamp_ms=0)
    framing.head()
    pad = framing.keep_alive()
    error = framing.error(500, "bad").decode()
    assert error.startswith("\r\n") and error.endswith("\r\n")
    assert re.fullmatch(SDK_ERRORS[mode], error.strip()) and pad


# --- keep-alives ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", TEXT_MODES, ids=lambda m: m.value)
def test_keep_alive_bytes(mode: Mode) -> None:
    cols = COLUMNS[:4]
    choices: list[tuple[KeepAlive | None, bytes]] = [
        (None, b""),
        (KeepAlive("token"), b"\n"),
        (KeepAlive("token", "<ka>"), b"<ka>"),
        (KeepAlive("empty"), (b"," if mode is Mode.CSV else b"\t") * 3 + b"\n"),
    ]
    for keep, expected in choices:
        framing = Framing(mode, cols, EncodeOptions(keep_alive=keep), cid="c", timestamp_ms=0)
        assert framing.keep_alive() == (b"    " if mode.is_json else expected)


def test_keep_alives_are_dropped_by_sdk_style_reading(con: duckdb.DuckDBPyConnection) -> None:
    """devo-sdk streams lines, drops whitespace-only ones and parses the rest (devo-sdk-client.md
    §2.8): keep-alives between rows must leave every row parseable."""
    body = body_of(con, Mode.JSON_SIMPLE_COMPACT, arrow=True, framed=True, keep_alives=True)
    # requests splits bytes, so only CR and LF break lines (not U+2028 as str.splitlines does).
    lines = [line.decode() for line in body.splitlines() if line.strip()]
    assert json.loads(lines[0])["m"]["s"] == {"type": "str", "index": 1}
    assert [json.loads(line)["d"][1] for line in lines[1:]] == [r[1] for r in ROWS]


def test_parse_keep_alive() -> None:
    assert parse_keep_alive(None) is None
    assert parse_keep_alive({"type": "token"}) == KeepAlive("token", "\n")
    assert parse_keep_alive({"type": "token", "token": "X"}) == KeepAlive("token", "X")
    assert parse_keep_alive({"type": "empty"}) == KeepAlive("empty")
    for bad in (
        {"type": "other"},
        {"type": "token", "token": ""},
        {"type": "token", "token": 3},
        "token",
        1,
        {},
    ):
        with pytest.raises(ValidationError) as caught:
            parse_keep_alive(bad)
        assert caught.value.field == "keepAlive"


def test_parse_mode() -> None:
    assert parse_mode(None) is Mode.JSON
    assert parse_mode({}) is Mode.JSON
    assert parse_mode({"type": "json/simple/compact"}) is Mode.JSON_SIMPLE_COMPACT
    assert parse_mode({"type": "CSV"}) is Mode.CSV
    assert parse_mode("xls") is Mode.XLS
    for bad in ({"type": "avro"}, {"type": "raw"}, {"type": 3}, 3, ["json"], {"type": "nope"}):
        with pytest.raises(ValidationError) as caught:
            parse_mode(bad)
        assert caught.value.field == "mode"


def test_date_format_is_checked() -> None:
    with pytest.raises(ValidationError):
        EncodeOptions(date_format="rfc")


# --- msgpack and xls ------------------------------------------------------------------------------


def python_rows(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """Rows as the server hands them to the whole-document encoders (via Arrow)."""
    table: pa.Table = con.sql("SELECT * FROM t").to_arrow_table()
    return list(zip(*(c.to_pylist() for c in table.columns), strict=True))


@pytest.mark.parametrize("ip_as_string", [False, True])
def test_msgpack_round_trip(con: duckdb.DuckDBPyConnection, ip_as_string: bool) -> None:
    options = EncodeOptions(ip_as_string=ip_as_string)
    packed = encode_msgpack(COLUMNS, python_rows(con), options, cid="abc", timestamp_ms=42)
    doc = msgpack.unpackb(packed)
    assert {k: doc[k] for k in ("msg", "status", "timestamp", "cid")} == {
        "msg": "",
        "status": 0,
        "timestamp": 42,
        "cid": "abc",
    }
    expected = [
        {c.name: ref_json(v, c.type, ip_as_string) for v, c in zip(r, COLUMNS, strict=True)}
        for r in ROWS
    ]
    assert doc["object"] == expected


@pytest.mark.parametrize(
    "options",
    [
        EncodeOptions(),
        EncodeOptions(ip_as_string=True, tz=ZoneInfo("Europe/Madrid"), date_format="iso"),
    ],
)
def test_xls_workbook(con: duckdb.DuckDBPyConnection, options: EncodeOptions) -> None:
    content = encode_xls(COLUMNS, python_rows(con), options)
    assert content[:2] == b"PK"
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    got = list(sheet.iter_rows(values_only=True))
    assert list(got[0]) == [c.name for c in COLUMNS]
    assert len(got) == len(ROWS)  # the last row is all null: Excel keeps no empty trailing row
    first = got[1]
    if options.date_format == "iso":
        assert first[0] == "2024-01-02T04:04:05.678+01:00"
        assert first[6] == "127.0.0.1"
    else:
        assert first[0] == dt.datetime(2024, 1, 2, 3, 4, 5, 678000)
        assert first[6] == 2130706433
    assert first[1:6] == ("plain", 1, str(2**62), 0.1, True)
    assert first[7] == ROWS[0][7]
    assert first[8] == '["a","b,c"]'
    assert first[11] == 1500
    assert got[2][1] == ROWS[1][1] and got[2][3] == str(-(2**63))
    assert got[5][4] is None  # NaN is an empty cell


def test_xls_text_is_never_a_formula() -> None:
    cols = [ResultColumn("s", t.STR)]
    rows = [("=1+1",), ("http://example.com",), ("007",)]
    sheet = openpyxl.load_workbook(io.BytesIO(encode_xls(cols, rows, EncodeOptions()))).active
    assert sheet is not None
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells] == ["=1+1", "http://example.com", "007"]
    assert all(c.data_type == "s" for c in cells)


# --- devo-sdk itself, with its HTTP call replaced by our bytes ------------------------------------


def sdk_query(
    monkeypatch: pytest.MonkeyPatch,
    mode: Mode,
    body: bytes,
    *,
    processor: str = "default",
    keep_alive: str | None = "\n",
) -> Any:
    response = requests.models.Response()
    response.status_code = 200
    response.headers["Content-Type"] = mode.content_type
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    response._content, response._content_consumed = body, True
    monkeypatch.setattr(devo_client.Client, "_Client__request", lambda self, payload: response)
    config = devo_client.ClientConfig(
        response=mode.value, processor=processor, keepAliveToken=keep_alive
    )
    client = devo_client.Client(
        address="localhost:1/search/query", auth={"key": "k", "secret": "s"}, config=config
    )
    result = client.query(query="from demo select *", dates={"from": "1h"})
    return list(result) if mode.streamed else result


def test_sdk_reads_json_simple_compact(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = body_of(con, Mode.JSON_SIMPLE_COMPACT, arrow=True, framed=True, keep_alives=True)
    got = sdk_query(
        monkeypatch, Mode.JSON_SIMPLE_COMPACT, body, processor="jsoncompactsimple_to_obj"
    )
    assert got == [json.loads(ref_line(Mode.JSON, r, EncodeOptions())) for r in ROWS]


def test_sdk_reads_json_documents(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = [json.loads(ref_line(Mode.JSON, r, EncodeOptions())) for r in ROWS]
    body = body_of(con, Mode.JSON, arrow=True, framed=False, keep_alives=True)
    assert sdk_query(monkeypatch, Mode.JSON, body, processor="json")["object"] == expected
    body = body_of(con, Mode.JSON_COMPACT, arrow=False, framed=True, keep_alives=True)
    rows = sdk_query(monkeypatch, Mode.JSON_COMPACT, body, processor="jsoncompact_to_array")
    assert rows == [list(e.values()) for e in expected]


def test_sdk_reads_csv_with_keep_alives(monkeypatch: pytest.MonkeyPatch) -> None:
    cols = [COLUMNS[0], COLUMNS[3], COLUMNS[6], COLUMNS[8]]
    db = duckdb.connect()
    db.execute("CREATE TABLE t (eventdate TIMESTAMP, i8 BIGINT, ip UINTEGER, tags VARCHAR[])")
    db.execute("INSERT INTO t VALUES ('2024-01-02 03:04:05.678', 5, 1, ['a', 'b,\"c'])")
    db.execute("INSERT INTO t VALUES (NULL, NULL, NULL, NULL)")
    options = EncodeOptions(keep_alive=KeepAlive("token"))
    framing = Framing(Mode.CSV, cols, options, cid="c", timestamp_ms=0)
    lines = db.sql(
        f"SELECT {line_expression(Mode.CSV, cols, options, engine=DUCK).sql('duckdb')} FROM t"
    ).fetchall()
    body = framing.head() + framing.keep_alive() + framing.rows([r[0] for r in lines])
    body += framing.keep_alive() + framing.tail()
    got = sdk_query(monkeypatch, Mode.CSV, body)
    assert got == [
        "eventdate,i8,ip,tags",
        '2024-01-02 03:04:05.678,5,1,"[""a"",""b,\\""c""]"',
        ",,,",
    ]


@pytest.mark.parametrize("mode", TEXT_MODES, ids=lambda m: m.value)
def test_sdk_raises_in_band_errors(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch, mode: Mode
) -> None:
    framing = Framing(mode, COLUMNS, EncodeOptions(), cid="c", timestamp_ms=0)
    body = framing.head() + framing.rows(lines_of(con, mode, EncodeOptions())[:2])
    body += framing.keep_alive() + framing.error(500, 'Query "failed", badly')
    with pytest.raises(devo_client.DevoClientDataResponseException) as caught:
        sdk_query(monkeypatch, mode, body)
    assert caught.value.code == 500
    expected = "Query 'failed'; badly" if mode is Mode.CSV else "Query 'failed', badly"
    assert str(caught.value.message) == f"Error while receiving query data: {expected} "


@pytest.mark.parametrize("last", [9, 10, 13, 32, 7])
def test_sdk_msgpack_survives_strip(monkeypatch: pytest.MonkeyPatch, last: int) -> None:
    """devo-sdk strip()s the msgpack bytes; the document must not end in a whitespace byte."""
    cols = [ResultColumn("n", t.INT8)]
    packed = encode_msgpack(cols, [(1,), (last,)], EncodeOptions(), cid="c", timestamp_ms=1)
    got = sdk_query(monkeypatch, Mode.MSGPACK, packed, keep_alive=None)
    assert msgpack.unpackb(got)["object"] == [{"n": 1}, {"n": last}]
