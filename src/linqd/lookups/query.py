"""The query of a lookup: checked when it is deployed, run at each of its runs.

The query runs confined to the creating domain (the domain filter every Query API call gets)
over the run's time range (``schedule.py``). Its result columns become the lookup's columns,
narrowed by ``columnFilter`` when the advanced mode sends one. A result column ``eventdate``
is the rows' eventdate (every lookup row has one) rather than a column of its own; ``client``
and ``_seq`` are reserved. Columns must be of a type a lookup can hold (``columns.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from ..arrow_types import arrow_type
from ..errors import QueryLimitError, ValidationError
from ..linq import Bounds, CompiledQuery, compile_linq
from ..linq.analyzer import SchemaLookup
from ..store.base import EventStore
from .columns import rest_name, storable
from .limits import LookupLimits
from .recipe import ColumnDef, Contribution, Recipe
from .schedule import Run

DEFAULT_REFRESH_MS = 300_000
EVENTDATE = "eventdate"
RESERVED = frozenset({"client", "_seq"})
BATCH_ROWS = 65_536


@dataclass(frozen=True)
class QueryShape:
    """What a lookup's query gives: its columns, whether it carries eventdates, and the
    refresh period it implies (its ``group every`` period, else 5 minutes)."""

    columns: tuple[ColumnDef, ...]
    eventdates: bool
    refresh_ms: int


def shape(compiled: CompiledQuery, recipe: Recipe) -> QueryShape:
    """The lookup ``recipe``'s query would make; ``ValidationError`` (400) when it cannot make
    one (a key or action column it does not select, a column no lookup can hold)."""
    result = {c.name: c.type for c in compiled.columns}
    wanted = list(recipe.column_filter) or list(result)
    missing = [name for name in wanted if name not in result]
    if missing:
        raise ValidationError(
            f"`columnFilter` names columns the query does not select: {', '.join(missing)}",
            field="columnFilter",
        )
    columns: list[ColumnDef] = []
    for name in wanted:
        if name == EVENTDATE:
            continue
        if name.lower() in RESERVED:
            raise ValidationError(
                f"The query's column `{name}` has a reserved name: rename it with `as`",
                field="query",
            )
        if not storable(result[name]):
            raise ValidationError(
                f"The query's column `{name}` is of type {result[name]}, which a lookup cannot "
                "hold: convert it (str(...), for example)",
                field="query",
            )
        columns.append(ColumnDef(name, result[name]))
    if not columns:
        raise ValidationError("The query selects no column for the lookup", field="query")
    names = {c.name for c in columns}
    key = recipe.key_column or columns[0].name
    if key not in names:
        raise ValidationError(
            f"The key column `{key}` is not a column of the query's result", field="key.column"
        )
    if recipe.contribution is Contribution.COL and recipe.action_column not in names:
        raise ValidationError(
            f"The action column `{recipe.action_column}` is not a column of the query's result",
            field="contribution.name",
        )
    grouping = compiled.plan.stage.grouping
    period = grouping.period_ms if grouping is not None else None
    return QueryShape(
        tuple(columns),
        EVENTDATE in wanted,
        period or compiled.plan.client_period_ms or DEFAULT_REFRESH_MS,
    )


def check(
    store: EventStore, schemas: SchemaLookup, recipe: Recipe, domain: str, now_ms: int
) -> tuple[CompiledQuery, QueryShape]:
    """Compile the query as the deploying caller sees the tables (``schemas``, within its
    token's scope): LINQ errors answer as the Query API's do."""
    assert recipe.query is not None
    compiled = compile_linq(
        recipe.query,
        schemas,
        now_ms=now_ms,
        bounds=Bounds(0, now_ms + 1, domain),
        engine=store.engine,
    )
    return compiled, shape(compiled, recipe)


def run(
    store: EventStore, domain: str, recipe: Recipe, at: Run, limits: LookupLimits
) -> tuple[pa.Table, tuple[ColumnDef, ...], pa.Array | None]:
    """The query's rows for the run ``at``: a table of the lookup's columns (of their Arrow
    types) and the rows' eventdates if the query has them."""
    assert recipe.query is not None
    compiled = compile_linq(
        recipe.query,
        store.schemas_for(domain),
        now_ms=at.slot_ms,
        bounds=Bounds(at.from_ms, at.to_ms, domain),
        engine=store.engine,
    )
    found = shape(compiled, recipe)
    cursor = store.stream(compiled.expression, batch_rows=BATCH_ROWS)
    batches: list[pa.RecordBatch] = []
    count = 0
    for batch in cursor:
        count += batch.num_rows
        if count > limits.max_rows:
            cursor.cancel()
            raise QueryLimitError(f"The query gives more than {limits.max_rows} rows")
        batches.append(batch)
    result = pa.Table.from_batches(batches, schema=cursor.schema)
    arrays = [result.column(c.name).cast(arrow_type(c.type), safe=False) for c in found.columns]
    table = pa.table(arrays, names=[c.name for c in found.columns])
    stamps = result.column(EVENTDATE).combine_chunks() if found.eventdates else None
    return table, found.columns, stamps


def described(columns: tuple[ColumnDef, ...]) -> list[dict[str, str]]:
    return [{"name": c.name, "type": rest_name(c.type)} for c in columns]
