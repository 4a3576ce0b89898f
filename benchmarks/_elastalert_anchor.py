"""The anchor of ``alerts.py``'s figure (b), and the event stream both sides read. Not a benchmark
itself.

``history()`` is a deterministic, pure-Python event generator (no linqd import), so that the
benchmark and this anchor, which runs in ElastAlert2's own virtual environment
(``benchmarks/.elastalert-venv``, made by ``alerts.py``), see the same events.

Run as a script it times ElastAlert2's ``FrequencyRule`` in-process, fed as ElastAlert feeds
it: ``add_data`` per page of 10,000 hits (events as ElastAlert hands them over: dicts with a
timezone-aware ``@timestamp`` datetime), the rule's matches drained after each page and
``garbage_collect`` at the end of each page. The events are built before the clock starts; a
rule gets its own copies (``add_match`` rewrites a matching event's timestamp in place). It
prints one JSON object: the rule-events/s of every rule measured (events / seconds), whether
the real ElastAlert2 ran or the re-implementation below (``--fallback``, when the install
failed), and the matches.

    benchmarks/.elastalert-venv/bin/python benchmarks/_elastalert_anchor.py '<json params>'
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
import random
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

HOSTS = tuple(f"web-{i}" for i in range(30)) + tuple(f"db-{i}" for i in range(10))
BLOCK_MS = 300_000  # db-k is silent in every 5-minute block b with b % 4 == k % 4
ERROR_CODES = 100
PAGE = 10_000  # ElastAlert's max_query_size: hits per query page, one add_data call each


def history(
    count: int, start_ms: int, span_ms: int, seed: int = 7
) -> Iterator[tuple[int, str, str]]:
    """``count`` events ``(eventdate ms, hostname, message)`` spread evenly (in time order) over
    ``[start_ms, start_ms + span_ms)``: 40 hosts (the db ones silent in some 5-minute blocks),
    1 % ``error <k>`` messages (k < 100), 0.5 % HTTP 503s, 0.3 % timeouts, 0.2 % slow queries,
    the rest HTTP 200s."""
    rng = random.Random(seed)
    rand = rng.random
    hosts = len(HOSTS)
    web = 30
    for i in range(count):
        at = start_ms + i * span_ms // count
        host = HOSTS[int(rand() * hosts)]
        if host[0] == "d" and int(host[3:]) % 4 == ((at - start_ms) // BLOCK_MS) % 4:
            host = HOSTS[int(rand() * web)]
        r = rand()
        if r < 0.01:
            message = f"error {int(r * 100 * ERROR_CODES)}"
        elif r < 0.015:
            message = f"GET /api/item/{i % 1000} status=503 took={int(rand() * 5000)}ms"
        elif r < 0.018:
            message = f"upstream timeout after {int(rand() * 30)}s"
        elif r < 0.02:
            message = f"slow query {int(rand() * 10_000)}ms"
        else:
            message = (
                f"GET /api/item/{i % 1000} status=200 took={int(rand() * 500)}ms "
                f"user=u{int(rand() * 97)}"
            )
        yield at, host, message


# -- the fallback: FrequencyRule's algorithm as elastalert2 2.19.0 writes it --------------------


class _SortedByTime:
    """The ``sortedcontainers.SortedKeyList`` ElastAlert's EventWindow uses, keyed by time."""

    def __init__(self, key: Callable[[Any], Any]) -> None:
        self.key = key
        self.keys: list[Any] = []
        self.items: list[Any] = []

    def add(self, item: Any) -> None:
        k = self.key(item)
        index = bisect.bisect_right(self.keys, k)
        self.keys.insert(index, k)
        self.items.insert(index, item)

    def remove_first(self) -> Any:
        self.keys.pop(0)
        return self.items.pop(0)

    def __len__(self) -> int:
        return len(self.items)


class _EventWindow:
    def __init__(self, timeframe: dt.timedelta, get_ts: Callable[[Any], Any]) -> None:
        self.timeframe = timeframe
        self.get_ts = get_ts
        self.data = _SortedByTime(get_ts)
        self.running_count = 0

    def append(self, event: tuple[dict[str, Any], int]) -> None:
        self.data.add(event)
        if event and event[1]:
            self.running_count += event[1]
        while self.duration() >= self.timeframe:
            oldest = self.data.remove_first()
            if oldest and oldest[1]:
                self.running_count -= oldest[1]

    def duration(self) -> dt.timedelta:
        if not self.data:
            return dt.timedelta(0)
        return self.get_ts(self.data.items[-1]) - self.get_ts(self.data.items[0])

    def count(self) -> int:
        return self.running_count


_INDEX = re.compile(r"(.+?)\[(\d)\](.*)")


