"""The domain functions (``publicsuffix``, ``rootdomain``, ``subdomain``, ``topleveldomain``) on
both engines: hand-worked cases for every rule kind of the Public Suffix List and for what is no
host, and ``publicsuffixlist`` itself as the oracle over a few thousand hosts, in ``where``,
``select``, ``group by`` keys and after ``group``."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from publicsuffixlist import PublicSuffixList

from linqd import public_suffixes
from linqd.clock import SimulatedClock
from linqd.errors import LinqError
from linqd.meta import MetaStore
from linqd.store.duckdb import DuckDBStore

from .chdb_tables import ENGINES, Runner, running_on
from .test_functions import NOW_MS, run
from .test_functions import evaluate as evaluate_on

ONE = "my.app.domain"  # one event: the cases below
NONE = "my.app.nohost"  # one event without a host
MANY = "my.app.hosts"  # one event per host of HOSTS: the oracle


def generated_hosts(count: int, seed: int = 15) -> list[str]:
    """Hosts under suffixes of every kind the list has: plain, wildcard and exception rules,
    ICANN and private, Unicode and punycode, deep ones, and unlisted top-level domains; with
    and without subdomains, some in upper case or with a trailing dot."""
    table = public_suffixes.rules()
    suffixes = sorted(table)
    special = [s for s, rule in table.items() if rule is not public_suffixes.Rule.EXACT]
    common = ["com", "net", "org", "co.uk", "de", "com.au", "blogspot.com", "github.io", "jp"]
    unlisted = ["internal", "lan", "corp", "zz"]
    rng = random.Random(seed)
    hosts = []
    for _ in range(count):
        draw = rng.random()
        if draw < 0.3:
            suffix = rng.choice(common)
        elif draw < 0.5:
            suffix = rng.choice(special)
        elif draw < 0.6:
            suffix = rng.choice(unlisted)
        else:
            suffix = rng.choice(suffixes)
        name = f"n{rng.randrange(1000)}"
        sub = rng.choice(["www", "mail", "a", "b-2", "x_y", "city", "日本", "xn--p1ai"])
        labels = rng.choice([[], [name], [sub, name], [name, sub, name]])
        host = ".".join([*labels, suffix])
        if rng.random() < 0.1:
            host = host.upper()
        if rng.random() < 0.05:
            host += "."
        hosts.append(host)
    return hosts


HOSTS = generated_hosts(3000)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    tmp: Path = tmp_path_factory.mktemp("domains")
    events = DuckDBStore(tmp / "e.duckdb", MetaStore(tmp / "m.sqlite"), SimulatedClock())
    events.append(
        ONE,
        {"hostname": ["www.Example.co.uk."], "message": ["https://www.example.com/a"]},
        client="self",
        eventdates=[NOW_MS - 1000],
    )
    events.append(
        NONE, {"hostname": [None], "message": [None]}, client="self", eventdates=[NOW_MS - 1000]
    )
    events.append(MANY, {"hostname": HOSTS}, client="self", eventdates=[NOW_MS - 1000] * len(HOSTS))
    yield events
    events.close()


@pytest.fixture(scope="module", params=ENGINES)
def engine(
    request: pytest.FixtureRequest, store: DuckDBStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runner]:
    with running_on(request.param, store, tmp_path_factory) as runner:
        yield runner


def evaluate(engine: Runner, expression: str, table: str = ONE) -> tuple[Any, str]:
    return evaluate_on(engine, expression, table=table)


# (host, publicsuffix, rootdomain, subdomain, topleveldomain), worked by hand from the list.
CASES = [
    ("www.example.co.uk", "co.uk", "example.co.uk", "www", "uk"),
    ("a.b.example.co.uk", "co.uk", "example.co.uk", "a.b", "uk"),
    ("example.com", "com", "example.com", None, "com"),
    ("com", "com", None, None, "com"),
    ("co.uk", "co.uk", None, None, "uk"),  # a host that is itself a suffix
    ("WWW.Example.COM", "com", "example.com", "www", "com"),
    ("www.example.com.", "com", "example.com", "www", "com"),  # the root's dot
    # The private section counts: each blog is a site of its own.
    ("foo.blogspot.com", "blogspot.com", "foo.blogspot.com", None, "com"),
    ("a.foo.blogspot.com", "blogspot.com", "foo.blogspot.com", "a", "com"),
    # Wildcard *.ck and its exception !www.ck.
    ("a.b.ck", "b.ck", "a.b.ck", None, "ck"),
    ("b.ck", "b.ck", None, None, "ck"),
    ("ck", "ck", None, None, "ck"),
    ("www.ck", "ck", "www.ck", None, "ck"),
    ("a.www.ck", "ck", "www.ck", "a", "ck"),
    # Wildcard *.kobe.jp with !city.kobe.jp, under a listed jp.
    ("a.b.c.kobe.jp", "c.kobe.jp", "b.c.kobe.jp", "a", "jp"),
    ("kobe.jp", "kobe.jp", None, None, "jp"),
    ("city.kobe.jp", "kobe.jp", "city.kobe.jp", None, "jp"),
    ("www.city.kobe.jp", "kobe.jp", "city.kobe.jp", "www", "jp"),
    # Unlisted top-level domains: the implicit * rule.
    ("www.example.internal", "internal", "example.internal", "www", "internal"),
    ("localhost", "localhost", None, None, "localhost"),
    # Internationalized names, in Unicode and in punycode (公司.cn).
    ("www.例え.公司.cn", "公司.cn", "例え.公司.cn", "www", "cn"),
    ("www.example.xn--55qx5d.cn", "xn--55qx5d.cn", "example.xn--55qx5d.cn", "www", "cn"),
    ("_dmarc.example.org", "org", "example.org", "_dmarc", "org"),
    # Not host names: null from every function.
    ("192.168.1.10", None, None, None, None),
    ("10.0.0.1.", None, None, None, None),
    ("[2001:db8::1]", None, None, None, None),
    ("2001:db8::1", None, None, None, None),
    ("https://www.example.com/a", None, None, None, None),
    ("www.example.com:8080", None, None, None, None),
    ("www..example.com", None, None, None, None),
    (".example.com", None, None, None, None),
    ("example.com..", None, None, None, None),
    ("www example.com", None, None, None, None),
    ("", None, None, None, None),
    (".", None, None, None, None),
]
FUNCTIONS = ("publicsuffix", "rootdomain", "subdomain", "topleveldomain")


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.mark.parametrize(("host", "suffix", "root", "sub", "tld"), CASES)
def test_hand_worked(
    engine: Runner, host: str, suffix: str | None, root: str | None, sub: str | None, tld: str
) -> None:
    values = [evaluate(engine, f"{fn}({_literal(host)})")[0] for fn in FUNCTIONS]
    assert values == [suffix, root, sub, tld]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("publicsuffix(hostname)", "co.uk"),
        ("rootdomain(hostname)", "example.co.uk"),
        ("subdomain(hostname)", "www"),
        ("topleveldomain(hostname)", "uk"),
        ("rootdomain(urihost(message))", "example.com"),
        ("rootdomain(message)", None),
    ],
)
def test_on_columns(engine: Runner, expression: str, expected: object) -> None:
    value, type_name = evaluate(engine, expression)
    assert value == expected
    assert type_name == "str"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_null_gives_null(engine: Runner, function: str) -> None:
    assert evaluate(engine, f"{function}(hostname)", table=NONE) == (None, "str")
    assert evaluate(engine, f"{function}(null)")[0] is None


def test_a_non_string_argument_is_a_type_error(engine: Runner) -> None:
    with pytest.raises(LinqError, match="rootdomain"):
        evaluate(engine, "rootdomain(5)")


PSL = PublicSuffixList()  # ICANN and private sections, as the functions


def oracle(host: str) -> tuple[str | None, ...]:
    """The four answers from ``publicsuffixlist`` itself."""
    psl = PSL
    if psl.publicsuffix(host) is None:
        return (None, None, None, None)
    lowered = host.lower().removesuffix(".")
    parts = psl.privateparts(host)
    sub = ".".join(parts[:-1]) if parts and len(parts) > 1 else None
    return (psl.publicsuffix(host), psl.privatesuffix(host), sub, lowered.split(".")[-1])


def test_the_list_is_read_as_publicsuffixlist_reads_it(engine: Runner) -> None:
    query = (
        f"from {MANY} select hostname, publicsuffix(hostname) as s, rootdomain(hostname) as r, "
        "subdomain(hostname) as d, topleveldomain(hostname) as t"
    )
    rows = run(engine, query)
    assert len(rows) == len(HOSTS)
    wrong = [(row[0], row[1:], oracle(row[0])) for row in rows if row[1:] != oracle(row[0])]
    assert wrong == []


def test_in_where_group_keys_and_after_group(engine: Runner) -> None:
    expected = Counter(oracle(host)[1] for host in HOSTS)
    rows = run(
        engine, f"from {MANY} select rootdomain(hostname) as root group by root select count() as n"
    )
    assert {row[0]: row[1] for row in rows} == expected
    rows = run(
        engine,
        f'from {MANY} where publicsuffix(hostname) = "co.uk" group by hostname '
        'where rootdomain(hostname) != "" select count() as n',
    )
    assert sum(row[1] for row in rows) == sum(
        1 for host in HOSTS if oracle(host)[0] == "co.uk" and oracle(host)[1] is not None
    )


def test_the_longest_suffix_is_within_the_candidates() -> None:
    labels = public_suffixes.load().column("labels").to_pylist()
    assert max(labels) == public_suffixes.MAX_LABELS
