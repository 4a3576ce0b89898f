"""The outbound policy: defaults, the operator's rules and their precedence, what is judged."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from linqd.errors import OutboundRefused
from linqd.outbound import OutboundPolicy
from linqd.outbound.policy import literal_address


def allowed(policy: OutboundPolicy, address: str, host: str | None = None) -> bool:
    return policy.allows(ipaddress.ip_address(address), host)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.0.9",
        "::1",
        "0.0.0.0",
        "0.1.2.3",
        "::",
        "::ffff:127.0.0.1",  # IPv4-mapped: the IPv4 address it carries is what is reached
        "::ffff:169.254.169.254",
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "::7f00:1",  # IPv4-compatible (deprecated)
        "169.254.169.254",
        "169.254.1.1",
        "fe80::1",
        "fd00:ec2::254",
        "100.100.100.200",
        "224.0.0.1",
        "ff02::1",
        "255.255.255.255",
        "240.0.0.1",
    ],
)
def test_defaults_deny_the_local_host_link_local_and_metadata(address: str) -> None:
    assert not allowed(OutboundPolicy(), address)


@pytest.mark.parametrize(
    "address",
    ["10.1.2.3", "172.16.0.9", "192.168.1.1", "100.64.0.1", "fd12:3456::1", "8.8.8.8", "2001::1"],
)
def test_defaults_allow_private_ranges_and_the_rest(address: str) -> None:
    assert allowed(OutboundPolicy(), address)


def test_an_allowed_address_opens_just_that_address() -> None:
    policy = OutboundPolicy.parse(allow=["127.0.0.1"])
    assert allowed(policy, "127.0.0.1")
    assert allowed(policy, "::ffff:127.0.0.1")
    assert not allowed(policy, "127.0.0.2")
    assert not allowed(policy, "::1")
    assert not allowed(policy, "169.254.169.254")


def test_the_most_specific_rule_wins_and_deny_wins_a_tie() -> None:
    only = OutboundPolicy.parse(allow=["10.1.0.0/16"], deny=["0.0.0.0/0", "::/0"])
    assert allowed(only, "10.1.200.3")
    assert not allowed(only, "10.2.0.1")
    assert not allowed(only, "8.8.8.8")
    assert not allowed(only, "2001:db8::1")
    carved = OutboundPolicy.parse(allow=["10.0.0.0/8"], deny=["10.9.0.0/16"])
    assert allowed(carved, "10.1.0.1") and not allowed(carved, "10.9.0.1")
    tie = OutboundPolicy.parse(allow=["10.0.0.0/8"], deny=["10.0.0.0/8"])
    assert not allowed(tie, "10.1.0.1")
    # The operator's rules beat the defaults, however wide.
    everything = OutboundPolicy.parse(allow=["0.0.0.0/0"])
    assert allowed(everything, "127.0.0.1") and allowed(everything, "169.254.169.254")


def test_host_rules_are_the_most_specific() -> None:
    policy = OutboundPolicy.parse(allow=["Metadata.Internal."], deny=["bad.example.com"])
    assert allowed(policy, "169.254.169.254", "metadata.internal")
    assert not allowed(policy, "169.254.169.254", "other.internal")
    assert not allowed(policy, "8.8.8.8", "BAD.example.com.")
    assert allowed(policy, "8.8.8.8", "good.example.com")


def test_validation_judges_literals_and_host_rules_but_not_names() -> None:
    policy = OutboundPolicy.parse(deny=["blocked.example"])
    for host in ("127.0.0.1", "[::1]", "127.1", "0x7f000001", "2130706433", "::ffff:7f00:1"):
        with pytest.raises(OutboundRefused, match="is not allowed for outbound connections"):
            policy.check_host(host)
    with pytest.raises(OutboundRefused, match=r"Host blocked\.example is not allowed"):
        policy.check_host("Blocked.Example")
    policy.check_host("localhost")  # judged when connecting, on what it resolves to
    policy.check_host("10.0.0.1")
    assert literal_address("cafe") is None and literal_address("example.com") is None


def test_resolving_judges_every_address_and_names_the_host() -> None:
    with pytest.raises(OutboundRefused) as refused:
        OutboundPolicy().resolve("localhost", 80)
    assert "(of host localhost)" in str(refused.value)
    with pytest.raises(OutboundRefused) as literal:
        OutboundPolicy().resolve("::ffff:127.0.0.1", 80)
    assert str(literal.value) == (
        "Address ::ffff:127.0.0.1 is not allowed for outbound connections"
    )
    (target,) = OutboundPolicy().resolve("10.20.30.40", 9092)
    assert target.literal == "10.20.30.40" and target.family == socket.AF_INET
    (v6,) = OutboundPolicy().resolve("fd12::7", 9092)
    assert v6.host == "[fd12::7]"
    (local,) = OutboundPolicy.parse(allow=["localhost"]).resolve("localhost", 80)
    assert str(local.address) == "127.0.0.1"
    with pytest.raises(OSError):
        OutboundPolicy().resolve("no-such-host.invalid", 80)


@pytest.mark.parametrize("text", ["10.1.2.3/16", "a b", "", "-x-", "10.0.0.0/33", "x" * 300])
def test_bad_rules_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        OutboundPolicy.parse(allow=[text])
