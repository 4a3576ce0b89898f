"""Response modes of ``POST /search/query`` (see docs/devo-compatibility.md).

Speed comes from DuckDB, not Python: ``line_expression`` builds ONE sqlglot projection turning a
row into its line text, so the server runs ``SELECT <line> AS line FROM (<query>) AS q`` and
only glues the Arrow ``line`` column with the bytes of a ``Framing`` (head, separators, tail,
keep-alives, in-band errors). ``msgpack`` and ``xls`` are whole documents from Python rows.

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

import csv
import datetime as dt
import io
import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from ..errors import ValidationError
from ..linq.functions.base import call, cast, lit, try_cast
from ..linq.ir import ResultColumn
from ..linq.types import ANY, Kind, LType

CRLF = "\r\n"
JSON_KEEP_ALIVE = b"    "
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_MS = dt.timedelta(milliseconds=1)
_MESSAGE_JUNK = re.compile(r"[\x00-\x1f\x7f]+")
_DATE_FORMATS = ("default", "sql", "iso")
# Excel's last row; xlsxwriter ignores writes past it, so the writer stops there.
_XLS_MAX_ROWS = 1_048_576
# Integers past 2**53 lose digits as Excel numbers; such cells are written as text.
_XLS_EXACT_INT = 2**53


class Mode(Enum):
    JSON = "json"
    JSON_COMPACT = "json/compact"
    JSON_SIMPLE = "json/simple"
    JSON_SIMPLE_COMPACT = "json/simple/compact"
    CSV = "csv"
    TSV = "tsv"
    MSGPACK = "msgpack"
    XLS = "xls"

    @property
    def streamed(self) -> bool:
        return self in (Mode.JSON_SIMPLE, Mode.JSON_SIMPLE_COMPACT, Mode.CSV, Mode.TSV)

    @property
    def is_json(self) -> bool:
        return self.value.startswith("json")

    @property
    def whole(self) -> bool:
        """Encoded from Python rows in one piece, not as lines (msgpack, xls)."""
        return self in (Mode.MSGPACK, Mode.XLS)

    @property
    def content_type(self) -> str:
        # An explicit charset everywhere: without one, requests (devo-sdk's HTTP library)
        # decodes text/* as ISO-8859-1 and guesses the encoding of other types.
        match self:
            case Mode.JSON | Mode.JSON_COMPACT:
                return "application/json; charset=utf-8"
            case Mode.JSON_SIMPLE | Mode.JSON_SIMPLE_COMPACT:
                return "application/x-ndjson; charset=utf-8"
            case Mode.CSV:
                return "text/csv; charset=utf-8"
            case Mode.TSV:
                return "text/tab-separated-values; charset=utf-8"
            case Mode.MSGPACK:
                return "application/x-msgpack"
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# The two modes whose rows are elements of one JSON array: "," goes between rows.
_ARRAY_MODES = (Mode.JSON, Mode.JSON_COMPACT)


def parse_mode(value: object) -> Mode:
    """``body["mode"]``: absent, null or ``{}`` is json; ``{"type": "<mode>"}``; a bare
    ``"<mode>"`` string is accepted too. Names are matched case-insensitively."""
    kind = value.get("type") if isinstance(value, dict) else value
    if kind is None:
        return Mode.JSON
    if isinstance(kind, str):
        try:
            return Mode(kind.strip().lower())
        except ValueError:
            pass
    names = ", ".join(m.value for m in Mode)
    raise ValidationError(f"Unsupported mode {kind!r}; expected one of {names}", field="mode")


@dataclass(frozen=True)
class KeepAlive:
    """What a csv/tsv response sends while a query is silent."""

    kind: str  # "token" or "empty"
    token: str = "\n"


def parse_keep_alive(value: object) -> KeepAlive | None:
    """``body["keepAlive"]``: absent/null → None; ``{"type":"token"}`` (token ``\\n``),
    ``{"type":"token","token":"<s>"}`` or ``{"type":"empty"}``."""
    if value is None:
        return None
    if isinstance(value, dict):
        kind = value.get("type")
        if kind == "empty":
            return KeepAlive("empty")
        if kind == "token":
            token = value.get("token", "\n")
            # An empty token would send nothing, which is no keep-alive at all.
            if isinstance(token, str) and token:
                return KeepAlive("token", token)
            raise ValidationError("`keepAlive.token` must be a non-empty string", field="keepAlive")
    raise ValidationError(
        '`keepAlive` must be {"type":"token"}, {"type":"token","token":"<s>"} or {"type":"empty"}',
        field="keepAlive",
    )


@dataclass(frozen=True)
class EncodeOptions:
    ip_as_string: bool = False
    tz: dt.tzinfo = dt.UTC
    date_format: str = "default"  # "default"/"sql": yyyy-MM-dd HH:mm:ss.SSS; "iso": ISO 8601
    keep_alive: KeepAlive | None = None

    def __post_init__(self) -> None:
        if self.date_format not in _DATE_FORMATS:
            raise ValidationError("`dateFormat` must be default, sql or iso", field="dateFormat")


# --- per-row text in SQL ------------------------------------------------------------------------


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
    if framed and mode in _ARRAY_MODES:
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


# --- framing ------------------------------------------------------------------------------------


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _metadata(columns: Sequence[ResultColumn]) -> str:
    """``"m":{...},"metadata":[...]`` of json/compact and json/simple/compact, in column order."""
    m = {c.name: {"type": c.type.name, "index": i} for i, c in enumerate(columns)}
    listed = [{"name": c.name, "type": c.type.name} for c in columns]
    return f'"m":{_dumps(m)},"metadata":{_dumps(listed)}'


def _header(mode: Mode, columns: Sequence[ResultColumn]) -> str:
    names = [c.name for c in columns]
    if mode is Mode.TSV:
        return "\t".join(n.translate({9: 32, 10: 32, 13: 32}) for n in names) + CRLF
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=CRLF).writerow(names)
    return buffer.getvalue()


def _clean_message(message: str, mode: Mode) -> str:
    """A message devo-sdk's in-band regexes capture whole: no ``"`` in any mode, no line breaks
    or tabs, no ``,`` in csv; never empty (the regexes need one character)."""
    text = _MESSAGE_JUNK.sub(" ", str(message).replace('"', "'"))
    if mode is Mode.CSV:
        text = text.replace(",", ";")
    return text.strip() or "Error"


def _framed(first_line: str, mode: Mode) -> bool:
    """Whether lines came from ``line_expression(..., framed=True)``. Unambiguous: an unframed
    json line starts with ``{`` or ``[``, and no unframed line ends with CRLF (csv quotes a
    trailing line break, tsv and JSON escape or replace it)."""
    return first_line.startswith(",") if mode in _ARRAY_MODES else first_line.endswith(CRLF)


class Framing:
    """The bytes around the lines of one response. One per request: it remembers whether a
    row was written (the json arrays need a separator from the second row on) and whether a
    keep-alive left the current line open."""

    def __init__(
        self,
        mode: Mode,
        columns: Sequence[ResultColumn],
        options: EncodeOptions,
        *,
        cid: str,
        timestamp_ms: int,
    ) -> None:
        if mode.whole:
            raise ValueError(f"mode {mode.value} is not framed; use encode_{mode.name.lower()}")
        self.mode = mode
        self.columns = tuple(columns)
        self.options = options
        self.separator = b"," if mode in _ARRAY_MODES else CRLF.encode()
        envelope = f'{{"msg":"","status":0,"timestamp":{int(timestamp_ms)},"cid":{_dumps(cid)},'
        match mode:
            case Mode.JSON:
                head = envelope + '"object":['
            case Mode.JSON_COMPACT:
                head = envelope + '"object":{' + _metadata(columns) + ',"d":['
            case Mode.JSON_SIMPLE_COMPACT:
                head = "{" + _metadata(columns) + "}" + CRLF
            case Mode.JSON_SIMPLE:
                head = ""
            case _:
                head = _header(mode, columns)
        self._head = head.encode()
        self._wrote_rows = False
        self._open_line = False
        self._closed = False

    def head(self) -> bytes:
        return self._head

    def rows(self, lines: Sequence[str] | pa.Array | pa.ChunkedArray, first: bool = False) -> bytes:
        """One batch of lines as bytes, separators included.

        ``lines`` may be a list of texts or, much faster, the Arrow ``line`` column itself: its
        text buffer is copied in one piece (no Python string per row). Lines may be plain
        (``line_expression``) or framed (``framed=True``); either is detected from the first
        line. ``first`` is accepted for symmetry only: the framing counts the rows it wrote, so
        an empty batch can never produce ``[,``."""
        if self._closed:
            return b""
        if isinstance(lines, pa.ChunkedArray):
            data = b"".join(self.rows(chunk) for chunk in lines.chunks)
        elif isinstance(lines, pa.Array):
            data = self._arrow_rows(lines)
        else:
            data = self._text_rows(lines)
        if data:
            self._wrote_rows = True
            self._open_line = False
        return data

    def _text_rows(self, lines: Sequence[str]) -> bytes:
        if not lines:
            return b""
        if _framed(lines[0], self.mode):
            text = "".join(lines)
            return (
                text if self._wrote_rows or self.mode not in _ARRAY_MODES else text[1:]
            ).encode()
        if self.mode in _ARRAY_MODES:
            return (("," if self._wrote_rows else "") + ",".join(lines)).encode()
        return (CRLF.join(lines) + CRLF).encode()

    def _arrow_rows(self, array: pa.Array) -> bytes:
        if len(array) == 0:
            return b""
        array = _string_lines(array)
        if not _framed(array[0].as_py(), self.mode):
            # Vectorised in Arrow: "," + line for the json arrays, line + CRLF otherwise.
            if self.mode in _ARRAY_MODES:
                array = pc.binary_join_element_wise("", array, ",")
            else:
                array = pc.binary_join_element_wise(array, "", CRLF)
        skip = 1 if self.mode in _ARRAY_MODES and not self._wrote_rows else 0
        # the very first element of the array takes no comma
        return _text_buffer(array, skip)

    def framed(self, data: bytes) -> bytes:
        """Bytes of framed lines made by ``framed_bytes`` (in another thread): the same bytes
        ``rows`` gives for those lines."""
        if self._closed or not data:
            return b""
        if self.mode in _ARRAY_MODES and not self._wrote_rows:
            data = data[1:]
        self._wrote_rows = True
        self._open_line = False
        return data

    def tail(self) -> bytes:
        if self._closed:
            return b""
        self._closed = True
        return {Mode.JSON: b"]}", Mode.JSON_COMPACT: b"]}}"}.get(self.mode, b"")

    def error(self, code: int, message: str, rows_written: bool = False) -> bytes:
        """The in-band error devo-sdk detects for this mode; it ends the response.

        ``rows_written`` is accepted for the caller's convenience; the framing knows what it
        wrote. In the line modes the error starts a fresh line when a keep-alive left one open,
        so the error line is never prefixed by spaces or a token."""
        if self._closed:
            return b""
        self._closed = True
        number = int(code) if int(code) >= 0 else 500
        text = _clean_message(message, self.mode)
        quoted = _dumps(text)
        match self.mode:
            case Mode.JSON:
                return f'],"error": [{number},{quoted}]}}'.encode()
            case Mode.JSON_COMPACT:
                return f'],"e": [{number},{quoted}]}}}}'.encode()
            case Mode.JSON_SIMPLE_COMPACT:
                line = f'{{"e":[{number},{quoted}]}}'
            case Mode.JSON_SIMPLE:
                line = f'["error",{number},{quoted}]'
            case Mode.CSV:
                line = f"devo.api.error,{number},{text}"
            case _:
                line = f"devo.api.error\t{number}\t{text}"
        return ((CRLF if self._open_line else "") + line + CRLF).encode()

    def keep_alive(self) -> bytes:
        """Bytes to send while the query is silent; b"" means send nothing."""
        if self._closed:
            return b""
        keep = self.options.keep_alive
        if self.mode.is_json:
            data = JSON_KEEP_ALIVE
        elif keep is None:
            data = b""
        elif keep.kind == "token":
            data = keep.token.encode()
        else:
            sep = "," if self.mode is Mode.CSV else "\t"
            data = (sep * (len(self.columns) - 1) + "\n").encode()
        if data and not data.endswith(b"\n"):
            self._open_line = True
        return data


def framed_bytes(batch: pa.RecordBatch) -> bytes:
    """The text of a batch whose one column holds framed lines (``line_expression(...,
    framed=True)``), its Arrow text buffer copied in one piece; ``Framing.framed`` sends it.
    Needs no ``Framing``, so the query's own thread can run it."""
    if batch.num_rows == 0:
        return b""
    return _text_buffer(_string_lines(batch.column(0)), 0)


def _string_lines(array: pa.Array) -> pa.Array:
    if array.null_count:
        raise ValueError("the line column must not contain nulls")
    if not pa.types.is_string(array.type):  # large_string, string_view: one batch fits
        array = array.cast(pa.string())
    return array


def _text_buffer(array: pa.Array, skip: int) -> bytes:
    offsets = memoryview(array.buffers()[1]).cast("B").cast("i")
    start = offsets[array.offset] + skip
    end = offsets[array.offset + len(array)]
    data: bytes = array.buffers()[2][start:end].to_pybytes()
    return data


# --- whole documents: msgpack and xls -------------------------------------------------------------


def _ip_text(value: int) -> str:
    return ".".join(str((value >> shift) & 255) for shift in (24, 16, 8, 0))


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _epoch_ms(value: dt.datetime) -> int:
    return (_aware(value) - _EPOCH) // _ONE_MS


def _stamp_text(value: dt.datetime, options: EncodeOptions) -> str:
    local = _aware(value).astimezone(options.tz)
    if options.date_format == "iso":
        return local.isoformat(timespec="milliseconds")
    return local.strftime("%Y-%m-%d %H:%M:%S.") + f"{local.microsecond // 1000:03d}"


def json_value(value: Any, ltype: LType, options: EncodeOptions) -> Any:
    """A Python row value as the JSON modes send it (the reference for msgpack and tests)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and ltype.is_collection:
        return [json_value(v, _elem(ltype), options) for v in value]
    if isinstance(value, dt.datetime):
        return _epoch_ms(value)
    if isinstance(value, dt.timedelta):
        return value // _ONE_MS
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value)
    if ltype.kind is Kind.IP4 and isinstance(value, int) and options.ip_as_string:
        return _ip_text(value)
    if ltype.kind is Kind.JSON and isinstance(value, str):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def encode_msgpack(
    columns: Sequence[ResultColumn],
    rows: Iterable[tuple[Any, ...]],
    options: EncodeOptions,
    *,
    cid: str,
    timestamp_ms: int,
) -> bytes:
    """The json document as MessagePack: the envelope with ``object`` a list of row maps."""
    listed = list(rows)
    parts = msgpack_parts(
        columns, [listed], len(listed), options, cid=cid, timestamp_ms=timestamp_ms
    )
    return b"".join(parts)


def msgpack_parts(
    columns: Sequence[ResultColumn],
    row_groups: Iterable[Iterable[tuple[Any, ...]]],
    count: int,
    options: EncodeOptions,
    *,
    cid: str,
    timestamp_ms: int,
) -> Iterator[bytes]:
    """``encode_msgpack``'s bytes in pieces, one per group of rows: a map is its header then its
    pairs, so the document is packed as it is sent and never held whole (``count`` rows in all,
    for the array header)."""
    # Imported here: only the two rare whole-document modes need msgpack/xlsxwriter.
    import msgpack

    packer = msgpack.Packer(use_bin_type=True, autoreset=True)
    names = [c.name for c in columns]
    types = [c.type for c in columns]
    # "status" goes last so the body ends in 0x00: devo-sdk's default processor strip()s the
    # bytes, which would eat a final 0x09-0x0d or 0x20 (a last cell of 9..13 or 32).
    head = [packer.pack_map_header(5)]
    for key, value in (("msg", ""), ("timestamp", timestamp_ms), ("cid", cid)):
        head += [packer.pack(key), packer.pack(value)]
    head += [packer.pack("object"), packer.pack_array_header(count)]
    yield b"".join(head)
    for group in row_groups:
        yield b"".join(
            packer.pack(
                {n: json_value(v, t, options) for n, t, v in zip(names, types, row, strict=True)}
            )
            for row in group
        )
    yield packer.pack("status") + packer.pack(0)


def encode_xls(
    columns: Sequence[ResultColumn], rows: Iterable[tuple[Any, ...]], options: EncodeOptions
) -> bytes:
    """An XLSX workbook: one sheet, a header row, then the rows (at most Excel's limit).

    Timestamps are Excel date-times on the ``timeZone`` wall clock shown as
    ``yyyy-mm-dd hh:mm:ss.000`` (text with ``dateFormat`` iso, which Excel cannot hold); ip4 is
    a number or, with ``ipAsString``, dotted text; arrays are JSON text."""
    import xlsxwriter

    buffer = io.BytesIO()
    # in_memory: no temporary files on the server. Cells are written with typed write_*()
    # calls, so text is never read as a number, a formula (injection) or a link.
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss.000"})
    bold = book.add_format({"bold": True})
    for index, column in enumerate(columns):
        sheet.write_string(0, index, column.name, bold)
        if column.type.kind is Kind.TIMESTAMP:
            sheet.set_column(index, index, 23)
    for number, row in enumerate(rows, start=1):
        if number >= _XLS_MAX_ROWS:
            break
        for index, (value, column) in enumerate(zip(row, columns, strict=True)):
            _write_cell(sheet, number, index, value, column.type, options, stamp)
    book.close()
    return buffer.getvalue()


def _write_cell(
    sheet: Any, row: int, col: int, value: Any, ltype: LType, options: EncodeOptions, stamp: Any
) -> None:
    if value is None:
        return
    if isinstance(value, dt.datetime):
        local = _aware(value).astimezone(options.tz)
        if options.date_format == "iso" or local.year < 1900:
            sheet.write_string(row, col, _stamp_text(value, options))
        else:
            sheet.write_datetime(row, col, local.replace(tzinfo=None), stamp)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, (int, float, Decimal, dt.timedelta)):
        number = json_value(value, ltype, options)
        if isinstance(number, str):
            sheet.write_string(row, col, number)
        elif isinstance(number, int) and abs(number) >= _XLS_EXACT_INT:
            sheet.write_string(row, col, str(number))
        elif number is not None:
            sheet.write_number(row, col, number)
    elif isinstance(value, (list, tuple, dict)):
        sheet.write_string(row, col, _dumps(json_value(value, ltype, options)))
    else:
        sheet.write_string(row, col, str(value))
