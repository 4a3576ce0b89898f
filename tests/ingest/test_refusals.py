"""One bad event never costs the others: events the store refuses (tables linqd writes itself,
case clashes, tags that name no table) are counted and kept aside in ``linqd.ingest.rejected``,
the rest of their batch is stored, and no error outlives its flush."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import anystore
from linqd.clock import SimulatedClock
from linqd.datadir import DataDir, open_data_dir
from linqd.errors import StoreError
from linqd.ingest.pipeline import WRITTEN_BY_LINQD, IngestPipeline
from linqd.ingest.syslog import ParsedBatch, parse_messages
from linqd.lookup_tables import lookup_storage
from linqd.store.base import EventStore
from linqd.store.catalog import REJECTED_TABLE, written_by_linqd
from linqd.store.duckdb import DuckDBStore

NOW = 1_700_000_000_000
FAST = 0.005
LIMIT = 10.0


def batch(table: str, messages: list[str]) -> ParsedBatch:
    count = len(messages)
    return ParsedBatch([table] * count, ["h"] * count, messages, [None] * count, [])


def rows(store: EventStore, sql: str) -> list[tuple[Any, ...]]:
    return anystore.rows(store, sql)


def rejected(store: EventStore) -> list[tuple[Any, ...]]:
    return rows(store, f'SELECT client, tag, message, reason FROM "{REJECTED_TABLE}" ORDER BY _seq')


@pytest.fixture
def data(tmp_path: Path, store_spec: str) -> Iterator[DataDir]:
    data = open_data_dir(tmp_path, SimulatedClock(NOW), store=store_spec)
    yield data
    data.close()


@pytest.fixture
def pipeline(data: DataDir) -> Iterator[IngestPipeline]:
    pipe = IngestPipeline(data.store, SimulatedClock(NOW), flush_interval_s=3600)
    yield pipe
    pipe.close()


def test_a_case_clash_costs_only_its_own_events(data: DataDir, pipeline: IngestPipeline) -> None:
    """The review's reproduction: with `x.y` stored, one event for `X.Y` dropped the rest of its
    flush and made every later flush of every domain fail."""
    assert pipeline.wait_committed(pipeline.submit(batch("x.y", ["first"]), client="a"), LIMIT)
    pipeline.submit(batch("X.Y", ["clash"]), client="b")
    others = [f"event {i}" for i in range(20)]
    ticket = pipeline.submit(batch("my.app.other", others), client="c")
    assert pipeline.wait_committed(ticket, LIMIT)  # no error for anyone

    stored = rows(data.store, 'SELECT message FROM "my.app.other" ORDER BY _seq')
    assert [m for (m,) in stored] == others
    refusal = rejected(data.store)
    assert refusal == [
        ("b", "X.Y", "clash", "Table `X.Y` differs from an existing table only in case")
    ]
    assert "x.y" not in refusal[0][3]  # another domain's table is never named

    later = [f"later {i}" for i in range(100)]
    assert pipeline.wait_committed(pipeline.submit(batch("my.app.later", later), client="c"), LIMIT)
    assert rows(data.store, 'SELECT count(*) FROM "my.app.later"') == [(100,)]
    stats = pipeline.stats()
    assert stats.tables["X.Y"].rejected == 1
    assert stats.tables["X.Y"].stored == 0
    assert stats.lost_total == 0


@pytest.mark.parametrize(
    "table",
    [
        "siem.logtrust.alert.info",
        "siem.logtrust.web.activity",
        "SIEM.logtrust.anything",
        "my.lookuplist.secrets",
        "My.Lookuplist.secrets",
        "linqd.ingest.rejected",
        "my.app.web.unparsed",
    ],
)
def test_tables_linqd_writes_itself_are_refused(
    data: DataDir, pipeline: IngestPipeline, table: str
) -> None:
    ticket = pipeline.submit(batch(table, ["forged"]), client="other")
    pipeline.submit(batch("my.app.fine", ["kept"]), client="other")
    assert pipeline.wait_committed(ticket + 1, LIMIT)
    assert rejected(data.store) == [("other", table, "forged", WRITTEN_BY_LINQD)]
    assert rows(data.store, 'SELECT message FROM "my.app.fine"') == [("kept",)]
    if data.store.schema(table) is not None and table != REJECTED_TABLE:
        assert rows(data.store, f'SELECT count(*) FROM "{table}"') == [(0,)]
    assert pipeline.stats().tables[table].rejected == 1


def test_a_forged_lookup_row_does_not_block_a_lookup_upload(
    data: DataDir, pipeline: IngestPipeline
) -> None:
    """Forged rows in `my.lookuplist.x` once made the next FULL upload of another domain fail."""
    pipeline.submit(batch("my.lookuplist.COLORS", ["forged"]), client="attacker")
    headers = '[{"KEY":{"type":"str","key":true}},{"COLOR":{"type":"str"}}]'
    prefix = "1795432246.52_COLORS"
    events = [
        ("my.lookup.control.COLORS.FULL", f"{prefix}|START|{headers}"),
        ("my.lookup.data.COLORS", f'{prefix}|"red","#f00"'),
        ("my.lookup.control.COLORS.FULL", f"{prefix}|END|{headers}"),
    ]
    for table, message in events:
        ticket = pipeline.submit(batch(table, [message]), client="self")
    assert pipeline.wait_committed(ticket, LIMIT)
    assert rows(
        data.store,
        f'SELECT client, KEY, COLOR FROM "{lookup_storage("my.lookuplist.COLORS", "self")}"',
    ) == [("self", "red", "#f00")]


def test_parse_rejections_are_kept_whole(data: DataDir, pipeline: IngestPipeline) -> None:
    long_line = "<14>Jan  1 00:00:00 h " + "single-level-tag" * 40 + ": message"
    parsed = parse_messages([long_line.encode(), b"no header"], now_ms=NOW)
    assert pipeline.wait_committed(pipeline.submit(parsed, client="self"), LIMIT)
    assert rejected(data.store) == [
        ("self", "", long_line, "invalid tag"),
        ("self", "", "no header", "bad header"),
    ]


class FlakyStore(DuckDBStore):
    """A real store whose appends to one table fail a given number of times first (a disk
    that comes back), to exercise the writer's retries."""

    failures: dict[str, int]

    def append(self, table: str, columns: Any, **kwargs: Any) -> Any:
        if self.failures.get(table, 0) > 0:
            self.failures[table] -= 1
            raise StoreError(f"disk error writing {table}")
        return super().append(table, columns, **kwargs)


