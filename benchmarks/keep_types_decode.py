"""test.keep.types decoding speed: ``key=value`` messages into its nine typed columns, against
the two other parsed paths (JSON objects and Apache lines, both into demo.ecommerce.data's
eleven columns), over the same number of events, in this process.

(a) events/s of ``decode_batch`` for test.keep.types messages carrying all nine pairs (a quoted
    text with blanks, addresses, a timestamp), and its ratio to each anchor (target: >= 1.0
    against at least one parsed path, i.e. no slower per event than another parsed table);
(b) the same nine pairs without quotes (the text one word): the split() fast path;
(c) devo-sdk's own seeding message (``ip4=127.0.0.1``).

Times are CPU seconds of this process (``time.process_time``), the median of 5 runs
interleaved with the anchors': decoding is single-threaded, and the CPU time does not count
the moments a shared machine gives to others.

    .venv/bin/python benchmarks/keep_types_decode.py
    LINQD_BENCH_EVENTS=50000 .venv/bin/python benchmarks/keep_types_decode.py   # smaller
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from functools import partial

import _setup  # noqa: F401  (puts src/ on the path)
from linqd.ingest.decode import decode_batch
from linqd.store import catalog

EVENTS = int(os.environ.get("LINQD_BENCH_EVENTS", "200000"))
REPEAT = 5


def typed_messages(count: int, *, quoted: bool = True) -> list[str]:
    return [
        (f'str="user {i} logged in"' if quoted else f"str=user{i}")
        + f" int4={i % 1000} int8={i * 7919} float={i / 8} "
        f"bool={'true' if i % 2 else 'false'} ip4=10.{i % 256}.{i // 256 % 256}.1 "
        f"ip6=2001:db8::{i % 65536:x} mac=00:1a:2b:3c:{i % 256:02x}:5e "
        f"timestamp=2024-03-14T10:{i % 60:02d}:00.{i % 1000:03d}Z"
        for i in range(count)
    ]


def apache_lines(count: int) -> list[str]:
    return [
        f"10.{i % 256}.{i // 256 % 256}.1 - - [10/Feb/2021:11:54:01 +0000] "
        f'"GET /item/{i} HTTP/1.1" 200 {i % 5000} "http://www.google.com/" "Mozilla/5.0" '
        f'"{i:x}:-" {i % 300}'
        for i in range(count)
    ]


def json_messages(count: int) -> list[str]:
    return [
        json.dumps(
            {
                "clientIpAddress": f"10.{i % 256}.{i // 256 % 256}.1",
                "timestamp": "10/Feb/2021:11:54:01 +0000",
                "method": "GET",
                "uri": f"/item/{i}",
                "protocol": "HTTP 1.1",
                "statusCode": 200,
                "bytesTransferred": i % 5000,
                "referralUri": "http://www.google.com/",
                "userAgent": "Mozilla/5.0",
                "cookie": f"{i:x}:-",
                "timeTaken": i % 300,
            }
        )
        for i in range(count)
    ]


def cpu_medians(actions: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median CPU seconds of each action, the actions run in turn (after one warm-up each)."""
    for action in actions.values():
        action()
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeat):
        for name, action in actions.items():
            started = time.process_time()
            action()
            times[name].append(time.process_time() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    hosts = ["vm"] * EVENTS
    inputs = {
        "quoted": typed_messages(EVENTS),
        "bare": typed_messages(EVENTS, quoted=False),
        "seeding": ["ip4=127.0.0.1"] * EVENTS,
    }
    json_rows = json_messages(EVENTS)
    lines = apache_lines(EVENTS)
    ecommerce = catalog.builtin("demo.ecommerce.data")
    assert ecommerce is not None
    keep = catalog.KEEP_TYPES
    for messages in inputs.values():
        assert decode_batch(keep, hosts, messages).bad_values == 0
    assert decode_batch(ecommerce, hosts, json_rows).failures == 0
    assert decode_batch(ecommerce, hosts, lines).failures == 0

    actions: dict[str, Callable[[], object]] = {
        name: partial(decode_batch, keep, hosts, messages) for name, messages in inputs.items()
    }
    actions["json"] = partial(decode_batch, ecommerce, hosts, json_rows)
    actions["apache"] = partial(decode_batch, ecommerce, hosts, lines)
    cpu = cpu_medians(actions, REPEAT)

    def rate(name: str) -> str:
        return f"{EVENTS / cpu[name]:,.0f} events/s"

    print(f"anchors over {EVENTS:,} events into demo.ecommerce.data's 11 columns:")
    print(f"    JSON objects {rate('json')}; Apache lines {rate('apache')}")
    titles = {
        "quoted": "(a) nine pairs, one quoted",
        "bare": "(b) nine pairs, no quotes",
        "seeding": "(c) devo-sdk's ip4=127.0.0.1",
    }
    for name, title in titles.items():
        print(
            f"{title}: {rate(name)}; ratio {cpu['json'] / cpu[name]:.2f} to JSON, "
            f"{cpu['apache'] / cpu[name]:.2f} to Apache lines (target >= 1.0 to one)"
        )


if __name__ == "__main__":
    main()
