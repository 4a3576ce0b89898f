"""Messages of one table → typed columns for ``EventStore.append``.

Raw tables (exactly ``hostname`` and ``message``) keep the text as it came: that is the hot path,
so it builds no per-row objects at all. ``test.keep.types`` reads ``key=value`` messages
(``keyvalue.py``) and keeps every message, parsed or not, with its raw text. Every other table
(the built-in Devo tables and any typed table) reads each message as a JSON object whose keys
name the table's columns; for ``demo.ecommerce.data`` an Apache combined log line is read as
well.

**Nothing is dropped.** A message a typed table cannot read, or one that carries none of the
table's columns, is returned in ``Decoded.unparsed_*``; the caller stores those rows in the raw
side table ``<table>.unparsed`` (``demo.ecommerce.data.unparsed``, a valid 4-level raw table:
``hostname``, ``message``) with the same client and eventdate. The schemas of the built-in tables
have no column that could hold raw text, and changing them is not an option.

Coercion of JSON values to the column type (a value that does not fit becomes null and is counted
in ``Decoded.bad_values``; the row is still stored):

- ``str``/``json``: strings as they are; other values as compact JSON (``true``, ``1.5``,
  ``{"a":1}``).
- ``int4``/``int8``: integers, integral floats, and numeric strings, within the type's range.
- ``float8``: numbers and numeric strings. ``bool``: booleans, ``0``/``1``, ``"true"``/``"false"``.
- ``ip4``: dotted quads, or integers in the uint32 range (Devo's own representation).
- ``timestamp``: epoch milliseconds, or ``YYYY-MM-DD[ HH:MM:SS[.fff]]`` (ISO 8601; UTC unless an
  offset is given).

Apache lines for ``demo.ecommerce.data``
(``ip - - [10/Feb/2021:11:54:01 +0000] "GET /p HTTP/1.1" 200 1413 "ref" "ua" "cookie" 293``,
the last two optional): ``protocol`` is written the way Devo's demo table shows it, with a space
(``HTTP 1.1``), whichever form the line used; ``bytesTransferred`` ``-`` is ``0`` because that is
what ``%b`` means in Apache's format; ``-`` in ``statusCode`` or ``timeTaken`` is null; the other
strings (``-`` referer included) are kept verbatim.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from ..linq.types import Kind, LType
from ..store.catalog import KEEP_TYPES, RAW_COLUMNS, TableSchema
from .keyvalue import decode_types

Coercer = Callable[[object], object]
LineParser = Callable[[str], dict[str, object] | None]

_INT4 = (-(2**31), 2**31 - 1)
_INT8 = (-(2**63), 2**63 - 1)
_UINT32_MAX = 2**32 - 1
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_DOTTED = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})", re.ASCII)
# A syslog message may end in the NUL devo-sdk's logging handler appends, or in a stray CR.
_TRAILING = " \t\r\n\x00"


@dataclass(frozen=True)
class Decoded:
    """One batch decoded for one table.

    ``columns`` (each as long as ``row_indexes``) go to the table itself; ``row_indexes`` and
    ``unparsed_indexes`` point back into the input, so a caller holding per-message eventdates
    can split them the same way.
    """

    columns: Mapping[str, Sequence[object]]
    row_indexes: Sequence[int]
    unparsed_hosts: Sequence[str] = ()
    unparsed_messages: Sequence[str] = ()
    unparsed_indexes: Sequence[int] = ()
    bad_values: int = 0

    @property
    def rows(self) -> int:
        return len(self.row_indexes)

    @property
    def failures(self) -> int:
        """Messages that did not parse (stored raw in the side table)."""
        return len(self.unparsed_messages)


def is_raw(schema: TableSchema) -> bool:
    return schema.columns == RAW_COLUMNS


def decode_batch(schema: TableSchema, hosts: Sequence[str], messages: Sequence[str]) -> Decoded:
    if len(hosts) != len(messages):
        raise ValueError("hosts and messages differ in length")
    if is_raw(schema):
        # The hot path: the caller's lists are handed on untouched.
        return Decoded({"hostname": hosts, "message": messages}, range(len(messages)))
    if schema.columns == KEEP_TYPES.columns:
        typed, bad = decode_types(hosts, messages)
        return Decoded(typed, range(len(messages)), bad_values=bad)
    line_parser = _LINE_PARSERS.get(schema.name)
    coercers = [(column.name, coercer(column.type)) for column in schema.columns]
    columns: dict[str, list[object]] = {name: [] for name, _ in coercers}
    row_indexes: list[int] = []
    unparsed_hosts: list[str] = []
    unparsed_messages: list[str] = []
    unparsed_indexes: list[int] = []
    bad = 0
    for index, message in enumerate(messages):
        record = _parse(message, line_parser)
        if record is None or not any(name in record for name, _ in coercers):
            unparsed_hosts.append(hosts[index])
            unparsed_messages.append(message)
            unparsed_indexes.append(index)
            continue
        row_indexes.append(index)
        for name, coerce in coercers:
            value = record.get(name)
            if value is not None:
                try:
                    value = coerce(value)
                except (ValueError, TypeError, OverflowError):
                    bad += 1
                    value = None
            columns[name].append(value)
    return Decoded(
        dict(columns), row_indexes, unparsed_hosts, unparsed_messages, unparsed_indexes, bad
    )


def _parse(message: str, line_parser: LineParser | None) -> Mapping[str, object] | None:
    text = message.strip(_TRAILING)
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
    return line_parser(text) if line_parser is not None else None


# -- coercion --------------------------------------------------------------------------------------


def coercer(ltype: LType) -> Coercer:
    """The function that turns a JSON value into ``ltype``'s stored value; it raises
    ``ValueError``/``TypeError``/``OverflowError`` for a value that does not fit."""
    kind = ltype.kind
    if kind is Kind.INT4:
        return _int_coercer(*_INT4)
    if kind is Kind.INT8:
        return _int_coercer(*_INT8)
    if kind is Kind.FLOAT8:
        return to_float
    if kind is Kind.BOOL:
        return to_bool
    if kind is Kind.IP4:
        return to_ip4
    if kind is Kind.TIMESTAMP:
        return to_epoch_ms
    # str, json, and anything the store would keep as text.
    return to_str


def to_str(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def to_int(value: object) -> int:
    # bool is an int subclass in Python but not a number in JSON.
    if isinstance(value, bool):
        raise TypeError("bool is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("not an integral number")
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if _INTEGER.fullmatch(text):
            return int(text)
        return to_int(float(text))
    raise TypeError(f"cannot read {type(value).__name__} as an integer")


def _int_coercer(low: int, high: int) -> Coercer:
    def coerce(value: object) -> int:
        number = to_int(value)
        if not low <= number <= high:
            raise OverflowError("integer out of range")
        return number

    return coerce


def to_float(value: object) -> float:
    if isinstance(value, bool):
        raise TypeError("bool is not a number")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return float(value.strip())
    raise TypeError(f"cannot read {type(value).__name__} as a number")


def to_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
    raise ValueError("not a boolean")


def to_ip4(value: object) -> int:
    """An IPv4 address as Devo stores it: the address as an unsigned 32-bit integer."""
    if isinstance(value, bool):
        raise TypeError("bool is not an address")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        match = _DOTTED.fullmatch(text)
        if match is not None:
            octets = [int(part) for part in match.groups()]
            if max(octets) > 255:
                raise ValueError("octet out of range")
            return (octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]
        if not text.isascii() or not text.isdigit():
            raise ValueError("not an IPv4 address")
        number = int(text)
    else:
        raise TypeError(f"cannot read {type(value).__name__} as an address")
    if not 0 <= number <= _UINT32_MAX:
        raise OverflowError("address out of range")
    return number


def to_epoch_ms(value: object) -> int:
    if isinstance(value, bool):
        raise TypeError("bool is not a time")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if _INTEGER.fullmatch(text):
            return int(text)
        moment = dt.datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return (moment - _EPOCH) // _MS
    raise TypeError(f"cannot read {type(value).__name__} as a time")


# -- demo.ecommerce.data ---------------------------------------------------------------------------

_QUOTED = r'"((?:[^"\\]|\\.)*)"'  # Apache escapes a quote inside a field as \"
_APACHE = re.compile(
    r"(\S+) \S+ \S+ \[([^\]]*)\] "
    + _QUOTED
    + r" (\d+|-) (\d+|-)"
    + rf"(?: {_QUOTED} {_QUOTED}(?: {_QUOTED})?)?"
    + r"(?: (\d+|-))?"
)
# Devo's demo data writes the protocol as "HTTP 1.1"; Apache writes "HTTP/1.1". Accept both.
_REQUEST = re.compile(r"(\S+) (.*?)(?: ([A-Za-z]+[/ ]\d+(?:\.\d+)?))?")


def parse_apache(line: str) -> dict[str, object] | None:
    """An Apache combined log line (optionally followed by cookie and time taken) as
    demo.ecommerce.data's columns, values still as text; None when it is not one."""
    match = _APACHE.fullmatch(line)
    if match is None:
        return None
    ip, stamp, request, status, size, referer, agent, cookie, taken = match.groups()
    record: dict[str, object] = {
        "clientIpAddress": ip,
        "timestamp": stamp,
        "statusCode": None if status == "-" else status,
        # Apache's %b writes "-" for a response without a body, i.e. zero bytes.
        "bytesTransferred": "0" if size == "-" else size,
        "referralUri": referer,
        "userAgent": agent,
        "cookie": cookie,
        "timeTaken": None if taken in (None, "-") else taken,
        "method": None,
        "uri": None,
        "protocol": None,
    }
    parts = _REQUEST.fullmatch(request)
    if parts is not None:
        method, uri, protocol = parts.groups()
        record["method"] = method
        record["uri"] = uri
        record["protocol"] = protocol.replace("/", " ", 1) if protocol else None
    elif request not in ("", "-"):
        # A request line Apache could not split (a bare path, garbage): keep it rather than lose it.
        record["uri"] = request
    return record


_LINE_PARSERS: Mapping[str, LineParser] = MappingProxyType({"demo.ecommerce.data": parse_apache})
