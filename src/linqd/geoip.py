"""Geolocation reference data: which IPv4 network lies in which country and city, which
autonomous system announces it, which ISP runs it.

Four reference tables (``reference.py``), each a list of disjoint networks with their facts:

- ``geo4_city``: ``countrycode``, ``city``, ``subdivision1code``, ``subdivision2code``,
  ``postalcode``, ``latitude``, ``longitude``, ``coordinates`` (text ``lat,lon``),
  ``accuracyradius`` (a GeoIP2/GeoLite2 City
  database; a Country database fills ``countrycode`` only);
- ``geo4_asn``: ``asn``, ``asorg`` (GeoLite2/GeoIP2 ASN);
- ``geo4_isp``: ``isp``, ``org`` (the commercial GeoIP2 ISP database);
- ``geo4_connection``: ``connectiontype`` (the commercial GeoIP2 Connection-Type database).

Every row is ``start``, ``stop`` (the network's first and last address as unsigned 32-bit
integers, linqd's ip4), ``network`` (its CIDR text, the key of ClickHouse's IP-trie
dictionaries) and the facts, null where the source has none. IPv6 will get ``geo6_*`` tables of
its own.

Where the rows come from: ``serve --geoip-dir DIR`` names a folder of MaxMind DB files
(``.mmdb``), each recognised by the database type its metadata gives. Without it, or for a
kind DIR lacks, the GeoLite2-derived country and AS-organisation data that the ``geoip2fast``
package ships answers (no city, coordinates, AS number, ISP or connection type: those read
null). Reading a City database in Python takes a while, so the rows converted from a ``.mmdb``
are kept as an Arrow file in the cache folder, keyed by the source's size, mtime and digest.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import ipaddress
import logging
import pickle
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cache, partial
from operator import itemgetter
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyarrow import ipc

from .reference import References, ReferenceSource

LOG = logging.getLogger(__name__)

CITY = "geo4_city"
ASN = "geo4_asn"
ISP = "geo4_isp"
CONNECTION = "geo4_connection"

_KEY_FIELDS = (
    pa.field("start", pa.uint32(), nullable=False),
    pa.field("stop", pa.uint32(), nullable=False),
    pa.field("network", pa.string(), nullable=False),
)


def _schema(*facts: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([*_KEY_FIELDS, *(pa.field(name, kind) for name, kind in facts)])


SCHEMAS: Mapping[str, pa.Schema] = {
    CITY: _schema(
        ("countrycode", pa.string()),
        ("city", pa.string()),
        ("subdivision1code", pa.string()),
        ("subdivision2code", pa.string()),
        ("postalcode", pa.string()),
        ("latitude", pa.float64()),
        ("longitude", pa.float64()),
        ("coordinates", pa.string()),
        ("accuracyradius", pa.int32()),
    ),
    ASN: _schema(("asn", pa.int32()), ("asorg", pa.string())),
    ISP: _schema(("isp", pa.string()), ("org", pa.string())),
    CONNECTION: _schema(("connectiontype", pa.string())),
}

PACKAGE = "geoip2fast"
PACKAGE_FILE = "geoip2fast-asn.dat.gz"  # GeoLite2 country + ASN, IPv4
PACKAGE_NOTE = "the GeoLite2 country and AS data of the geoip2fast package"


class GeoIPError(Exception):
    """A --geoip-dir that cannot serve: missing, unreadable, or holding no usable database."""


class DatabaseKind(Enum):
    """What a MaxMind DB file holds, from its metadata's ``database_type``."""

    CITY = "City"
    COUNTRY = "Country"
    ASN = "ASN"
    ISP = "ISP"
    CONNECTION = "Connection-Type"

    @property
    def table(self) -> str:
        return {
            DatabaseKind.CITY: CITY,
            DatabaseKind.COUNTRY: CITY,
            DatabaseKind.ASN: ASN,
            DatabaseKind.ISP: ISP,
            DatabaseKind.CONNECTION: CONNECTION,
        }[self]


