"""Lookups loaded over syslog, Devo's deprecated protocol, applied to the store as
``my.lookuplist.<name>`` tables (see docs/devo-compatibility.md).

The fields are read here rather than with the csv module: devo-sdk does not escape quotes by
default, so ``"x"y"`` means ``x"y``, which no CSV dialect reads (the rules are below).

The traffic devo-sdk's ``Lookup`` sends::

    my.lookup.control.<name>.<FULL|INC>   <lookup_id>_<name>|START|<headers JSON>
    my.lookup.data.<name>[.DELETE]        <lookup_id>_<name>|<key>,<field2>,...
    my.lookup.control.<name>.<FULL|INC>   <lookup_id>_<name>|END|<headers JSON>

An upload is identified by (client, name, lookup_id). Its rows are buffered between START and END
and applied in one store transaction at END, so readers see the lookup either before or after the
whole upload, never half of it. The table's columns come from the headers in order (the key column
first, as devo-sdk sends it); ``int`` is ``int8`` and ``float`` is ``float8``.

- FULL: afterwards the client's rows of the lookup are exactly the uploaded ones. INC: rows are
  upserted by key. ``.DELETE`` data events remove their keys (in a FULL upload they just leave the
  key out). Within one upload the last event for a key wins.
- Each domain's lookup is a table of its own (``lookup_tables``): another domain's lookup of the
  same name is never touched and never blocks an upload. A FULL upload whose columns differ from
  the existing table drops and recreates it inside the transaction; an INC upload with
  different columns is rejected.
- END must repeat START's headers and action; otherwise the upload is rejected.
- Data (or END) events of an upload that was never started are orphans: counted and ignored.
  Devo does not document this; applying rows that arrived without their headers would mean
  guessing the columns.
- Bounds: an upload holds at most ``max_rows`` distinct keys and at most ``max_open`` uploads are
  open at once (the oldest is dropped first: an upload whose END never came must not block new
  ones). A dropped or rejected upload's later events are ignored quietly, not counted as orphans.

Field syntax, exactly as devo-sdk writes it: values matching ``^-?\\d+((\\.\\d+)*)$`` unquoted,
others as ``"value"``. devo-sdk does not escape quotes by default, so ``"x"y"`` means ``x"y``: a
quoted value ends at a ``"`` followed by ``,`` or the end of the message. With the client's
escape-quotes option ``"`` is sent as ``""``; a quoted value whose quotes all come in pairs is read
as escaped (so a raw ``x""y`` sent unescaped reads as ``x"y`` — the two cannot be told apart). When
the plain split gives the wrong number of fields, the escape-aware split is tried. ``\\n`` stays
the two characters it arrived as. An empty value of a non-``str`` column is null; a value that
does not convert is null and counted in ``bad_values``; a row whose key is null, or whose field
count is wrong, is skipped and counted in ``malformed``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import pyarrow as pa

from ..clock import Clock
from ..columns import CLIENT_COLUMN, EVENTDATE, SEQ_COLUMN
from ..errors import StoreError
from ..linq import types as t
from ..linq.types import LType
from ..lookup_tables import LOOKUP_PREFIX, lookup_storage
from ..store.base import EventStore, LookupWrite
from ..store.catalog import Column, TableSchema
from .decode import coercer

log = logging.getLogger("linqd.ingest.lookups")

CONTROL_PREFIX = "my.lookup.control."
DATA_PREFIX = "my.lookup.data."
FULL = "FULL"
INC = "INC"
DELETE = "DELETE"
DEFAULT_MAX_ROWS = 5_000_000
DEFAULT_MAX_OPEN = 64
# How many finished-but-failed uploads are remembered, so their trailing events stay quiet.
_DISCARDED_MEMORY = 1024

HEADER_TYPES: Mapping[str, LType] = MappingProxyType(
    {
        "str": t.STR,
        "string": t.STR,
        "int": t.INT8,
        "int8": t.INT8,
        "int4": t.INT4,
        "float": t.FLOAT8,
        "float8": t.FLOAT8,
        "bool": t.BOOL,
        "boolean": t.BOOL,
        "ip4": t.IP4,
    }
)
_RESERVED = frozenset(name.lower() for name in (EVENTDATE, CLIENT_COLUMN, SEQ_COLUMN))
_NAME = re.compile(r"[A-Za-z0-9_]+")
COUNTERS = (
    "uploads_applied",
    "rows_applied",
    "orphans",
    "rejected",
    "dropped",
    "malformed",
    "bad_values",
)


@dataclass(frozen=True)
class LookupHeaders:
    columns: tuple[Column, ...]
    key: int  # index of the key column

    @property
    def key_column(self) -> Column:
        return self.columns[self.key]


def parse_headers(text: str) -> LookupHeaders:
    """``[{"KEY":{"type":"str","key":true}},{"COLOR":{"type":"str"}}]`` → columns and key.

    Raises ``ValueError`` for anything devo-sdk would not send or the store could not hold.
    """
    spec = json.loads(text)
    if not isinstance(spec, list) or not spec:
        raise ValueError("headers must be a non-empty JSON array")
    columns: list[Column] = []
    seen: set[str] = set()
    key: int | None = None
    for index, item in enumerate(spec):
        if not isinstance(item, dict) or len(item) != 1:
            raise ValueError(f"header {index} must be an object with one column")
        ((name, attributes),) = item.items()
        if not isinstance(attributes, dict):
            raise ValueError(f"header `{name}` must map to an object")
        ltype = HEADER_TYPES.get(str(attributes.get("type", "str")).lower())
        if ltype is None:
            raise ValueError(f"header `{name}` has unknown type {attributes.get('type')!r}")
        # DuckDB folds identifier case, so KEY and key would be the same column.
        folded = name.lower()
        if not name or folded in _RESERVED or folded in seen:
            raise ValueError(f"bad or duplicate column name `{name}`")
        seen.add(folded)
        if attributes.get("key") is True:
            if key is not None:
                raise ValueError("more than one key column")
            key = index
        columns.append(Column(name, ltype))
    return LookupHeaders(tuple(columns), 0 if key is None else key)


# -- fields ----------------------------------------------------------------------------------------


def split_fields(text: str, expected: int | None = None) -> list[str] | None:
    """The values of one data event; None when no reading gives ``expected`` values (or, without
    ``expected``, when a quoted value never ends)."""
    plain = _split(text, pairs=False)
    if expected is None or (plain is not None and len(plain) == expected):
        return plain
    escaped = _split(text, pairs=True)
    if escaped is not None and len(escaped) == expected:
        return escaped
    return None


def _split(text: str, *, pairs: bool) -> list[str] | None:
    fields: list[str] = []
    size = len(text)
    start = 0
    while True:
        if start < size and text[start] == '"':
            scan = start + 1
            while True:
                end = text.find('"', scan)
                if end < 0:
                    return None
                after = end + 1
                if after == size or text[after] == ",":
                    break
                # In escape-aware mode "" is one quote of the value, never its end.
                scan = after + 1 if pairs and text[after] == '"' else after
            fields.append(_unquote(text[start + 1 : end]))
            start = end + 1
        else:
            end = text.find(",", start)
            end = size if end < 0 else end
            fields.append(text[start:end])
            start = end
        if start >= size:
            return fields
        start += 1  # the comma


def _unquote(value: str) -> str:
    if '"' in value and '"' not in value.replace('""', ""):
        return value.replace('""', '"')
    return value


# -- uploads ---------------------------------------------------------------------------------------

UploadId = tuple[str, str, str]  # client, lookup name, lookup_id
Row = tuple[object, ...]


@dataclass(frozen=True)
class _Upload:
    action: str
    headers: LookupHeaders
    # key → row, or None for a key to delete; insertion order is arrival order.
    rows: dict[object, Row | None]


class _Rejected(Exception):
    """An upload that cannot be applied (the reason is logged)."""


class _Malformed(Exception):
    """An event that does not follow the protocol."""


class LookupAssembler:
    """Assembles lookup uploads from control and data events and applies them at END.

    Thread-safe: one lock serialises ``feed`` (uploads are rare and applying one is one
    transaction anyway).
    """

    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        *,
        max_rows: int = DEFAULT_MAX_ROWS,
        max_open: int = DEFAULT_MAX_OPEN,
    ) -> None:
        if max_rows < 1 or max_open < 1:
            raise ValueError("max_rows and max_open must be positive")
        self._store = store
        self._clock = clock
        self._max_rows = max_rows
        self._max_open = max_open
        self._lock = threading.Lock()
        self._open: dict[UploadId, _Upload] = {}
        self._discarded: dict[UploadId, None] = {}
        self._counters = dict.fromkeys(COUNTERS, 0)

    @staticmethod
    def accepts(table: str) -> bool:
        return table.startswith((CONTROL_PREFIX, DATA_PREFIX))

    def counters(self) -> dict[str, int]:
        """``uploads_applied``; ``rows_applied`` (distinct keys of applied uploads, deletions
        included); ``orphans`` (events of uploads never started); ``rejected`` and ``dropped``
        uploads; ``malformed`` events or rows; ``bad_values`` (fields stored as null)."""
        with self._lock:
            return dict(self._counters)

    def open_uploads(self) -> int:
        with self._lock:
            return len(self._open)

    def feed(self, table: str, message: str, *, client: str) -> None:
        """Take one event of a ``my.lookup.*`` table. Never raises for bad input: problems are
        counted (see ``counters``) and logged."""
        text = message.rstrip("\x00\r\n")
        with self._lock:
            try:
                if table.startswith(CONTROL_PREFIX):
                    self._control(table[len(CONTROL_PREFIX) :], text, client)
                elif table.startswith(DATA_PREFIX):
                    self._data(table[len(DATA_PREFIX) :], text, client)
                else:
                    raise _Malformed(f"`{table}` is not a lookup table")
            except _Malformed as error:
                self._counters["malformed"] += 1
                log.warning("malformed lookup event in `%s`: %s", table, error)

    # -- events ----------------------------------------------------------------------------------

    def _control(self, tail: str, text: str, client: str) -> None:
        name, _, action = tail.partition(".")
        if not _NAME.fullmatch(name) or action not in (FULL, INC):
            raise _Malformed(f"control tag must be <name>.FULL or <name>.INC, not `{tail}`")
        prefix, _, rest = text.partition("|")
        event, _, headers_text = rest.partition("|")
        upload_id = (client, name, _lookup_id(prefix, name))
        if event == "START":
            self._start(upload_id, action, headers_text)
        elif event == "END":
            self._end(upload_id, action, headers_text)
        else:
            raise _Malformed(f"control event must be START or END, not `{event}`")

    def _start(self, upload_id: UploadId, action: str, headers_text: str) -> None:
        try:
            headers = parse_headers(headers_text)
        except ValueError as error:
            self._fail(upload_id, "rejected", f"bad headers: {error}")
            return
        if upload_id in self._open:
            # A START sent again (a retried upload) starts over.
            self._fail(upload_id, "dropped", "restarted by a new START")
        while len(self._open) >= self._max_open:
            oldest = next(iter(self._open))
            self._fail(oldest, "dropped", f"more than {self._max_open} uploads open")
        self._discarded.pop(upload_id, None)
        self._open[upload_id] = _Upload(action, headers, {})

    def _end(self, upload_id: UploadId, action: str, headers_text: str) -> None:
        upload = self._open.pop(upload_id, None)
        if upload is None:
            self._orphan(upload_id)
            return
        try:
            headers = parse_headers(headers_text)
        except ValueError:
            headers = None
        if headers != upload.headers or action != upload.action:
            self._fail(upload_id, "rejected", "END does not repeat START's action and headers")
            return
        try:
            self._apply(upload_id, upload)
        except (_Rejected, StoreError, pa.ArrowException) as error:
            self._fail(upload_id, "rejected", str(error))
            return
        self._counters["uploads_applied"] += 1
        self._counters["rows_applied"] += len(upload.rows)

    def _data(self, tail: str, text: str, client: str) -> None:
        name, _, suffix = tail.partition(".")
        if not _NAME.fullmatch(name) or suffix not in ("", DELETE):
            raise _Malformed(f"data tag must be <name> or <name>.DELETE, not `{tail}`")
        prefix, bar, fields_text = text.partition("|")
        if not bar:
            raise _Malformed("no `|` after the lookup id")
        upload_id = (client, name, _lookup_id(prefix, name))
        upload = self._open.get(upload_id)
        if upload is None:
            self._orphan(upload_id)
            return
        columns = upload.headers.columns
        fields = split_fields(fields_text, len(columns))
        if fields is None:
            raise _Malformed(f"a data row without {len(columns)} readable fields")
        row = tuple(
            self._convert(value, column.type) for value, column in zip(fields, columns, strict=True)
        )
        key = row[upload.headers.key]
        if key is None:
            raise _Malformed("a data row without a usable key")
        if key not in upload.rows and len(upload.rows) >= self._max_rows:
            self._open.pop(upload_id)
            self._fail(upload_id, "dropped", f"more than {self._max_rows} rows")
            return
        # Re-inserting moves a key to the end, so the applied order is the order of last events.
        upload.rows.pop(key, None)
        upload.rows[key] = None if suffix == DELETE else row

    def _convert(self, value: str, ltype: LType) -> object:
        if ltype == t.STR:
            return value
        if not value:
            return None
        try:
            return coercer(ltype)(value)
        except (ValueError, TypeError, OverflowError):
            self._counters["bad_values"] += 1
            return None

    def _orphan(self, upload_id: UploadId) -> None:
        if upload_id not in self._discarded:
            self._counters["orphans"] += 1

    def _fail(self, upload_id: UploadId, counter: str, reason: str) -> None:
        self._open.pop(upload_id, None)
        self._counters[counter] += 1
        self._discarded[upload_id] = None
        if len(self._discarded) > _DISCARDED_MEMORY:
            del self._discarded[next(iter(self._discarded))]
        client, name, lookup_id = upload_id
        log.warning("lookup %s upload %s of %s %s: %s", name, lookup_id, client, counter, reason)

    # -- applying --------------------------------------------------------------------------------

    def _apply(self, upload_id: UploadId, upload: _Upload) -> None:
        client, name, _ = upload_id
        schema = TableSchema(lookup_storage(LOOKUP_PREFIX + name, client), upload.headers.columns)
        existing = self._store.schema(schema.name)
        if upload.action == INC and existing is not None and existing.columns != schema.columns:
            raise _Rejected(f"INC upload with columns different from `{LOOKUP_PREFIX}{name}`")
        full = upload.action == FULL
        self._store.write_lookup(
            LookupWrite(
                schema,
                client,
                full=full,
                key=upload.headers.key_column.name,
                # Every key of an INC upload goes: deleted ones, and those stored anew.
                delete=() if full else list(upload.rows),
                rows=[row for row in upload.rows.values() if row is not None],
            )
        )


def _lookup_id(prefix: str, name: str) -> str:
    lookup_id, _, named = prefix.rpartition("_" + name)
    if named or not lookup_id:
        raise _Malformed(f"`{prefix}` is not <lookup_id>_{name}")
    return lookup_id
