"""A result row as its line of text, in SQL: the line modes' speed comes from DuckDB, not Python.

``line_expression`` builds ONE sqlglot projection turning a row into its line text, and
``line_select`` wraps a query in it (``SELECT <line> AS line FROM (<query>) AS q``); the server
then only glues the Arrow ``line`` column with the bytes of a ``Framing``.

JSON values: timestamps are epoch ms, ip4 an integer (dotted with ``ipAsString``),
durations ms, ``json`` columns embedded as JSON (text that does not parse goes as a string),
NaN/±Infinity are ``null`` (not JSON). DuckDB spells some floats unlike ``json.dumps``
(``1e20`` → ``100000000000000000000.0``, ``1e-07`` → ``1e-7``) and writes ``\\u000F`` for
``\\u000f``: the same values to any JSON parser, and devo-sdk only parses these lines.

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

from ..linq.functions.base import call, cast, lit, try_cast
from ..linq.ir import ResultColumn
from ..linq.types import ANY, Kind, LType
from .modes import ARRAY_MODES, CRLF, EncodeOptions, Mode


def line_select(select: exp.Select, line: exp.Expression, *extra: exp.Expr) -> exp.Select:
    """``SELECT <line> AS line, <extra>... FROM (<select>) AS q``: one text column per row (and
    what the caller needs beside it, named by the caller), the query's own rows unchanged."""
    inner = exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier("q")))
    return exp.Select().select(exp.alias_(line, "line"), *extra).from_(inner)


def line_expression(
    mode: Mode, columns: Sequence[ResultColumn], options: EncodeOptions, *, framed: bool = False
) -> exp.Expression:
    """The VARCHAR text of one row in ``mode``, over columns referenced by name (unqualified, so
    it works on a table or on ``(<query>) AS q``). Never NULL.

    ``framed=True`` adds the row's framing in SQL too (a trailing CRLF in the line modes, a
    leading ``,`` in the json arrays): ``Framing.rows`` then copies an Arrow batch's text buffer
    as it is, the fastest path (see ``Framing.rows``)."""
    if mode.whole:
        raise ValueError(f"mode {mode.value} encodes Python rows, not SQL lines")
    refs = [(exp.column(c.name, quoted=True), c.type) for c in columns]
    before: list[exp.Expression] = []
    after: list[exp.Expression] = []
    match mode:
        case Mode.JSON | Mode.JSON_SIMPLE:
            pairs = [
                part
                for c, (ref, t) in zip(columns, refs, strict=True)
                for part in (lit(c.name), _json_value(ref, t, options))
            ]
            text = call("json_object", *pairs)
        case Mode.JSON_COMPACT | Mode.JSON_SIMPLE_COMPACT:
            text = call("json_array", *(_json_value(ref, t, options) for ref, t in refs))
            if mode is Mode.JSON_SIMPLE_COMPACT:
                before, after = [lit('{"d":')], [lit("}")]
        case Mode.CSV:
            cells = [_csv_cell(ref, t, options) for ref, t in refs]
            if len(cells) == 1:
                only = exp.EQ(this=cells[0], expression=lit(""))
                cells = [exp.Case().when(only, lit('""')).else_(cells[0])]
            text = call("concat_ws", lit(","), *cells)
        case _:
            text = call("concat_ws", lit("\t"), *(_tsv_cell(ref, t, options) for ref, t in refs))
    if framed and mode in ARRAY_MODES:
        before.insert(0, lit(","))
    elif framed:
        after.append(lit(CRLF))
    if before or after:
        # One concat() of all the parts: each `||` would copy the whole line again.
        text = call("concat", *before, text, *after)
    return cast(text, "VARCHAR")


def _concat(*parts: exp.Expression) -> exp.Expression:
    result = parts[0]
    for part in parts[1:]:
        result = exp.DPipe(this=result, expression=part)
    return result


def _case(condition: exp.Expression, then: exp.Expression) -> exp.Expression:
    return exp.Case().when(condition, then)


def _json_value(
    ref: exp.Expression, ltype: LType, options: EncodeOptions, depth: int = 0
) -> exp.Expression:
    """``ref`` as the SQL value whose JSON rendering is Devo's JSON value for ``ltype``."""
    match ltype.kind:
        case Kind.TIMESTAMP:
            return call("epoch_ms", ref)
        case Kind.IP4 if options.ip_as_string:
            return _dotted(ref)
        case Kind.FLOAT8:
            return _case(call("isfinite", ref), ref)
        case Kind.JSON:
            return call("coalesce", try_cast(ref, "JSON"), call("to_json", ref))
        case Kind.ARRAY | Kind.SET:
            # Elements are converted like columns; lists that need nothing stay as they are.
            name = f"x{depth}"
            param = exp.column(name)
            element = _json_value(param, _elem(ltype), options, depth + 1)
            if element is param:
                return ref
            lam = exp.Lambda(this=element, expressions=[exp.to_identifier(name)])
            return call("list_transform", ref, lam)
    return ref