def kind_of(database_type: str) -> DatabaseKind | None:
    """``GeoLite2-City``, ``GeoIP2-City``, ``GeoIP2-Connection-Type``... → its kind."""
    for kind in DatabaseKind:
        if database_type.endswith("-" + kind.value):
            return kind
    return None


# -- records → rows ------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


_NONE: Mapping[str, Any] = {}


def _city_facts(record: Mapping[str, Any]) -> tuple[object, ...]:
    # Plain dict look-ups: a City database has millions of records (see ``cached``).
    country = record.get("country") or record.get("registered_country") or _NONE
    location = record.get("location") or _NONE
    subdivisions: Sequence[Mapping[str, Any]] = record.get("subdivisions") or []
    first = subdivisions[0] if len(subdivisions) > 0 else _NONE
    second = subdivisions[1] if len(subdivisions) > 1 else _NONE
    latitude = _number(location.get("latitude"))
    longitude = _number(location.get("longitude"))
    located = latitude is not None and longitude is not None
    return (
        # An anycast or satellite network has no `country`: its registered country is the best
        # answer there is (what the GeoLite2 CSV's country column falls back to as well).
        _text(country.get("iso_code")),
        _text(((record.get("city") or _NONE).get("names") or _NONE).get("en")),
        _text(first.get("iso_code")),
        _text(second.get("iso_code")),
        _text((record.get("postal") or _NONE).get("code")),
        latitude,
        longitude,
        # Formatted here, once: the engines print floats differently.
        f"{latitude!r},{longitude!r}" if located else None,
        _positive(location.get("accuracy_radius")),
    )


_FACTS: Mapping[str, Callable[[Mapping[str, Any]], tuple[object, ...]]] = {
    CITY: _city_facts,
    ASN: lambda r: (
        _positive(r.get("autonomous_system_number")),
        _text(r.get("autonomous_system_organization")),
    ),
    ISP: lambda r: (_text(r.get("isp")), _text(r.get("organization"))),
    CONNECTION: lambda r: (_text(r.get("connection_type")),),
}


def _cidr(first: int, prefix: int) -> str:
    return f"{socket.inet_ntoa(first.to_bytes(4, 'big'))}/{prefix}"


def _table(name: str, rows: Iterable[tuple[int, int, tuple[object, ...]]]) -> pa.Table:
    """``rows`` of (first address, prefix length, facts) → the reference table ``name``, by
    first address; rows whose facts are all null are left out (an address there reads null
    anyway)."""
    schema = SCHEMAS[name]
    kept = [row for row in rows if any(fact is not None for fact in row[2])]
    kept.sort(key=itemgetter(0))  # linear when sorted already, as a database's networks are
    width = len(schema) - len(_KEY_FIELDS)
    facts: list[Sequence[object]] = list(zip(*(row[2] for row in kept), strict=True))
    columns: list[Sequence[object]] = [
        [row[0] for row in kept],
        [row[0] + (1 << (32 - row[1])) - 1 for row in kept],
        [_cidr(row[0], row[1]) for row in kept],
        *(facts or [[] for _ in range(width)]),
    ]
    return pa.table(
        [pa.array(column, field.type) for column, field in zip(columns, schema, strict=True)],
        schema=schema,
    )


def empty(name: str) -> pa.Table:
    """Reference table ``name`` without rows: its facts read null for every address."""
    return SCHEMAS[name].empty_table()


# -- MaxMind DB files ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    """A MaxMind DB file of ``--geoip-dir``."""

    path: Path
    kind: DatabaseKind
    database_type: str


def open_reader(path: Path) -> Any:
    import maxminddb

    try:
        return maxminddb.open_database(str(path))
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as error:
        raise GeoIPError(f"{path} is not a readable MaxMind DB file: {error}") from None


