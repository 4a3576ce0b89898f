"""Synthetic demo data for the built-in tables: a web shop plus Devo's own web activity logs.

This module plans the data (catalogues of users, addresses and pages, attack bursts, a
daily-rhythm timeline); ``store/synthetic.py`` computes the rows. Row numbers map monotonically
onto time (stratified samples of a daily-rhythm density), so every batch comes out sorted by
``eventdate`` and batches follow one another in time, which keeps the store's time indexes
(DuckDB's zone maps, ClickHouse's primary key) useful for time filters. The rows reach the store
through ``append``, whatever the store.
"""

from __future__ import annotations

import ipaddress
import itertools
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from .store.base import EventStore
from .store.synthetic import ACTIVITY, ECOMMERCE, NAVIGATION, SyntheticRows

if TYPE_CHECKING:
    pass


HOUR_MS = 3_600_000
DAY_MS = 86_400_000

# Relative traffic per UTC hour: quiet nights, busy European and American working hours.
_HOURLY = (
    0.30, 0.25, 0.22, 0.20, 0.22, 0.28, 0.40, 0.60, 0.85, 1.00, 1.00, 0.95,
    0.90, 0.95, 1.00, 1.00, 0.95, 0.85, 0.70, 0.60, 0.55, 0.50, 0.42, 0.35,
)  # fmt: skip
_WEEKEND = 0.6
# Each burst adds this share of the table's ordinary traffic, so bursts stand out as spikes over
# a month of data yet never swamp a short window.
_BURST_SHARE = 0.004

_FIRST = (
    "alice", "bob", "carol", "david", "emma", "frank", "grace", "henry", "irene", "jack",
    "laura", "miguel", "nina", "oscar", "paula", "quentin", "rosa", "sergio", "tina", "victor",
)  # fmt: skip
_LAST = (
    "smith", "garcia", "johnson", "martin", "brown", "lopez", "miller", "wilson", "moore",
    "taylor", "anderson", "thomas", "jackson", "white", "harris", "clark", "lewis", "young",
)  # fmt: skip
_DOMAINS = ("acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka")

# (first octet, second octet, country, region, city, isp, org, locale)
_GEO = (
    (81, 44, "ES", "Madrid", "Madrid", "Telefonica de Espana", "Telefonica de Espana", "es_ES"),
    (83, 56, "ES", "Catalonia", "Barcelona", "Orange Espagne", "Orange Espagne", "es_ES"),
    (24, 5, "US", "New York", "New York", "Charter Communications", "Spectrum", "en_US"),
    (73, 162, "US", "California", "San Jose", "Comcast Cable", "Comcast Cable", "en_US"),
    (52, 20, "US", "Virginia", "Ashburn", "Amazon.com", "Amazon Data Services", "en_US"),
    (86, 128, "GB", "England", "London", "British Telecommunications", "BT", "en_GB"),
    (91, 121, "DE", "Hesse", "Frankfurt am Main", "Deutsche Telekom AG", "Telekom", "de_DE"),
    (90, 84, "FR", "Ile-de-France", "Paris", "Orange S.A.", "Orange", "fr_FR"),
    (187, 10, "BR", "Sao Paulo", "Sao Paulo", "Telefonica Brasil", "Vivo", "pt_BR"),
    (201, 141, "MX", "Mexico City", "Mexico City", "Telmex", "Uninet S.A. de C.V.", "es_MX"),
)

_CHROME = "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0"
_SAFARI = "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2"
_USER_AGENTS = (
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_CHROME} Safari/537.36",
    f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_CHROME} Safari/537.36",
    f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_SAFARI} Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) {_SAFARI} Mobile/15E148 Safari/604.1",
    f"Mozilla/5.0 (Linux; Android 14; Pixel 8) {_CHROME} Mobile Safari/537.36",
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_CHROME} Safari/537.36 Edg/120.0.2210.91",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
)
_UA_WEIGHTS = (30, 18, 12, 10, 14, 9, 5, 2)  # the crawler last: users never browse with it

