"""The ClickHouse layout of linqd's tables, as the log platforms on ClickHouse lay theirs out.

One MergeTree table per linqd table, named exactly like the LINQ table (a quoted identifier such
as ``"demo.ecommerce.data"``), so the compiler's SELECTs name it unchanged::

    eventdate DateTime64(3, 'UTC') CODEC(Delta, ZSTD)   -- partition key, delta-friendly
    client    LowCardinality(String)                    -- a handful of domains per table
    _seq      Int64                                     -- the store-wide sequence
    <the table's own columns, every one Nullable>
    PARTITION BY toDate32(eventdate)                    -- retention drops whole days
    ORDER BY (client, eventdate, _seq)                  -- every query is one domain's time range

- Types: str → Nullable(String) CODEC(ZSTD), int4 → Nullable(Int32), int8 → Nullable(Int64),
  float8 → Nullable(Float64), bool → Nullable(Bool), timestamp → Nullable(DateTime64(3, 'UTC')),
  ip4 → Nullable(IPv4), json → Nullable(String) CODEC(ZSTD). The compiler relies on these.
- ``LowCardinality(Nullable(String))`` for the string columns that are low-cardinality by
  nature (``LOW_CARDINALITY``): the hostname of raw tables, the built-in tables' method,
  protocol, level, domain, country-like columns. Lookups keep plain types: their columns are the
  uploader's, nothing is known about them.
- Free-text columns (``FREE_TEXT``: ``message`` of raw tables, URLs, user agents, ...) get two
  token bloom filters (``tokenbf_v1``) for LINQ's ``->``, ``->>`` and ``toktains``. ClickHouse
  refuses ``tokenbf_v1`` on a Nullable column, so each index is over an expression
  (``token_haystack``): ``ifNull(col, '')`` for case-sensitive token tests and
  ``lower(ifNull(col, ''))`` for case-insensitive ones. ClickHouse uses an expression index only
  for a predicate over the same expression: ``hasToken(ifNull(col, ''), 'tok')``, and
  ``hasTokenCaseInsensitive(ifNull(col, ''), 'tok')`` (which ClickHouse answers from the
  ``lower`` index). The compiler gets these expressions from ``token_haystack``.
- Partitions are days as ``toDate32``, not ``toDate``: ``Date`` starts in 1970, and ClickHouse
  then prunes the clamped partition of an event dated before 1970 out of a range query that
  holds it (measured on chdb 26.9: the event is stored and never found).
- Retention is a table TTL, ``TTL eventdate + INTERVAL N DAY`` with ``ttl_only_drop_parts = 1``
  (whole day partitions go, no row-by-row rewrite).
- Single node: ``non_replicated_deduplication_window`` turns on insert deduplication (a retried
  batch with the same ``insert_deduplication_token`` is stored once), ``fsync_after_insert``
  makes an acknowledged insert durable like DuckDB's committed WAL.
- Cluster (``cluster`` set): every statement is ``ON CLUSTER``; the rows live in
  ``<name>#local`` ReplicatedMergeTree tables (``#`` cannot occur in a LINQ table name) and the
  LINQ name is a Distributed table over them. The sharding key is ``cityHash64(client)``: an
  append (always one domain) lands whole on one shard, so its deduplication token works there
  as on a single node, a lookup (one domain per storage table) swaps on one shard, and
  ``optimize_skip_unused_shards`` can send a domain's query to one shard. The cost is skew: a
  big domain loads one shard.

DDL is built as sqlglot expressions and printed by sqlglot's ClickHouse dialect. What that
dialect cannot express is assembled in one place, ``command``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
from sqlglot import exp

from ..linq.types import Kind, LType
from . import catalog
from .catalog import CLIENT_COLUMN, EVENTDATE, SEQ_COLUMN, TableSchema

DIALECT = "clickhouse"
LOCAL_SUFFIX = "#local"
STAGING_SUFFIX = "#new"
DEDUP_WINDOW = 1000  # batches remembered per table for insert deduplication
# 32 KiB per granule of 8192 rows, 3 hash functions: the OpenTelemetry exporter's choice.
TOKEN_BLOOM = (32768, 3, 0)
REPLICA_PATH = "/clickhouse/tables/{uuid}/{shard}"  # {uuid}: EXCHANGE and RENAME keep paths

_TYPES = {
    Kind.STR: "Nullable(String)",
    Kind.INT4: "Nullable(Int32)",
    Kind.INT8: "Nullable(Int64)",
    Kind.FLOAT8: "Nullable(Float64)",
    Kind.BOOL: "Nullable(Bool)",
    Kind.TIMESTAMP: "Nullable(DateTime64(3, 'UTC'))",
    Kind.IP4: "Nullable(IPv4)",
    Kind.IP6: "Nullable(UInt128)",
    Kind.MAC: "Nullable(UInt64)",
    Kind.JSON: "Nullable(String)",
}
_COMPRESSED = (Kind.STR, Kind.JSON)
TYPES_FROM_CLICKHOUSE = {
    "Nullable(String)": "str",
    "LowCardinality(Nullable(String))": "str",
    "Nullable(Int32)": "int4",
    "Nullable(Int64)": "int8",
    "Nullable(Float64)": "float8",
    "Nullable(Bool)": "bool",
    "Nullable(DateTime64(3, 'UTC'))": "timestamp",
    "Nullable(IPv4)": "ip4",
    "Nullable(UInt128)": "ip6",
    "Nullable(UInt64)": "mac",
}

# Per built-in table: (low-cardinality columns, free-text columns).
_BUILTIN_TRAITS: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    "demo.ecommerce.data": (
        frozenset({"method", "protocol"}),
        frozenset({"uri", "referralUri", "userAgent"}),
    ),
    "siem.logtrust.web.activity": (
        frozenset(
            {"level", "domain", "type", "method", "result", "locale", "country", "region"}
            | {"city", "isp", "org", "serverHost"}
        ),
        frozenset({"url", "headers", "params", "userAgent", "errorInfo"}),
    ),
    "siem.logtrust.web.connection": (
        frozenset({"level", "domain", "serverHost", "service", "method", "action", "result"}),
        frozenset({"userAgent"}),
    ),
    "siem.logtrust.collector.counter": (
        frozenset({"collector", "engine", "kind", "object"}),
        frozenset(),
    ),
    "siem.logtrust.web.navigation": (
        frozenset({"level", "domain", "method", "section", "action"}),
        frozenset({"url", "userAgent"}),
    ),
    catalog.REJECTED_TABLE: (frozenset({"tag", "hostname", "reason"}), frozenset({"message"})),
    "siem.logtrust.alert.info": (
        frozenset({"alertHost", "domain", "context", "category", "protocol", "application"})
        | frozenset({"engine"}),
        frozenset({"extraData"}),
    ),
}
_RAW_TRAITS = (frozenset({"hostname"}), frozenset({"message"}))
_NO_TRAITS: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())


@dataclass(frozen=True)
class Layout:
    """Where and how tables are created: one node, or ``ON CLUSTER cluster``."""

    cluster: str | None = None

    def storage(self, name: str) -> str:
        """The table that holds ``name``'s rows (inserts and deletes go there on one node;
        on a cluster the local tables, reached through the Distributed ``name``)."""
        return name + LOCAL_SUFFIX if self.cluster else name


def traits(schema: TableSchema) -> tuple[frozenset[str], frozenset[str]]:
    """(low-cardinality columns, free-text columns) of ``schema``."""
    if schema.builtin:
        return _BUILTIN_TRAITS.get(schema.name, _NO_TRAITS)
    if schema.columns[: len(catalog.RAW_COLUMNS)] == catalog.RAW_COLUMNS:
        return _RAW_TRAITS  # raw tables, and typed ones that keep the raw text (test.keep.types)
    return _NO_TRAITS


def column_type(ltype: LType, *, low_cardinality: bool = False) -> exp.DataType:
    text = _TYPES[ltype.kind]
    if low_cardinality and ltype.kind is Kind.STR:
        text = f"LowCardinality({text})"
    return exp.DataType.build(text, dialect=DIALECT)


def token_haystack(column: str, *, case_sensitive: bool) -> exp.Expression:
    """The expression a free-text column's token index covers: a token predicate over exactly
    this expression can skip granules."""
    # Anonymous: sqlglot would print ifNull as COALESCE and lower as LOWER, and the predicate
    # must spell the index's expression.
    haystack = exp.Anonymous(
        this="ifNull", expressions=[exp.column(column, quoted=True), exp.Literal.string("")]
    )
    return haystack if case_sensitive else exp.Anonymous(this="lower", expressions=[haystack])


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _table(name: str) -> exp.Table:
    return exp.Table(this=_ident(name))


def _codec(*names: str) -> exp.ColumnConstraint:
    return exp.ColumnConstraint(
        kind=exp.CompressColumnConstraint(this=[exp.column(n) for n in names])
    )


def _column(name: str, kind: exp.DataType, *codec: str) -> exp.ColumnDef:
    constraints = [_codec(*codec)] if codec else []
    return exp.ColumnDef(this=_ident(name), kind=kind, constraints=constraints)


def _token_index(column: str, case_sensitive: bool) -> exp.IndexColumnConstraint:
    size, hashes, seed = TOKEN_BLOOM
    return exp.IndexColumnConstraint(
        this=_ident(f"tokens_{column}" if case_sensitive else f"tokens_ci_{column}"),
        expression=token_haystack(column, case_sensitive=case_sensitive),
        index_type=exp.Anonymous(
            this="tokenbf_v1",
            expressions=[
                exp.Literal.number(size),
                exp.Literal.number(hashes),
                exp.Literal.number(seed),
            ],
        ),
        granularity=exp.Literal.number(1),
    )


def column_types(schema: TableSchema) -> list[tuple[str, exp.DataType]]:
    """Every stored column of ``schema``'s table and its ClickHouse type, in order."""
    low, _ = traits(schema)
    return [
        (EVENTDATE, exp.DataType.build("DateTime64(3, 'UTC')", dialect=DIALECT)),
        (CLIENT_COLUMN, exp.DataType.build("LowCardinality(String)", dialect=DIALECT)),
        (SEQ_COLUMN, exp.DataType.build("Int64", dialect=DIALECT)),
        *((c.name, column_type(c.type, low_cardinality=c.name in low)) for c in schema.columns),
    ]