def scan(directory: Path) -> dict[DatabaseKind, Database]:
    """The MaxMind DB files of ``directory`` by kind; a clear error for a missing folder, an
    unreadable file, a database of a kind linqd does not read, two of a kind, or none."""
    if not directory.is_dir():
        raise GeoIPError(f"--geoip-dir {directory} is not a folder")
    found: dict[DatabaseKind, Database] = {}
    for path in sorted(directory.glob("*.mmdb")):
        reader = open_reader(path)
        try:
            database_type = str(reader.metadata().database_type)
        finally:
            reader.close()
        kind = kind_of(database_type)
        if kind is None:
            raise GeoIPError(
                f"{path} is a {database_type} database; linqd reads City, Country, ASN, ISP "
                "and Connection-Type databases"
            )
        if kind in found:
            raise GeoIPError(f"{path} and {found[kind].path} are both {kind.value} databases")
        found[kind] = Database(path, kind, database_type)
    if not found:
        raise GeoIPError(f"--geoip-dir {directory} holds no MaxMind DB (.mmdb) file")
    return found


def _networks(
    reader: Any, facts: Callable[[Mapping[str, Any]], tuple[object, ...]]
) -> Iterator[tuple[int, int, tuple[object, ...]]]:
    for network, record in reader:
        # An IPv6 database yields its IPv4 subtree once, as IPv4 networks.
        if isinstance(network, ipaddress.IPv4Network) and isinstance(record, Mapping):
            yield int(network.network_address), network.prefixlen, facts(record)


def convert(database: Database) -> pa.Table:
    """The reference rows of ``database`` (slow for a City database: see ``cached``)."""
    name = database.kind.table
    reader = open_reader(database.path)
    try:
        return _table(name, _networks(reader, _FACTS[name]))
    finally:
        reader.close()


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()[:16]


def cached(database: Database, cache_dir: Path | None) -> pa.Table:
    """``convert(database)``, kept in ``cache_dir`` under a name of the source file's size,
    mtime and digest, so a restart with the same file reads the Arrow file instead (a 2018
    GeoLite2-City, 3.1 M IPv4 networks: about 2-4 minutes to convert on a busy 2-core machine,
    2 s from the cache)."""
    with _CONVERTING:
        return _cached(database, cache_dir)


# One conversion at a time: a query's load and the server's warm-up never convert a file twice.
_CONVERTING = threading.Lock()


def _cached(database: Database, cache_dir: Path | None) -> pa.Table:
    if cache_dir is None:
        return convert(database)
    stat = database.path.stat()
    key = f"{database.path.stem}-{stat.st_size}-{stat.st_mtime_ns}-{_digest(database.path)}"
    path = cache_dir / f"{key}.{database.kind.table}.arrow"
    if path.exists():
        with ipc.open_file(path) as cache:
            table = cache.read_all()
        if table.schema.equals(SCHEMAS[database.kind.table]):
            return table
    table = convert(database)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for stale in cache_dir.glob(f"{database.path.stem}-*.{database.kind.table}.arrow"):
        stale.unlink()
    partial_path = path.with_suffix(".tmp")
    with ipc.new_file(partial_path, table.schema) as sink:
        sink.write_table(table)
    partial_path.replace(path)
    return table


# -- the packaged data -----------------------------------------------------------------------------


