"""How the console writes values for people: dates in the user's time zone, and values (which
may be anything a sender wrote) as plain text. One formatting for the results table, the field
panel, the live tail, the firings and the alerts, so a value reads the same wherever it appears.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from markupsafe import Markup, escape

from ..linq.ir import ResultColumn
from ..linq.types import Kind, ip4_dotted
from ..query.documents import map_object
from ..query.modes import EncodeOptions

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def local_time(ms: int, zone: dt.tzinfo) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in ``zone``: the form the From and To fields take."""
    return (_EPOCH + dt.timedelta(milliseconds=ms)).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def cell_text(value: Any, column: ResultColumn, zone: dt.tzinfo) -> str | None:
    if value is None:
        return None
    if column.type.kind is Kind.TIMESTAMP and isinstance(value, int):
        value = _EPOCH + dt.timedelta(milliseconds=value)
    if isinstance(value, dt.datetime):
        # Engines hand back naive UTC instants; an aware one is converted all the same.
        moment = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        local = moment.astimezone(zone)
        return local.strftime("%Y-%m-%d %H:%M:%S.") + f"{local.microsecond // 1000:03d}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if column.type.kind is Kind.IP4 and isinstance(value, int):
        return ip4_dotted(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if column.type.kind is Kind.MAP and isinstance(value, (list, dict)):
        # Arrow's (key, value) pairs, shown as the JSON object the API sends.
        value = map_object(value, column.type, EncodeOptions(ip_as_string=True))
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def filterable(column: ResultColumn) -> bool:
    """Whether a click on a value of ``column`` may add ``where column = "value"``."""
    return column.type.kind is Kind.STR


def table_rows(
    batches: Iterable[pa.RecordBatch], columns: Sequence[ResultColumn], zone: dt.tzinfo
) -> list[list[str | None]]:
    """Every row of ``batches`` as the texts of its cells, in the order of ``columns``."""
    rows: list[list[str | None]] = []
    for batch in batches:
        values = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        for row in zip(*values, strict=True):
            rows.append([cell_text(v, c, zone) for v, c in zip(row, columns, strict=True)])
    return rows


MIN_WIDTH_CH = 6
MAX_WIDTH_CH = 60


def rows_html(rows: Iterable[Sequence[str | None]]) -> Markup:
    """The rows of the results table, escaped, as one piece of markup.

    Built here rather than by a template loop: a page is some 12,000 cells, which took the
    template about 25 ms. Cells carry no attribute of their own (a click on a value finds its
    column's header), which keeps a page of rows small for the browser to parse.
    """
    out: list[str] = []
    for row in rows:
        out.append('<tr role="row">')
        for cell in row:
            if cell is None:
                out.append('<td role="cell" class="null">null</td>')
            else:
                out.append(f'<td role="cell">{escape(cell)}</td>')
        out.append("</tr>\n")
    return Markup("".join(out))


def column_widths(names: Sequence[str], rows: Sequence[Sequence[str | None]]) -> list[int]:
    """Each column's width in characters: its longest line among ``names`` and ``rows``,
    within ``MIN_WIDTH_CH`` and ``MAX_WIDTH_CH`` (longer values wrap)."""
    widths = [len(name) for name in names]
    for row in rows:
        for i, cell in enumerate(row):
            if cell is not None and len(cell) > widths[i]:
                widths[i] = max(len(line) for line in cell.split("\n"))
    return [min(MAX_WIDTH_CH, max(MIN_WIDTH_CH, width)) for width in widths]


@dataclass(frozen=True)
class LocalTime:
    """Epoch milliseconds as ``YYYY-MM-DD HH:MM:SS`` in one zone (templates call it)."""

    zone: dt.tzinfo

    def __call__(self, ms: int | None) -> str:
        if ms is None or ms <= 0:
            return ""
        text = local_time(ms, self.zone)
        # Milliseconds only when there are some: most firings fall on whole seconds.
        return f"{text}.{ms % 1000:03d}" if ms % 1000 else text

    @property
    def name(self) -> str:
        return str(self.zone)


def value_text(value: Any) -> str:
    """One extraData value as text: ``null`` as the API writes it, structures as JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str)
    return str(value)


def count_text(count: int, one: str, many: str) -> str:
    """``1 time``, ``3 times``: the number then the word that agrees with it."""
    return f"{count} {one if count == 1 else many}"