_PRODUCTS = (
    "WC-SH-A01", "WC-SH-A02", "WC-SH-G04", "WC-SH-T02", "DB-SG-G01", "DC-SG-G02", "FS-SG-G03",
    "PZ-SG-G05", "CU-PG-G06", "MB-AG-G07", "MB-AG-T01", "FI-AG-G08", "BS-AG-G09", "SC-MG-G10",
    "SF-BVS-G01", "SF-BVS-01",
)  # fmt: skip
_CATEGORIES = (
    "ACCESSORIES", "ARCADE", "SHOOTER", "SIMULATION", "SPORTS", "STRATEGY", "TEE", "GIFTS", "NULL",
)  # fmt: skip
_CART_ACTIONS = ("view", "addtocart", "purchase", "remove", "changequantity")
_SITE = "http://www.logtrust.com"
_EXTERNAL_REFERRERS = (
    "http://www.google.com/search?q=buy+games+online", "http://www.bing.com/search?q=arcade+games",
    "http://www.facebook.com/", "http://www.twitter.com/", "http://www.reddit.com/r/gaming",
)  # fmt: skip
# What a scanner asks for during a 404 burst.
_PROBES = (
    "/wp-login.php", "/.env", "/admin/config.php", "/phpmyadmin/index.php", "/.git/config",
    "/cgi-bin/test.cgi", "/backup.zip", "/xmlrpc.php", "/server-status", "/config.json",
)  # fmt: skip

# (status, weight in per mille) for ordinary shop traffic.

_DEVO = "https://us.devo.com"
# (path, method, resource/section, action) shared by activity and navigation.
_PAGES = (
    ("/home", "GET", "home", "view"), ("/m2search", "GET", "search", "view"),
    ("/search/query.json", "POST", "search", "query"),
    ("/alerts/view.json", "GET", "alerts", "view"),
    ("/alerts/definitions.json", "GET", "alerts", "list"),
    ("/alerts/update.json", "POST", "alerts", "edit"),
    ("/dashboards/list.json", "GET", "dashboards", "list"),
    ("/activeboards/view", "GET", "activeboards", "view"),
    ("/finder/tables.json", "GET", "finder", "browse"),
    ("/relays/status.json", "GET", "relays", "view"),
    ("/preferences/save", "POST", "preferences", "edit"),
    ("/admin/users.json", "GET", "administration", "list"),
    ("/login", "POST", "login", "login"), ("/logout", "GET", "login", "logout"),
)  # fmt: skip
_PAGE_FIELDS = ("method", "section", "action")
_SERVERS = ("us-web-01.devo.internal", "us-web-02.devo.internal", "us-web-03.devo.internal")
_HEADERS = (
    '{"accept":"application/json","x-requested-with":"XMLHttpRequest"}',
    '{"accept":"text/html,application/xhtml+xml","accept-encoding":"gzip, deflate, br"}',
    '{"accept":"*/*","content-type":"application/json"}',
)
_GET_PARAMS = ("", "", "limit=50", "offset=0&limit=100", "period=1d", "tz=UTC")
_POST_PARAMS = (
    '{"query":"from demo.ecommerce.data select count() as n group every 1h"}',
    '{"query":"from siem.logtrust.web.activity where result != \\"OK\\""}',
    '{"enabled":true,"priority":5}',
    '{"theme":"dark","timezone":"UTC"}',
)
_ERRORS = (
    "java.lang.NullPointerException at com.devo.web.Controller.handle",
    "Timeout waiting for query results",
    "Upstream service unavailable",
)
_FIXED_LISTS = (
    ("probes", _PROBES), ("servers", _SERVERS), ("headers", _HEADERS),
    ("get_params", _GET_PARAMS), ("post_params", _POST_PARAMS), ("errors", _ERRORS),
)  # fmt: skip


@dataclass(frozen=True)
class DemoStats:
    rows: dict[str, int]  # rows written per table


@dataclass(frozen=True)
class _Segment:
    """A stretch of time with a constant event density (an hour, or part of one in a burst)."""

    start: int
    end: int
    density: float
    burst: int  # index into the bursts, -1 outside them


@dataclass(frozen=True)
class _Burst:
    start: int
    end: int
    ip: int
    status: int