class _PlainData(pickle.Unpickler):
    """geoip2fast's file is a pickle of lists, dicts, strings and numbers: anything else (a class
    or function to call) is refused, so the file cannot run code whatever it holds."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{PACKAGE_FILE} names {module}.{name}")


# Read once a process (tables are immutable): every store of the process shares the rows.
@cache
def _package_data() -> tuple[Any, ...]:
    # Found without importing the package: only its data file is used, never its code.
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise OSError(f"the {PACKAGE} package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / PACKAGE_FILE
    with gzip.open(path, "rb") as source:
        version, info, _total, database = _PlainData(source).load()
    if version not in (120, 121) or not (info.get("country") and info.get("asn")):
        raise ValueError(f"{PACKAGE_FILE} has an unknown layout ({version}, {info})")
    return tuple(database)


# geoip2fast's first 16 country entries are IANA special ranges (private, loopback, "not found").
_SPECIAL_COUNTRIES = 16


def _package_rows(
    firsts: Sequence[Sequence[int]],
    prefixes: Sequence[Sequence[int]],
    ids: Sequence[Sequence[int]],
    value: Callable[[int], tuple[object, ...]],
) -> Iterator[tuple[int, int, tuple[object, ...]]]:
    for chunk_firsts, chunk_prefixes, chunk_ids in zip(firsts, prefixes, ids, strict=True):
        for first, prefix, index in zip(chunk_firsts, chunk_prefixes, chunk_ids, strict=True):
            yield first, prefix, value(index)


@cache
def packaged_city() -> pa.Table:
    """The country of every network geoip2fast knows (other city facts null)."""
    _, _, countries, _, firsts, _, country_ids, _, prefixes, _ = _package_data()
    codes = [None if i < _SPECIAL_COUNTRIES else c.split(":")[0] for i, c in enumerate(countries)]
    blank = (None,) * (len(SCHEMAS[CITY]) - len(_KEY_FIELDS) - 1)
    return _table(CITY, _package_rows(firsts, prefixes, country_ids, lambda i: (codes[i], *blank)))


@cache
def packaged_asn() -> pa.Table:
    """The AS organisation of every network geoip2fast knows (its file has no AS numbers)."""
    _, _, _, names, _, firsts, _, asn_ids, _, prefixes = _package_data()
    # It files the IANA special ranges (private, loopback...) under "IANA.ORG", which GeoLite2
    # has no entry for: those addresses read null, as with a GeoLite2 ASN database.
    orgs = [None if name in ("<unknown>", "IANA.ORG") else _text(name) for name in names]
    return _table(ASN, _package_rows(firsts, prefixes, asn_ids, lambda i: (None, orgs[i])))


# -- the sources a store loads ---------------------------------------------------------------


def packaged_sources() -> list[ReferenceSource]:
    """What ``make run`` answers with offline: the packaged country and AS organisation data,
    and empty ISP and connection-type tables."""
    return [
        ReferenceSource(CITY, packaged_city, PACKAGE_NOTE),
        ReferenceSource(ASN, packaged_asn, PACKAGE_NOTE),
        ReferenceSource(ISP, partial(empty, ISP), "the empty ISP table"),
        ReferenceSource(CONNECTION, partial(empty, CONNECTION), "the empty connection types"),
    ]


def directory_sources(directory: Path, cache_dir: Path | None) -> list[ReferenceSource]:
    """The sources of ``--geoip-dir``'s databases (checked now: a bad folder fails at startup),
    a City database preferred to a Country one."""
    found = scan(directory)
    if DatabaseKind.CITY in found:
        found.pop(DatabaseKind.COUNTRY, None)
    return [
        ReferenceSource(
            database.kind.table,
            partial(cached, database, cache_dir),
            f"the {database.database_type} database {database.path}",
        )
        for database in found.values()
    ]


# Where --geoip-dir's converted databases are kept, in the data directory.
CACHE_DIR = "geoip-cache"


def geoip_references(directory: Path | None, cache_dir: Path | None) -> References:
    """The reference sources of a server: the packaged data, with the kinds ``directory``
    (``--geoip-dir``) holds a database of in their place."""
    builtin = References(packaged_sources())
    if directory is None:
        return builtin
    return builtin.replacing(directory_sources(directory, cache_dir))


def warm_cache(directory: Path, cache_dir: Path) -> None:
    """Convert ``directory``'s databases into ``cache_dir`` now (the server runs this in the
    background at startup), so the first geolocation query reads the cache rather than waiting
    for a conversion; a failure is logged and left for that query to report."""
    try:
        for database in scan(directory).values():
            cached(database, cache_dir)
    except (GeoIPError, OSError, ValueError) as error:
        LOG.warning("geolocation data not prepared: %s", error)
