"""Geolocation functions (spec §9.7: the GeoIP2 names and their ``mm2*``/``mm*`` aliases) on
both engines, over small MaxMind DB files written here (mmdb-writer) and read through
``serve --geoip-dir``'s path (``geoip.directory_sources``), with hand-worked answers; then the
folder checks ``--geoip-dir`` makes at startup (the packaged default data:
``test_geo_packaged.py``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from mmdb_writer import MMDBWriter  # type: ignore[import-untyped]
from netaddr import IPSet  # type: ignore[import-untyped]

from linqd import geoip
from linqd.clock import SimulatedClock
from linqd.linq import Bounds, compile_linq, compile_plan
from linqd.meta import MetaStore
from linqd.query.lines import line_expression, line_select
from linqd.query.modes import EncodeOptions, Mode
from linqd.reference import References
from linqd.store.duckdb import DuckDBStore

from .chdb_tables import ENGINES, Runner, running_on
from .test_functions import NOW_MS
from .test_functions import evaluate as evaluate_on

GOOGLE = {
    "country": {"iso_code": "US"},
    "city": {"names": {"en": "Mountain View", "de": "Mountain View"}},
    "subdivisions": [{"iso_code": "CA"}],
    "postal": {"code": "94035"},
    "location": {"latitude": 37.751, "longitude": -97.822, "accuracy_radius": 1000},
}
LONDON = {
    "country": {"iso_code": "GB"},
    "city": {"names": {"en": "London"}},
    "subdivisions": [{"iso_code": "ENG"}, {"iso_code": "WSM"}],
    "postal": {"code": "SW1A"},
    "location": {"latitude": 51.5142, "longitude": -0.0931, "accuracy_radius": 10},
}
ANYCAST = {"registered_country": {"iso_code": "AU"}}  # no located country
EUROPE = {"country": {"iso_code": "FR"}}  # a country, nothing finer

DATABASES: Mapping[str, Mapping[str, Mapping[str, Any]]] = {
    "GeoLite2-City": {
        "8.8.8.0/24": GOOGLE,
        "81.2.69.0/24": LONDON,
        "1.0.0.0/24": ANYCAST,
        "2.0.0.0/16": EUROPE,
    },
    "GeoLite2-ASN": {
        "8.8.8.0/24": {
            "autonomous_system_number": 15169,
            "autonomous_system_organization": "GOOGLE",
        },
        "1.0.0.0/24": {"autonomous_system_number": 13335},
    },
    "GeoIP2-ISP": {"8.8.8.0/24": {"isp": "Google", "organization": "Google Public DNS"}},
    "GeoIP2-Connection-Type": {"81.2.69.0/24": {"connection_type": "Cable/DSL"}},
}


def write_mmdb(path: Path, database_type: str, networks: Mapping[str, Mapping[str, Any]]) -> None:
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type=database_type)
    for network, record in networks.items():
        writer.insert_network(IPSet([network]), dict(record))
    writer.to_db_file(str(path))


@pytest.fixture(scope="module")
def geoip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("geoip")
    for database_type, networks in DATABASES.items():
        write_mmdb(directory / f"{database_type}.mmdb", database_type, networks)
    return directory


@pytest.fixture(scope="module")
def references(geoip_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> References:
    cache = tmp_path_factory.mktemp("geoip-cache")
    return geoip.geoip_references(geoip_dir, cache)


@pytest.fixture(scope="module")
def store(
    tmp_path_factory: pytest.TempPathFactory, references: References
) -> Iterator[DuckDBStore]:
    tmp: Path = tmp_path_factory.mktemp("geo")
    events = DuckDBStore(
        tmp / "e.duckdb", MetaStore(tmp / "m.sqlite"), SimulatedClock(), references=references
    )
    events.append(
        "demo.ecommerce.data",
        {"clientIpAddress": [0x08080808], "statusCode": [200], "bytesTransferred": [None]},
        client="self",
        eventdates=[NOW_MS - 1000],
    )
    yield events
    events.close()


@pytest.fixture(scope="module", params=ENGINES)
def engine(
    request: pytest.FixtureRequest,
    store: DuckDBStore,
    references: References,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Runner]:
    with running_on(request.param, store, tmp_path_factory, references) as runner:
        yield runner


def evaluate(engine: Runner, expression: str) -> tuple[Any, str]:
    return evaluate_on(engine, expression, table="demo.ecommerce.data")


CASES = [
    # -- countrycode -----------------------------------------------------------------------------
    ("countrycode(clientIpAddress)", "US"),
    ("mm2country(clientIpAddress)", "US"),
    ("mmcountry(clientIpAddress)", "US"),
    ('countrycode("81.2.69.160")', "GB"),
    ('countrycode("1.0.0.1")', "AU"),  # the registered country where none is located
    ('countrycode("2.0.255.255")', "FR"),
    ('countrycode("2.1.0.0")', None),  # just past a network
    ('countrycode("10.0.0.1")', None),  # private
    ('countrycode("0.0.0.0")', None),
    ('countrycode("255.255.255.255")', None),
    ("countrycode(ip4(str(bytesTransferred)))", None),
    # -- city facts ------------------------------------------------------------------------------
    ("city(clientIpAddress)", "Mountain View"),
    ("mm2city(clientIpAddress)", "Mountain View"),
    ('mmcity("81.2.69.1")', "London"),
    ('city("2.0.0.1")', None),
    ("subdivision1code(clientIpAddress)", "CA"),
    ("subdivision2code(clientIpAddress)", None),
    ('subdivision1code("81.2.69.1")', "ENG"),
    ('subdivision2code("81.2.69.1")', "WSM"),
    ("postalcode(clientIpAddress)", "94035"),
    ("latitude(clientIpAddress)", 37.751),
    ("mm2longitude(clientIpAddress)", -97.822),
    ('mm2latitude("81.2.69.255")', 51.5142),
    ('longitude("2.0.0.1")', None),
    ('latitude("10.1.2.3")', None),
    ("coordinates(clientIpAddress)", "37.751,-97.822"),
    ('mm2coordinates("81.2.69.2")', "51.5142,-0.0931"),
    ('coordinates("2.0.0.1")', None),
    ("accuracyradius(clientIpAddress)", 1000),
    ('accuracyradius("2.0.0.1")', None),
    # -- autonomous system -----------------------------------------------------------------------
    ("asn(clientIpAddress)", 15169),
    ("mm2asn(clientIpAddress)", 15169),
    ('mmasn("1.0.0.255")', 13335),
    ('asn("81.2.69.1")', None),
    ("asorg(clientIpAddress)", "GOOGLE"),
    ("mm2asorg(clientIpAddress)", "GOOGLE"),
    ('asorg("1.0.0.1")', None),  # a number without an organisation
    # -- ISP and connection type -----------------------------------------------------------------
    ("isp(clientIpAddress)", "Google"),
    ("mm2isp(clientIpAddress)", "Google"),
    ("org(clientIpAddress)", "Google Public DNS"),
    ("mm2org(clientIpAddress)", "Google Public DNS"),
    ('isp("81.2.69.1")', None),
    ('connectiontype("81.2.69.1")', "Cable/DSL"),
    ("connectiontype(clientIpAddress)", None),
]

TYPES = {
    "latitude": "float8",
    "mm2longitude": "float8",
    "mm2latitude": "float8",
    "longitude": "float8",
    "accuracyradius": "int4",
    "asn": "int4",
    "mm2asn": "int4",
    "mmasn": "int4",
}


@pytest.mark.parametrize(("expression", "expected"), CASES, ids=[c[0] for c in CASES])
def test_geolocation(engine: Runner, expression: str, expected: object) -> None:
    value, type_name = evaluate(engine, expression)
    assert value == expected
    assert type_name == TYPES.get(expression.partition("(")[0], "str")


QUERIES = [
    # where, select, group keys, after group
    (
        'from demo.ecommerce.data where mm2country(clientIpAddress) = "US" '
        "select asorg(clientIpAddress) as org",
        [("GOOGLE",)],
    ),
    ('from demo.ecommerce.data where countrycode(clientIpAddress) = "GB" select 1 as one', []),
    (
        "from demo.ecommerce.data select mm2country(clientIpAddress) as c "
        "group by c select count() as n",
        [("US", 1)],
    ),
    (
        "from demo.ecommerce.data group by clientIpAddress "
        "select count() as n, city(clientIpAddress) as city, asn(clientIpAddress) as asn",
        [(0x08080808, 1, "Mountain View", 15169)],
    ),
    (
        "from demo.ecommerce.data group by statusCode select count() as n "
        'where countrycode(ip4("8.8.8.8")) = "US"',
        [(200, 1)],
    ),
]


@pytest.mark.parametrize(("linq", "expected"), QUERIES, ids=[q[0][25:70] for q in QUERIES])
def test_geolocation_anywhere_in_a_query(engine: Runner, linq: str, expected: list[Any]) -> None:
    query = compile_linq(
        linq, engine.store.schema, now_ms=NOW_MS, bounds=Bounds(client="self"), engine=engine.engine
    )
    assert [tuple(row) for row in engine.rows(query)] == expected


def test_a_databases_rows_are_read_from_the_cache_when_it_did_not_change(
    geoip_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = geoip.scan(geoip_dir)[geoip.DatabaseKind.CITY]
    first = geoip.cached(database, tmp_path)
    assert [p.name.endswith(".geo4_city.arrow") for p in tmp_path.iterdir()] == [True]

    def unexpected(database: geoip.Database) -> None:
        raise AssertionError("converted again")

    monkeypatch.setattr(geoip, "convert", unexpected)
    assert geoip.cached(database, tmp_path).equals(first)
    assert first.column("network").to_pylist() == [
        "1.0.0.0/24",
        "2.0.0.0/16",
        "8.8.8.0/24",
        "81.2.69.0/24",
    ]


def test_a_city_database_is_preferred_to_a_country_one(geoip_dir: Path, tmp_path: Path) -> None:
    write_mmdb(tmp_path / "city.mmdb", "GeoLite2-City", {"8.8.8.0/24": GOOGLE})
    write_mmdb(tmp_path / "country.mmdb", "GeoLite2-Country", {"8.8.8.0/24": EUROPE})
    sources = geoip.directory_sources(tmp_path, None)
    assert [s.name for s in sources] == [geoip.CITY]
    assert "GeoLite2-City" in sources[0].description
    assert sources[0].load().column("countrycode").to_pylist() == ["US"]


def test_a_folder_that_cannot_serve_is_refused(tmp_path: Path) -> None:
    with pytest.raises(geoip.GeoIPError, match="is not a folder"):
        geoip.scan(tmp_path / "missing")
    with pytest.raises(geoip.GeoIPError, match=r"holds no MaxMind DB \(.mmdb\) file"):
        geoip.scan(tmp_path)
    (tmp_path / "broken.mmdb").write_bytes(b"not a database")
    with pytest.raises(geoip.GeoIPError, match=r"broken\.mmdb is not a readable MaxMind DB"):
        geoip.scan(tmp_path)
    (tmp_path / "broken.mmdb").unlink()
    write_mmdb(tmp_path / "a.mmdb", "GeoLite2-ASN", {})
    write_mmdb(tmp_path / "b.mmdb", "GeoLite2-ASN", {})
    with pytest.raises(geoip.GeoIPError, match="are both ASN databases"):
        geoip.scan(tmp_path)
    (tmp_path / "b.mmdb").unlink()
    write_mmdb(tmp_path / "c.mmdb", "GeoIP2-Anonymous-IP", {})
    with pytest.raises(geoip.GeoIPError, match="is a GeoIP2-Anonymous-IP database"):
        geoip.scan(tmp_path)


def test_geolocation_in_a_live_window_as_lines(engine: Runner) -> None:
    """A continuous query compiles its plan again for each window (other bounds, ``query/live``)
    and an API answer or alert wraps it in a line-building SELECT (``query/lines``)."""
    query = compile_linq(
        "from demo.ecommerce.data select mm2country(clientIpAddress) as country, "
        "mm2asn(clientIpAddress) as asn",
        engine.store.schema,
        now_ms=NOW_MS,
        bounds=Bounds(client="self"),
        engine=engine.engine,
    )
    window = compile_plan(
        query.plan,
        now_ms=NOW_MS,
        bounds=Bounds(NOW_MS - 60_000, NOW_MS, "self", seq_after=0),
        engine=engine.engine,
    )
    line = line_expression(Mode.JSON, query.columns, EncodeOptions(), engine=engine.engine)
    rows = engine.target.fetch(line_select(window, line))
    assert [row[0] for row in rows] == ['{"country":"US","asn":15169}']


def test_the_servers_warm_up_fills_the_cache_and_only_logs_a_failure(
    geoip_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    geoip.warm_cache(geoip_dir, tmp_path / "cache")
    tables = sorted(p.name.split(".", 1)[1] for p in (tmp_path / "cache").iterdir())
    assert tables == [
        "geo4_asn.arrow",
        "geo4_city.arrow",
        "geo4_connection.arrow",
        "geo4_isp.arrow",
    ]
    geoip.warm_cache(tmp_path / "missing", tmp_path / "cache")
    assert "geolocation data not prepared: --geoip-dir" in caplog.text