def _elem(ltype: LType) -> LType:
    return ltype.element or ANY


def _dotted(ref: exp.Expression) -> exp.Expression:
    def octet(divisor: int) -> exp.Expression:
        value = exp.IntDiv(this=ref, expression=lit(divisor)) if divisor > 1 else ref
        return cast(exp.Mod(this=exp.Paren(this=value), expression=lit(256)), "VARCHAR")

    # One concat() is faster than a chain of `||`, but it reads NULL as "", hence the CASE.
    dot = lit(".")
    text = call("concat", octet(16_777_216), dot, octet(65_536), dot, octet(256), dot, octet(1))
    return _case(exp.Not(this=exp.Is(this=ref, expression=exp.Null())), text)


def _text_value(ref: exp.Expression, ltype: LType, options: EncodeOptions) -> exp.Expression:
    """``ref`` as csv/tsv cell text (NULL stays NULL)."""
    match ltype.kind:
        case Kind.TIMESTAMP:
            return _timestamp_text(ref, options)
        case Kind.IP4 if options.ip_as_string:
            return _dotted(ref)
        case Kind.FLOAT8:
            return _case(call("isfinite", ref), cast(ref, "VARCHAR"))
        case Kind.STR | Kind.JSON:
            return ref
        case Kind.ARRAY | Kind.SET | Kind.MAP | Kind.TUPLE:
            return cast(call("to_json", _json_value(ref, ltype, options)), "VARCHAR")
    return cast(ref, "VARCHAR")


def _free_text(ltype: LType) -> bool:
    """Can a cell of this type contain separators, quotes or line breaks?"""
    fixed = (Kind.TIMESTAMP, Kind.INT4, Kind.INT8, Kind.FLOAT8, Kind.BOOL, Kind.IP4, Kind.DURATION)
    return ltype.kind not in fixed


def _csv_cell(ref: exp.Expression, ltype: LType, options: EncodeOptions) -> exp.Expression:
    text = _text_value(ref, ltype, options)
    if _free_text(ltype):
        quoted = _concat(lit('"'), call("replace", text, lit('"'), lit('""')), lit('"'))
        special = call("regexp_matches", text, lit('[,"\r\n]'))
        text = exp.Case().when(special, quoted).else_(text)
    return call("coalesce", text, lit(""))


def _tsv_cell(ref: exp.Expression, ltype: LType, options: EncodeOptions) -> exp.Expression:
    text = _text_value(ref, ltype, options)
    if _free_text(ltype):
        text = call("translate", text, lit("\t\r\n"), lit("   "))
    return call("coalesce", text, lit(""))


def _zone(tz: dt.tzinfo) -> int | str:
    """A fixed offset in seconds (0 for UTC), or an IANA name for DuckDB's ICU."""
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


def _timestamp_text(ref: exp.Expression, options: EncodeOptions) -> exp.Expression:
    zone = _zone(options.tz)
    local: exp.Expression
    if isinstance(zone, int):
        local = exp.Add(this=ref, expression=call("to_seconds", lit(zone))) if zone else ref
    else:
        # timezone(z, TIMESTAMPTZ) gives the wall clock in z whatever the session's TimeZone is.
        local = call("timezone", lit(zone), call("timezone", lit("UTC"), ref))
    if options.date_format != "iso":
        return call("strftime", local, lit("%Y-%m-%d %H:%M:%S.%g"))
    text = call("strftime", local, lit("%Y-%m-%dT%H:%M:%S.%g"))
    if isinstance(zone, int):
        return _concat(text, lit(_offset_text(zone)))
    # The offset of an IANA zone varies by row: wall clock minus UTC, printed as a clock time.
    offset = exp.Sub(this=call("epoch_ms", local), expression=call("epoch_ms", ref))
    sign = exp.Case().when(exp.LT(this=offset, expression=lit(0)), lit("-")).else_(lit("+"))
    clock = call("strftime", call("epoch_ms", call("abs", offset)), lit("%H:%M"))
    return _concat(text, sign, clock)
