"""Network and web functions (URI fragments, protocol lookups, geometry), shannonentropy and
humanSize on both engines, against hand-worked values: the spec (§9.3, §9.7) names these
functions but cites no Devo example for them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from linqd.clock import SimulatedClock
from linqd.errors import LinqError
from linqd.meta import MetaStore
from linqd.store.duckdb import DuckDBStore

from .chdb_tables import ENGINES, Runner, running_on
from .test_functions import NOW_MS
from .test_functions import evaluate as evaluate_on

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
    return evaluate_on(engine, expression, table="demo.ecommerce.data")


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
    # A lookup that finds nothing, compared with a text: DuckDB 2.0 failed to bind this.
    ('httpstatusdescription(statusCode + 500) = "abc"', None),
    ('decode(statusCode, 1, "a", 2, "a") = "abc"', None),
    ('"abc" != ipprotocol(statusCode)', None),
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
    # -- geohash: Wikipedia's examples, the rest from a plain bisection encoder (the algorithm as
    # published, one bit at a time) worked in Python ----------------------------------------------
    ("geohash(57.64911, 10.40744, 11)", "u4pruydqqvj"),
    ("geohash(42.6, -5.6, 5)", "ezs42"),
    ("geohash(0, 0, 1)", "s"),
    ("geohash(-90, -180, 4)", "0000"),
    ("geohash(90, 180, 4)", "zzzz"),
    ("geohash(48.8583, 2.2945)", "u09tunqu1xpp"),
    ("geohash(-33.8688, 151.2093)", "r3gx2f77bn44"),
    ("geohash(37.7749, -122.4194, 9)", "9q8yyk8yt"),
    ("geohash(91, 0, 5)", None),
    ("geohash(0, -180.5, 5)", None),
    ("geohash(float(bytesTransferred), 0)", None),
    # -- shannonentropy: -sum(p log2 p) over the characters, worked in Python, rounded to 1e-9 ---
    ('shannonentropy("hello")', 1.921928095),
    ('shannonentropy("héllo")', 1.921928095),  # characters, not bytes
    ('shannonentropy("日本日本語")', 1.521928095),
    ('shannonentropy("1223334444")', 1.846439345),
    ('shannonentropy("abcd")', 2.0),
    ('shannonentropy("aaaa")', 0.0),
    ('shannonentropy("")', 0.0),
    ('shannonentropy("a b\\nc d")', 2.521640636),  # a newline is a character too
    ("shannonentropy(str(bytesTransferred))", None),
    # -- humanSize: the Java idiom its signature (bytes, si) comes from, worked by hand ----------
    ("humanSize(0)", "0 B"),
    ("humanSize(1023)", "1023 B"),
    ("humanSize(1024)", "1.0 KiB"),
    ("humanSize(1536)", "1.5 KiB"),
    ("humanSize(1075)", "1.0 KiB"),  # 1.0498...
    ("humanSize(1076)", "1.1 KiB"),  # 1.0507...
    ("humanSize(1048576)", "1.0 MiB"),
    ("humanSize(5368709120)", "5.0 GiB"),
    ("humanSize(9223372036854775807)", "8.0 EiB"),
    ("humanSize(-5)", "-5 B"),
    ("humanSize(999, true)", "999 B"),
    ("humanSize(1000, true)", "1.0 kB"),
    ("humanSize(1050, true)", "1.1 kB"),  # halves up
    ("humanSize(106350, true)", "106.4 kB"),  # 106.35 is a hair less as a double: Java's %.1f
    ("humanSize(1500, false)", "1.5 KiB"),
    ("humanSize(999950, true)", "1000.0 kB"),  # as the idiom: the unit is chosen before rounding
    ("humanSize(1234567890, true)", "1.2 GB"),
    ("humanSize(bytesTransferred)", None),
]


@pytest.mark.parametrize(("expression", "expected"), CASES)
def test_function(engine: Runner, expression: str, expected: object) -> None:
    value, _ = evaluate(engine, expression)
    assert value == expected


# Haversine, R = 6371008.8 m, rounded to the millimetre, worked in Python (math module) for each
# pair: both engines give these very values.
DISTANCES = [
    ("distance(0, 0, 0, 1)", 111_195.08),  # one degree of the equator: 2 pi R / 360
    ("distance(0, 0, 1, 0)", 111_195.08),  # one degree of a meridian: the same
    ("distance(10, 20, 10, 20)", 0.0),
    ("distance(0, 0, 0, 180)", 20_015_114.442),  # antipodes: pi R
    ("distance(90, 0, -90, 0)", 20_015_114.442),
    # Paris (Eiffel tower) to London (Big Ben)
    ("distance(48.8584, 2.2945, 51.5007, -0.1246)", 340_539.39),
    ("distance(40.7128, -74.0060, 40.7129, -74.0061)", 13.953),  # short: haversine's strength
]


@pytest.mark.parametrize(("expression", "expected"), DISTANCES)
def test_distance(engine: Runner, expression: str, expected: float) -> None:
    value, type_name = evaluate(engine, expression)
    assert type_name == "float8"
    assert value == expected


def test_distance_of_a_null_coordinate_is_null(engine: Runner) -> None:
    assert evaluate(engine, "distance(float(bytesTransferred), 0, 0, 0)")[0] is None


@pytest.mark.parametrize(
    ("expression", "type_name"),
    [
        ("urifragment(uri)", "str"),
        ("ipprotocol(6)", "str"),
        ("httpstatusdescription(statusCode)", "str"),
        ("httpstatustype(statusCode)", "str"),
        ("geohash(1.5, 2.5)", "str"),
        ('shannonentropy("ab")', "float8"),
        ("humanSize(1)", "str"),
    ],
)
def test_result_types(engine: Runner, expression: str, type_name: str) -> None:
    value, ltype = evaluate(engine, expression)
    assert ltype == type_name
    assert value is not None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("geohash(1, 2, 0)", "precision of `geohash' must be from 1 to 12"),
        ("geohash(1, 2, 13)", "precision of `geohash' must be from 1 to 12"),
        ("geohash(1, 2, statusCode)", "must be a constant integer"),
        ('ipprotocol("tcp")', "ipprotocol"),
        ("humanSize(1, statusCode = 1)", "must be true or false"),
    ],
)
def test_compile_errors(engine: Runner, expression: str, message: str) -> None:
    with pytest.raises(LinqError, match=message):
        evaluate(engine, expression)
