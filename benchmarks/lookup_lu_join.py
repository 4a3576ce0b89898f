"""``lu()`` over a 1 M-row lookup in a 10 M-row query, against the same query written by hand as a
DuckDB join, measured in the same run (target ratio <= 1.3).

The events are 10 M rows of ``demo.ecommerce.data`` whose ``clientIpAddress`` takes 1 M distinct
values; the lookup maps each of those addresses to an owner (1 M rows, written through the
Lookups API's bulk path). Both queries count the events of one owner:

- linqd: ``from demo.ecommerce.data where lu("owners", "owner", clientIpAddress) = "owner-5"
  group select count() as n``, compiled and run through the store;
- anchor: the hand-written ``LEFT JOIN`` of the event table and the lookup's table, with the
  same domain and time filters, on the same DuckDB connection.

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
QUERY = (
    'from demo.ecommerce.data where lu("owners", "owner", clientIpAddress) = "owner-5" '
    "group select count() as n"
)


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
        compiled = compile_linq(QUERY, store.schemas_for("self"), now_ms=NOW, bounds=bounds)
        lookup = storage_name("self", "owners")
        anchor_sql = (
            f'SELECT count(*) AS n FROM "demo.ecommerce.data" e '
            f'LEFT JOIN "{lookup}" l ON l.ip = e."clientIpAddress" AND l.client = \'self\' '
            f"WHERE e.client = 'self' AND e.eventdate >= epoch_ms({NOW - 3_600_000}) "
            f"AND e.eventdate < epoch_ms({NOW}) AND l.owner = 'owner-5'"
        )
        reader = store.reader()
        linqd_rows = store.fetch(compiled.expression)
        anchor_rows = reader.execute(anchor_sql).fetchall()
        assert linqd_rows == anchor_rows and linqd_rows[0][0] > 0, (linqd_rows, anchor_rows)

        def linqd() -> object:
            return store.fetch(compiled.expression)

        def anchor() -> object:
            return reader.execute(anchor_sql).fetchall()

        ours, theirs = interleaved(linqd, anchor, REPEAT)
        print(f"lu() over a {KEYS:,}-row lookup, {EVENTS:,} events: {ours:.3f} s")
        print(f"hand-written DuckDB LEFT JOIN, same data:        {theirs:.3f} s")
        print(f"ratio lu/join: {ours / theirs:.2f} (target <= 1.3)")
        data.close()


if __name__ == "__main__":
    main()
