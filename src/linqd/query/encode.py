"""Rows → text for people and files: the CLI's ``table``, ``csv`` and ``json`` formats.

Values follow Devo's JSON encoding: timestamps as epoch milliseconds, ip4 as integers unless
``ip_as_string``, bytes as base64 text. The readable table prints timestamps and addresses as text.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pyarrow as pa

from ..linq.ir import ResultColumn
from ..linq.types import Kind, ip4_dotted
from .documents import json_value, map_object
from .modes import EncodeOptions

EPOCH = dt.datetime(1970, 1, 1)


def text_value(value: Any, column: ResultColumn) -> str:
    if value is None:
        return ""
    if column.type.kind is Kind.TIMESTAMP and isinstance(value, int):
        value = EPOCH + dt.timedelta(milliseconds=value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if column.type.kind is Kind.IP4 and isinstance(value, int):
        return ip4_dotted(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if column.type.kind is Kind.MAP and isinstance(value, (list, dict)):
        value = map_object(value, column.type, EncodeOptions())
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)
    return str(value)


def rows_of(batches: Iterable[pa.RecordBatch]) -> Iterator[tuple[Any, ...]]:
    for batch in batches:
        columns = [c.to_pylist() for c in batch.columns]
        yield from zip(*columns, strict=True)


def render_table(columns: Sequence[ResultColumn], rows: Iterable[Sequence[Any]]) -> str:
    """An aligned, readable table (numbers right-aligned)."""
    header = [c.name for c in columns]
    body = [[text_value(v, c) for v, c in zip(row, columns, strict=True)] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(header)]
    numeric = [c.type.is_numeric for c in columns]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(w) if num else cell.ljust(w)
            for cell, w, num in zip(cells, widths, numeric, strict=True)
        ]
        return " | ".join(parts).rstrip()

    out = [line(header), "-+-".join("-" * w for w in widths)]
    out += [line(r) for r in body]
    out.append(f"({len(body)} row{'s' if len(body) != 1 else ''})")
    return "\n".join(out)


def render_csv(columns: Sequence[ResultColumn], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.name for c in columns])
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([text_value(v, c) for v, c in zip(row, columns, strict=True)])
        yield buffer.getvalue()


def render_json_lines(
    columns: Sequence[ResultColumn], rows: Iterable[Sequence[Any]], ip_as_string: bool = False
) -> Iterator[str]:
    """One JSON object per row (Devo's json/simple row shape)."""
    options = EncodeOptions(ip_as_string=ip_as_string)
    for row in rows:
        item = {c.name: json_value(v, c.type, options) for v, c in zip(row, columns, strict=True)}
        yield json.dumps(item, default=str) + "\n"
