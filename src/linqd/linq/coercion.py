"""Literal text read as a value of another type, the way `=` and `in` read it (`statusCode =
"404"`, `eventdate > "2024-01-01"`, `ip in {"10.0.0.1"}`): the analyzer folds these conversions
into typed constants when the query compiles."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime

from . import types as t
from .addresses import parse_ip6, parse_mac, parse_net6
from .ir import TLiteral
from .types import Kind, LType

_TIMESTAMP_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?$")


def parse_timestamp_text(text: str) -> int | None:
    """``YYYY-MM-DD[ HH:MM[:SS[.fff]]]`` in UTC → epoch ms; None if it is not such a text."""
    if not _TIMESTAMP_TEXT.match(text.strip()):
        return None
    try:
        value = datetime.fromisoformat(text.strip()).replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(value.timestamp() * 1000)


def parse_ip4(text: str) -> int | None:
    try:
        return int(ipaddress.IPv4Address(text.strip()))
    except ValueError:
        return None


def parse_net4(text: str) -> tuple[int, int] | None:
    try:
        network = ipaddress.IPv4Network(text.strip(), strict=False)
    except ValueError:
        return None
    return int(network.network_address), network.prefixlen


def coerce_literal(value: object, to: LType) -> TLiteral | None:
    """A string literal converted to ``to`` (timestamp, addresses, networks, numbers); None if it
    can't be."""
    if not isinstance(value, str):
        if isinstance(value, int) and not isinstance(value, bool):
            if to.kind is Kind.TIMESTAMP or (to.kind is Kind.IP4 and 0 <= value < 2**32):
                return TLiteral(value, to)
            if to.is_numeric:
                return TLiteral(value, to)
        if isinstance(value, float) and to == t.FLOAT8:
            return TLiteral(value, to)
        return None
    converted: object | None = None
    if to.kind is Kind.TIMESTAMP:
        converted = parse_timestamp_text(value)
    elif to.kind is Kind.IP4:
        converted = parse_ip4(value)
    elif to.kind is Kind.NET4:
        converted = parse_net4(value)
    elif to.kind is Kind.IP6:
        converted = parse_ip6(value)
    elif to.kind is Kind.NET6:
        converted = parse_net6(value)
    elif to.kind is Kind.MAC:
        converted = parse_mac(value)
    elif to.is_integer:
        converted = int(value) if re.fullmatch(r"\s*-?\d+\s*", value) else None
    elif to == t.FLOAT8:
        try:
            converted = float(value)
        except ValueError:
            converted = None
    elif to.kind in (Kind.STR, Kind.JSON, Kind.REGEX, Kind.ANY):
        converted = value
    return None if converted is None else TLiteral(converted, to)
