from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from linqd import demo
from linqd.arrow_types import arrow_type
from linqd.clock import SimulatedClock
from linqd.meta import MetaStore
from linqd.store.base import AppendResult
from linqd.store.duckdb import DuckDBStore, quote

NOW = 1_700_000_000_000
DAYS = 2.0
START = NOW - int(DAYS * 86_400_000)
TABLES = (demo.ECOMMERCE, demo.ACTIVITY, demo.NAVIGATION)


class RecordingStore(DuckDBStore):
    """A real store that also keeps every batch it was handed, to check what generate sends."""

    def __init__(self, path: Path) -> None:
        super().__init__(path / "events.duckdb", MetaStore(path / "meta.sqlite"), SimulatedClock())
        self.batches: list[tuple[str, Mapping[str, Any], list[int]]] = []

    def append(
        self,
        table: str,
        columns: Mapping[str, Sequence[Any] | pa.Array],
        *,
        client: str,
        eventdates: Sequence[int] | pa.Array | None = None,
    ) -> AppendResult:
        stamps = pa.array(eventdates, pa.int64()).to_pylist() if eventdates is not None else []
        self.batches.append((table, columns, stamps))
        return super().append(table, columns, client=client, eventdates=eventdates)


def make_store(path: Path) -> RecordingStore:
    path.mkdir(parents=True, exist_ok=True)
    return RecordingStore(path)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RecordingStore]:
    s = make_store(tmp_path)
    yield s
    s.close()


def count(store: DuckDBStore, table: str) -> int:
    row = store.reader().execute(f"SELECT count(*) FROM {quote(table)}").fetchone()
    assert row is not None
    return int(row[0])


def contents(store: DuckDBStore) -> dict[str, list[tuple[Any, ...]]]:
    reader = store.reader()
    return {
        table: reader.execute(
            f"SELECT * EXCLUDE (_seq) FROM {quote(table)} ORDER BY ALL"
        ).fetchall()
        for table in TABLES
    }


def test_counts_add_up_and_follow_the_shares(store: RecordingStore) -> None:
    progressed: list[int] = []
    stats = demo.generate(store, events=3_000, days=DAYS, now_ms=NOW, progress=progressed.append)
    assert sum(stats.rows.values()) == 3_000
    assert stats.rows == {demo.ECOMMERCE: 2_400, demo.ACTIVITY: 450, demo.NAVIGATION: 150}
    for table, n in stats.rows.items():
        assert count(store, table) == n
    assert sum(progressed) == 3_000


@pytest.mark.parametrize("events", [3, 4, 7, 19])
def test_every_table_gets_a_row(tmp_path: Path, events: int) -> None:
    store = make_store(tmp_path)
    stats = demo.generate(store, events=events, days=DAYS, now_ms=NOW)
    assert sum(stats.rows.values()) == events
    assert all(count(store, table) >= 1 for table in TABLES)
    store.close()


def test_zero_events_writes_nothing(store: RecordingStore) -> None:
    stats = demo.generate(store, events=0, days=DAYS, now_ms=NOW)
    assert sum(stats.rows.values()) == 0
    assert store.batches == []


def test_eventdates_cover_the_window(store: RecordingStore) -> None:
    demo.generate(store, events=3_000, days=DAYS, now_ms=NOW)
    reader = store.reader()
    for table in TABLES:
        lo, hi = reader.execute(
            f"SELECT min(epoch_ms(eventdate)), max(epoch_ms(eventdate)) FROM {quote(table)}"
        ).fetchone()
        assert START <= lo < hi < NOW
    # The shop table is dense enough that both ends of a two-day window are populated.
    lo, hi = reader.execute(
        f"SELECT min(epoch_ms(eventdate)), max(epoch_ms(eventdate)) FROM {quote(demo.ECOMMERCE)}"
    ).fetchone()
    assert lo - START < 3_600_000 and NOW - hi < 3_600_000


def test_batches_are_sorted_and_in_time_order(store: RecordingStore) -> None:
    progressed: list[int] = []
    demo.generate(
        store, events=3_000, days=DAYS, now_ms=NOW, batch_size=700, progress=progressed.append
    )
    assert all(size <= 700 for size in progressed)
    assert progressed == [len(stamps) for _, _, stamps in store.batches]
    for table in TABLES:
        stamps = [stamp for name, _, batch in store.batches if name == table for stamp in batch]
        assert stamps == sorted(stamps)
    assert len([b for b in store.batches if b[0] == demo.ECOMMERCE]) == 4