def _columns(schema: TableSchema) -> list[exp.Expression]:
    low, text = traits(schema)
    kinds = {column.name: column.type.kind for column in schema.columns}
    columns: list[exp.Expression] = []
    for name, kind in column_types(schema):
        if name == EVENTDATE:
            codec: tuple[str, ...] = ("Delta", "ZSTD")
        else:
            codec = ("ZSTD",) if kinds.get(name) in _COMPRESSED and name not in low else ()
        columns.append(_column(name, kind, *codec))
    for column in schema.columns:
        if column.name in text and column.type.kind is Kind.STR:
            columns.append(_token_index(column.name, True))
            columns.append(_token_index(column.name, False))
    return columns


def _settings(**values: int) -> exp.SettingsProperty:
    return exp.SettingsProperty(
        expressions=[
            exp.EQ(this=exp.column(key), expression=exp.Literal.number(value))
            for key, value in values.items()
        ]
    )


def ttl_expression(days: int) -> exp.Expression:
    return exp.Add(
        this=exp.column(EVENTDATE),
        expression=exp.Interval(this=exp.Literal.number(days), unit=exp.var("DAY")),
    )


def _on_cluster(layout: Layout) -> list[exp.Expression]:
    return [exp.OnCluster(this=_ident(layout.cluster))] if layout.cluster else []