def generate(
    store: EventStore,
    *,
    events: int,
    days: float,
    now_ms: int,
    seed: int = 42,
    client: str = "self",
    progress: Callable[[int], None] | None = None,
    batch_size: int = 500_000,
) -> DemoStats:
    """Append ``events`` synthetic rows over ``[now_ms - days, now_ms)`` to the demo tables.

    The same arguments always give the same rows, whatever ``batch_size``.
    """
    if events < 0 or days <= 0 or batch_size <= 0:
        raise ValueError("events must be >= 0, days and batch_size > 0")
    start = now_ms - max(1, round(days * DAY_MS))
    rng = random.Random(seed)
    params = _catalogues(rng)
    bursts = _bursts(rng, start, now_ms, params["visitor_ip"])
    timeline = _timeline(rng, start, now_ms, bursts)
    counts = _split(events)
    rows = SyntheticRows(seed)
    try:
        for salt, (table, n) in enumerate(counts.items()):
            if n == 0:
                continue
            schema = store.schema(table)
            assert schema is not None  # the store creates every built-in table when it opens
            segments = _segments_table(timeline, bursts, n, boost=table == ECOMMERCE)
            for lo in range(0, n, batch_size):
                hi = min(n, lo + batch_size)
                result = rows.batch(schema, segments, params, salt=salt << 40, lo=lo, hi=hi)
                columns = {c: result.column(c).combine_chunks() for c in schema.column_names}
                stamps = result.column("ts").combine_chunks()
                store.append(table, columns, client=client, eventdates=stamps)
                if progress is not None:
                    progress(hi - lo)
    finally:
        rows.close()
    return DemoStats(rows=dict(counts))


def _split(events: int) -> dict[str, int]:
    activity = events * 15 // 100
    navigation = events * 5 // 100
    if events >= 3:
        activity, navigation = max(1, activity), max(1, navigation)
    return {ECOMMERCE: events - activity - navigation, ACTIVITY: activity, NAVIGATION: navigation}


def _ip(a: int, b: int, c: int, d: int) -> int:
    return (a << 24) | (b << 16) | (c << 8) | d


def _catalogues(rng: random.Random) -> dict[str, Any]:
    """The fixed population (users, visitors, IPs) and URL catalogues, as SQL list parameters."""
    public = [
        (_ip(geo[0], geo[1], rng.randrange(256), rng.randrange(1, 255)), geo)
        for geo in rng.choices(_GEO, k=350)
    ]
    private = [
        _ip(10, rng.randrange(4), rng.randrange(256), rng.randrange(1, 255)) for _ in range(90)
    ]
    private += [_ip(192, 168, rng.randrange(8), rng.randrange(1, 255)) for _ in range(60)]
    ips = [ip for ip, _ in public] + private
    rng.shuffle(ips)
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

    visitors = 2000
    # A few busy addresses (offices, NATs) and a long tail of occasional ones.
    visitor_ip = [ips[int(len(ips) * rng.random() ** 1.7)] for _ in range(visitors)]
    visitor_ua = rng.choices(_USER_AGENTS, _UA_WEIGHTS, k=visitors)
    visitor_cookie = ["".join(rng.choices(alphabet, k=26)) + ":-" for _ in range(visitors)]

    names = rng.sample([f"{f}.{last}" for f in _FIRST for last in _LAST], 200)
    user_geo = [rng.choice(public) for _ in names]
    user_domain = [rng.choice(_DOMAINS) for _ in names]
    users = {
        "user_name": [f"{n}@{d}.com" for n, d in zip(names, user_domain, strict=True)],
        "user_domain": user_domain,
        "user_id": [str(uuid.UUID(int=rng.getrandbits(128))) for _ in names],
        "user_ip": [str(ipaddress.IPv4Address(ip)) for ip, _ in user_geo],
        "user_ua": rng.choices(_USER_AGENTS[:-1], _UA_WEIGHTS[:-1], k=len(names)),
    }
    for i, field in enumerate(("country", "region", "city", "isp", "org", "locale"), start=2):
        users[f"user_{field}"] = [str(geo[i]) for _, geo in user_geo]

    # Popularity follows list position: browsing first, then cart actions, dead links last.
    browse = [f"/product.screen?productId={p}" for p in _PRODUCTS]
    browse += [f"/category.screen?categoryId={c}" for c in _CATEGORIES]
    cart = [f"/cart.do?action={a}&itemId=EST-{rng.randint(1, 27)}" for a in _CART_ACTIONS * 6]
    cart += [f"/cart.do?action=purchase&itemId=EST-{n}&productId=" for n in range(1, 9)]
    cart = [u + rng.choice(_PRODUCTS) if u.endswith("=") else u for u in cart]
    rare = [f"/oldlink?itemId=EST-{rng.randint(1, 27)}" for _ in range(5)]
    rare += ["/search.do?items=2112", f"/cart/success.do?JSESSIONID=SD{rng.randint(1, 9)}SL"]
    for group in (browse, cart, rare):
        rng.shuffle(group)
    uris = ["/home.do", *browse, *cart, *rare]
    referrals = [_SITE + uri for uri in rng.sample(uris, 30)] + [_SITE, *_EXTERNAL_REFERRERS]

    return {
        "visitor_ip": visitor_ip,
        "visitor_ua": visitor_ua,
        "visitor_cookie": visitor_cookie,
        "uris": uris,
        "referrals": referrals,
        **users,
        "page_url": [_DEVO + path for path, *_ in _PAGES],
        **{f"page_{k}": [p[i] for p in _PAGES] for i, k in enumerate(_PAGE_FIELDS, start=1)},
        **{k: list(v) for k, v in _FIXED_LISTS},
    }


