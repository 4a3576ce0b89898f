"""``test.keep.types``: ``key=value`` messages read into one column per LINQ type.

devo-sdk seeds this table with ``ip4=127.0.0.1`` and reads it back as a typed ``ip4`` column;
Devo documents neither the grammar nor the other columns, so this is linqd's reading of it.

**Grammar.** A message is a sequence of blank-separated words; a word ``key=value`` sets
``key``. A value is either everything up to the next blank, or a double-quoted text (which may
hold blanks) ending at a blank or at the end of the message. Inside quotes ``\\"`` is a quote
and ``\\\\`` a backslash; any other backslash is kept as it is (``"C:\\temp"`` reads
``C:\\temp``). ``key=`` is an empty value. Words that are not ``key=value`` are skipped, as are
keys that name no column (keys are case-sensitive); when a key repeats, its last value wins (a
later field overrides, as in a configuration line). A quote opens a value only right after
``key=`` (elsewhere it is an ordinary character); a quoted value with more text glued after
its closing quote (``a="x"y``) leaves its key unset, and so does a quote that is never closed,
which takes the rest of the message with it. A trailing NUL (devo-sdk's logging handler ends
messages with one) is not part of the last value.

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
import socket
from collections.abc import Callable, Iterable, Sequence
from operator import methodcaller

from ..linq.addresses import MAC_PATTERN
from ..linq.types import Kind
from ..store.catalog import KEEP_TYPES, RAW_COLUMNS

# A column's reader: the value of a text, or None when the text does not read as one.
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
_AT_EQUALS = methodcaller("partition", "=")
_ESCAPE = re.compile(r'\\([\\"])')
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
# What an IPv6 text may hold; the C library's parser reads it (RFC 4291's forms, as LINQ's
# ip6 does: tests/ingest/test_keyvalue.py compares the two).
_IP6_CHARS = re.compile(r"[0-9A-Fa-f:.]+", re.ASCII)
_MAC = re.compile(MAC_PATTERN, re.ASCII)
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)
_MIN_MS = (dt.datetime(1900, 1, 1, tzinfo=dt.UTC) - _EPOCH) // _MS
_MAX_MS = (dt.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=dt.UTC) - _EPOCH) // _MS


def pairs(message: str) -> dict[str, str]:
    """The ``key=value`` pairs of ``message``, values unquoted; the last of a repeated key."""
    found: dict[str, str] = {}
    for key, value in _pairs(message.rstrip("\x00")):
        found[key] = value
    return found


def _pairs(text: str) -> Iterable[tuple[str, str]]:
    """The pairs of ``text`` in order (repeats included)."""
    if '"' not in text:
        # Without quotes a pair is a word with its key before the first `=`: split() cuts at
        # the same blanks as the pattern's \s, at C speed.
        return [
            (key, value) for key, equals, value in map(_AT_EQUALS, text.split()) if equals and key
        ]
    # findall gives "" for the groups of the alternatives that did not match: an empty key is
    # another word, a non-empty `unread` a value that does not count.
    return [
        (key, _ESCAPE.sub(r"\1", quoted) if "\\" in quoted else quoted or bare)
        for key, quoted, unread, bare in _TOKEN.findall(text)
        if key and not unread
    ]


def _integer(low: int, high: int) -> TextParser:
    def read(text: str) -> int | None:
        if not _INTEGER.fullmatch(text):
            return None
        number = int(text)
        return number if low <= number <= high else None

    return read


def read_float(text: str) -> float | None:
    if not _DECIMAL.fullmatch(text):
        return None
    number = float(text)
    return None if math.isinf(number) else number


_BOOLS = {"true": True, "1": True, "false": False, "0": False}


def read_bool(text: str) -> bool | None:
    return _BOOLS.get(text.lower())


def read_ip4(text: str) -> int | None:
    """An IPv4 address as Devo stores it: the unsigned 32-bit integer."""
    try:
        packed = socket.inet_aton(text)
    except (OSError, ValueError):  # ValueError: a NUL or a non-ASCII character
        return None
    # inet_aton also reads "1.2.3", "0x7f.1" or "010.1.1.1"; only the dotted quad without
    # leading zeros (LINQ's ip4 text) writes back as itself.
    return int.from_bytes(packed, "big") if socket.inet_ntoa(packed) == text else None


def read_ip6(text: str) -> int | None:
    if not _IP6_CHARS.fullmatch(text):
        return None
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
    except OSError:
        return None


def read_mac(text: str) -> int | None:
    if not _MAC.fullmatch(text):
        return None
    return int(text.replace(":", "").replace("-", "").replace(".", ""), 16)


def read_timestamp(text: str) -> int | None:
    """Epoch milliseconds."""
    if _INTEGER.fullmatch(text):
        ms = int(text)
    elif _TIMESTAMP.fullmatch(text):
        # The pattern admits only the forms above; fromisoformat (C) checks the calendar and
        # the clock, and cuts digits past the microsecond.
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        ms = (moment - _EPOCH) // _MS
    else:
        return None
    return ms if _MIN_MS <= ms <= _MAX_MS else None


_READERS: dict[Kind, TextParser] = {
    Kind.STR: str,  # not called: the texts are the values
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
    count = len(messages)
    texts: dict[str, list[str | None]] = {name: [None] * count for name, _ in _PARSED}
    for index, message in enumerate(messages):
        if "=" not in message:
            continue
        # In message order, so a repeated key's last value stays.
        for key, text in _pairs(message.rstrip("\x00")):
            column = texts.get(key)
            if column is not None:
                column[index] = text
    columns: dict[str, Sequence[object]] = {"hostname": hosts, "message": messages}
    bad = 0
    for name, read in _PARSED:
        given = texts[name]
        if read is str:
            columns[name] = given
            continue
        values = [None if text is None else read(text) for text in given]
        bad += values.count(None) - given.count(None)
        columns[name] = values
    return columns, bad
