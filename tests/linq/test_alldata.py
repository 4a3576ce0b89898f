"""``all.data`` and the introspection functions (spec §9.9) on both engines: full-text search
over every table of the caller's domain, tables chosen by a name glob (also at compile time),
another domain's tables and rows never read, the union bounded; ``tablename`` and
``pragmavalue`` of constant texts and of texts from a column."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from linqd.clock import SimulatedClock
from linqd.errors import LinqError, UnknownTableError
from linqd.linq import Bounds, compile_linq
from linqd.linq.alldata import ALL_DATA, MAX_TABLES
from linqd.linq.functions.introspection import glob_regex
from linqd.linq.ir import stages, tables_read
from linqd.meta import MetaStore
from linqd.store import catalog
from linqd.store.catalog import TableSchema
from linqd.store.duckdb import DuckDBStore

from .chdb_tables import ENGINES, Runner, running_on

NOW = 1_700_000_000_000
BOUNDS = Bounds(NOW - 60_000, NOW, "self")
QUERY_LOG = 'from siem.fw.traffic where x > 1 pragma comment.id: "app" pragma tz: tz("UTC")'


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    tmp: Path = tmp_path_factory.mktemp("alldata")
    events = DuckDBStore(tmp / "e.duckdb", MetaStore(tmp / "m.sqlite"), SimulatedClock())
    events.append(
        "my.app.web",
        {"hostname": ["h1", "h2"], "message": ["login failed for alice", "all good"]},
        client="self",
        eventdates=[NOW - 3000, NOW - 2000],
    )
    events.append(
        "my.app.web",
        {"hostname": ["h0"], "message": ["alice, long ago"]},
        client="self",
        eventdates=[NOW - 3_600_000],  # outside the query's range
    )
    events.append(
        "siem.custom.events",
        {"hostname": ["h3"], "message": ["alice logged out"]},
        client="self",
        eventdates=[NOW - 1500],
    )
    events.append(
        "demo.ecommerce.data",
        {"method": ["GET"], "uri": ["/alice/cart"], "statusCode": [200], "cookie": [None]},
        client="self",
        eventdates=[NOW - 1200],
    )
    # Another domain: a table of its own, and rows in a table both domains have.
    events.append(
        "other.secret.logs",
        {"hostname": ["h9"], "message": ["alice secret"]},
        client="other",
        eventdates=[NOW - 1000],
    )
    events.append(
        "my.app.web",
        {"hostname": ["h8"], "message": ["alice of another domain"]},
        client="other",
        eventdates=[NOW - 900],
    )
    events.append("my.app.queries", {"hostname": ["q"], "message": [QUERY_LOG]}, client="self")
    yield events
    events.close()


@pytest.fixture(scope="module", params=ENGINES)
def engine(
    request: pytest.FixtureRequest, store: DuckDBStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runner]:
    with running_on(request.param, store, tmp_path_factory) as runner:
        yield runner


def run(engine: Runner, text: str, bounds: Bounds = BOUNDS) -> list[tuple[Any, ...]]:
    schemas = engine.target.schemas_for("self")
    query = compile_linq(text, schemas, now_ms=NOW, bounds=bounds, engine=engine.engine)
    return [tuple(row) for row in engine.rows(query)]


def test_full_text_search_over_every_table_of_the_domain(engine: Runner) -> None:
    rows = run(
        engine, 'from all.data where toktains(message, "alice") select table, hostname, message'
    )
    assert rows == [
        ("my.app.web", "h1", "login failed for alice"),
        ("siem.custom.events", "h3", "alice logged out"),
        # A typed table's message is its text columns joined by spaces, nulls left out.
        ("demo.ecommerce.data", None, "GET /alice/cart"),
    ]


def test_all_columns_of_all_data(engine: Runner) -> None:
    rows = run(engine, 'from all.data where table = "siem.custom.events"')
    assert rows == [(_at(NOW - 1500), "siem.custom.events", ["siem.custom.events"], "h3",
                     "alice logged out")]  # fmt: skip


def test_a_glob_chooses_the_tables(engine: Runner) -> None:
    text = 'from all.data where anymatches(tables, nameglob("siem.**")) select table, message'
    assert run(engine, text) == [("siem.custom.events", "alice logged out")]
    assert run(engine, 'from all.data where anymatches(tables, nameglob("my.*.web")) '
               "group by table select count() as n") == [("my.app.web", 2)]  # fmt: skip
    # A glob matching nothing reads nothing.
    assert run(engine, 'from all.data where anymatches(tables, nameglob("no.**"))') == []


def test_a_glob_leaves_the_other_tables_unread(engine: Runner) -> None:
    schemas = engine.target.schemas_for("self")
    text = 'from all.data where anymatches(tables, nameglob("siem.**"))'
    query = compile_linq(text, schemas, now_ms=NOW, bounds=BOUNDS, engine=engine.engine)
    assert tables_read(query.plan) == {
        "siem.custom.events",
        "siem.logtrust.alert.info",
        "siem.logtrust.collector.counter",
        "siem.logtrust.web.activity",
        "siem.logtrust.web.connection",
        "siem.logtrust.web.navigation",
    }
    assert "my.app.web" not in query.sql and "demo.ecommerce.data" not in query.sql


def test_another_domains_tables_and_rows_are_never_read(engine: Runner) -> None:
    schemas = engine.target.schemas_for("self")
    query = compile_linq("from all.data", schemas, now_ms=NOW, bounds=BOUNDS, engine=engine.engine)
    assert "other.secret.logs" not in tables_read(query.plan)
    assert "other.secret.logs" not in query.sql
    messages = [row[-1] for row in engine.rows(query)]
    assert not any("secret" in m or "another domain" in m for m in messages)
    # A subquery over all.data is confined the same way.
    assert run(engine, 'from all.data where message in (from all.data where '
               'toktains(message, "secret") select message) select message') == []  # fmt: skip


def test_all_data_is_read_within_the_query_range(engine: Runner) -> None:
    assert run(engine, 'from all.data where toktains(message, "ago")') == []
    wide = Bounds(NOW - 7_200_000, NOW, "self")
    assert run(engine, 'from all.data where toktains(message, "ago") select hostname', wide) == [
        ("h0",)
    ]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('tablename("LINQ", message)', "siem.fw.traffic"),
        ('pragmavalue("LINQ", message, "comment.id")', "app"),
        ('pragmavalue("LINQ", message, "tz")', 'tz("UTC")'),
        ('pragmavalue("LINQ", message, "comment.user")', None),
        ('tablename("linq", "from a.b.c where x > 1")', "a.b.c"),
        ('tablename("LINQ", "// a comment\\nfrom my.app.`dev@x`.y")', "my.app.dev@x.y"),
        ('tablename("LINQ", "not linq")', None),
        ('pragmavalue("LINQ", "from a.b pragma x.y: true pragma x.y: 2", "x.y")', "2"),
        ('pragmavalue("LINQ", "from a.b pragma k:\\"v w\\"", "k")', "v w"),
        ('pragmavalue("LINQ", "from a.b", "k")', None),
    ],
)
def test_tablename_and_pragmavalue(engine: Runner, expression: str, expected: object) -> None:
    wide = Bounds(None, None, "self")
    text = f"from my.app.queries select {expression} as value"
    assert run(engine, text, wide) == [(expected,)]


def test_a_column_text_reads_as_a_constant_one(engine: Runner) -> None:
    wide = Bounds(None, None, "self")
    for function in ('tablename("LINQ", {})', 'pragmavalue("LINQ", {}, "comment.id")'):
        column = function.format("message")
        constant = function.format('"' + QUERY_LOG.replace('"', '\\"') + '"')
        text = f"from my.app.queries select {column} as a, {constant} as b"
        [(a, b)] = run(engine, text, wide)
        assert a == b


@pytest.mark.parametrize(
    ("glob", "matches", "differs"),
    [
        ("siem.**", ["siem.a", "siem.a.b.c"], ["siem", "siemx.a", "my.siem.a"]),
        ("*.app.*", ["my.app.x"], ["my.app", "my.app.x.y", "app.x"]),
        ("my.web*.x", ["my.web.x", "my.webserver.x"], ["my.we.x", "my.web.y.x"]),
        ("a.b-c", ["a.b-c"], ["a.bxc"]),
    ],
)
def test_glob_rules(glob: str, matches: list[str], differs: list[str]) -> None:
    import re

    pattern = re.compile(glob_regex(glob))
    assert all(pattern.match(name) for name in matches)
    assert not any(pattern.match(name) for name in differs)


# -- refusals --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManyTables:
    """A domain with ``count`` raw tables."""

    count: int

    def __call__(self, name: str) -> TableSchema | None:
        return catalog.raw_schema(name) if name in self.table_names() else None

    def table_names(self) -> Sequence[str]:
        return [f"my.t.n{i}" for i in range(self.count)]


def test_the_union_is_bounded() -> None:
    text = "from all.data where toktains(message, 'x')"
    assert compile_linq(text, ManyTables(MAX_TABLES), now_ms=NOW, bounds=BOUNDS)
    with pytest.raises(LinqError) as info:
        compile_linq(text, ManyTables(MAX_TABLES + 1), now_ms=NOW, bounds=BOUNDS)
    assert info.value.message.startswith(
        f"`all.data` would read {MAX_TABLES + 1} tables, more than {MAX_TABLES}"
    )
    assert "at line 1, column 6" in info.value.message
    # A glob brings it under the bound.
    narrowed = f'{text} where anymatches(tables, nameglob("my.t.n1*"))'
    plan = compile_linq(narrowed, ManyTables(MAX_TABLES + 1), now_ms=NOW, bounds=BOUNDS).plan
    assert stages(plan)[0].union is not None and len(stages(plan)[0].union) == 1 + 10 + 29


def test_a_lookup_that_cannot_list_tables_has_no_all_data() -> None:
    with pytest.raises(UnknownTableError):
        compile_linq(f"from {ALL_DATA}", catalog.builtin, now_ms=NOW, bounds=BOUNDS)


@pytest.mark.parametrize(
    "expression",
    [
        'tablename("SQL", message)',
        "tablename(message, message)",
        'pragmavalue("LINQ", message, message)',
        "nameglob(message)",
    ],
)
def test_constant_arguments_are_required(expression: str) -> None:
    with pytest.raises(LinqError):
        compile_linq(
            f"from my.app.queries select {expression} as x",
            catalog.raw_schema,
            now_ms=NOW,
            bounds=BOUNDS,
        )


def _at(ms: int) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)