def create_table(
    schema: TableSchema,
    layout: Layout,
    *,
    retention_days: int | None = None,
    name: str | None = None,
) -> list[exp.Expression]:
    """The statements that create ``schema``'s table (under ``name`` if given: lookup staging
    tables), in order: on a cluster the local tables, then the Distributed table over them."""
    table = name or schema.name
    engine: exp.Expression
    if layout.cluster:
        engine = exp.Anonymous(
            this="ReplicatedMergeTree",
            expressions=[exp.Literal.string(REPLICA_PATH), exp.Literal.string("{replica}")],
        )
        settings = _settings(ttl_only_drop_parts=1)
    else:
        engine = exp.var("MergeTree")
        settings = _settings(
            ttl_only_drop_parts=1,
            non_replicated_deduplication_window=DEDUP_WINDOW,
            fsync_after_insert=1,
        )
    properties: list[exp.Expression] = [
        *_on_cluster(layout),
        exp.EngineProperty(this=engine),
        exp.PartitionedByProperty(
            this=exp.func("toDate32", exp.column(EVENTDATE), dialect=DIALECT)
        ),
        exp.Order(
            expressions=[
                exp.Ordered(
                    this=exp.Tuple(
                        expressions=[exp.column(c) for c in (CLIENT_COLUMN, EVENTDATE, SEQ_COLUMN)]
                    ),
                    nulls_first=False,
                )
            ]
        ),
    ]
    if retention_days is not None:
        properties.append(exp.MergeTreeTTL(expressions=[ttl_expression(retention_days)]))
    properties.append(settings)
    local = exp.Create(
        this=exp.Schema(this=_table(layout.storage(table)), expressions=_columns(schema)),
        kind="TABLE",
        exists=True,
        properties=exp.Properties(expressions=properties),
    )
    if not layout.cluster:
        return [local]
    distributed = exp.Create(
        this=_table(table),
        kind="TABLE",
        exists=True,
        expression=_table(layout.storage(table)),
        properties=exp.Properties(
            expressions=[
                *_on_cluster(layout),
                exp.EngineProperty(
                    this=exp.Anonymous(
                        this="Distributed",
                        expressions=[
                            exp.Literal.string(layout.cluster),
                            exp.Anonymous(this="currentDatabase"),
                            exp.Literal.string(layout.storage(table)),
                            exp.func("cityHash64", exp.column(CLIENT_COLUMN), dialect=DIALECT),
                        ],
                    )
                ),
            ]
        ),
    )
    return [local, distributed]