@pytest.fixture
def flaky(tmp_path: Path) -> Iterator[FlakyStore]:
    data = open_data_dir(tmp_path, SimulatedClock(NOW))
    data.store.close()
    store = FlakyStore(tmp_path / "events.duckdb", data.meta, SimulatedClock(NOW))
    store.failures = {}
    yield store
    store.close()
    data.meta.close()


def test_a_failing_append_is_retried(flaky: FlakyStore) -> None:
    flaky.failures["my.app.disk"] = 2
    pipe = IngestPipeline(flaky, SimulatedClock(NOW), flush_interval_s=3600, retry_delay_s=0)
    try:
        assert pipe.wait_committed(pipe.submit(batch("my.app.disk", ["a", "b"]), client="s"), LIMIT)
    finally:
        pipe.close()
    assert rows(flaky, 'SELECT message FROM "my.app.disk" ORDER BY _seq') == [("a",), ("b",)]


def test_an_append_that_keeps_failing_is_kept_aside(flaky: FlakyStore) -> None:
    flaky.failures["my.app.disk"] = 100
    pipe = IngestPipeline(flaky, SimulatedClock(NOW), flush_interval_s=3600, retry_delay_s=0)
    try:
        assert pipe.wait_committed(pipe.submit(batch("my.app.disk", ["a"]), client="s"), LIMIT)
        assert pipe.wait_committed(pipe.submit(batch("my.app.next", ["b"]), client="s"), LIMIT)
    finally:
        pipe.close()
    assert rejected(flaky) == [("s", "my.app.disk", "a", "the store could not append it")]
    assert rows(flaky, 'SELECT message FROM "my.app.next"') == [("b",)]


def test_only_the_failed_flush_hears_of_its_failure(flaky: FlakyStore) -> None:
    flaky.failures["my.app.disk"] = 100
    flaky.failures[REJECTED_TABLE] = 100
    pipe = IngestPipeline(flaky, SimulatedClock(NOW), flush_interval_s=3600, retry_delay_s=0)
    try:
        lost = pipe.submit(batch("my.app.disk", ["a"]), client="s")
        with pytest.raises(StoreError) as failure:
            pipe.wait_committed(lost, LIMIT)
        assert "disk error" not in failure.value.message  # no store detail for the client
        assert pipe.stats().lost_total == 1
        flaky.failures.clear()
        later = pipe.submit(batch("my.app.disk", ["b"]), client="s")
        assert pipe.wait_committed(later, LIMIT)
    finally:
        pipe.close()
    assert rows(flaky, 'SELECT message FROM "my.app.disk"') == [("b",)]


