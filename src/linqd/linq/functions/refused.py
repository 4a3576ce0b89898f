"""Functions of Devo's catalogue that linqd knows by name and refuses, as data: each needs
something a self-hosted server does not have. The analyzer answers a call of one with what is
missing (never "No function named", which would read as a typo), and the function reference lists
them in a section of their own.

The packet family is inferred: Devo's catalogue names `hasip4`, `ip4src` and `tcpdst` and elides
the rest (spec §9.10); the other names follow the same pattern (a layer, then `src`/`dst`, and
`has<layer>` for its presence).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Refusal:
    """Functions refused for one reason."""

    names: tuple[str, ...]
    needs: str  # what is missing, as the error names it: "`f' needs <needs>, which ..."
    why: str  # a sentence for the function reference
    inferred: bool = False  # the names are inferred from Devo's pattern, not listed by Devo

    def message(self, name: str) -> str:
        return f"`{name}' needs {self.needs}, which this server does not have"


REFUSALS: tuple[Refusal, ...] = (
    Refusal(
        ("reputation", "reputationscore"),
        "Devo's reputation feed",
        "Devo's proprietary IP reputation feed (the lists and scores of known-bad addresses) is "
        "not public; linqd has no data to answer with.",
    ),
    Refusal(
        ("purpose",),
        "Devo's IP purpose feed",
        "The purpose of an address (hosting, VPN, ...) comes from Devo's proprietary feed.",
    ),
    Refusal(
        ("sbl",),
        "Devo's SBL feed",
        "Whether an address is on a block list (SBL) comes from a feed Devo licenses.",
    ),
    Refusal(
        (
            "hasip4", "hasip6", "hastcp", "hasudp", "hasicmp", "haseth",
            "ip4src", "ip4dst", "ip6src", "ip6dst",
            "tcpsrc", "tcpdst", "tcpflags", "udpsrc", "udpdst",
            "icmptype", "icmpcode", "ethsrc", "ethdst",
        ),
        "captured network packets",
        "Packet functions read the headers of captured packets (Devo's packet tables); linqd "
        "stores log events, not packets. Names past `hasip4`, `ip4src` and `tcpdst` are "
        "inferred from Devo's pattern.",
        inferred=True,
    ),
    Refusal(
        ("hlut", "hlurjson"),
        "the history of its lookups",
        "Historic lookups read a lookup's value at a past time; linqd keeps each lookup's "
        "current rows only (`lu` reads them).",
    ),
    Refusal(
        ("mkboxar",),
        "Devo's definition of a boxed array",
        "Devo lists `mkboxar` among the collection constructors and documents nothing more; "
        "`mkarray` builds an array.",
    ),
    Refusal(
        ("ustcount", "mm2timestamp"),
        "a definition from Devo",
        "Devo's catalogue names these and documents nothing about them; `hllppcount` and "
        "`sizedistinct` count distinct values.",
    ),
)  # fmt: skip


def _build() -> Mapping[str, Refusal]:
    table: dict[str, Refusal] = {}
    for refusal in REFUSALS:
        for name in refusal.names:
            if name in table:
                raise RuntimeError(f"function {name!r} refused twice")
            table[name] = refusal
    return MappingProxyType(table)


REFUSED: Mapping[str, Refusal] = _build()
