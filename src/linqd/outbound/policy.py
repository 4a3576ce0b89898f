"""Which addresses a connection that an API user asked for may reach: the operator's choice.

Requests name hosts that linqd then connects to: webhook delivery methods, Kafka bootstrap
servers (and the brokers their metadata advertises), S3 endpoints, WebHDFS namenodes (and the
datanodes they redirect to). Unchecked, these reach whatever the server reaches: its own port,
loopback services, cloud metadata; and their error texts turn linqd into a port scanner. The
operator's own settings (``--smtp-host``) are not subject to this policy.

Rules: ``serve --outbound-allow RULE`` and ``--outbound-deny RULE``, each repeatable. A RULE is a
CIDR (``10.0.0.0/8``, ``fd00::/8``), one address (``127.0.0.1``, ``::1``) or a host name
(``hooks.example.com``: that exact name, case-insensitive; no wildcards).

Defaults, for an address that no rule of the operator matches: denied are

- loopback: 127.0.0.0/8, ::1;
- "this network": 0.0.0.0/8 and ``::`` (connecting to 0.0.0.0 reaches the local host on Linux),
  and the deprecated IPv4-compatible IPv6 block ::/96 around them;
- link-local: 169.254.0.0/16, fe80::/10, with the cloud metadata services in them
  (169.254.169.254) and outside them (AWS's fd00:ec2::254, Alibaba's 100.100.100.200);
- multicast 224.0.0.0/4, ff00::/8; broadcast 255.255.255.255 and the reserved 240.0.0.0/4.

Everything else is allowed, the private ranges included (10/8, 172.16/12, 192.168/16, 100.64/10,
fc00::/7): a self-hosted server's Kafka, S3 and webhook receivers usually live there.

Precedence works like a routing table. The operator's rules beat the defaults; among them the
most specific match wins: a host-name rule first, then the longest prefix; at equal specificity
deny wins. So ``--outbound-allow 127.0.0.1`` opens just that address (the rest of 127/8 stays
denied), and ``--outbound-deny 0.0.0.0/0 --outbound-deny ::/0 --outbound-allow 10.1.0.0/16``
allows 10.1.0.0/16 and nothing else (IPv4 rules do not cover IPv6: deny both).

What is judged is the address a connection goes to. IPv4-mapped IPv6 addresses
(``::ffff:127.0.0.1``) and NAT64 ones (64:ff9b::/96, which a translator turns into the IPv4
address they carry) are judged as that IPv4 address. A name is resolved once and every address
it resolves to must be allowed, else the connection is refused (whoever controls the name's DNS
could otherwise mix a denied address among allowed ones); the caller then connects to exactly
the checked addresses, so no second lookup exists for a DNS rebinding to answer differently.
Host-name rules match the name the request gave, not what it resolves to.

When requests are validated, literal addresses and host-name rules are judged at once
(``check_host``); names are judged when connecting (``resolve``), since their addresses may
change. A refusal is ``OutboundRefused`` ("Address 127.0.0.1 (of host x) is not allowed for
outbound connections"); callers turn it into the request's ``ValidationError``, the job's error
or the delivery's.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from ..errors import OutboundRefused

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_DENIED: tuple[Network, ...] = tuple(
    ipaddress.ip_network(text)
    for text in (
        "127.0.0.0/8",
        "::1/128",
        "0.0.0.0/8",
        "::/128",
        "::/96",
        "169.254.0.0/16",
        "fe80::/10",
        "169.254.169.254/32",
        "fd00:ec2::254/128",
        "100.100.100.200/32",
        "224.0.0.0/4",
        "ff00::/8",
        "240.0.0.0/4",
        "255.255.255.255/32",
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_LEGACY_IPV4 = re.compile(r"[0-9a-fA-FxX.]{1,64}")
# A host rule outranks any prefix, /128 included.
_HOST_SPECIFICITY = 129


class Verdict(Enum):
    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True)
class Rule:
    """One ``--outbound-allow``/``--outbound-deny``: a network or an exact host name."""

    verdict: Verdict
    network: Network | None = None
    host: str | None = None

    @classmethod
    def parse(cls, text: str, verdict: Verdict) -> Rule:
        """A rule from its command-line text; ``ValueError`` says what is wrong with it."""
        given = text.strip()
        if not given or len(given) > 253:
            raise ValueError(f"{text[:100]!r} is not a CIDR, an address or a host name")
        try:
            network = ipaddress.ip_network(given, strict=True)
        except ValueError as exc:
            if "/" in given or literal_address(given) is not None:
                # "10.1.2.3/16" has host bits set: say so rather than guess what was meant.
                raise ValueError(f"{text!r} is not a valid CIDR: {exc}") from None
            host = normalize_host(given)
            if not HOST_NAME.fullmatch(host):
                raise ValueError(f"{text!r} is not a CIDR, an address or a host name") from None
            return cls(verdict, host=host)
        return cls(verdict, network=network)

    @property
    def specificity(self) -> int:
        return _HOST_SPECIFICITY if self.network is None else self.network.prefixlen

    def matches(self, address: Address, host: str | None) -> bool:
        if self.network is None:
            return host is not None and host == self.host
        return address.version == self.network.version and address in self.network

    def __str__(self) -> str:
        return f"{self.verdict.value} {self.host if self.network is None else self.network}"


@dataclass(frozen=True)
class Target:
    """One address a checked name resolved to: connect to it and to nothing else."""

    family: int
    address: Address
    literal: str  # the address as text, what to connect to

    @property
    def host(self) -> str:
        """The address as a host in ``host:port`` (IPv6 in brackets)."""
        return f"[{self.literal}]" if self.family == socket.AF_INET6 else self.literal


@dataclass(frozen=True)
class OutboundPolicy:
    """The operator's rules over the defaults; ``OutboundPolicy()`` is the defaults alone."""

    rules: tuple[Rule, ...] = ()

    @classmethod
    def parse(cls, allow: Iterable[str] = (), deny: Iterable[str] = ()) -> OutboundPolicy:
        rules = [Rule.parse(text, Verdict.ALLOW) for text in allow]
        rules += [Rule.parse(text, Verdict.DENY) for text in deny]
        return cls(tuple(rules))

    def allows(self, address: Address, host: str | None = None) -> bool:
        """Whether a connection to ``address`` (reached through the name ``host``) may be made."""
        judged = judged_address(address)
        name = normalize_host(host) if host is not None else None
        best: Rule | None = None
        for rule in self.rules:
            if not rule.matches(judged, name):
                continue
            rank = (rule.specificity, rule.verdict is Verdict.DENY)
            if best is None or rank > (best.specificity, best.verdict is Verdict.DENY):
                best = rule
        if best is not None:
            return best.verdict is Verdict.ALLOW
        return not any(
            judged.version == network.version and judged in network for network in DEFAULT_DENIED
        )

    def check_host(self, host: str) -> None:
        """Judge what can be judged without DNS (a request's literal address, a name that a
        host rule denies); ``OutboundRefused`` if it is denied. Other names pass: they are
        judged when connecting."""
        literal = literal_address(host)
        if literal is not None:
            if not self.allows(literal):
                raise OutboundRefused(refusal(literal, host))
            return
        name = normalize_host(host)
        matching = [rule for rule in self.rules if rule.network is None and rule.host == name]
        if any(rule.verdict is Verdict.DENY for rule in matching):
            raise OutboundRefused(f"Host {name} is not allowed for outbound connections")

    def resolve(self, host: str, port: int) -> tuple[Target, ...]:
        """Every address ``host`` resolves to, each one allowed; ``OutboundRefused`` if any is
        not, ``OSError`` (``socket.gaierror``) if the name does not resolve."""
        name = None if literal_address(host) is not None else normalize_host(host)
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        targets: dict[str, Target] = {}
        for family, _, _, _, sockaddr in found:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            text = str(sockaddr[0])  # with its %scope for a scoped IPv6 address
            address = ipaddress.ip_address(text)
            if not self.allows(address, name):
                raise OutboundRefused(refusal(address, host))
            targets.setdefault(text, Target(family, address, text))
        if not targets:
            raise socket.gaierror(socket.EAI_NONAME, "no IPv4 or IPv6 address")
        return tuple(targets.values())


DEFAULT_POLICY = OutboundPolicy()  # the defaults alone


def refusal(address: Address, host: str) -> str:
    """The text of a refusal: the address, and the name it came from when there was one."""
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    shown = f"::ffff:{mapped}" if mapped is not None else str(address)
    bare = host.strip("[]")
    of = "" if literal_address(bare) is not None else f" (of host {host})"
    return f"Address {shown}{of} is not allowed for outbound connections"


def normalize_host(host: str) -> str:
    """Host names compare case-insensitively and without a trailing dot."""
    return host.strip().rstrip(".").lower()


def judged_address(address: Address) -> Address:
    """The address a connection really reaches: an IPv4-mapped or NAT64 IPv6 address is the
    IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def literal_address(host: str) -> Address | None:
    """``host`` as an IP address when it is one, also in the legacy IPv4 spellings that the
    resolver takes as numbers (``127.1``, ``0x7f000001``, ``2130706433``); None for a name."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None
