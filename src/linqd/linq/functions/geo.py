"""Geolocation of ip4 addresses (the GeoIP2 names and their deprecated ``mm2*``/``mm*``
aliases), read from the reference tables of ``linqd.geoip``.

Each call compiles to a lookup in the engine, never to a per-row Python call:

- DuckDB: a scalar subquery with an ASOF join, ``(SELECT CASE WHEN k <= stop THEN fact END FROM
  (SELECT ip AS k) ASOF LEFT JOIN ref ON k >= start)``: the last network starting at or below the
  address, if the address is inside it. DuckDB decorrelates it into one ASOF join over the
  query's distinct addresses (a BETWEEN join or a plain correlated subquery is 10-100x slower).
- ClickHouse: ``dictGet`` on the IP-trie dictionary the store builds over the same rows
  (``reference.TRIE_KEY``). Its attributes cannot be Nullable: a null fact is stored as ``''``,
  ``0`` or ``nan`` and read back as null here. No fact is legitimately one of those (an AS
  number, accuracy radius is positive; a name is not empty).
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
from sqlglot import exp

from ... import geoip
from ...reference import reference_table, trie_name
from ..types import LType
from .base import Arg, Context, FunctionDef, Translator, call, lit, sig

# The subquery's own aliases: every column it reads of them is qualified with one, so an event
# field of any name (even `start`) stays the outer row's.
_KEY = "ref$k"
_RANGE = "ref$r"


def _outer(ctx: Context, sql: exp.Expression) -> exp.Expression:
    """``sql`` with its columns qualified by the source's alias: in a grouped SELECT where a key
    is also an output of the same name (``"ip" AS "ip"``), DuckDB binds a bare ``"ip"`` in a
    correlated subquery to the output, and refuses it as not grouped."""
    alias = ctx.source_alias()
    qualified = sql.copy()
    if alias is None:
        return qualified
    for column in list(qualified.find_all(exp.Column)):
        if not column.table and column.find_ancestor(exp.Select) is None:
            column.set("table", exp.to_identifier(alias))
    return qualified


def _duckdb(table: str, fact: str) -> Translator:
    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        key = exp.column("k", table=_KEY, quoted=True)
        ranges = reference_table(table).as_(_RANGE, quoted=True)
        address = exp.alias_(_outer(ctx, args[0].sql), "k", quoted=True)
        probe = exp.Subquery(
            this=exp.select(address),
            alias=exp.TableAlias(this=exp.to_identifier(_KEY, quoted=True)),
        )
        inside = key <= exp.column("stop", table=_RANGE, quoted=True)
        value = exp.Case(
            ifs=[exp.If(this=inside, true=exp.column(fact, table=_RANGE, quoted=True))]
        )
        query = exp.select(value).from_(probe, copy=False)
        query = query.join(
            ranges,
            on=key >= exp.column("start", table=_RANGE, quoted=True),
            join_type="LEFT",
            copy=False,
        )
        query.args["joins"][-1].set("method", "ASOF")
        return exp.Subquery(this=query)

    return translate


def _clickhouse(table: str, fact: str) -> Translator:
    kind = geoip.SCHEMAS[table].field(fact).type

    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        # A null address looks up 0.0.0.0, which no table holds.
        address = call("toIPv4", call("ifNull", args[0].sql, lit(0)))
        value = call("dictGet", lit(trie_name(table)), lit(fact), address)
        if pa.types.is_floating(kind):
            return exp.If(this=call("isNaN", value), true=exp.Null(), false=value.copy())
        return exp.Nullif(this=value, expression=lit("" if pa.types.is_string(kind) else 0))

    return translate


def _geo(names: tuple[str, ...], table: str, fact: str, returns: str, doc: str) -> FunctionDef:
    return FunctionDef(
        names,
        (sig(f"ip4 -> {returns}"),),
        doc,
        "geolocation",
        {"duckdb": _duckdb(table, fact), "clickhouse": _clickhouse(table, fact)},
    )


_FROM_CITY = " From a City database (`serve --geoip-dir`); null for private and unknown addresses."
_DEFAULT_DATA = " The packaged default data has it for every public address."
_COMMERCIAL = (
    " Needs MaxMind's commercial GeoIP2 {db} database in `serve --geoip-dir`; null without it."
)

FUNCTIONS: tuple[FunctionDef, ...] = (
    _geo(("countrycode", "mm2country", "mmcountry"), geoip.CITY, "countrycode", "str",
         "ISO 3166-1 alpha-2 code of the country of an address (`US`), the registered "
         "country where the location's is unknown; null for private and unknown addresses."
         + _DEFAULT_DATA),
    _geo(("city", "mm2city", "mmcity"), geoip.CITY, "city", "str",
         "English name of the city of an address." + _FROM_CITY),
    _geo(("subdivision1code",), geoip.CITY, "subdivision1code", "str",
         "ISO 3166-2 code (without the country) of the largest subdivision of an address "
         "(a US state: `CA`)." + _FROM_CITY),
    _geo(("subdivision2code",), geoip.CITY, "subdivision2code", "str",
         "ISO 3166-2 code of the second subdivision of an address (an English county)."
         + _FROM_CITY),
    _geo(("postalcode",), geoip.CITY, "postalcode", "str",
         "Postal code of an address." + _FROM_CITY),
    _geo(("latitude", "mm2latitude", "mmlatitude"), geoip.CITY, "latitude", "float8",
         "Approximate latitude of an address, in degrees." + _FROM_CITY),
    _geo(("longitude", "mm2longitude", "mmlongitude"), geoip.CITY, "longitude", "float8",
         "Approximate longitude of an address, in degrees." + _FROM_CITY),
    _geo(("coordinates", "mm2coordinates", "mmcoordinates"), geoip.CITY, "coordinates", "str",
         "Approximate location of an address as text `latitude,longitude` "
         "(`37.751,-97.822`): linqd has no geographic type; `latitude` and `longitude` give "
         "the numbers." + _FROM_CITY),
    _geo(("accuracyradius",), geoip.CITY, "accuracyradius", "int4",
         "Radius in km around the location of an address that holds it." + _FROM_CITY),
    _geo(("asn", "mm2asn", "mmasn"), geoip.ASN, "asn", "int4",
         "Number of the autonomous system announcing an address (15169). From an ASN "
         "database (`serve --geoip-dir`): the packaged default data has AS names only, so "
         "this is null without one."),
    _geo(("asorg", "mm2asorg", "mmasorg"), geoip.ASN, "asorg", "str",
         "Organisation of the autonomous system announcing an address (`GOOGLE`); null for "
         "private and unknown addresses." + _DEFAULT_DATA),
    _geo(("isp", "mm2isp", "mmisp"), geoip.ISP, "isp", "str",
         "Internet service provider of an address." + _COMMERCIAL.format(db="ISP")),
    _geo(("org", "mm2org", "mmorg"), geoip.ISP, "org", "str",
         "Organisation an address is assigned to." + _COMMERCIAL.format(db="ISP")),
    _geo(("connectiontype",), geoip.CONNECTION, "connectiontype", "str",
         "Connection type of an address (`Cable/DSL`, `Cellular`, `Corporate`, `Satellite`)."
         + _COMMERCIAL.format(db="Connection-Type")),
)  # fmt: skip
