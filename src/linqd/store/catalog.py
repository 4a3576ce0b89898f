"""Tables and their schemas: the built-in Devo tables, the families with a fixed schema, and
raw tables created at their first event.

A table name is the Devo tag with hyphens mapped to camelCase (``web.apache.access-lt`` →
``web.apache.accessLt``), 2 to 6 dot-separated levels. Every table also carries ``eventdate``,
the hidden ``client`` (domain) column and the internal sequence; those are not listed here.

**Tables with a fixed schema** (``fixed_schema``) exist before their first event: a query, an
alert definition or a continuous query may name them at any time, and an empty one answers no
rows with its columns. They are the built-in tables (created when a store opens) and three
families whose columns do not depend on what was sent:

- ``my.app.*``: Devo's tables for sources without a parser, raw (``hostname``, ``message``),
  which is how linqd has always stored them.
- ``test.keep.*``: devo-sdk's test tables, kept. ``test.keep.types`` parses ``key=value``
  messages into one column per LINQ type (``KEEP_TYPES``, ``ingest/keyvalue.py``) beside the
  raw text; every other ``test.keep.*`` table (``test.keep.free``, the SDK's logging fallback)
  is raw.
- ``test.drop.*``: devo-sdk's throw-away tables (its CLI's default tag is
  ``test.drop.ltsender``): raw, accepted and counted by ingestion, never stored, always empty.

Any other table that has never received an event is unknown (Devo's ``Unknown table``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..columns import CLIENT_COLUMN, EVENTDATE, SEQ_COLUMN
from ..errors import ValidationError
from ..linq import types as t
from ..linq.alldata import ALL_DATA
from ..linq.types import LType
from ..lookup_tables import LOOKUP_PREFIX

__all__ = ["CLIENT_COLUMN", "EVENTDATE", "SEQ_COLUMN", "Column", "TableSchema"]

_LEVEL = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-@]*$")


@dataclass(frozen=True)
class Column:
    name: str
    type: LType


@dataclass(frozen=True)
class TableSchema:
    name: str
    columns: tuple[Column, ...]
    builtin: bool = False

    def column(self, name: str) -> Column | None:
        for column in self.columns:
            if column.name == name:
                return column
        return None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def all_columns(self) -> Iterator[Column]:
        """``eventdate`` first, then the table's own columns (what ``select *`` shows)."""
        yield Column(EVENTDATE, t.TIMESTAMP)
        yield from self.columns


def _schema(name: str, spec: str) -> TableSchema:
    columns = []
    for item in spec.split():
        column, _, type_name = item.partition(":")
        columns.append(Column(column, t.parse_type(type_name)))
    return TableSchema(name, tuple(columns), builtin=True)


# Events that ingestion could not store where they were sent (a table linqd writes itself, a
# name that differs from an existing table only in case, a tag that names no table) are kept
# here with the reason, in their sender's domain, instead of being dropped.
REJECTED_TABLE = "linqd.ingest.rejected"
UNPARSED_SUFFIX = ".unparsed"
# Tables only linqd writes: Devo's own audit and alert tables, lookups (written by the lookup
# protocols), the side tables of unparsed and rejected events.
_WRITTEN_BY_LINQD = ("siem.logtrust.", LOOKUP_PREFIX, "linqd.")

