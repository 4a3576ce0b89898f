"""Network and web: private/public addresses, the network of an address, the parts of a URI."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from sqlglot import exp

from ..addresses import parse_net6
from ..types import Kind, LType
from .addresses import in_network
from .base import Arg, Context, FunctionDef, Translator, both, lit, sig
from .helpers import any_of, case, regex_extract, try_cast_as

PRIVATE = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")  # RFC 1918
# Neither private nor public: "this" network, loopback, link-local, multicast and reserved
# (240.0.0.0/4, which also holds the broadcast address).
SPECIAL = ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4")
# IPv6: unique local addresses (RFC 4193) are the private ones. Neither private nor public: the
# RFC 6890 special-purpose registry's blocks that are not globally reachable (IANA, 2024: RFC
# 8215's local NAT64, discard-only, IETF protocol assignments, documentation (RFC 3849 and RFC
# 9637), SRv6 SIDs (RFC 9602), link-local), the unspecified and loopback addresses, 6to4
# (reachability "N/A"), deprecated site-local and multicast. IPv4-mapped addresses
# (::ffff:0:0/96) are judged as the ip4 they carry.
PRIVATE6 = ("fc00::/7",)
SPECIAL6 = (
    "::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
    "2002::/16", "3fff::/20", "5f00::/16", "fe80::/10", "fec0::/10", "ff00::/8",
)  # fmt: skip
# Globally reachable blocks inside 2001::/23 (the registry's exceptions).
GLOBAL6 = (
    "2001:1::1/128", "2001:1::2/128", "2001:3::/32", "2001:4:112::/48", "2001:20::/28",
    "2001:30::/28",
)  # fmt: skip

# RFC 3986, appendix B, with the authority split into user info, host and port.
URI = (
    r"^(?:([A-Za-z][A-Za-z0-9+.\-]*):)?"  # 1 scheme
    r"(?://(?:[^/?#@]*@)?(\[[^\]]*\]|[^:/?#]*)(?::([0-9]*))?)?"  # 2 host, 3 port
    r"([^?#]*)"  # 4 path
    r"(?:\?([^#]*))?"  # 5 query
    r"(?:#(.*))?$"  # 6 fragment
)
URI_GROUPS = (
    ("urischeme", 1),
    ("urihost", 2),
    ("uriport", 3),
    ("uripath", 4),
    ("uriquery", 5),
    ("urifragment", 6),
)


def _ranges(arg: Arg, networks: Sequence[str]) -> exp.Expression:
    """Is the ip4 or ip6 ``arg`` in one of ``networks`` (net4 or net6 text)."""
    checks = []
    for text in networks:
        if ":" in text:
            net6 = parse_net6(text)
            assert net6 is not None
            checks.append(in_network(arg.sql, arg.type.kind, Kind.NET6, net6))
        else:
            net4 = ipaddress.IPv4Network(text)
            net = (int(net4.network_address), net4.prefixlen)
            checks.append(in_network(arg.sql, arg.type.kind, Kind.NET4, net))
    return any_of(checks)


def _isprivate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    if args[0].type.kind is Kind.IP6:
        return _ranges(args[0], PRIVATE6 + PRIVATE)
    return _ranges(args[0], PRIVATE)


def _ispublic(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    if args[0].type.kind is Kind.IP6:
        blocked = _ranges(args[0], PRIVATE6 + SPECIAL6 + PRIVATE + SPECIAL)
        return any_of([exp.Not(this=blocked), _ranges(args[0], GLOBAL6)])
    return exp.Not(this=_ranges(args[0], PRIVATE + SPECIAL))


def peek_network(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    """The first network of a constant array that holds the address, as its text."""
    address, networks = args
    if networks.type.kind is Kind.NULL:
        return exp.cast(exp.Null(), "VARCHAR")
    items = networks.const
    if not isinstance(items, list) or not isinstance(networks.sql, exp.Array):
        raise ctx.error("The networks of `peek' must be an array of net4 or net6 constants")
    kind = networks.type.element.kind if networks.type.element is not None else Kind.NET4
    branches = [
        (in_network(address.sql, address.type.kind, kind, net), text)
        for net, text in zip(items, networks.sql.expressions, strict=True)
        if net is not None
    ]
    if not branches:
        return exp.cast(exp.Null(), "VARCHAR")
    return case(*branches)


def _uri_part(group: int) -> Translator:
    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        part = regex_extract(ctx, args[0].sql, lit(URI), group)
        # An absent part and an empty one read the same: null (Java's URI returns null too).
        present = exp.Nullif(this=part, expression=lit(""))
        return try_cast_as(ctx, present, "INTEGER") if result.is_integer else present

    return translate


def _uri(name: str, group: int) -> FunctionDef:
    what = {
        "urischeme": "scheme (`https`)",
        "urihost": "host",
        "uriport": "port number",
        "uripath": "path",
        "uriquery": "query (after `?`, still encoded)",
        "urifragment": "fragment (after `#`, still encoded)",
    }[name]
    returns = "int4" if name == "uriport" else "str"
    return FunctionDef((name,), (sig(f"str -> {returns}"),),
                       f"The {what} of a URI; null when it has none.", "network",
                       both(_uri_part(group)))  # fmt: skip


PEEK_NETWORK = tuple(
    sig(f"{ip}, array({net}) -> elem($1)") for ip in ("ip4", "ip6") for net in ("net4", "net6")
)

FUNCTIONS: tuple[FunctionDef, ...] = (
    FunctionDef(("isprivate",), (sig("ip4 -> bool"), sig("ip6 -> bool")),
                "True for RFC 1918 private addresses (10/8, 172.16/12, 192.168/16) and IPv6 "
                "unique local addresses (fc00::/7, RFC 4193); an IPv4-mapped ip6 "
                "(::ffff:a.b.c.d) as the ip4 it carries.", "network",
                both(_isprivate)),
    FunctionDef(("ispublic",), (sig("ip4 -> bool"), sig("ip6 -> bool")),
                "True for addresses that are neither private nor 0/8, loopback, link-local, "
                "multicast or reserved (240/4). For ip6: neither private nor in a block of the "
                "RFC 6890 special-purpose registry that is not globally reachable (::/128, ::1, "
                "64:ff9b:1::/48, 100::/64, 2001::/23 but for its global exceptions such as "
                "2001:3::/32 and 2001:20::/28, 2001:db8::/32, 3fff::/20, 5f00::/16, fe80::/10), "
                "nor 6to4 (2002::/16), site-local (fec0::/10) or multicast (ff00::/8); an "
                "IPv4-mapped ip6 as the ip4 it carries.", "network", both(_ispublic)),
    *(_uri(name, group) for name, group in URI_GROUPS),
)  # fmt: skip