# Arrow types of reference data (``reference.py``) → ClickHouse column types.
_ARROW_TYPES = {
    pa.string(): "String",
    pa.large_string(): "String",
    pa.binary(): "String",
    pa.bool_(): "Bool",
    pa.int8(): "Int8",
    pa.int16(): "Int16",
    pa.int32(): "Int32",
    pa.int64(): "Int64",
    pa.uint8(): "UInt8",
    pa.uint16(): "UInt16",
    pa.uint32(): "UInt32",
    pa.uint64(): "UInt64",
    pa.float32(): "Float32",
    pa.float64(): "Float64",
}


def reference_table_ddl(name: str, schema: pa.Schema) -> exp.Expression:
    """``CREATE OR REPLACE TABLE`` of reference data with ``schema``'s columns (Nullable where
    the field is), ordered by its first column: the range tables' start, the suffix tables'
    key. On one node only: reference data is each node's own."""
    columns = []
    for field in schema:
        if field.type not in _ARROW_TYPES:
            raise ValueError(f"reference column {field.name!r} has an unsupported type")
        text = _ARROW_TYPES[field.type]
        kind = exp.DataType.build(f"Nullable({text})" if field.nullable else text, dialect=DIALECT)
        columns.append(exp.ColumnDef(this=_ident(field.name), kind=kind))
    first = schema.field(0)
    order = exp.column(first.name, quoted=True)
    return exp.Create(
        this=exp.Schema(this=_table(name), expressions=columns),
        kind="TABLE",
        replace=True,
        properties=exp.Properties(
            expressions=[
                exp.EngineProperty(this=exp.var("MergeTree")),
                exp.Order(expressions=[exp.Ordered(this=order, nulls_first=False)]),
                *([_settings(allow_nullable_key=1)] if first.nullable else []),
            ]
        ),
    )