def test_columns_have_the_catalog_types(store: RecordingStore) -> None:
    demo.generate(store, events=3_000, days=DAYS, now_ms=NOW)
    seen = set()
    for table, columns, _ in store.batches:
        schema = store.schema(table)
        assert schema is not None
        assert set(columns) == set(schema.column_names)
        for column in schema.columns:
            values = columns[column.name]
            assert isinstance(values, pa.Array)
            assert values.type == arrow_type(column.type), (table, column.name)
            assert values.null_count == 0, (table, column.name)
        seen.add(table)
    assert seen == set(TABLES)


def test_same_seed_same_data_whatever_the_batch_size(tmp_path: Path) -> None:
    first, second, other = (make_store(tmp_path / name) for name in ("a", "b", "c"))
    demo.generate(first, events=3_000, days=DAYS, now_ms=NOW, seed=7)
    demo.generate(second, events=3_000, days=DAYS, now_ms=NOW, seed=7, batch_size=333)
    demo.generate(other, events=3_000, days=DAYS, now_ms=NOW, seed=8)
    assert contents(first) == contents(second)
    assert contents(first) != contents(other)
    for store in (first, second, other):
        store.close()


def test_shop_rows_look_like_an_access_log(store: RecordingStore) -> None:
    demo.generate(store, events=3_000, days=DAYS, now_ms=NOW)
    reader = store.reader()
    table = quote(demo.ECOMMERCE)
    statuses = dict(
        reader.execute(f"SELECT statusCode, count(*) FROM {table} GROUP BY ALL").fetchall()
    )
    assert {200, 404} <= set(statuses)
    assert statuses[200] > 0.7 * sum(statuses.values())
    assert set(statuses) <= {200, 400, 404, 408, 500, 503}
    mismatched = reader.execute(
        f"SELECT count(*) FROM {table} "
        "WHERE timestamp <> strftime(eventdate, '%d/%b/%Y:%H:%M:%S +0000')"
    ).fetchone()
    assert mismatched == (0,)
    methods, protocols, ips, cookies = reader.execute(
        f"SELECT list(DISTINCT method), list(DISTINCT protocol), count(DISTINCT clientIpAddress), "
        f"bool_and(regexp_full_match(cookie, '[0-9a-z]{{26}}:-')) FROM {table}"
    ).fetchone()
    assert sorted(methods) == ["GET", "POST"]
    assert protocols == ["HTTP 1.1"]
    assert 100 < ips <= 520
    assert cookies


def test_activity_pairs_requests_with_responses(store: RecordingStore) -> None:
    demo.generate(store, events=3_000, days=DAYS, now_ms=NOW)
    reader = store.reader()
    table = quote(demo.ACTIVITY)
    types = dict(reader.execute(f"SELECT type, count(*) FROM {table} GROUP BY ALL").fetchall())
    assert set(types) == {"request", "response"}
    assert abs(types["request"] - types["response"]) <= 1
    results = {r for (r,) in reader.execute(f"SELECT DISTINCT result FROM {table}").fetchall()}
    assert "OK" in results and results <= {"OK", "Not Found", "Error"}
    levels = {r for (r,) in reader.execute(f"SELECT DISTINCT level FROM {table}").fetchall()}
    assert "INFO" in levels and levels <= {"INFO", "WARN", "ERROR"}
    users = reader.execute(
        f"SELECT count(DISTINCT username), bool_and(username LIKE '%.%@%.com'), "
        f"bool_and(url LIKE 'https://us.devo.com/%') FROM {table}"
    ).fetchone()
    assert users[0] > 20 and users[1] and users[2]


def test_rejects_nonsense_arguments(store: RecordingStore) -> None:
    with pytest.raises(ValueError):
        demo.generate(store, events=-1, days=DAYS, now_ms=NOW)
    with pytest.raises(ValueError):
        demo.generate(store, events=10, days=0, now_ms=NOW)
    with pytest.raises(ValueError):
        demo.generate(store, events=10, days=DAYS, now_ms=NOW, batch_size=0)
