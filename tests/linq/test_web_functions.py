"""Network and web functions (URI fragments, protocol lookups, geometry) on both engines, against
hand-worked values: the spec (§9.7) names these functions but cites no Devo example for them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from linqd.clock import SimulatedClock
from linqd.errors import LinqError
from linqd.linq import Bounds, compile_linq
from linqd.meta import MetaStore
from linqd.store.duckdb import DuckDBStore

from .chdb_tables import ENGINES, Runner, running_on

NOW_MS = 1_700_000_000_000
URL = "https://www.example.com/docs/a%20b?x=1#sec%202"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    tmp: Path = tmp_path_factory.mktemp("web")
    events = DuckDBStore(tmp / "e.duckdb", MetaStore(tmp / "m.sqlite"), SimulatedClock())
    events.append(
        "demo.ecommerce.data",
        {"statusCode": [404], "uri": [URL], "bytesTransferred": [None]},
        client="self",
        eventdates=[NOW_MS - 1000],
    )
    yield events
    events.close()


@pytest.fixture(scope="module", params=ENGINES)
def engine(
    request: pytest.FixtureRequest, store: DuckDBStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runner]:
    with running_on(request.param, store, tmp_path_factory) as runner:
        yield runner


def evaluate(engine: Runner, expression: str) -> tuple[Any, str]:
    query = compile_linq(
        f"from demo.ecommerce.data select {expression} as value",
        engine.store.schema,
        now_ms=NOW_MS,
        bounds=Bounds(client="self"),
        engine=engine.engine,
    )
    rows = engine.rows(query)
    assert len(rows) == 1
    return rows[0][0], query.columns[-1].type.name


CASES = [
    # -- urifragment -----------------------------------------------------------------------------
    ("urifragment(uri)", "sec%202"),
    ('urifragment("http://h/p#")', None),
    ('urifragment("http://h/p?q=1")', None),
    ('urifragment("/p#a#b")', "a#b"),
    ('urifragment("#top")', "top"),
    ("urifragment(str(bytesTransferred))", None),
    # -- ipprotocol ------------------------------------------------------------------------------
    ("ipprotocol(6)", "TCP"),
    ("ipprotocol(17)", "UDP"),
    ("ipprotocol(1)", "ICMP"),
    ("ipprotocol(0)", "HOPOPT"),
    ("ipprotocol(58)", "IPv6-ICMP"),
    ("ipprotocol(145)", "NSH"),
    ("ipprotocol(61)", None),  # "any host internal protocol": no keyword
    ("ipprotocol(200)", None),
    ("ipprotocol(-1)", None),
    ("ipprotocol(bytesTransferred)", None),
    # -- httpstatusdescription and httpstatustype ------------------------------------------------
    ("httpstatusdescription(statusCode)", "Not Found"),
    ("httpstatusdescription(200)", "OK"),
    ("httpstatusdescription(418)", "I'm a teapot"),
    ("httpstatusdescription(503)", "Service Unavailable"),
    ("httpstatusdescription(299)", None),
    ("httpstatusdescription(bytesTransferred)", None),
    ("httpstatustype(statusCode)", "Client Error"),
    ("httpstatustype(100)", "Informational"),
    ("httpstatustype(204)", "Successful"),
    ("httpstatustype(399)", "Redirection"),
    ("httpstatustype(500)", "Server Error"),
    ("httpstatustype(599)", "Server Error"),
    ("httpstatustype(99)", None),
    ("httpstatustype(600)", None),
    ("httpstatustype(-404)", None),
    ("httpstatustype(bytesTransferred)", None),
]


@pytest.mark.parametrize(("expression", "expected"), CASES)
def test_function(engine: Runner, expression: str, expected: object) -> None:
    value, _ = evaluate(engine, expression)
    assert value == expected


@pytest.mark.parametrize(
    ("expression", "type_name"),
    [
        ("urifragment(uri)", "str"),
        ("ipprotocol(6)", "str"),
        ("httpstatusdescription(statusCode)", "str"),
        ("httpstatustype(statusCode)", "str"),
    ],
)
def test_result_types(engine: Runner, expression: str, type_name: str) -> None:
    value, ltype = evaluate(engine, expression)
    assert ltype == type_name
    assert value is not None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ('ipprotocol("tcp")', "ipprotocol"),
    ],
)
def test_compile_errors(engine: Runner, expression: str, message: str) -> None:
    with pytest.raises(LinqError, match=message):
        evaluate(engine, expression)