# What a null of reference data reads as in an IP-trie dictionary, whose attributes cannot be
# Nullable: the compiled SQL reads these back as null (``functions/geo.py``).
_TRIE_NULLS = {
    "String": exp.Literal.string(""),
    "Float32": exp.var("nan"),
    "Float64": exp.var("nan"),
}


def reference_trie_ddl(name: str, table: str, schema: pa.Schema, key: str) -> exp.Expression:
    """``CREATE OR REPLACE DICTIONARY name`` with layout ``IP_TRIE`` over reference ``table``,
    keyed by its CIDR column ``key``, every other column but the integer range bounds
    (``start``, ``stop``) an attribute. A null reads as ``''``, ``0`` or ``nan``."""
    columns: list[exp.Expression] = [
        exp.ColumnDef(this=_ident(key), kind=exp.DataType.build("String", dialect=DIALECT))
    ]
    selected: list[exp.Expression] = [exp.column(key, quoted=True)]
    for field in schema:
        if field.name in (key, "start", "stop"):
            continue
        if field.type not in _ARROW_TYPES:
            raise ValueError(f"reference column {field.name!r} has an unsupported type")
        text = _ARROW_TYPES[field.type]
        default = _TRIE_NULLS.get(text, exp.Literal.number(0))
        # The default is also what an address outside every network reads.
        constraint = exp.ColumnConstraint(kind=exp.DefaultColumnConstraint(this=default.copy()))
        columns.append(
            exp.ColumnDef(
                this=_ident(field.name),
                kind=exp.DataType.build(text, dialect=DIALECT),
                constraints=[constraint],
            )
        )
        value = exp.Anonymous(
            this="ifNull", expressions=[exp.column(field.name, quoted=True), default]
        )
        selected.append(exp.Alias(this=value, alias=_ident(field.name)))
    source = exp.select(*selected).from_(_table(table))
    return exp.Create(
        this=exp.Schema(this=_table(name), expressions=columns),
        kind="DICTIONARY",
        replace=True,
        properties=exp.Properties(
            expressions=[
                exp.PrimaryKey(expressions=[_ident(key)]),
                exp.DictProperty(
                    this=exp.var("SOURCE"),
                    kind="CLICKHOUSE",
                    settings=[
                        exp.DictSubProperty(
                            this=exp.var("QUERY"), value=exp.Literal.string(sql(source))
                        )
                    ],
                ),
                exp.DictProperty(this=exp.var("LAYOUT"), kind="IP_TRIE"),
                exp.DictRange(
                    this=exp.var("LIFETIME"),
                    min=exp.Literal.number(0),
                    max=exp.Literal.number(0),
                ),
            ]
        ),
    )


def drop_table(name: str, layout: Layout) -> list[exp.Expression]:
    """Drop ``name`` (and, on a cluster, its local tables). SYNC: a table created again under
    the same name must not meet the old one's parts or replication path."""
    names = [name, layout.storage(name)] if layout.cluster else [name]
    return [
        exp.Drop(
            tables=[_table(n)],
            kind="TABLE",
            exists=True,
            sync=True,
            cluster=exp.OnCluster(this=_ident(layout.cluster)) if layout.cluster else None,
        )
        for n in names
    ]


def epoch_ms(value: int) -> exp.Func:
    """``value`` (epoch milliseconds) as a DateTime64(3, 'UTC')."""
    return exp.func(
        "fromUnixTimestamp64Milli",
        exp.cast(exp.Literal.number(value), exp.DataType.build("Int64", dialect=DIALECT)),
        exp.Literal.string("UTC"),
        dialect=DIALECT,
    )


def delete_before(name: str, cutoff_ms: int, layout: Layout) -> exp.Expression:
    """A lightweight DELETE of the rows dated before ``cutoff_ms`` (local tables on a cluster:
    a Distributed table takes no DELETE)."""
    return _delete(name, exp.LT(this=exp.column(EVENTDATE), expression=epoch_ms(cutoff_ms)), layout)


