"""IPv6 addresses, IPv6 networks and MAC addresses: the text LINQ reads them from and the one
canonical text it writes, for constants folded by the analyzer and for the tests. The SQL that
does the same on the engines (``functions/addresses.py``) uses these very patterns, so a text is
valid in a query exactly when it is valid here.

Values: an ``ip6`` is its unsigned 128-bit integer, a ``mac`` its unsigned 48-bit integer, a
``net6`` the pair (network address as an integer, prefix length).

- ``ip6`` text: any RFC 4291 §2.2 form (1 to 4 hex digits per group in either case, one ``::``,
  a trailing dotted IPv4 such as ``::ffff:1.2.3.4``); no zone (``%eth0``), no brackets, no
  leading zeros in the dotted part. Surrounding blanks are ignored.
- ``ip6`` canonical text: RFC 5952 (lowercase, no leading zeros, the longest run of two or more
  zero groups as ``::``, the first such run on a tie), and §5's mixed notation for the
  IPv4-mapped block ``::ffff:0:0/96`` only (``::ffff:192.0.2.1``).
- ``mac`` text: six two-digit hex bytes separated by ``:`` (``00:1A:2b:3c:4d:5e``) or by ``-``
  (the IEEE form), or three four-digit groups separated by ``.`` (Cisco's ``001a.2b3c.4d5e``);
  either case, one separator throughout. Canonical text: lowercase, colon-separated.
"""

from __future__ import annotations

import ipaddress
import re

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IP4_TEXT = rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}"
_H16 = r"[0-9A-Fa-f]{1,4}"


def _hex_forms() -> str:
    """RFC 3986's IPv6address rule written out as alternatives, with its last 32 bits as two
    hex groups only: a dotted IPv4 there is replaced by `0:0` first (``DOTTED_TAIL``), which
    keeps the pattern a third of the size."""

    def repeat(count: int) -> str:
        return f"(?:{_H16}:){{{count}}}" if count else ""

    def head(most: int) -> str:
        return f"(?:(?:{_H16}:){{0,{most}}}{_H16})?"

    ls32 = f"{_H16}:{_H16}"
    forms = [f"{repeat(6)}{ls32}", f"::{repeat(5)}{ls32}"]
    forms += [f"{head(before)}::{repeat(4 - before)}{ls32}" for before in range(4)]
    forms += [f"{head(4)}::{ls32}", f"{head(5)}::{_H16}", f"{head(6)}::"]
    return "|".join(f"(?:{form})" for form in forms)


# An ip6 text is valid when, its trailing `:a.b.c.d` (always after a colon in RFC 3986's rule)
# replaced by `:0:0`, it matches HEX6_PATTERN. Anchored patterns, for Python's re and the
# engines' RE2 alike.
DOTTED_TAIL = rf":({IP4_TEXT})$"
DOTTED_AS_HEX = ":0:0"
HEX6_PATTERN = rf"^(?:{_hex_forms()})$"
PREFIX6_PATTERN = r"^(?:12[0-8]|1[01][0-9]|[1-9]?[0-9])$"
MAC_PATTERN = (
    r"^(?:[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}"
    r"|[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){5}"
    r"|[0-9A-Fa-f]{4}(?:\.[0-9A-Fa-f]{4}){2})$"
)
MAC_SEPARATORS = r"[:.\-]"

IP6_BITS = 128
MAPPED_LOW = 0xFFFF_0000_0000  # ::ffff:0.0.0.0, the first IPv4-mapped address
MAPPED_HIGH = 0xFFFF_FFFF_FFFF


def _valid_ip6(text: str) -> bool:
    return re.fullmatch(HEX6_PATTERN, re.sub(DOTTED_TAIL, DOTTED_AS_HEX, text)) is not None


def parse_ip6(text: str) -> int | None:
    # Blanks only, as the engines' trim: a text ending in a line break is not an address.
    stripped = text.strip(" ")
    if not _valid_ip6(stripped):
        return None
    return int(ipaddress.IPv6Address(stripped))


def parse_net6(text: str) -> tuple[int, int] | None:
    """A network from ``address/prefix``; host bits are cleared (``2001:db8::1/32`` is
    ``2001:db8::/32``), as for net4."""
    address, slash, prefix = text.strip(" ").rpartition("/")
    if not slash or not _valid_ip6(address) or re.fullmatch(PREFIX6_PATTERN, prefix) is None:
        return None
    network = ipaddress.IPv6Network(f"{address}/{prefix}", strict=False)
    return int(network.network_address), network.prefixlen


def parse_mac(text: str) -> int | None:
    stripped = text.strip(" ")
    if re.fullmatch(MAC_PATTERN, stripped) is None:
        return None
    return int(re.sub(MAC_SEPARATORS, "", stripped), 16)


def ip6_text(value: int) -> str:
    if MAPPED_LOW <= value <= MAPPED_HIGH:
        return "::ffff:" + str(ipaddress.IPv4Address(value & 0xFFFF_FFFF))
    groups = [(value >> shift) & 0xFFFF for shift in range(112, -1, -16)]
    start, length = -1, 0
    index = 0
    while index < len(groups):
        if groups[index] == 0:
            end = index
            while end < len(groups) and groups[end] == 0:
                end += 1
            if end - index > length:
                start, length = index, end - index
            index = end
        else:
            index += 1
    words = [f"{g:x}" for g in groups]
    if length < 2:
        return ":".join(words)
    return ":".join(words[:start]) + "::" + ":".join(words[start + length :])


def net6_text(network: int, prefix: int) -> str:
    return f"{ip6_text(network)}/{prefix}"


def mac_text(value: int) -> str:
    return ":".join(f"{(value >> shift) & 0xFF:02x}" for shift in range(40, -1, -8))


def net6_range(network: int, prefix: int) -> tuple[int, int]:
    """The first and last addresses of a network."""
    return network, network + (1 << (IP6_BITS - prefix)) - 1
