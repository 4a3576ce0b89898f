"""Run a LINQ query over the event store: compile with the caller's range and domain, apply the
request's limit/offset, and hand back the typed columns and a stream of Arrow batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
from sqlglot import exp

from ..linq import Bounds, CompiledQuery, compile_linq
from ..linq.ir import ResultColumn
from ..store.base import EventStore
from .dates import TimeRange

BATCH_ROWS = 65_536


@dataclass(frozen=True)
class QueryResult:
    compiled: CompiledQuery
    batches: Iterator[pa.RecordBatch]
    schema: pa.Schema

    @property
    def columns(self) -> tuple[ResultColumn, ...]:
        return self.compiled.columns

    def to_table(self) -> pa.Table:
        return pa.Table.from_batches(list(self.batches), schema=self.schema)


def with_paging(select: exp.Select, limit: int | None, offset: int | None) -> exp.Select:
    """Apply a request's limit/offset on top of whatever the LINQ text already limits."""
    if limit is None and not offset:
        return select
    if select.args.get("limit") is not None or select.args.get("offset") is not None:
        names = [exp.column(e.alias_or_name, quoted=True) for e in select.expressions]
        outer = exp.Select().select(*names).from_(exp.Subquery(this=select, alias="_paged"))
        select = outer
    else:
        select = select.copy()
    if limit is not None:
        select = select.limit(limit)
    if offset:
        select = select.offset(offset)
    return select


def compile_for(
    store: EventStore, text: str, *, time_range: TimeRange, client: str, now_ms: int
) -> CompiledQuery:
    bounds = Bounds(time_range.from_ms, time_range.to_ms, client)
    return compile_linq(
        text, store.schemas_for(client), now_ms=now_ms, bounds=bounds, engine=store.engine
    )


def run_query(
    store: EventStore,
    text: str,
    *,
    time_range: TimeRange,
    client: str,
    now_ms: int,
    limit: int | None = None,
    offset: int | None = None,
) -> QueryResult:
    compiled = compile_for(store, text, time_range=time_range, client=client, now_ms=now_ms)
    select = with_paging(compiled.expression, limit, offset)
    cursor = store.stream(select, batch_rows=BATCH_ROWS)
    return QueryResult(compiled, iter(cursor), cursor.schema)
