"""What the suites need to run on every store: the store specs a fixture parameter takes, and
hand-written SQL (written in DuckDB's dialect, as the assertions always were) run on whichever
store a test has, translated by sqlglot and run through the store seam."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlglot
from sqlglot import exp

from linqd.store.base import EventStore

# The ids of the fixture parameter and the --store spec of each.
STORES = {"duckdb": "duckdb", "clickhouse": "chdb:events"}


def rows(store: EventStore, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` (DuckDB's dialect; ``?`` parameters bound in order) on ``store``,
    with values as DuckDB gives them (naive UTC datetimes)."""
    query = sqlglot.parse_one(sql, read="duckdb")
    values = iter(params)

    def bind(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.this is None:
            value = next(values)
            if value is None:
                return exp.Null()
            if isinstance(value, str):
                return exp.Literal.string(value)
            return exp.Literal.number(value)
        return node

    query = query.transform(bind)
    if store.engine == "clickhouse":
        query = query.transform(_clickhouse_spelling)
    return [tuple(_as_duckdb(v) for v in row) for row in store.fetch(query)]


def _clickhouse_spelling(node: exp.Expression) -> exp.Expression:
    # DuckDB's epoch_ms(<timestamp column>) is a number: sqlglot reads every epoch_ms as the
    # other way round (number to timestamp).
    if isinstance(node, exp.UnixToTime) and isinstance(node.this, exp.Column):
        return exp.Anonymous(this="toUnixTimestamp64Milli", expressions=[node.this])
    return node


def _as_duckdb(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value
