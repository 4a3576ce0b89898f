"""The two whole-document modes, packed from Python rows: ``msgpack`` (the json document as
MessagePack, packed as it is sent) and ``xls`` (an XLSX workbook)."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from ..linq.ir import ResultColumn
from ..linq.types import ANY, Kind, LType, ip4_dotted
from .modes import EncodeOptions

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_MS = dt.timedelta(milliseconds=1)
# Excel's last row; xlsxwriter ignores writes past it, so the writer stops there.
_XLS_MAX_ROWS = 1_048_576
# Integers past 2**53 lose digits as Excel numbers; such cells are written as text.
_XLS_EXACT_INT = 2**53


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


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
    if isinstance(value, bytes):
        # bytes (and dc sketches, packed) as the line modes send them: base64 text.
        return base64.b64encode(value).decode("ascii")
    if ltype.kind is Kind.MAP and isinstance(value, (list, dict)):
        return map_object(value, ltype, options)
    if isinstance(value, (list, tuple)) and ltype.is_collection:
        return [json_value(v, (ltype.element or ANY), options) for v in value]
    if isinstance(value, dt.datetime):
        return _epoch_ms(value)
    if isinstance(value, dt.timedelta):
        return value // _ONE_MS
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value)
    if ltype.kind is Kind.IP4 and isinstance(value, int) and options.ip_as_string:
        return ip4_dotted(value)
    if ltype.kind is Kind.JSON and isinstance(value, str):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def map_object(value: list[Any] | dict[Any, Any], ltype: LType, options: EncodeOptions) -> Any:
    """A map (or bag) as a JSON object, as the line modes write it (``query/lines.py``): each
    key as its text, a timestamp's as its epoch ms. Arrow gives a map as (key, value) pairs."""
    pairs = value.items() if isinstance(value, dict) else value
    out: dict[str, Any] = {}
    for key, item in pairs:
        plain = json_value(key, ltype.key or ANY, options)
        if isinstance(plain, bool):
            text = "true" if plain else "false"
        else:
            text = plain if isinstance(plain, str) else str(plain)
        out[text] = json_value(item, ltype.element or ANY, options)
    return out


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
    a number or, with ``ipAsString``, dotted text; arrays are JSON text; bytes base64 text."""
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
    elif isinstance(value, bytes):
        sheet.write_string(row, col, json_value(value, ltype, options))
    else:
        sheet.write_string(row, col, str(value))
