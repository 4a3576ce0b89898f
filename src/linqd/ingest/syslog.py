"""Syslog messages → column batches: table, host name, message and (for ``(usd)`` tags) time.

Written here rather than taken from a syslog library: Devo's header is neither RFC 3164 nor RFC
5424 as libraries read them (the tag names a table, ``(usd)`` tags carry their time), and this
parser is on the ingestion hot path (about a million lines a second on one core).

The header is ``<PRI>TIMESTAMP HOSTNAME TAG: MESSAGE`` (Devo's syslog header). Choices Devo's
documentation leaves open:

* ``PRI`` may be any number and is ignored; a message without it is accepted as well (relays and
  hand-made ``nc`` tests send such lines; the rest of the header is unambiguous without it).
* ``TIMESTAMP`` is ``Mmm dd HH:MM:SS`` (day space- or zero-padded, or a single digit),
  ``YYYY-MM-DD HH:MM:SS[.f]``, or ``YYYY-MM-DDTHH:MM:SS[.f][Z|±hh:mm]``. It is only read for
  historical tags; for the others any value of these shapes passes (devo-sdk sends a constant).
  RFC 5424 headers and lines without a timestamp are rejected (``bad header``).
* One space after ``TAG:`` is removed (none needs to be there); a colon at the end of the line
  gives an empty message. A final NUL (devo-sdk's logging handler) is removed from the message.
* Historical tags ``(usd)tag`` and ``(usd.family[N])tag`` take their eventdate from the header,
  read in ``tz`` (UTC by default: devo-sdk writes the sender's local time, which the server
  cannot know) unless the header carries an offset. ``Mmm dd`` has no year: the year of
  ``now_ms`` is used, or the previous year when that would put the event more than a day in the
  future (a December event arriving in January). An unreadable time rejects the message
  (``bad timestamp``). Other tags get ``None``: the server stamps the arrival time.
* A tag that cannot name a table rejects the message (``invalid tag``).
* Empty and whitespace-only messages are ignored: they are not events, nor worth a rejection.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from ..errors import ValidationError
from ..store.catalog import table_name_for_tag

__all__ = ["ParsedBatch", "parse_messages"]

_HEADER = re.compile(
    r"(?:<\d+>)?"
    r"([A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d"
    r"|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)"
    r" (\S+) ([^\s:]+):[ ]?(.*)",
    re.ASCII | re.DOTALL,
)
_HISTORICAL = re.compile(r"\(usd(?:\.family\[\d+\])?\)(.*)", re.ASCII | re.DOTALL)
_SYSLOG_TIME = re.compile(r"([A-Z][a-z]{2}) ([ \d]?\d) (\d\d):(\d\d):(\d\d)", re.ASCII)
_ISO_TIME = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|([+-])(\d\d):?(\d\d))?",
    re.ASCII,
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_DAY_MS = 86_400_000


@dataclass(frozen=True)
class ParsedBatch:
    """Accepted messages as parallel columns, and the rejected ones as ``(reason, line)``."""

    tables: list[str]
    hosts: list[str]
    messages: list[str]
    eventdates: list[int | None]
    rejected: list[tuple[str, str]]


def parse_messages(raw: Sequence[bytes], *, now_ms: int, tz: tzinfo = UTC) -> ParsedBatch:
    """Parse framed syslog messages (module docstring for the rules)."""
    tables: list[str] = []
    hosts: list[str] = []
    messages: list[str] = []
    eventdates: list[int | None] = []
    rejected: list[tuple[str, str]] = []
    add_table, add_host, add_message, add_date = (
        tables.append,
        hosts.append,
        messages.append,
        eventdates.append,
    )
    # Tags and timestamps repeat within a batch; the catalog check is a regex per level.
    plain_tables: dict[str, str] = {}
    # Historical tags → their table, invalid tags → None.
    other_tags: dict[str, str | None] = {}
    times: dict[str, int | None] = {}
    match = _HEADER.match
    for line in raw:
        text = line.decode("utf-8", "replace")
        header = match(text)
        if header is None:
            if text and not text.isspace():
                rejected.append(("bad header", text))
            continue
        stamp, host, tag, message = header.groups()
        table = plain_tables.get(tag)
        eventdate = None
        if table is None:
            if tag not in other_tags:
                base = _HISTORICAL.fullmatch(tag)
                name = _table_or_none(base.group(1) if base else tag)
                if base is None and name is not None:
                    plain_tables[tag] = table = name
                else:
                    other_tags[tag] = name
            if table is None:
                table = other_tags[tag]
                if table is None:
                    rejected.append(("invalid tag", text))
                    continue
                if stamp in times:
                    eventdate = times[stamp]
                else:
                    eventdate = times[stamp] = _header_ms(stamp, now_ms, tz)
                if eventdate is None:
                    rejected.append(("bad timestamp", text))
                    continue
        if message.endswith("\x00"):
            message = message[:-1]
        add_table(table)
        add_host(host)
        add_message(message)
        add_date(eventdate)
    return ParsedBatch(tables, hosts, messages, eventdates, rejected)


def _table_or_none(tag: str) -> str | None:
    try:
        return table_name_for_tag(tag)
    except ValidationError:
        return None


def _header_ms(stamp: str, now_ms: int, tz: tzinfo) -> int | None:
    """The header time in epoch milliseconds, or ``None`` when it names no real instant."""
    syslog = _SYSLOG_TIME.fullmatch(stamp)
    if syslog is not None:
        month_name, day, hour, minute, second = syslog.groups()
        if month_name not in _MONTHS:
            return None
        month = _MONTHS.index(month_name) + 1
        year = datetime.fromtimestamp(now_ms / 1000, tz).year
        for candidate in (year, year - 1):
            # The previous year also rescues Feb 29 read in a non-leap current year.
            ms = _epoch_ms(candidate, month, int(day), int(hour), int(minute), int(second), 0, tz)
            if ms is not None and ms <= now_ms + _DAY_MS:
                return ms
        return None
    iso = _ISO_TIME.fullmatch(stamp)
    if iso is None:
        return None
    year_, month_, day_, hour_, minute_, second_, fraction, offset, sign, off_h, off_m = (
        iso.groups()
    )
    zone = tz
    if offset == "Z":
        zone = UTC
    elif offset:
        delta = timedelta(hours=int(off_h), minutes=int(off_m))
        zone = timezone(-delta if sign == "-" else delta)
    micros = int((fraction or "").ljust(6, "0")[:6])
    return _epoch_ms(
        int(year_), int(month_), int(day_), int(hour_), int(minute_), int(second_), micros, zone
    )


def _epoch_ms(
    year: int, month: int, day: int, hour: int, minute: int, second: int, micros: int, tz: tzinfo
) -> int | None:
    try:
        moment = datetime(year, month, day, hour, minute, second, micros, tzinfo=tz)
    except ValueError:
        return None
    return (moment - _EPOCH) // _MILLISECOND