def delete_range(name: str, first: int, last: int, layout: Layout) -> exp.Expression:
    """A lightweight DELETE of the rows of one append (its ``_seq`` range)."""
    seq = exp.column(SEQ_COLUMN)
    return _delete(name, exp.and_(seq >= first, seq <= last), layout)


def _delete(name: str, condition: exp.Expression | exp.Condition, layout: Layout) -> exp.Expression:
    delete = exp.Delete(this=_table(layout.storage(name)), where=exp.Where(this=condition))
    if layout.cluster:
        delete.set("cluster", exp.OnCluster(this=_ident(layout.cluster)))
    return delete


def set_settings(settings: Mapping[str, int | str]) -> exp.Expression:
    """``SET k = v, ...`` (chdb applies settings per connection)."""
    return exp.Set(
        expressions=[
            exp.SetItem(this=exp.EQ(this=exp.column(key), expression=_literal(value)))
            for key, value in settings.items()
        ]
    )


def _literal(value: int | str) -> exp.Expression:
    if isinstance(value, bool):
        return exp.Literal.number(int(value))
    return exp.Literal.number(value) if isinstance(value, int) else exp.Literal.string(value)


def sql(statement: exp.Expression) -> str:
    return statement.sql(dialect=DIALECT)


# -- what sqlglot's ClickHouse dialect cannot print ----------------------------------------------


@dataclass(frozen=True)
class ModifyTTL:
    table: str
    days: int | None  # None: REMOVE TTL


@dataclass(frozen=True)
class Exchange:
    table: str
    other: str


@dataclass(frozen=True)
class InsertInto:
    table: str
    columns: Sequence[str]
    settings: Mapping[str, int | str]


@dataclass(frozen=True)
class KillQuery:
    column: str  # a column of system.processes: query_id, or Settings['log_comment'] on chdb
    value: str


@dataclass(frozen=True)
class ReloadDictionary:
    name: str  # on this node only, like the reference data it holds


Command = ModifyTTL | Exchange | InsertInto | KillQuery | ReloadDictionary


def command(op: Command, layout: Layout) -> str:
    """The ClickHouse text of a statement sqlglot cannot build, from quoted pieces.

    sqlglot 30 parses ``ALTER TABLE … MODIFY TTL`` only into a node meant for ``MODIFY SQL
    SECURITY`` and ``REMOVE TTL``, ``EXCHANGE TABLES``, ``KILL QUERY`` and ``SYSTEM RELOAD
    DICTIONARY`` not at all (they fall back to an opaque Command); its INSERT needs a SELECT or
    VALUES, not ``SETTINGS`` followed by data in a format. Every name and value below is quoted
    by sqlglot; nothing else is spliced.
    """
    cluster = f" ON CLUSTER {sql(_ident(layout.cluster))}" if layout.cluster else ""
    match op:
        case ModifyTTL(table, days):
            # On a cluster the TTL belongs to the local tables, where the parts are.
            target = sql(_table(layout.storage(table)))
            if days is None:
                return f"ALTER TABLE {target}{cluster} REMOVE TTL"
            return f"ALTER TABLE {target}{cluster} MODIFY TTL {sql(ttl_expression(days))}"
        case Exchange(table, other):
            a, b = sql(_table(layout.storage(table))), sql(_table(layout.storage(other)))
            return f"EXCHANGE TABLES {a} AND {b}{cluster}"
        case InsertInto(table, columns, settings):
            names = ", ".join(sql(_ident(c)) for c in columns)
            pairs = ", ".join(
                f"{sql(exp.column(k))} = {sql(_literal(v))}" for k, v in settings.items()
            )
            with_settings = f" SETTINGS {pairs}" if pairs else ""
            return f"INSERT INTO {sql(_table(table))} ({names}){with_settings}"
        case KillQuery(column, value):
            where = sql(
                exp.EQ(this=exp.maybe_parse(column, dialect=DIALECT), expression=_literal(value))
            )
            return f"KILL QUERY WHERE {where} SYNC"
        case ReloadDictionary(name):
            return f"SYSTEM RELOAD DICTIONARY {sql(_table(name))}"
    raise AssertionError(op)  # pragma: no cover - the match is exhaustive
