"""Alert latency under load: 1,000 mixed definitions while 10,000 events/s arrive over syslog.

The server runs as its own process on 127.0.0.1 with 1,000 active definitions of all seven
kinds (150 each, 150 several, 150 low, 150 inactivity, 150 rolling, 125 deviation, 125
gradient). Events stream in over TCP syslog at 10,000 per second; ten times a second one of
them is a probe matched by one of the `each` definitions, whose alert is delivered to a local
webhook (HTTP-JSON) through a sending policy without anti-flooding. The figure is the time
from the probe's eventdate (stamped by the server when it arrives) to the webhook receiving the
alert: p50 and p99 (targets 0.5 s and 1 s), and the server's peak RSS (VmHWM; target 1.5 GB).

The anchor is ElastAlert2's model, which polls its rules every `run_every` (1 minute by
default): an event waits 30 s for its alert on average and up to 60 s, before the send.

    make bench    # or: .venv/bin/python benchmarks/alerts_latency.py
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from linqd.clock import SystemClock
from linqd.datadir import open_data_dir

TABLE = "my.app.latency"
SECONDS = int(os.environ.get("LINQD_BENCH_ALERT_SECONDS", "30"))
RATE = int(os.environ.get("LINQD_BENCH_ALERT_RATE", "10000"))
PROBES_PER_S = 10
EACH = 150
MINUTE = 60_000


class Hook:
    """The webhook: when each alert arrived, and the probe's eventdate it carries."""

    def __init__(self) -> None:
        self.latencies_ms: list[float] = []
        self.codes: list[str] = []
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received = time.time() * 1000
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with hook.lock:
                    if "code" in body:
                        hook.codes.append(body["code"])
                        return
                    extra = json.loads(body["extraData"])
                    stamp = dt.datetime.strptime(
                        unquote_plus(extra["eventdate"]), "%Y-%m-%d %H:%M:%S.%f"
                    )
                    sent = stamp.replace(tzinfo=dt.UTC).timestamp() * 1000
                    hook.latencies_ms.append(received - sent)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def definitions() -> list[dict[str, Any]]:
    grouped = f"from {TABLE} group every 1m by hostname select count() as count"
    shapes: list[tuple[int, str, dict[str, Any]]] = [
        (EACH, f'from {TABLE} where message -> "probe-{{n}}:"', {"kind": "each"}),
        (150, f'from {TABLE} where message -> "k{{n}}"',
         {"kind": "several", "period": MINUTE, "threshold": 10**9, "keys": ["hostname"]}),
        (150, f'from {TABLE} where message -> "k{{n}}"',
         {"kind": "low", "period": 60 * MINUTE, "threshold": 0}),
        (150, f"from {TABLE}", {"kind": "inactivity", "period": 5 * MINUTE, "keys": ["hostname"]}),
        (150, f'from {TABLE} where message -> "never{{n}}" group by hostname select count() as n',
         {"kind": "rolling", "period": MINUTE, "backPeriod": 5 * MINUTE}),
        (125, grouped, {"kind": "deviation", "threshold": 10**9, "absolute": True,
                        "aggregationColumn": ["count"]}),
        (125, grouped, {"kind": "gradient", "threshold": 10**9, "absolute": True,
                        "aggregationColumn": ["count"]}),
    ]  # fmt: skip
    out = []
    for count, query, trigger in shapes:
        for n in range(count):
            out.append(
                {
                    "name": f"{trigger['kind']} {n}",
                    "subcategory": "bench",
                    "message": "$message",
                    "alertCorrelationContext": {
                        "querySourceCode": query.format(n=n),
                        "priority": 5,
                        "correlationTrigger": trigger,
                    },
                }
            )
    return out


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], str, int]:
    args = [sys.executable, "-m", "linqd", "serve", "--data-dir", str(folder), "--port", "0"]
    # The webhook listens on 127.0.0.1, which the outbound policy denies by default.
    args += ["--syslog-port", "0", "--outbound-allow", "127.0.0.1"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    if not line.startswith("linqd serving "):
        process.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    port = next(int(p.split("=")[1]) for p in line.split() if p.startswith("syslog-tcp="))
    return process, line.split()[2], port


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def setup(url: str, token: str, hook: Hook) -> None:
    with httpx.Client(base_url=url, headers={"standAloneToken": token}, timeout=120) as api:
        method = api.post(
            "/delco/methods", json={"name": "hook", "type": "httpjson", "config": {"url": hook.url}}
        ).json()
        api.post(f"/delco/methods/{method['id']}/send-validation-code").raise_for_status()
        api.post(f"/delco/methods/{method['id']}/validate", json={"code": hook.codes[-1]})
        api.post(
            "/alerts/v1/sendingPolicies",
            json={"name": "bench", "methods": [method["id"]], "antiFlooding": {"mode": "none"}},
        ).raise_for_status()
        every = definitions()
        for start in range(0, len(every), 250):
            answer = api.post("/alerts/v1/alertDefinitions/batch", json=every[start : start + 250])
            statuses = {item["status"] for item in answer.json()}
            assert statuses == {200}, answer.text[:500]


def stream(port: int, probes: list[int]) -> float:
    """RATE events/s for SECONDS; returns the achieved rate."""
    per_tick = RATE // 100
    pad = "x" * 100
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.perf_counter()
        sent = 0
        for tick in range(SECONDS * 100):
            lines = [
                f"<14>Jan  1 00:00:00 host{(sent + i) % 20} {TABLE}: k{(sent + i) % 300} {pad}\n"
                for i in range(per_tick)
            ]
            if tick % (100 // PROBES_PER_S) == 0:
                n = len(probes) % EACH
                probes.append(n)
                lines[0] = f"<14>Jan  1 00:00:00 probe {TABLE}: probe-{n}: {len(probes)}\n"
            sock.sendall("".join(lines).encode())
            sent += per_tick
            pause = started + (tick + 1) / 100 - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        elapsed = time.perf_counter() - started
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(65536):
            continue
    return sent / elapsed


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="linqd-alerts-"))
    hook = Hook()
    try:
        data = open_data_dir(folder, SystemClock())
        data.store.append(TABLE, {"hostname": ["seed"], "message": ["seed"]}, client="self")
        data.close()
        process, url, port = start_server(folder)
        try:
            token = json.loads((folder / "credentials.json").read_text())["standAloneToken"]
            setup(url, token, hook)
            probes: list[int] = []
            rate = stream(port, probes)
            deadline = time.monotonic() + 30
            while len(hook.latencies_ms) < len(probes) and time.monotonic() < deadline:
                time.sleep(0.2)
            rss = peak_rss_mb(process.pid)
        finally:
            process.terminate()
            process.wait(30)
        latencies = hook.latencies_ms
        p50, p99 = percentile(latencies, 0.5) / 1000, percentile(latencies, 0.99) / 1000
        print(
            f"1,000 definitions, {rate:,.0f} events/s for {SECONDS} s: "
            f"{len(latencies)}/{len(probes)} probe alerts delivered"
        )
        print(
            f"event stored -> webhook received: p50 {p50:.3f} s, p99 {p99:.3f} s "
            f"(anchor: ElastAlert2 polling every 60 s, ~30 s median; ratio {30 / p50:.0f}x; "
            f"targets 0.5 s / 1 s)"
        )
        print(
            f"  mean {statistics.mean(latencies) / 1000:.3f} s, max {max(latencies) / 1000:.3f} s"
        )
        print(f"server peak RSS: {rss:,.0f} MB (target <= 1,536 MB)")
    finally:
        hook.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