BUILTIN_TABLES: tuple[TableSchema, ...] = (
    _schema(
        "demo.ecommerce.data",
        "clientIpAddress:ip4 timestamp:str method:str uri:str protocol:str statusCode:int8 "
        "bytesTransferred:int8 referralUri:str userAgent:str cookie:str timeTaken:int8",
    ),
    _schema(
        "siem.logtrust.web.activity",
        "level:str domain:str userid:str username:str sessionid:str correlationid:str srcHost:str "
        "srcPort:int4 serverHost:str serverPort:int4 type:str method:str url:str headers:str "
        "params:str referer:str userAgent:str locale:str contentLength:int4 responseLength:int4 "
        "responseTime:int4 result:str resourceInfo:str errorInfo:str country:str region:str "
        "city:str isp:str org:str",
    ),
    # Credential checks: sign-ins, sign-outs and refusals (audit/connections.py).
    _schema(
        "siem.logtrust.web.connection",
        "level:str domain:str userid:str username:str srcHost:str srcPort:int4 serverHost:str "
        "serverPort:int4 service:str method:str action:str result:str reason:str userAgent:str "
        "correlationid:str",
    ),
    # Events and bytes received per minute, table and collector (audit/counters.py).
    _schema(
        "siem.logtrust.collector.counter",
        "collector:str engine:str kind:str object:str events:int8 bytes:int8",
    ),
    _schema(
        "siem.logtrust.web.navigation",
        "level:str domain:str userid:str userEmail:str sessionid:str srcHost:str url:str "
        "method:str section:str action:str userAgent:str",
    ),
    _schema(
        REJECTED_TABLE,
        "tag:str hostname:str message:str reason:str",
    ),
    _schema(
        "siem.logtrust.alert.info",
        "alertHost:str domain:str priority:float8 context:str category:str alertId:str "
        "status:int4 srcIp:ip4 srcPort:int4 srcHost:str dstIp:ip4 dstPort:int4 dstHost:str "
        "protocol:str application:str engine:str username:str digest:str extraData:str",
    ),
)

RAW_COLUMNS = (Column("hostname", t.STR), Column("message", t.STR))

RAW_FAMILIES = ("my.app.", "test.keep.")
DROPPED_FAMILY = "test.drop."
# devo-sdk's typed test table. The raw text stays beside the parsed values: a Devo user
# expects to see what was sent, and ``all.data`` searches find it.
KEEP_TYPES = TableSchema(
    "test.keep.types",
    (
        *RAW_COLUMNS,
        Column("str", t.STR),
        Column("int4", t.INT4),
        Column("int8", t.INT8),
        Column("float", t.FLOAT8),
        Column("bool", t.BOOL),
        Column("ip4", t.IP4),
        Column("ip6", t.IP6),
        Column("mac", t.MAC),
        Column("timestamp", t.TIMESTAMP),
    ),
)


def raw_schema(name: str) -> TableSchema:
    return TableSchema(name, RAW_COLUMNS)


def builtin(name: str) -> TableSchema | None:
    for schema in BUILTIN_TABLES:
        if schema.name == name:
            return schema
    return None


def _valid_name(name: str) -> bool:
    levels = name.split(".")
    return 2 <= len(levels) <= 6 and all(_LEVEL.match(level) for level in levels)


def dropped(name: str) -> bool:
    """Whether events for ``name`` are accepted and never stored (``test.drop.*``)."""
    return name.startswith(DROPPED_FAMILY) and _valid_name(name)


def fixed_schema(name: str) -> TableSchema | None:
    """The schema table ``name`` has whether or not it was ever written: a built-in table or a
    table of a family with a fixed schema (module docstring); None for any other name."""
    if name == KEEP_TYPES.name:
        return KEEP_TYPES
    known = builtin(name)
    if known is not None:
        return known
    if name.startswith((*RAW_FAMILIES, DROPPED_FAMILY)) and _valid_name(name):
        return raw_schema(name)
    return None


def new_table_schema(name: str) -> TableSchema:
    """The schema a table gets when its first event is stored: its fixed one, else raw."""
    return fixed_schema(name) or raw_schema(name)


def written_by_linqd(table: str) -> bool:
    """Whether ``table`` is one that linqd writes itself, so ingestion must refuse it (case is
    ignored: a table differing only in case would share the same storage)."""
    lowered = table.lower()
    return (
        lowered.startswith(_WRITTEN_BY_LINQD)
        or lowered.endswith(UNPARSED_SUFFIX)
        # LINQ reads `all.data` as every table of the domain: no table of that name is read.
        or lowered == ALL_DATA
    )


def table_name_for_tag(tag: str) -> str:
    """Devo's tag → table rule: hyphen removed, next letter upper-cased; 2 to 6 levels.

    Raises ``ValidationError`` for a tag that cannot name a table.
    """
    if not _valid_name(tag):
        raise ValidationError(f"Invalid tag `{tag}`: 2 to 6 dot-separated levels", field="tag")
    return ".".join(
        re.sub(r"-+(.)?", lambda m: (m.group(1) or "").upper(), level) for level in tag.split(".")
    )
