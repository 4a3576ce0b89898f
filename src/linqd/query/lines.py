"""A result row as its line of text, in SQL: the line modes' speed comes from the engine, not
Python.

``line_expression`` builds ONE sqlglot projection turning a row into its line text, and
``line_select`` wraps a query in it (``SELECT <line> AS line FROM (<query>) AS q``); the server
then only glues the Arrow ``line`` column with the bytes of a ``Framing``. The rules below are
decided here, for every engine; how an engine writes each step is its ``LineDialect``
(``linq/compile/lines_*.py``), and every engine writes DuckDB's bytes.

JSON values: timestamps are epoch ms, ip4 an integer (dotted with ``ipAsString``), ip6, net6
and mac their canonical text (``linq/addresses.py``; the compiled query already gives them so),
bytes (and ``dc`` sketches) standard base64 text with padding (in csv/tsv cells too),
durations ms, maps and bags objects (each key as its text: a timestamp's is its epoch
ms, a number's its digits), ``json`` columns embedded as JSON (text that does not parse goes as
a string), NaN/±Infinity are ``null`` (not JSON). DuckDB spells some floats unlike ``json.dumps``
(``1e20`` → ``100000000000000000000.0``, ``1e-07`` → ``1e-7``) and writes ``\\u000F`` for
``\\u000f``: the same values to any JSON parser, and devo-sdk only parses these lines. ``json``
text is written back compact as DuckDB reads it (trailing commas, NaN and Infinity accepted).

csv/tsv (escaping undocumented): header, then rows; null is an empty cell; timestamps are
``yyyy-MM-dd HH:mm:ss.SSS`` (``dateFormat`` iso: ``2024-01-02T03:04:05.678+02:00``) in
``timeZone``; ip4 follows ``ipAsString``; floats as Python's ``repr``; arrays as JSON text. csv
quotes exactly where Python's ``csv`` does (``,`` ``"`` CR LF, and ``""`` for a lone empty cell,
which devo-sdk would otherwise drop as an empty line). tsv cannot quote: tabs, CR and LF in
values become spaces. Every line ends with CRLF, so it is complete on the wire when sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlglot import exp

from ..linq.compile import line_dialect
from ..linq.compile.lines_base import LineDialect
from ..linq.functions.base import call, lit
from ..linq.ir import ResultColumn
from ..linq.types import ANY, Kind, LType
from .modes import ARRAY_MODES, CRLF, EncodeOptions, Mode


def line_select(select: exp.Select, line: exp.Expression, *extra: exp.Expr) -> exp.Select:
    """``SELECT <line> AS line, <extra>... FROM (<select>) AS q``: one text column per row (and
    what the caller needs beside it, named by the caller), the query's own rows unchanged."""
    inner = exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier("q")))
    return exp.Select().select(exp.alias_(line, "line"), *extra).from_(inner)


def line_expression(
    mode: Mode,
    columns: Sequence[ResultColumn],
    options: EncodeOptions,
    *,
    engine: str,
    framed: bool = False,
) -> exp.Expression:
    """The text of one row in ``mode`` on ``engine`` (``EventStore.engine``), over columns
    referenced by name (unqualified, so it works on a table or on ``(<query>) AS q``). Never
    NULL.

    ``framed=True`` adds the row's framing in SQL too (a trailing CRLF in the line modes, a
    leading ``,`` in the json arrays): ``Framing.rows`` then copies an Arrow batch's text buffer
    as it is, the fastest path (see ``Framing.rows``)."""
    if mode.whole:
        raise ValueError(f"mode {mode.value} encodes Python rows, not SQL lines")
    d = line_dialect(engine)
    refs = [(exp.column(c.name, quoted=True), c.type) for c in columns]
    before: list[exp.Expression] = []
    after: list[exp.Expression] = []
    match mode:
        case Mode.JSON | Mode.JSON_SIMPLE:
            pairs = [
                (c.name, _json_value(d, ref, t, options))
                for c, (ref, t) in zip(columns, refs, strict=True)
            ]
            text = d.json_object(pairs)
        case Mode.JSON_COMPACT | Mode.JSON_SIMPLE_COMPACT:
            text = d.json_array([_json_value(d, ref, t, options) for ref, t in refs])
            if mode is Mode.JSON_SIMPLE_COMPACT:
                before, after = [lit('{"d":')], [lit("}")]
        case Mode.CSV:
            cells = [_csv_cell(d, ref, t, options) for ref, t in refs]
            if len(cells) == 1:
                only = exp.EQ(this=cells[0], expression=lit(""))
                cells = [exp.Case().when(only, lit('""')).else_(cells[0])]
            text = call("concat_ws", lit(","), *cells)
        case _:
            cells = [_tsv_cell(d, ref, t, options) for ref, t in refs]
            text = call("concat_ws", lit("\t"), *cells)
    if framed and mode in ARRAY_MODES:
        before.insert(0, lit(","))
    elif framed:
        after.append(lit(CRLF))
    if before or after:
        # One concat() of all the parts: each `||` would copy the whole line again.
        text = call("concat", *before, text, *after)
    return d.finish(text)


def _concat(*parts: exp.Expression) -> exp.Expression:
    result = parts[0]
    for part in parts[1:]:
        result = exp.DPipe(this=result, expression=part)
    return result