# -- any mix -------------------------------------------------------------------------------------

VALID_TAGS = ("x.y", "my.app.web", "demo.ecommerce.data")
REFUSED_TAGS = (
    "X.Y",  # case clash with x.y
    "My.App.Web",  # case clash with my.app.web
    "DEMO.ecommerce.data",
    "siem.logtrust.alert.info",
    "my.lookuplist.secrets",
    "linqd.ingest.rejected",
    "x.y.unparsed",
)
BAD_TAGS = ("single", "a..b", "x.-y")


@st.composite
def events(draw: st.DrawFn) -> list[tuple[str, str, str]]:
    """(client, tag, kind) for a random mix; every message is unique by position."""
    kinds = st.sampled_from(("valid", "refused", "bad"))
    picked = draw(st.lists(st.tuples(st.sampled_from(("a", "b")), kinds), max_size=40))
    out = []
    for client, kind in picked:
        pool = {"valid": VALID_TAGS, "refused": REFUSED_TAGS, "bad": BAD_TAGS}[kind]
        out.append((client, draw(st.sampled_from(pool)), kind))
    return out


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(mix=events(), cut=st.integers(min_value=1, max_value=8))
def test_any_mix_stores_every_valid_event_exactly_once(
    tmp_path_factory: pytest.TempPathFactory,
    store_spec: str,
    mix: list[tuple[str, str, str]],
    cut: int,
) -> None:
    data = open_data_dir(tmp_path_factory.mktemp("mix"), SimulatedClock(NOW), store=store_spec)
    pipe = IngestPipeline(data.store, SimulatedClock(NOW), flush_interval_s=3600)
    try:
        # The valid tables exist before the mix arrives, so their case variants clash.
        seed = [pipe.submit(batch(tag, ["seed"]), client="a") for tag in VALID_TAGS]
        assert pipe.wait_committed(seed[-1], LIMIT)
        ticket = 0
        for start in range(0, len(mix), cut):  # several submits per flush, several flushes
            lines = []
            for index in range(start, min(start + cut, len(mix))):
                client, tag, _kind = mix[index]
                message = f'{{"method": "m{index}"}}'
                lines.append((client, f"<14>Jan  1 00:00:00 h {tag}: {message}".encode()))
            for client in ("a", "b"):
                mine = [line for owner, line in lines if owner == client]
                if mine:
                    ticket = pipe.submit(parse_messages(mine, now_ms=NOW), client=client)
            if start % (2 * cut) == 0:
                assert pipe.wait_committed(ticket, LIMIT)
        assert pipe.wait_committed(ticket, LIMIT)
        stats = pipe.stats()
    finally:
        pipe.close()
    try:
        stored: list[tuple[str, str, str]] = []
        for tag in VALID_TAGS:
            column = "method" if tag == "demo.ecommerce.data" else "message"
            found = rows(data.store, f'SELECT client, "{column}" FROM "{tag}" ORDER BY _seq')
            stored += [(c, tag, m) for c, m in found if m != "seed"]
        aside = rows(data.store, f'SELECT client, message FROM "{REJECTED_TABLE}"')
    finally:
        data.close()
    expected = [
        (c, t, f"m{i}" if t == "demo.ecommerce.data" else f'{{"method": "m{i}"}}')
        for i, (c, t, k) in enumerate(mix)
        if k == "valid"
    ]
    assert sorted(stored) == sorted(expected)  # every valid event once, nothing else
    refused = [(c, i) for i, (c, _, k) in enumerate(mix) if k != "valid"]
    found = [(c, int(match.group(1))) for c, m in aside if (match := re.search(r'"m(\d+)"', m))]
    assert sorted(found) == sorted(refused)  # every refused event kept aside once, in its domain
    assert stats.lost_total == 0


def test_written_by_linqd() -> None:
    assert written_by_linqd("siem.logtrust.web.activity")
    assert written_by_linqd("my.lookuplist.x")
    assert written_by_linqd("a.b.unparsed")
    assert written_by_linqd("all.data")  # LINQ's every table of the domain
    assert not written_by_linqd("my.lookup.control.x.FULL")  # the lookup protocol's own tags
    assert not written_by_linqd("my.app.web")
    assert not written_by_linqd("siem.other.table")
