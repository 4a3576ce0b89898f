"""What clients can make the server hold in memory, each scenario against a fresh server process
on the benchmark's demo data (its resident memory, VmRSS and peak VmHWM, before and after):

(a) 30 slow readers: each asks for two hours of demo.ecommerce.data (about 120,000 rows, every
    column) and reads one byte a second (a 4 KiB receive buffer), for 20 s;
(b) msgpack and xls answers over about 2.9 M rows (two days): whole documents, refused past
    the document limits, and within them with a limit of 200,000 rows;
(c) 3,000 small queries one after the other (what the collector's thresholds keep).

    .venv/bin/python benchmarks/memory.py
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from _setup import NOW_MS, ROOT, demo_data

DAY = 86_400_000
SLOW_READERS = 30
SLOW_SECONDS = 20
SMALL_QUERIES = 3_000


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


class Server:
    def __init__(self, data_dir: Path) -> None:
        args = ["serve", "--data-dir", str(data_dir), "--port", "0", "--no-syslog"]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "linqd", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        if not line.startswith("linqd serving "):
            self.process.kill()
            raise RuntimeError(f"server did not start: {line!r}")
        # the access log goes to stdout: drain it so the server never blocks on it
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        self.url = line.split()[2]
        self.token = json.loads((data_dir / "credentials.json").read_text())["token"]

    def memory(self) -> tuple[float, float]:
        return memory_mb(self.process.pid)

    def body(self, query: str, days: float, mode: str, **extra: object) -> dict[str, object]:
        return {
            "query": query,
            "from": (NOW_MS - int(days * DAY)) // 1000,
            "to": NOW_MS // 1000,
            "mode": {"type": mode},
            **extra,
        }

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


def scenario(data_dir: Path, name: str, action: Callable[[Server], str]) -> None:
    server = Server(data_dir)
    try:
        rss_before, _ = server.memory()
        outcome = action(server)
        rss_after, peak = server.memory()
        print(
            f"{name:<34} RSS {rss_before:6.0f} MB before, {rss_after:6.0f} MB after, "
            f"peak {peak:6.0f} MB  {outcome}",
            flush=True,
        )
    finally:
        server.stop()


def slow_readers(server: Server) -> str:
    host, port = server.url.removeprefix("http://").split(":")
    body = server.body("from demo.ecommerce.data", 2 / 24, "json/simple/compact")
    raw = json.dumps(body).encode()
    request = (
        f"POST /search/query HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {server.token}"
        f"\r\nContent-Type: application/json\r\nContent-Length: {len(raw)}\r\n\r\n"
    ).encode() + raw
    clients = []
    for _ in range(SLOW_READERS):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((host, int(port)))
        sock.sendall(request)
        clients.append(sock)
    received = 0
    for _ in range(SLOW_SECONDS):
        for sock in clients:
            received += len(sock.recv(1))
        time.sleep(1)
    rss, _ = server.memory()
    for sock in clients:
        sock.close()
    return f"({SLOW_READERS} clients read {received} bytes; RSS while reading {rss:.0f} MB)"


def document(mode: str, limit: int | None) -> Callable[[Server], str]:
    def action(server: Server) -> str:
        extra = {} if limit is None else {"limit": limit}
        body = server.body("from demo.ecommerce.data", 2, mode, **extra)
        headers = {"Authorization": f"Bearer {server.token}"}
        started = time.perf_counter()
        with httpx.Client(timeout=1800) as client:
            answer = client.post(f"{server.url}/search/query", json=body, headers=headers)
        took = time.perf_counter() - started
        detail = f"{len(answer.content) / 1e6:.0f} MB" if answer.status_code == 200 else answer.text
        return f"({answer.status_code} in {took:.1f} s: {detail[:90]})"

    return action


def small_queries(server: Server) -> str:
    headers = {"Authorization": f"Bearer {server.token}"}
    query = "from demo.ecommerce.data where statusCode = 404 select eventdate, uri limit 10"
    with httpx.Client(timeout=60) as client:
        for _ in range(SMALL_QUERIES):
            body = server.body(query, 1, "json")
            client.post(f"{server.url}/search/query", json=body, headers=headers)
    return f"({SMALL_QUERIES} queries)"


def main() -> None:
    data = demo_data()  # make sure it exists, then let each server own it
    data_dir = data.path
    data.close()
    scenario(data_dir, f"(a) {SLOW_READERS} slow readers", slow_readers)
    for mode in ("msgpack", "xls"):
        scenario(data_dir, f"(b) {mode}, two days", document(mode, None))
        scenario(data_dir, f"(b) {mode}, two days, limit 200,000", document(mode, 200_000))
    scenario(data_dir, f"(c) {SMALL_QUERIES} small queries", small_queries)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
