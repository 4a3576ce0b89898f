"""Network and web: private/public ip4 addresses and the parts of a URI."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from sqlglot import exp

from ..types import LType
from .base import Arg, Context, FunctionDef, Translator, both, lit, sig
from .helpers import any_of, regex_extract, try_cast_as
from .operators import in_net4

PRIVATE = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")  # RFC 1918
# Neither private nor public: "this" network, loopback, link-local, multicast and reserved
# (240.0.0.0/4, which also holds the broadcast address).
SPECIAL = ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4")

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


def _ranges(value: exp.Expression, networks: Sequence[str]) -> exp.Expression:
    checks = []
    for text in networks:
        network = ipaddress.IPv4Network(text)
        checks.append(in_net4(value, (int(network.network_address), network.prefixlen)))
    return any_of(checks)


def _isprivate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return _ranges(args[0].sql, PRIVATE)


def _ispublic(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return exp.Not(this=_ranges(args[0].sql, PRIVATE + SPECIAL))


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


FUNCTIONS: tuple[FunctionDef, ...] = (
    FunctionDef(("isprivate",), (sig("ip4 -> bool"),),
                "True for RFC 1918 private addresses (10/8, 172.16/12, 192.168/16).", "network",
                both(_isprivate)),
    FunctionDef(("ispublic",), (sig("ip4 -> bool"),),
                "True for addresses that are neither private nor 0/8, loopback, link-local, "
                "multicast or reserved (240/4).", "network", both(_ispublic)),
    *(_uri(name, group) for name, group in URI_GROUPS),
)  # fmt: skip