def _json_value(
    d: LineDialect, ref: exp.Expression, ltype: LType, options: EncodeOptions, depth: int = 0
) -> exp.Expression:
    """``ref`` as the JSON value (see ``LineDialect``) that is Devo's JSON for ``ltype``."""
    match ltype.kind:
        case Kind.TIMESTAMP:
            return d.json_number(d.epoch_ms(ref))
        case Kind.IP4 if options.ip_as_string:
            return d.json_string(d.dotted(ref), plain=True)
        case Kind.IP4:
            return d.json_number(d.ip_number(ref))
        case Kind.INT4 | Kind.INT8 | Kind.DURATION:
            return d.json_number(ref)
        case Kind.FLOAT8:
            return d.json_float(ref)
        case Kind.BOOL:
            return d.json_bool(ref)
        case Kind.STR | Kind.IP6 | Kind.NET6 | Kind.MAC:
            # A result's ip6 and mac are their canonical text already (Compiler.result_sql).
            return d.json_string(ref)
        case Kind.BYTES | Kind.DC:
            return d.json_string(d.base64(ref), plain=True)
        case Kind.JSON:
            return d.json_embedded(ref)
        case Kind.ARRAY | Kind.SET:
            # Elements are converted like columns (a lambda per nesting level).
            name = f"x{depth}"
            element = _json_value(d, exp.column(name), _elem(ltype), options, depth + 1)
            return d.json_list(ref, name, element)
        case Kind.MAP:
            k, v = f"k{depth}", f"v{depth}"
            key = _key_text(d, exp.column(k), ltype.key or ANY, options)
            value = _json_value(d, exp.column(v), _elem(ltype), options, depth + 1)
            return d.json_map(ref, (k, v), key, value)
        case Kind.TUPLE if ltype.fields:
            # A JSON array of its items, each converted like a column of its type.
            items = [
                _json_value(d, d.tuple_item(ref, i), field, options, depth + 1)
                for i, field in enumerate(ltype.fields, start=1)
            ]
            return d.json_array(items)
    return d.json_other(ref)


def _key_text(
    d: LineDialect, ref: exp.Expression, ltype: LType, options: EncodeOptions
) -> exp.Expression:
    """A map key as its JSON object key: text as it is, a timestamp as its epoch ms, other
    values as their csv text (numbers, true/false, ip4 as ``ipAsString`` says)."""
    if ltype.kind is Kind.TIMESTAMP:
        return d.to_text(d.epoch_ms(ref))
    if ltype.kind in (Kind.ANY, Kind.NULL):
        return d.to_text(ref)
    return _text_value(d, ref, ltype, options)


def _elem(ltype: LType) -> LType:
    return ltype.element or ANY


def _text_value(
    d: LineDialect, ref: exp.Expression, ltype: LType, options: EncodeOptions
) -> exp.Expression:
    """``ref`` as csv/tsv cell text (NULL stays NULL)."""
    match ltype.kind:
        case Kind.TIMESTAMP:
            zone = _zone(options.tz)
            iso = options.date_format == "iso"
            suffix = _offset_text(zone) if iso and isinstance(zone, int) else ""
            return d.timestamp_text(ref, zone, iso=iso, suffix=suffix)
        case Kind.IP4 if options.ip_as_string:
            return d.dotted(ref)
        case Kind.IP4:
            return d.to_text(d.ip_number(ref))
        case Kind.FLOAT8:
            return d.float_text(ref)
        case Kind.BOOL:
            return d.bool_text(ref)
        case Kind.STR | Kind.JSON | Kind.IP6 | Kind.NET6 | Kind.MAC:
            return ref
        case Kind.BYTES | Kind.DC:
            return d.base64(ref)
        case Kind.ARRAY | Kind.SET | Kind.MAP | Kind.TUPLE:
            return d.json_text(_json_value(d, ref, ltype, options))
    return d.to_text(ref)


def _free_text(ltype: LType) -> bool:
    """Can a cell of this type contain separators, quotes or line breaks?"""
    fixed = (Kind.TIMESTAMP, Kind.INT4, Kind.INT8, Kind.FLOAT8, Kind.BOOL, Kind.IP4, Kind.DURATION)
    return ltype.kind not in fixed


def _csv_cell(
    d: LineDialect, ref: exp.Expression, ltype: LType, options: EncodeOptions
) -> exp.Expression:
    text = _text_value(d, ref, ltype, options)
    if _free_text(ltype):
        quoted = _concat(lit('"'), call("replace", text, lit('"'), lit('""')), lit('"'))
        text = exp.Case().when(d.matches(text, '[,"\r\n]'), quoted).else_(text)
    return call("coalesce", text, lit(""))


def _tsv_cell(
    d: LineDialect, ref: exp.Expression, ltype: LType, options: EncodeOptions
) -> exp.Expression:
    text = _text_value(d, ref, ltype, options)
    if _free_text(ltype):
        text = call("translate", text, lit("\t\r\n"), lit("   "))
    return call("coalesce", text, lit(""))


def _zone(tz: dt.tzinfo) -> int | str:
    """A fixed offset in seconds (0 for UTC), or an IANA name."""
    key = getattr(tz, "key", None) or getattr(tz, "zone", None)  # zoneinfo, pytz
    if isinstance(key, str):
        return 0 if key in ("UTC", "Etc/UTC", "Etc/GMT", "GMT", "Zulu") else key
    offset = tz.utcoffset(None)
    if offset is None:
        raise ValueError(f"time zone {tz!r} has neither a fixed offset nor an IANA name")
    return int(offset.total_seconds())


def _offset_text(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")
