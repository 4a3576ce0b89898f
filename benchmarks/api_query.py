"""Query API speed over HTTP against the same work done in-process.

(a) 1 M rows streamed as json/simple/compact over HTTP (rows/s), against fetching the same rows
    in-process from DuckDB as Python rows (``fetchall``) and as Arrow (target ratio >= 0.5);
(b) the grouped shapes of benchmarks/query.py end-to-end over HTTP against ``run_query`` in-process
    (target ratio <= 1.25);
(c) the server's peak memory (VmHWM) before and after streaming every row of the largest table,
    which shows that a big result streams in flat memory.

The server runs as its own process (as in production) on 127.0.0.1 and is stopped at the end.
DuckDB lets one process open the file, so the in-process figures are taken first, then the
server's; each figure is a median of several runs.

    make bench    # or: .venv/bin/python benchmarks/api_query.py
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from sqlglot import exp

from _setup import NOW_MS, ROOT, demo_data, median_seconds
from linqd.linq import Bounds, compile_linq
from linqd.query import lines, modes
from linqd.query.framing import Framing
from linqd.query.run import BATCH_ROWS, run_query, with_paging
from linqd.store.duckdb import DuckDBStore
from query import RANGE, SHAPES

STREAM_ROWS = 1_000_000
STREAM_QUERY = "from demo.ecommerce.data select eventdate, clientIpAddress, method, uri, statusCode"
GROUPED = [shape for shape in SHAPES if "group" in shape[1]]
REPEAT = 5


def encoded_locally(store: DuckDBStore, linq: str) -> int:
    """The same json/simple/compact bytes the server sends, made in-process (no HTTP)."""
    bounds = Bounds(RANGE.from_ms, RANGE.to_ms, "self")
    compiled = compile_linq(linq, store.schema, now_ms=NOW_MS, bounds=bounds)
    options = modes.EncodeOptions()
    mode = modes.Mode.JSON_SIMPLE_COMPACT
    line = lines.line_expression(mode, compiled.columns, options, framed=True, engine="duckdb")
    inner = exp.Subquery(
        this=compiled.expression, alias=exp.TableAlias(this=exp.to_identifier("q"))
    )
    sql = exp.Select().select(exp.alias_(line, "line")).from_(inner).sql(dialect="duckdb")
    framing = Framing(mode, compiled.columns, options, cid="0", timestamp_ms=NOW_MS)
    size = len(framing.head())
    for batch in store.reader().sql(sql).to_arrow_reader(BATCH_ROWS):
        size += len(framing.rows(batch.column(0)))
    return size


def in_process() -> tuple[float, float, dict[str, float], dict[str, float]]:
    data = demo_data()
    store = data.store
    bounds = Bounds(RANGE.from_ms, RANGE.to_ms, "self")
    compiled = compile_linq(STREAM_QUERY, store.schema, now_ms=NOW_MS, bounds=bounds)
    sql = with_paging(compiled.expression, STREAM_ROWS, None).sql(dialect="duckdb")
    reader = store.reader()
    rows_s = median_seconds(lambda: reader.sql(sql).fetchall(), REPEAT)
    arrow_s = median_seconds(lambda: reader.sql(sql).to_arrow_table(), REPEAT)
    grouped = {}
    encoded = {}
    for name, linq, _ in GROUPED:
        grouped[name] = median_seconds(
            lambda linq=linq: run_query(
                store, linq, time_range=RANGE, client="self", now_ms=NOW_MS
            ).to_table(),
            REPEAT,
        )
        encoded[name] = median_seconds(lambda linq=linq: encoded_locally(store, linq), REPEAT)
    data.close()
    return rows_s, arrow_s, grouped, encoded


def start_server() -> tuple[subprocess.Popen[bytes], str, str]:
    data = demo_data()  # make sure it exists, then let the server own it
    data_dir = data.path
    data.close()
    # Port 0 for every listener: another linqd on this machine may hold the default ports.
    argv = [sys.executable, "-m", "linqd", "serve", "--data-dir", str(data_dir)]
    process = subprocess.Popen(
        [*argv, "--port", "0", "--syslog-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    if not line.startswith("linqd serving "):
        process.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    token = json.loads((data_dir / "credentials.json").read_text())["token"]
    return process, line.split()[2], token


def over_http(
    client: httpx.Client, url: str, token: str, linq: str, limit: int | None = None
) -> int:
    body: dict[str, object] = {
        "query": linq,
        "from": RANGE.from_ms // 1000,
        "to": RANGE.to_ms // 1000 - 1 if RANGE.to_ms else None,
        "mode": {"type": "json/simple/compact"},
    }
    if limit:
        body["limit"] = limit
    lines = 0
    headers = {"Authorization": f"Bearer {token}"}
    with client.stream("POST", f"{url}/search/query", json=body, headers=headers) as response:
        response.raise_for_status()
        for chunk in response.iter_raw(1 << 20):
            lines += chunk.count(b"\n")
    return lines - 1  # the metadata line


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    rows_s, arrow_s, grouped_local, grouped_encoded = in_process()
    process, url, token = start_server()
    # One client for the whole run, as an application would keep one: building an HTTP client
    # (its TLS context) costs ~25 ms, which is the client's cost, not the server's.
    client = httpx.Client(timeout=600)
    try:
        counted: list[int] = []
        http_s = median_seconds(
            lambda: counted.append(over_http(client, url, token, STREAM_QUERY, STREAM_ROWS)),
            REPEAT,
        )
        assert counted[-1] == STREAM_ROWS, counted[-1]
        print(f"(a) {STREAM_ROWS:,} rows as json/simple/compact over HTTP")
        print(f"    HTTP stream      {http_s:7.3f} s  {STREAM_ROWS / http_s:12,.0f} rows/s")
        print(
            f"    in-process rows  {rows_s:7.3f} s  {STREAM_ROWS / rows_s:12,.0f} rows/s  "
            f"ratio {rows_s / http_s:.2f} (target >= 0.5)"
        )
        print(
            f"    in-process Arrow {arrow_s:7.3f} s  {STREAM_ROWS / arrow_s:12,.0f} rows/s  "
            f"ratio {arrow_s / http_s:.2f}"
        )
        print(
            "(b) grouped shapes end-to-end: HTTP vs in-process (Arrow rows | the same "
            "json/simple/compact bytes)"
        )
        worst = worst_encoded = 0.0
        for name, linq, _ in GROUPED:
            remote = median_seconds(lambda linq=linq: over_http(client, url, token, linq), REPEAT)
            ratio = remote / grouped_local[name]
            ratio_encoded = remote / grouped_encoded[name]
            worst = max(worst, ratio)
            worst_encoded = max(worst_encoded, ratio_encoded)
            print(
                f"    {name:<24} HTTP {remote:6.3f} s | Arrow {grouped_local[name]:6.3f} s "
                f"ratio {ratio:.2f} | encoded {grouped_encoded[name]:6.3f} s "
                f"ratio {ratio_encoded:.2f}"
            )
        print(
            f"    worst ratio {worst:.2f} vs Arrow, {worst_encoded:.2f} vs encoded (target <= 1.25)"
        )
        before = peak_rss_mb(process.pid)
        total = over_http(client, url, token, "from demo.ecommerce.data")
        after = peak_rss_mb(process.pid)
        print(
            f"(c) streamed all {total:,} rows of demo.ecommerce.data: server peak RSS "
            f"{before:.0f} MB before, {after:.0f} MB after"
        )
    finally:
        client.close()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