def lookup_es_key(event: dict[str, Any], term: str) -> Any:
    """ElastAlert's field lookup: the longest dotted prefix of ``term`` that is a key (tried
    with its ``name[i]`` index syntax), then the rest inside it; None when absent."""
    parts = term.split(".")
    for i in reversed(range(1, len(parts) + 1)):
        root = ".".join(parts[:i])
        match = _INDEX.search(root)
        index = None
        rest = parts[i:]
        if match:
            root, index = match.group(1), int(match.group(2))
            rest = ([match.group(3)] if match.group(3) else []) + rest
        if root in event:
            value = event[root] if index is None else event[root][index]
            if not rest:
                return value
            return lookup_es_key(value, ".".join(rest)) if isinstance(value, dict) else None
    return None


class FallbackFrequencyRule:
    """``elastalert.ruletypes.FrequencyRule`` (2.19.0): one EventWindow per query_key value,
    ``add_data`` appending each event and checking ``count >= num_events``; a match is
    deep-copied with its timestamp turned back to text and the key's window dropped. Fields are
    read with ElastAlert's ``lookup_es_key`` algorithm (its main per-event cost)."""

    def __init__(self, rules: dict[str, Any]) -> None:
        self.rules = rules
        self.matches: list[dict[str, Any]] = []
        self.occurrences: dict[Any, _EventWindow] = {}
        self.ts_field = rules.get("timestamp_field", "@timestamp")
        field = self.ts_field
        self.get_ts = lambda event: lookup_es_key(event[0], field)

    def add_data(self, data: Sequence[dict[str, Any]]) -> None:
        qk = self.rules.get("query_key")
        key: Any = "all"
        for event in data:
            key = lookup_es_key(event, qk) if qk else "all"
            window = self.occurrences.get(key)
            if window is None:
                window = self.occurrences[key] = _EventWindow(self.rules["timeframe"], self.get_ts)
            window.append((event, 1))
            self.check_for_match(key)
        if key in self.occurrences:
            self.check_for_match(key)

    def check_for_match(self, key: Any) -> None:
        if self.occurrences[key].count() >= self.rules["num_events"]:
            event = self.occurrences[key].data.items[-1][0]
            event[self.ts_field] = event[self.ts_field].isoformat()
            self.matches.append(json.loads(json.dumps(event)))
            self.occurrences.pop(key)

    def garbage_collect(self, timestamp: dt.datetime) -> None:
        stale = [
            key
            for key, window in self.occurrences.items()
            if timestamp - window.data.items[-1][0][self.ts_field] > self.rules["timeframe"]
        ]
        for key in stale:
            self.occurrences.pop(key)


# -- the measurement -------------------------------------------------------------------------------


def _events(count: int, start_ms: int, span_ms: int, first: int) -> list[dict[str, Any]]:
    """The ``first`` events of the history of ``count``, as ElastAlert hands hits to a rule."""
    utc = dt.UTC
    return [
        {
            "@timestamp": dt.datetime.fromtimestamp(at / 1000, tz=utc),
            "hostname": host,
            "message": message,
            "_id": str(index),
            "_index": "logs",
        }
        for index, (at, host, message) in enumerate(
            itertools.islice(history(count, start_ms, span_ms), first)
        )
    ]


def main() -> None:
    params = json.loads(sys.argv[1])
    fallback = "--fallback" in sys.argv[2:]
    version = "a re-implementation (NOT ElastAlert2 itself) of elastalert2 2.19.0's"
    rule_class: Any = FallbackFrequencyRule
    if not fallback:
        from importlib.metadata import version as installed

        from elastalert.ruletypes import FrequencyRule

        rule_class = FrequencyRule
        version = f"elastalert2 {installed('elastalert2')}"
    count = min(int(params["measured"]), int(params["events"]))
    template = _events(
        int(params["events"]), int(params["start_ms"]), int(params["span_ms"]), count
    )
    results = []
    for spec in params["rules"]:
        rules: dict[str, Any] = {
            "name": f"frequency {len(results)}",
            "type": "frequency",
            "timestamp_field": "@timestamp",
            "num_events": int(spec["num_events"]),
            "timeframe": dt.timedelta(seconds=float(spec["timeframe_s"])),
        }
        if spec.get("query_key"):
            rules["query_key"] = spec["query_key"]
        events = [dict(event) for event in template]  # add_match rewrites matching events
        rule = rule_class(rules)
        matches = 0
        started = time.perf_counter()
        for start in range(0, count, PAGE):
            page = events[start : start + PAGE]
            end = page[-1]["@timestamp"]  # the query's end time (add_match may rewrite it)
            rule.add_data(page)
            matches += len(rule.matches)
            rule.matches = []
            rule.garbage_collect(end)
        elapsed = time.perf_counter() - started
        results.append({**spec, "seconds": elapsed, "matches": matches})
        del events
    total = sum(r["seconds"] for r in results)
    print(
        json.dumps(
            {
                "implementation": version,
                "events": count,
                "rules": results,
                "rule_events_per_s": count * len(results) / total,
            }
        )
    )


if __name__ == "__main__":
    main()
