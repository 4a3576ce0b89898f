"""Rows of a deployment (a CSV read, or a query's result) turned into one atomic store write.

- Without ``append`` the rows replace the lookup whole, columns included (a full replace may
  change the column set, as the guide's "Full Replace" does).
- ``append`` with ``add``: rows are upserted by key (the legacy INC). Their columns must be
  the lookup's.
- ``append`` with ``del``: the rows' keys are removed; only the key column is read, so a
  deletion that lists a subset of the columns (or other values) is accepted, and keys that are
  not there are no error.
- ``col``: each row's action column says ``add`` or ``del`` (any case; ``delete`` too); the
  action column is an instruction, not stored.

The key column is stored first, whatever its place in the CSV or the query: LINQ's ``lu``
reads a lookup by its first column, as the syslog upload (which sends the key first) always had
it. Within one deployment the last row of a key wins. A row whose key is null (or empty text) is
refused with its row number when the rows come from a CSV, skipped when they come from a query
(a query cannot be corrected row by row). A query's ``eventdate`` column becomes the rows'
eventdate, which every lookup row has anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from ..arrow_types import arrow_type
from ..errors import ValidationError
from ..lookup_tables import LOOKUP_PREFIX, lookup_storage
from ..store.base import EventStore, LookupWrite
from ..store.catalog import Column, TableSchema
from .columns import rest_name
from .recipe import ColumnDef, Contribution, Recipe

ADD_ACTIONS = frozenset({"add"})
DEL_ACTIONS = frozenset({"del", "delete"})


@dataclass(frozen=True)
class Written:
    """What a write did: rows stored and keys deleted."""

    stored: int
    deleted: int


def storage_name(domain: str, name: str) -> str:
    return lookup_storage(LOOKUP_PREFIX + name, domain)


def write_rows(
    store: EventStore,
    domain: str,
    name: str,
    recipe: Recipe,
    table: pa.Table,
    columns: tuple[ColumnDef, ...],
    *,
    lookup_key: str | None,
    strict: bool,
    eventdates: pa.Array | None = None,
) -> Written:
    """Apply ``table`` (of ``columns``) to the lookup as ``recipe`` says. ``lookup_key``: the
    existing lookup's key column (None if it has none yet). Raises ``ValidationError`` for rows
    that cannot be applied and ``StoreError`` if the store fails; either way nothing changed."""
    storage = storage_name(domain, name)
    existing = store.schema(storage)
    key = recipe.key_column or columns[0].name
    actions: pa.Array | None = None
    if recipe.contribution is Contribution.COL:
        assert recipe.action_column is not None
        actions = pc.utf8_lower(pc.cast(table.column(recipe.action_column), pa.string()))
        kept = [c for c in columns if c.name != recipe.action_column]
        table = table.select([c.name for c in kept])
        columns = tuple(kept)
    # LINQ reads a lookup by its first column (``lu``): the key goes first.
    columns = tuple(sorted(columns, key=lambda c: c.name != key))
    table = table.select([c.name for c in columns])
    table, eventdates, actions = _usable_keys(table, key, strict, eventdates, actions)
    if recipe.contribution is Contribution.DEL:
        return _delete(store, domain, storage, existing, table.column(key), lookup_key, key)
    schema = TableSchema(storage, tuple(Column(c.name, c.type) for c in columns))
    deleted: pa.Array | None = None
    if actions is not None:
        known = pc.or_(
            pc.is_in(actions, pa.array(sorted(ADD_ACTIONS))),
            pc.is_in(actions, pa.array(sorted(DEL_ACTIONS))),
        )
        if not pc.all(pc.fill_null(known, False)).as_py():
            index = pc.index(known, False).as_py()
            raise ValidationError(
                f"Row {index + 1}: the action column `{recipe.action_column}` must say add or del",
                field="contribution.name",
            )
        dropping = pc.is_in(actions, pa.array(sorted(DEL_ACTIONS)))
        deleted = table.column(key).filter(dropping).combine_chunks()
        table = table.filter(pc.invert(dropping))
        if eventdates is not None:
            eventdates = eventdates.filter(pc.invert(dropping))
    table, eventdates = _last_per_key(table, key, eventdates)
    if not recipe.append:
        store.write_lookup(
            LookupWrite(schema, domain, full=True, key=key, rows=table, eventdates=eventdates)
        )
        return Written(table.num_rows, 0)
    if existing is not None and existing.columns != schema.columns:
        raise ValidationError(
            f"The columns ({_described(schema.columns)}) differ from the lookup's "
            f"({_described(existing.columns)}): replace the lookup (no append) to change them",
            field="columns",
        )
    if lookup_key is not None and lookup_key != key:
        raise ValidationError(
            f"The key must be the lookup's key column `{lookup_key}`", field="key.column"
        )
    gone = table.column(key).combine_chunks()
    if deleted is not None:
        gone = pa.concat_arrays([gone, deleted.cast(gone.type)])
    store.write_lookup(
        LookupWrite(
            schema, domain, full=False, key=key, delete=gone, rows=table, eventdates=eventdates
        )
    )
    return Written(table.num_rows, 0 if deleted is None else len(deleted))


def _delete(
    store: EventStore,
    domain: str,
    storage: str,
    existing: TableSchema | None,
    keys: pa.ChunkedArray,
    lookup_key: str | None,
    key: str,
) -> Written:
    if existing is None:
        return Written(0, 0)
    stored_key = lookup_key or existing.columns[0].name
    if key != stored_key:
        raise ValidationError(
            f"Rows are deleted by the lookup's key column `{stored_key}`, not `{key}`",
            field="key.column",
        )
    column = existing.column(stored_key)
    assert column is not None
    try:
        values = keys.combine_chunks().cast(arrow_type(column.type))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise ValidationError(
            f"The keys to delete are not values of the key's type {rest_name(column.type)}",
            field="key.column",
        ) from None
    store.write_lookup(LookupWrite(existing, domain, full=False, key=stored_key, delete=values))
    return Written(0, len(values))


def _usable_keys(
    table: pa.Table,
    key: str,
    strict: bool,
    eventdates: pa.Array | None,
    actions: pa.Array | None,
) -> tuple[pa.Table, pa.Array | None, pa.Array | None]:
    """Refuse (``strict``) or drop the rows whose key is null or empty text."""
    values = table.column(key)
    bad = pc.is_null(values)
    if pa.types.is_string(values.type):
        bad = pc.or_(bad, pc.equal(values, ""))
    bad = pc.fill_null(bad, True)
    if not pc.any(bad).as_py():
        return table, eventdates, actions
    if strict:
        index = pc.index(bad, True).as_py()
        raise ValidationError(f"Row {index + 1}: the key column `{key}` is empty", field="csv")
    keep = pc.invert(bad)
    return (
        table.filter(keep),
        None if eventdates is None else eventdates.filter(keep),
        None if actions is None else actions.filter(keep),
    )


def _last_per_key(
    table: pa.Table, key: str, eventdates: pa.Array | None
) -> tuple[pa.Table, pa.Array | None]:
    """The last row of each key, in first-seen order of the kept rows."""
    if pc.count_distinct(table.column(key)).as_py() == table.num_rows:
        return table, eventdates
    numbered = table.append_column("__row", pa.array(range(table.num_rows), pa.int64()))
    last = numbered.group_by(key, use_threads=False).aggregate([("__row", "max")])
    rows = pc.sort_indices(last.column("__row_max"))
    picked = pc.take(last.column("__row_max"), rows)
    return table.take(picked), None if eventdates is None else eventdates.take(picked)


def _described(columns: tuple[Column, ...]) -> str:
    return ", ".join(f"{c.name} {rest_name(c.type)}" for c in columns)
