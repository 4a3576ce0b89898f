"""``lu()`` read through a join of the lookup to the stage's rows (DuckDB) or its arrays
(ClickHouse): the same answers as a lookup by hand in Python, wherever the call sits (filter,
grouping key, output, after the grouping, inside a lambda), on each store."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from linqd.clock import SimulatedClock
from linqd.datadir import DataDir, open_data_dir
from linqd.errors import LinqTypeError
from linqd.linq import Bounds, compile_linq
from linqd.linq import types as t
from linqd.lookups.recipe import ColumnDef, LookupKind, Recipe
from linqd.lookups.writes import write_rows

NOW = 1_790_000_000_000
TABLE = "demo.ecommerce.data"
OWNERS = {200: "web", 404: "edge", 500: "core"}  # 302 is in no lookup row
EVENTS = [  # (statusCode, method)
    (200, "GET"),
    (404, "GET"),
    (200, "POST"),
    (500, "GET"),
    (302, "GET"),
    (None, "PUT"),
    (200, "GET"),
]


@pytest.fixture
def data(tmp_path: Path, store_spec: str) -> Iterator[DataDir]:
    data = open_data_dir(tmp_path, SimulatedClock(NOW), store=store_spec)
    store = data.store
    store.append(
        TABLE,
        {"statusCode": [s for s, _ in EVENTS], "method": [m for _, m in EVENTS]},
        client="self",
        eventdates=[NOW - 1000 + i for i in range(len(EVENTS))],
    )
    # Another domain's lookup of the same name must never be read.
    for client, owners in (("self", OWNERS), ("other", {200: "theirs"})):
        table = pa.table({"code": list(owners), "owner": list(owners.values())})
        columns = (ColumnDef("code", t.INT8), ColumnDef("owner", t.STR))
        recipe = Recipe(kind=LookupKind.CSV, key_column="code")
        write_rows(store, client, "owners", recipe, table, columns, lookup_key=None, strict=True)
    yield data
    data.close()


def run(data: DataDir, linq: str) -> list[tuple[object, ...]]:
    store = data.store
    compiled = compile_linq(
        linq,
        store.schemas_for("self"),
        now_ms=NOW,
        bounds=Bounds(NOW - 3_600_000, NOW, "self"),
        engine=store.engine,
    )
    return [tuple(row) for row in store.fetch(compiled.expression)]


LU = 'lu("owners", "owner", statusCode)'


def test_in_a_filter_an_output_and_twice_in_one_stage(data: DataDir) -> None:
    got = run(data, f'from {TABLE} where {LU} = "web" select method, {LU} as o, {LU} as p')
    assert got == [("GET", "web", "web"), ("POST", "web", "web"), ("GET", "web", "web")]
    every = run(data, f"from {TABLE} select statusCode, {LU} as o")
    assert [o for _, o in every] == [OWNERS.get(s) if s else None for s, _ in EVENTS]


def test_as_a_grouping_key_and_after_the_grouping(data: DataDir) -> None:
    grouped = run(data, f"from {TABLE} select {LU} as o group by o select count() as n")
    expected = Counter(OWNERS.get(s) if s else None for s, _ in EVENTS)
    assert sorted(grouped, key=repr) == sorted(expected.items(), key=repr)
    after = run(data, f"from {TABLE} group by statusCode select {LU} as o")
    codes = {s for s, _ in EVENTS}
    assert sorted(after, key=repr) == sorted(
        ((s, OWNERS.get(s) if s else None) for s in codes), key=repr
    )


def test_after_the_grouping_and_not_over_a_lambdas_item(data: DataDir) -> None:
    inside = f'from {TABLE} select map(mkarray(200), \'lu("owners", "owner", _)\') as o'
    with pytest.raises(LinqTypeError, match="item of map or filter"):
        run(data, inside)
    keyed = run(data, f"from {TABLE} where {LU} = \"core\" select map(mkarray(1), '_ + 1') as a")
    assert keyed == [([2],)]
    later = run(
        data,
        f'from {TABLE} group by statusCode select count() as n where {LU} = "web" select n',
    )
    assert later == [(200, 3)]  # after the grouping: a filter on the grouped rows
