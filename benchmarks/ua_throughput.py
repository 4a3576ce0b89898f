"""User agent parsing throughput: ``uabrowser(userAgent)`` grouped over the demo data set (10 M
events, 8 M of them in ``demo.ecommerce.data``) on each engine, beside the same rows grouped by
the raw ``userAgent`` (the engine's own work without any parsing) and beside ``ua-parser`` in a
tight Python loop over the same user agents: its default parser (with its cache) over every
row, and its uncached parser over the distinct ones.

    .venv/bin/python benchmarks/ua_throughput.py
    LINQD_BENCH_EVENTS=1000000 .venv/bin/python benchmarks/ua_throughput.py   # smaller
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from ua_parser import Parser, parse_user_agent
from ua_parser.basic import Resolver
from ua_parser.loaders import load_builtins

from _setup import DAYS, EVENTS, NOW_MS, demo_data, median_seconds
from linqd.query.dates import TimeRange
from linqd.query.run import run_query
from linqd.store.base import EventStore
from query_clickhouse import chdb_demo_data

RANGE = TimeRange(NOW_MS - int(DAYS * 86_400_000), NOW_MS)
PARSED = "from demo.ecommerce.data group by uabrowser(userAgent) select count() as n"
RAW = "from demo.ecommerce.data group by userAgent select count() as n"
REPEAT = 3


def linq(store: EventStore, text: str) -> dict[str | None, int]:
    table = run_query(store, text, time_range=RANGE, client="self", now_ms=NOW_MS).to_table()
    keys, counts = table.column(0).to_pylist(), table.column(1).to_pylist()
    return dict(zip(keys, counts, strict=True))


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    engines = {"duckdb": demo_data(), "clickhouse": chdb_demo_data()}
    raw = linq(engines["duckdb"].store, RAW)  # every user agent and its row count
    rows = sum(raw.values())
    agents = [a for a in raw if a is not None]
    print(f"{EVENTS:,} demo events: {rows:,} rows in demo.ecommerce.data, {len(agents)} distinct "
          f"user agents; engine figures are medians of {REPEAT} runs\n")  # fmt: skip

    # ua-parser in Python: the oracle's answer, and its speed.
    expected: Counter[str | None] = Counter()
    for agent, count in raw.items():
        expected[None if agent is None else parse_user_agent(agent).family] += count
    column = [agent for agent, count in raw.items() for _ in range(count)]
    cached_s = timed(lambda: Counter(parse_user_agent(a).family for a in column if a is not None))
    uncached = Parser(Resolver(load_builtins()))
    all_agents_s = median_seconds(lambda: [uncached.parse_user_agent(a) for a in agents], 5)
    per_agent_s = all_agents_s / len(agents)
    uncached_all = per_agent_s * rows
    print(f"{'ua-parser 1.0.2 (Python)':<40}{'seconds':>10}{'rows/s':>14}")
    for label, seconds, count in (
        ("  every row, default parser (cached)", cached_s, rows),
        ("  one distinct agent, uncached", per_agent_s, 1),
        ("  every row uncached (extrapolated)", uncached_all, rows),
    ):
        print(f"{label:<40}{seconds:>10.6g}{count / seconds:>14,.0f}")
    print()

    print(f"{'engine':<12}{'uabrowser s':>12}{'raw group s':>12}{'overhead':>10}{'rows/s':>14}"
          f"{'vs cached':>11}{'vs uncached':>13}")  # fmt: skip
    for name, data in engines.items():
        store = data.store
        got = linq(store, PARSED)
        assert got == dict(expected), (name, got, dict(expected))
        parsed_s = median_seconds(lambda store=store: linq(store, PARSED), REPEAT)  # type: ignore[misc]
        raw_s = median_seconds(lambda store=store: linq(store, RAW), REPEAT)  # type: ignore[misc]
        print(
            f"{name:<12}{parsed_s:>12.3f}{raw_s:>12.3f}{parsed_s / raw_s:>9.1f}x"
            f"{rows / parsed_s:>14,.0f}{cached_s / parsed_s:>10.1f}x"
            f"{uncached_all / parsed_s:>12.0f}x"
        )
    print("\noverhead: uabrowser grouped / raw userAgent grouped on the same engine;")
    print("vs cached / vs uncached: how many times faster than ua-parser's loop over every row.")
    for data in engines.values():
        data.close()


if __name__ == "__main__":
    main()
