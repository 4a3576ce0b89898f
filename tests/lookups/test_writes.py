"""Deployments written to the store through the Arrow bulk path, on each store (the write and
the drop differ per engine): replace, upsert, delete by key, per-row actions, last row wins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from anystore import rows
from linqd.clock import SimulatedClock
from linqd.datadir import DataDir, open_data_dir
from linqd.errors import ValidationError
from linqd.linq import types as t
from linqd.lookups.recipe import ColumnDef, Contribution, LookupKind, Recipe
from linqd.lookups.writes import storage_name, write_rows

COLUMNS = (ColumnDef("color", t.STR), ColumnDef("key", t.INT8))


@pytest.fixture
def data(tmp_path: Path, store_spec: str) -> Iterator[DataDir]:
    data = open_data_dir(tmp_path, SimulatedClock(), store=store_spec)
    yield data
    data.close()


def content(data: DataDir) -> list[tuple[object, ...]]:
    table = storage_name("self", "c")
    return sorted(rows(data.store, f'SELECT "key", color FROM "{table}"'))


def test_replace_upsert_delete_and_drop(data: DataDir) -> None:
    store = data.store
    recipe = Recipe(kind=LookupKind.CSV, key_column="key")
    first = pa.table({"color": ["red", "green", "blue", "teal"], "key": [1, 2, 3, 2]})
    written = write_rows(store, "self", "c", recipe, first, COLUMNS, lookup_key=None, strict=True)
    assert written.stored == 3
    assert content(data) == [(1, "red"), (2, "teal"), (3, "blue")]  # the last row of key 2
    schema = store.schema(storage_name("self", "c"))
    assert schema is not None and schema.columns[0].name == "key"  # the key goes first
    upsert = Recipe(kind=LookupKind.CSV, key_column="key", append=True)
    more = pa.table({"color": ["pink", "gray"], "key": [1, 9]})
    write_rows(store, "self", "c", upsert, more, COLUMNS, lookup_key="key", strict=True)
    assert content(data) == [(1, "pink"), (2, "teal"), (3, "blue"), (9, "gray")]
    delete = Recipe(
        kind=LookupKind.CSV, key_column="key", append=True, contribution=Contribution.DEL
    )
    keys = pa.table({"key": [2, 404]})
    write_rows(
        store, "self", "c", delete, keys, (ColumnDef("key", t.INT8),), lookup_key="key", strict=True
    )
    assert content(data) == [(1, "pink"), (3, "blue"), (9, "gray")]
    actions = Recipe(
        kind=LookupKind.STATIC,
        key_column="key",
        append=True,
        contribution=Contribution.COL,
        action_column="do",
    )
    mixed = pa.table({"color": ["x", "y"], "key": [3, 5], "do": ["DEL", "add"]})
    write_rows(
        store,
        "self",
        "c",
        actions,
        mixed,
        (*COLUMNS, ColumnDef("do", t.STR)),
        lookup_key="key",
        strict=False,
    )
    assert content(data) == [(1, "pink"), (5, "y"), (9, "gray")]
    store.drop_lookup(storage_name("self", "c"))
    assert store.schema(storage_name("self", "c")) is None


def test_refusals_change_nothing(data: DataDir) -> None:
    store = data.store
    recipe = Recipe(kind=LookupKind.CSV, key_column="key")
    write_rows(
        store,
        "self",
        "c",
        recipe,
        pa.table({"color": ["a"], "key": [1]}),
        COLUMNS,
        lookup_key=None,
        strict=True,
    )
    empty_key = pa.table({"color": ["b", "c"], "key": pa.array([2, None], pa.int64())})
    with pytest.raises(ValidationError, match="Row 2: the key column `key` is empty"):
        write_rows(store, "self", "c", recipe, empty_key, COLUMNS, lookup_key="key", strict=True)
    other = Recipe(kind=LookupKind.CSV, key_column="key", append=True)
    wider = (*COLUMNS, ColumnDef("extra", t.STR))
    table = pa.table({"color": ["d"], "key": [4], "extra": ["e"]})
    with pytest.raises(ValidationError, match="differ from the lookup's"):
        write_rows(store, "self", "c", other, table, wider, lookup_key="key", strict=True)
    assert content(data) == [(1, "a")]
