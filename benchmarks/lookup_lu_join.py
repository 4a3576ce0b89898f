"""``lu()`` over a 1 M-row lookup in a 10 M-row query, against the same query written by hand as a
DuckDB join, measured in the same run (target ratio <= 1.3).

The events are 10 M rows of ``demo.ecommerce.data`` whose ``clientIpAddress`` takes 1 M distinct
values; the lookup maps each of those addresses to one of 97 owners (1 M rows, written through
the Lookups API's bulk path). Two queries, each against its hand-written ``LEFT JOIN`` of the
event table and the lookup's table, with the same domain and time filters, on the same DuckDB
connection:

- filter: the events of one owner, ``where lu("owners", "owner", clientIpAddress) = "owner-5"
  group select count() as n`` (the engine can filter the lookup first);
- grouping: the events of every owner, ``select lu(...) as owner group by owner select count()``
  (every event is looked up).

    .venv/bin/python benchmarks/lookup_lu_join.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "src"))

import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

from _setup import interleaved  # noqa: E402
from linqd.clock import SimulatedClock  # noqa: E402
from linqd.datadir import open_data_dir  # noqa: E402
from linqd.linq import Bounds, compile_linq  # noqa: E402
from linqd.linq import types as t  # noqa: E402
from linqd.lookups.recipe import ColumnDef, LookupKind, Recipe  # noqa: E402
from linqd.lookups.writes import storage_name, write_rows  # noqa: E402
from linqd.store.duckdb import DuckDBStore  # noqa: E402

NOW = 1_790_000_000_000
EVENTS = 10_000_000
KEYS = 1_000_000
BATCH = 1_000_000
REPEAT = 5
LU = 'lu("owners", "owner", clientIpAddress)'
QUERIES = {
    "filter": f'from demo.ecommerce.data where {LU} = "owner-5" group select count() as n',
    "grouping": f"from demo.ecommerce.data select {LU} as owner group by owner select count() as n",
}


def fill(store: DuckDBStore) -> None:
    base = 167_772_160  # 10.0.0.0
    for start in range(0, EVENTS, BATCH):
        index = pc.add(pc.cumulative_sum(pa.nulls(BATCH, pa.int64()).fill_null(1)), start - 1)
        store.append(
            "demo.ecommerce.data",
            {
                "clientIpAddress": pc.add(pc.remainder(index, KEYS), base).cast(pa.uint32()),
                "statusCode": pc.add(pc.remainder(index, 3), 200),
            },
            client="self",
            eventdates=pc.add(pc.remainder(index, 3_600_000), NOW - 3_600_000),
        )
    keys = pa.array(range(base, base + KEYS), pa.uint32())
    owners = pc.binary_join_element_wise("owner-", pc.cast(pc.remainder(keys, 97), pa.string()), "")
    recipe = Recipe(kind=LookupKind.CSV, key_column="ip")
    columns = (ColumnDef("ip", t.IP4), ColumnDef("owner", t.STR))
    table = pa.table({"ip": keys, "owner": owners})
    write_rows(store, "self", "owners", recipe, table, columns, lookup_key=None, strict=True)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="linqd-lu-bench-") as folder:
        data = open_data_dir(Path(folder), SimulatedClock(NOW))
        store = data.store
        assert isinstance(store, DuckDBStore)
        fill(store)
        bounds = Bounds(NOW - 3_600_000, NOW, "self")
        lookup = storage_name("self", "owners")
        joined = (
            f'FROM "demo.ecommerce.data" e '
            f'LEFT JOIN "{lookup}" l ON l.ip = e."clientIpAddress" AND l.client = \'self\' '
            f"WHERE e.client = 'self' AND e.eventdate >= epoch_ms({NOW - 3_600_000}) "
            f"AND e.eventdate < epoch_ms({NOW})"
        )
        anchors = {
            "filter": f"SELECT count(*) AS n {joined} AND l.owner = 'owner-5'",
            "grouping": f"SELECT l.owner, count(*) AS n {joined} GROUP BY l.owner",
        }
        reader = store.reader()
        for name, query in QUERIES.items():
            compiled = compile_linq(query, store.schemas_for("self"), now_ms=NOW, bounds=bounds)
            expression, anchor_sql = compiled.expression, anchors[name]
            linqd_rows = sorted(store.fetch(expression), key=repr)
            anchor_rows = sorted(reader.execute(anchor_sql).fetchall(), key=repr)
            assert linqd_rows == anchor_rows and linqd_rows[0][-1] > 0, name

            def linqd(expression: object = expression) -> object:
                return store.fetch(expression)  # type: ignore[arg-type]

            def anchor(anchor_sql: str = anchor_sql) -> object:
                return reader.execute(anchor_sql).fetchall()

            ours, theirs = interleaved(linqd, anchor, REPEAT)
            print(f"{name}: lu() over a {KEYS:,}-row lookup, {EVENTS:,} events: {ours:.3f} s")
            print(f"{name}: hand-written DuckDB LEFT JOIN, same data: {theirs:.3f} s")
            print(f"{name}: ratio lu/join: {ours / theirs:.2f} (target <= 1.3)")
        data.close()


if __name__ == "__main__":
    main()
