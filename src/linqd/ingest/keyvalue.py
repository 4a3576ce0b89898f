"""``test.keep.types``: ``key=value`` messages read into one column per LINQ type.

devo-sdk seeds this table with ``ip4=127.0.0.1`` and reads it back as a typed ``ip4`` column;
Devo documents neither the grammar nor the other columns, so this is linqd's reading of it.

**Grammar.** A message is a sequence of blank-separated words; a word ``key=value`` sets
``key``. A value is either everything up to the next blank, or a double-quoted text (which may
hold blanks) ending at a blank or at the end of the message. Inside quotes ``\\"`` is a quote
and ``\\\\`` a backslash; any other backslash is kept as it is (``"C:\\temp"`` reads
``C:\\temp``). ``key=`` is an empty value. Words that are not ``key=value`` are skipped, as are
keys that name no column (keys are case-sensitive); when a key repeats, its last value wins (a
later field overrides, as in a configuration line). A quote that is never closed leaves its key
unset. A trailing NUL (devo-sdk's logging handler ends messages with one) is not part of the
last value.

**Columns** (``catalog.KEEP_TYPES``), each null when its key is absent or its value does not
read as the column's type (counted as a bad value; the event is stored all the same):

- ``str``: the value as it is (an empty value is an empty string).
- ``int4``, ``int8``: ``[+-]digits`` within the type's range; no fraction, no exponent.
- ``float`` (a ``float8``): a decimal number with an optional fraction and exponent (``-1.5``,
  ``.5``, ``2e10``); finite only (``nan``, ``inf`` do not read).
- ``bool``: ``true`` or ``false`` in any case, ``1`` or ``0``.
- ``ip4``: a dotted quad without leading zeros (``127.0.0.1``), as LINQ's ``ip4`` reads it.
- ``ip6``: any RFC 4291 text (``::1``, ``2001:db8::ff00:42:8329``, ``::ffff:1.2.3.4``).
- ``mac``: ``00:1a:2b:3c:4d:5e``, ``00-1A-2B-3C-4D-5E`` or ``001a.2b3c.4d5e``.
- ``timestamp``: ISO 8601 ``YYYY-MM-DD``, ``YYYY-MM-DDTHH:MM[:SS[.fff]]`` or the same with a
  blank for ``T`` (Devo's own ``YYYY-MM-DD HH:MM:SS[.fff]``), with an optional ``Z`` or
  ``±HH:MM``/``±HHMM`` offset (UTC without one; digits past the millisecond are cut), or an
  integer of epoch milliseconds (the unit of Devo's APIs); years 1900 to 9999.

The message itself is kept whole in ``message`` (and the sender in ``hostname``), so nothing a
sender meant is lost to this reading.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence

from ..linq.addresses import IP4_TEXT, parse_ip6, parse_mac
from ..linq.types import Kind
from ..store.catalog import KEEP_TYPES, RAW_COLUMNS

TextParser = Callable[[str], object]

# One word per match, so the scan is linear whatever the text: a pair with a quoted value
# (group 2), a quoted value glued to more text or never closed (group 3: no value; an unclosed
# quote takes the rest of the message with it), a pair with a bare value (group 4), or any
# other word.
_TOKEN = re.compile(
    r'([^\s="]+)=(?:'
    r'"((?:[^"\\]|\\.)*)"(?!\S)'
    r'|("(?:[^"\\]|\\.)*"\S*|"[\s\S]*)'
    r"|(\S*))"
    r"|\S+",
    re.DOTALL,
)
_ESCAPE = re.compile(r'\\([\\"])')
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_IP4 = re.compile(IP4_TEXT, re.ASCII)
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)
_MIN_MS = (dt.datetime(1900, 1, 1, tzinfo=dt.UTC) - _EPOCH) // _MS
_MAX_MS = (dt.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=dt.UTC) - _EPOCH) // _MS


def pairs(message: str) -> dict[str, str]:
    """The ``key=value`` pairs of ``message``, values unquoted; the last of a repeated key."""
    found: dict[str, str] = {}
    for match in _TOKEN.finditer(message.rstrip("\x00")):
        key, quoted, unread, bare = match.groups()
        if key is None or unread is not None:
            continue
        if quoted is not None:
            found[key] = _ESCAPE.sub(r"\1", quoted) if "\\" in quoted else quoted
        else:
            found[key] = bare
    return found


def _integer(low: int, high: int) -> TextParser:
    def read(text: str) -> int:
        if not _INTEGER.fullmatch(text):
            raise ValueError("not an integer")
        number = int(text)
        if not low <= number <= high:
            raise ValueError("integer out of range")
        return number

    return read


def read_float(text: str) -> float:
    if not _DECIMAL.fullmatch(text):
        raise ValueError("not a number")
    number = float(text)
    if math.isinf(number):
        raise ValueError("number out of range")
    return number


def read_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError("not a boolean")


def read_ip4(text: str) -> int:
    """An IPv4 address as Devo stores it: the unsigned 32-bit integer."""
    if not _IP4.fullmatch(text):
        raise ValueError("not an IPv4 address")
    a, b, c, d = (int(part) for part in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def read_ip6(text: str) -> int:
    value = parse_ip6(text) if text == text.strip() else None
    if value is None:
        raise ValueError("not an IPv6 address")
    return value


def read_mac(text: str) -> int:
    value = parse_mac(text) if text == text.strip() else None
    if value is None:
        raise ValueError("not a MAC address")
    return value


def read_timestamp(text: str) -> int:
    """Epoch milliseconds."""
    if _INTEGER.fullmatch(text):
        ms = int(text)
    else:
        match = _TIMESTAMP.fullmatch(text)
        if match is None:
            raise ValueError("not a timestamp")
        year, month, day, hour, minute, second, fraction, offset = match.groups()
        zone = dt.UTC
        if offset not in (None, "Z"):
            digits = offset[1:].replace(":", "")
            delta = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            zone = dt.timezone(-delta if offset[0] == "-" else delta)
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        moment = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro - micro % 1000,
            tzinfo=zone,
        )
        ms = (moment - _EPOCH) // _MS
    if not _MIN_MS <= ms <= _MAX_MS:
        raise ValueError("timestamp out of range")
    return ms


_READERS: dict[Kind, TextParser] = {
    Kind.STR: str,
    Kind.INT4: _integer(-(2**31), 2**31 - 1),
    Kind.INT8: _integer(-(2**63), 2**63 - 1),
    Kind.FLOAT8: read_float,
    Kind.BOOL: read_bool,
    Kind.IP4: read_ip4,
    Kind.IP6: read_ip6,
    Kind.MAC: read_mac,
    Kind.TIMESTAMP: read_timestamp,
}
# The parsed columns of test.keep.types (its raw ones come first) with their readers.
_PARSED = tuple(
    (column.name, _READERS[column.type.kind]) for column in KEEP_TYPES.columns[len(RAW_COLUMNS) :]
)


def decode_types(
    hosts: Sequence[str], messages: Sequence[str]
) -> tuple[dict[str, Sequence[object]], int]:
    """test.keep.types' columns for ``messages`` (one row each), and the number of values that
    did not read as their column's type."""
    readers = dict(_PARSED)
    texts: dict[str, list[str | None]] = {name: [None] * len(messages) for name in readers}
    for index, message in enumerate(messages):
        if "=" not in message:
            continue
        for key, text in pairs(message).items():
            column = texts.get(key)
            if column is not None:
                column[index] = text
    columns: dict[str, Sequence[object]] = {"hostname": hosts, "message": messages}
    bad = 0
    for name, read in _PARSED:
        values: list[object] = []
        for given in texts[name]:
            if given is None:
                values.append(None)
                continue
            try:
                values.append(read(given))
            except ValueError:
                bad += 1
                values.append(None)
        columns[name] = values
    return columns, bad
