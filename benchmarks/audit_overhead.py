"""What writing the audit tables costs the Query API: requests/s of small ``/search/query`` calls
with the audit on (the default) against the same server with ``serve --no-audit``, measured in
the same run. Target: the ratio on/off >= 0.95.

Two servers run as their own processes on 127.0.0.1, each over its own data directory holding
the same 20,000 demo events. Clients keep CONCURRENCY requests in flight (one keep-alive
connection each, Bearer token) with a small query (a filter and ``limit 5``, json/simple/compact)
over the last day. The servers are measured in alternation, ROUNDS rounds of SECONDS each (the
order swapped every round, so that drift and the neighbours' load hit both alike), after a
warm-up; each figure is the median round. Beside the rate, the CPU time each server process
spent per request (its user + system time over the round, from /proc): on a machine shared with
other work the rate follows the neighbours' load, the CPU per request much less. At the end the
requests each server wrote to siem.logtrust.web.activity are counted: every one of the audited
server's, none of the other's.

    .venv/bin/python benchmarks/audit_overhead.py
    LINQD_BENCH_AUDIT_SECONDS=10 LINQD_BENCH_AUDIT_ROUNDS=11 .venv/bin/python ...
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from _setup import NOW_MS, ROOT
from linqd.clock import SimulatedClock, SystemClock
from linqd.datadir import open_data_dir
from linqd.demo import generate

SECONDS = float(os.environ.get("LINQD_BENCH_AUDIT_SECONDS", "4"))
ROUNDS = int(os.environ.get("LINQD_BENCH_AUDIT_ROUNDS", "9"))
CONCURRENCY = 8
EVENTS = 20_000
LINQ = 'from demo.ecommerce.data where method = "GET" select eventdate, uri, statusCode limit 5'


def make_data(path: Path) -> None:
    data = open_data_dir(path, SimulatedClock(NOW_MS))
    try:
        # The demo's last day ends now, so that "from 1d" finds events.
        generate(data.store, events=EVENTS, days=1.0, now_ms=SystemClock().now_ms(), seed=3)
    finally:
        data.close()


def start(path: Path, *flags: str) -> tuple[subprocess.Popen[bytes], str, str]:
    argv = [sys.executable, "-m", "linqd", "serve", "--data-dir", str(path), "--port", "0"]
    # This checkout's linqd, whatever the environment has installed.
    env = {**os.environ, "PYTHONPATH": str(ROOT.parent / "src")}
    process = subprocess.Popen(
        [*argv, "--no-syslog", *flags], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    if not line.startswith("linqd serving "):
        process.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    # The rest of stdout is uvicorn's access log: a pipe nobody reads would fill and stall it.
    threading.Thread(target=process.stdout.read, daemon=True).start()
    token = json.loads((path / "credentials.json").read_text())["token"]
    return process, line.split()[2], token


async def rate(url: str, token: str, seconds: float) -> tuple[float, int]:
    """Requests/s completed by CONCURRENCY clients in ``seconds``, and how many were sent."""
    body = {"query": LINQ, "from": "1d", "to": "now", "mode": {"type": "json/simple/compact"}}
    headers = {"Authorization": f"Bearer {token}"}
    done = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            while time.perf_counter() < deadline:
                answer = await http.post("/search/query", json=body, headers=headers)
                answer.raise_for_status()
                done += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return done / (time.perf_counter() - started), done


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def audited_requests(path: Path) -> int:
    """Rows the server wrote for /search/query (the demo's synthetic rows have other URLs)."""
    data = open_data_dir(path, SystemClock())
    try:
        found = data.store.reader().sql(
            "SELECT count(*) FROM \"siem.logtrust.web.activity\" WHERE url = '/search/query'"
        )
        return int(found.fetchall()[0][0])
    finally:
        data.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="linqd-audit-bench-") as folder:
        paths = {"on": Path(folder) / "on", "off": Path(folder) / "off"}
        for path in paths.values():
            make_data(path)
        servers = {"on": start(paths["on"]), "off": start(paths["off"], "--no-audit")}
        rates: dict[str, list[float]] = {"on": [], "off": []}
        cpu_ms: dict[str, list[float]] = {"on": [], "off": []}
        sent = {"on": 0, "off": 0}
        try:
            for name, (_, url, token) in servers.items():
                sent[name] += asyncio.run(rate(url, token, 1.0))[1]  # warm-up
            for round_ in range(ROUNDS):
                order = ("on", "off") if round_ % 2 == 0 else ("off", "on")
                for name in order:
                    process, url, token = servers[name]
                    before = cpu_seconds(process.pid)
                    per_s, count = asyncio.run(rate(url, token, SECONDS))
                    cpu_ms[name].append((cpu_seconds(process.pid) - before) * 1000 / count)
                    rates[name].append(per_s)
                    sent[name] += count
        finally:
            for process, _, _ in servers.values():
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
        on, off = statistics.median(rates["on"]), statistics.median(rates["off"])
        cpu_on, cpu_off = statistics.median(cpu_ms["on"]), statistics.median(cpu_ms["off"])
        print(
            f"small /search/query calls, {CONCURRENCY} in flight, {ROUNDS} rounds of {SECONDS:g} s"
        )
        for name, figure, cpu in (("off", off, cpu_off), ("on", on, cpu_on)):
            rounds = ", ".join(f"{r:.0f}" for r in rates[name])
            print(
                f"    audit {name:<3}  {figure:8.1f} req/s  {cpu:6.2f} ms CPU/request  "
                f"(rounds: {rounds})"
            )
        print(f"    ratio on/off {on / off:.3f} req/s (target >= 0.95)")
        print(f"    CPU per request on/off {cpu_on / cpu_off:.3f} (inverse {cpu_off / cpu_on:.3f})")
        written = {name: audited_requests(path) for name, path in paths.items()}
        print(
            f"    activity rows written: audit on {written['on']:,} of {sent['on']:,} requests, "
            f"audit off {written['off']:,} of {sent['off']:,}"
        )


if __name__ == "__main__":
    main()
