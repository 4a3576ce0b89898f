"""Result values as the search page shows them: text, with dates in the page's time zone.

One formatting for the results table, the field panel and the live tail, so a value reads the
same wherever it appears. None stays None: the page shows a null, not an empty string.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from ..linq.ir import ResultColumn
from ..linq.types import Kind, ip4_dotted

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