def _bursts(rng: random.Random, start: int, end: int, ips: Sequence[int]) -> tuple[_Burst, ...]:
    span = end - start
    count = min(8, 2 + span // (3 * DAY_MS)) if span >= HOUR_MS else 0
    bursts = []
    for _ in range(count):
        length = min(rng.randint(5, 20) * 60_000, max(1, span // 10))
        begin = start + rng.randrange(max(1, span - length))
        # A scanner comes from an address nobody else uses; an error storm is a known client
        # retrying a failing checkout.
        ip = _ip(rng.choice((45, 185, 193)), rng.randrange(256), rng.randrange(256), 7)
        status = rng.choice((404, 404, 500))
        bursts.append(
            _Burst(begin, begin + length, ip if status == 404 else rng.choice(ips), status)
        )
    return tuple(bursts)


def _timeline(
    rng: random.Random, start: int, end: int, bursts: Sequence[_Burst]
) -> tuple[_Segment, ...]:
    """Cut ``[start, end)`` at hour and burst edges; each piece gets the density of its hour."""
    edges = {start, end}
    edges.update(range((start // HOUR_MS + 1) * HOUR_MS, end, HOUR_MS))
    edges.update(t for b in bursts for t in (b.start, b.end) if start < t < end)
    ordered = sorted(edges)
    noise: dict[int, float] = {}
    segments = []
    for a, b in itertools.pairwise(ordered):
        hour = a // HOUR_MS
        if hour not in noise:
            noise[hour] = rng.uniform(0.8, 1.2)
        weekday = (a // DAY_MS + 3) % 7  # 1970-01-01 was a Thursday
        density = _HOURLY[hour % 24] * noise[hour] * (_WEEKEND if weekday >= 5 else 1.0)
        burst = next((k for k, x in enumerate(bursts) if x.start <= a < x.end), -1)
        segments.append(_Segment(a, b, density, burst))
    return tuple(segments)


def _segments_table(
    timeline: Sequence[_Segment], bursts: Sequence[_Burst], n: int, *, boost: bool
) -> pa.Table:
    """Give each segment its share of ``n`` rows as a contiguous range of row numbers."""
    weights = [s.density * (s.end - s.start) for s in timeline]
    ordinary = sum(weights)
    for k, s in enumerate(timeline):
        if boost and s.burst >= 0:
            burst = bursts[s.burst]
            weights[k] += _BURST_SHARE * ordinary * (s.end - s.start) / (burst.end - burst.start)
    total = sum(weights)
    rows = []
    acc = 0.0
    lo = 0
    for segment, weight in zip(timeline, weights, strict=True):
        acc += weight
        hi = min(n, round(n * acc / total)) if segment is not timeline[-1] else n
        if hi > lo:
            # Burst rows carry the attacker's address and status; ``bst`` 0 means no burst.
            burst = bursts[segment.burst] if boost and segment.burst >= 0 else _Burst(0, 0, 0, 0)
            rows.append(
                (lo, hi, segment.start, segment.end - segment.start, burst.ip, burst.status)
            )
            lo = hi
    names = ("lo", "hi", "t0", "tlen", "bip", "bst")
    columns = zip(*rows, strict=True)
    return pa.table({k: pa.array(v, pa.int64()) for k, v in zip(names, columns, strict=True)})
