"""The user agent functions (`uabrowser`, `uaos`, `uadevice` ...) on both engines, with
``ua-parser`` (the Python library whose uap-core rules they compile to SQL) as the oracle over
3,205 user agents from uap-core's own tests, plus hand-worked cases and the places a function
can stand in a query (where, select, group keys, after a group)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ua_parser import parse
from ua_parser.core import DefaultedResult

from linqd.clock import SimulatedClock
from linqd.meta import MetaStore
from linqd.store.duckdb import DuckDBStore

from .chdb_tables import ENGINES, Runner, running_on
from .test_functions import NOW_MS, run
from .test_functions import evaluate as evaluate_on

AGENTS = [
    line
    for line in (Path(__file__).parent / "data" / "user_agents.txt").read_text().splitlines()
    if line and not line.startswith("#")
]
SAMPLE = "siem.logtrust.web.activity"
CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SAMSUNG = (
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36"
)
FUNCTIONS = (
    "uabrowser",
    "uabrowserversion",
    "uaos",
    "uaosversion",
    "uadevice",
    "uadevicebrand",
    "uadevicemodel",
    "uaisbot",
)


def _version(*parts: str | None) -> str | None:
    known: list[str] = []
    for part in parts:
        if part is None:
            break
        known.append(part)
    return ".".join(known) or None


def oracle(agent: str) -> tuple[Any, ...]:
    """What each function of FUNCTIONS gives for ``agent``, from ua-parser itself."""
    r: DefaultedResult = parse(agent).with_defaults()
    ua, os, device = r.user_agent, r.os, r.device
    return (
        ua.family,
        _version(ua.major, ua.minor, ua.patch, ua.patch_minor),
        os.family,
        _version(os.major, os.minor, os.patch, os.patch_minor),
        device.family,
        device.brand,
        device.model,
        device.family == "Spider",
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    tmp: Path = tmp_path_factory.mktemp("useragent")
    events = DuckDBStore(tmp / "e.duckdb", MetaStore(tmp / "m.sqlite"), SimulatedClock())
    events.append(
        "demo.ecommerce.data",
        {"userAgent": [CHROME], "statusCode": [200]},
        client="self",
        eventdates=[NOW_MS - 1000],
    )
    agents: list[str | None] = [*AGENTS, None]
    events.append(
        SAMPLE,
        {"srcPort": list(range(len(agents))), "userAgent": agents},
        client="self",
        eventdates=[NOW_MS - 1000] * len(agents),
    )
    yield events
    events.close()


@pytest.fixture(scope="module", params=ENGINES)
def engine(
    request: pytest.FixtureRequest, store: DuckDBStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runner]:
    with running_on(request.param, store, tmp_path_factory) as runner:
        yield runner


def evaluate(engine: Runner, expression: str) -> tuple[Any, str]:
    return evaluate_on(engine, expression, table="demo.ecommerce.data")


CASES = [
    # -- the demo row's Chrome on a Mac ----------------------------------------------------------
    ("uabrowser(userAgent)", "Chrome", "str"),
    # The argument a subquery of its own (a lookup): its null test reads it unaliased.
    ("uabrowser(asorg(10.0.0.1))", None, "str"),
    # A lookup of a lookup's result.
    ('uabrowser(ifthenelse(uabrowser(userAgent) = "Chrome", userAgent, null))', "Chrome", "str"),
    (
        'uabrowser(publicsuffix(replace(str(statusCode), "200", "www.example.co.uk")))',
        "Other",
        "str",
    ),
    ("publicsuffix(uabrowser(userAgent))", "chrome", "str"),
    ('uaos(asorg(ip4(replace(str(statusCode), "200", "8.8.8.8"))))', "Other", "str"),
    ("uabrowserversion(userAgent)", "120.0.0.0", "str"),
    ("uaos(userAgent)", "Mac OS X", "str"),
    ("uaosversion(userAgent)", "10.15.7", "str"),
    ("uadevice(userAgent)", "Mac", "str"),
    ("uadevicebrand(userAgent)", "Apple", "str"),
    ("uadevicemodel(userAgent)", "Mac", "str"),
    ("uaisbot(userAgent)", False, "bool"),
    # -- literals ---------------------------------------------------------------------------------
    (f'uabrowser("{IPHONE}")', "Mobile Safari", "str"),
    (f'uabrowserversion("{IPHONE}")', "17.2", "str"),
    (f'uaos("{IPHONE}")', "iOS", "str"),
    (f'uaosversion("{IPHONE}")', "17.2", "str"),
    (f'uadevice("{IPHONE}")', "iPhone", "str"),
    (f'uadevicebrand("{IPHONE}")', "Apple", "str"),
    (f'uabrowser("{GOOGLEBOT}")', "Googlebot", "str"),
    (f'uabrowserversion("{GOOGLEBOT}")', "2.1", "str"),
    (f'uadevice("{GOOGLEBOT}")', "Spider", "str"),
    (f'uaisbot("{GOOGLEBOT}")', True, "bool"),
    (f'uabrowser("{SAMSUNG}")', "Samsung Internet", "str"),
    (f'uadevicebrand("{SAMSUNG}")', "Samsung", "str"),
    (f'uadevicemodel("{SAMSUNG}")', "SM-S911B", "str"),
    ('uabrowser("curl/8.4.0")', "curl", "str"),
    ('uabrowserversion("curl/8.4.0")', "8.4.0", "str"),
    # -- nothing to read --------------------------------------------------------------------------
    ('uabrowser("")', "Other", "str"),
    ('uabrowserversion("")', None, "str"),
    ('uaos("no agent here")', "Other", "str"),
    ('uaosversion("no agent here")', None, "str"),
    ('uadevice("")', "Other", "str"),
    ('uadevicebrand("")', None, "str"),
    ('uadevicemodel("")', None, "str"),
    ('uaisbot("")', False, "bool"),
    ("uabrowser(str(statusCode = 1))", "Other", "str"),
    ("uabrowser(null)", None, "str"),
    ("uaisbot(null)", None, "bool"),
]


@pytest.mark.parametrize(("expression", "expected", "type_name"), CASES)
def test_useragent_function(
    engine: Runner, expression: str, expected: object, type_name: str
) -> None:
    assert evaluate(engine, expression) == (expected, type_name)


# User agents where the SQL (RE2) and ua-parser (Python's re) read differently, by function, and
# why: the rules the engines run are the same, the regular expression engines are not.
KNOWN_DIFFERENCES: dict[str, int] = {}


def test_every_function_agrees_with_ua_parser(engine: Runner) -> None:
    calls = ", ".join(f"{f}(userAgent) as {f}" for f in FUNCTIONS)
    rows = run(engine, f"from {SAMPLE} select srcPort as n, userAgent, {calls}")
    assert len(rows) == len(AGENTS) + 1
    differences: Counter[str] = Counter()
    examples: dict[str, tuple[str, object, object]] = {}
    for row in rows:
        n, agent, values = row[0], row[1], row[2:]
        if agent is None:
            assert n == len(AGENTS)
            assert values == (None,) * len(FUNCTIONS)
            continue
        for name, got, want in zip(FUNCTIONS, values, oracle(agent), strict=True):
            if got != want:
                differences[name] += 1
                examples.setdefault(name, (agent, got, want))
    assert dict(differences) == KNOWN_DIFFERENCES, examples


def test_in_where_group_keys_and_after_group(engine: Runner) -> None:
    expected = Counter(oracle(a)[2] for a in AGENTS if oracle(a)[0] == "Chrome")
    rows = run(
        engine,
        f'from {SAMPLE} where uabrowser(userAgent) = "Chrome" group by uaos(userAgent) '
        "select count() as n",
    )
    assert dict(rows) == dict(expected)
    # A key already grouped, read again after the group.
    rows = run(
        engine,
        f"from {SAMPLE} where isnotnull(userAgent) group by userAgent "
        "select uaisbot(userAgent) as bot group by bot select count() as n",
    )
    bots = Counter(oracle(a)[7] for a in set(AGENTS))
    assert dict(rows) == dict(bots)


def test_after_a_group_and_beside_a_time_bucket(engine: Runner) -> None:
    families = Counter(oracle(a)[0] for a in AGENTS)
    rows = run(
        engine,
        f"from {SAMPLE} group by userAgent select count() as n "
        'where uabrowser(userAgent) = "Chrome"',
    )
    assert len(rows) == families["Chrome"]
    rows = run(engine, f"from {SAMPLE} group every 1h by uabrowser(userAgent) select count() as n")
    assert {family: n for _, family, n in rows} == {**families, None: 1}
