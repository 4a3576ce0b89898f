"""Ingestion speed: syslog over TCP and HTTP /stream, against appending the same pre-parsed rows
straight into DuckDB.

(a) two concurrent TCP senders, 2 M lines of ~200 bytes in all: events/s stored (the clock stops
    when the server has closed both connections, which it does only once their events are
    durable), and the ratio to the anchor (target: >= 300,000 events/s and ratio >= 0.35);
(b) the same lines through HTTP /stream, gzip-compressed, in 8 MB requests.

The anchor appends the already-split hostname/message columns to an EventStore in 100,000-row
batches, in this process. The server runs as its own process on 127.0.0.1 and is stopped.

    make bench    # or: .venv/bin/python benchmarks/ingest.py
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from linqd.clock import SystemClock
from linqd.datadir import open_data_dir

LINES = int(os.environ.get("LINQD_BENCH_LINES", "2000000"))
SENDERS = 2
TAG = "my.app.bench"
BATCH = 100_000


def make_lines(count: int, offset: int) -> list[bytes]:
    pad = "x" * 120
    return [
        f"<14>Jan  1 00:00:00 host{i % 7} {TAG}: event {offset + i} user=u{i % 97} {pad}\n".encode()
        for i in range(count)
    ]


def anchor(lines: list[bytes], folder: Path) -> float:
    hosts = [f"host{i % 7}" for i in range(len(lines))]
    messages = [line.split(b": ", 1)[1][:-1].decode() for line in lines]
    data = open_data_dir(folder, SystemClock())
    started = time.perf_counter()
    for start in range(0, len(lines), BATCH):
        data.store.append(
            TAG,
            {"hostname": hosts[start : start + BATCH], "message": messages[start : start + BATCH]},
            client="self",
        )
    elapsed = time.perf_counter() - started
    data.close()
    return elapsed


def start_server(folder: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str, int]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "linqd",
            "serve",
            "--data-dir",
            str(folder),
            "--port",
            "0",
            "--syslog-port",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    if not line.startswith("linqd serving "):
        process.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    port = next(int(p.split("=")[1]) for p in line.split() if p.startswith("syslog-tcp="))
    return process, line.split()[2], port


def send(port: int, payload: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        view = memoryview(payload)
        for start in range(0, len(view), 1 << 20):
            sock.sendall(view[start : start + (1 << 20)])
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(65536):  # the server closes once our events are stored
            continue


def send_all(port: int, halves: list[list[bytes]]) -> float:
    """Seconds for the senders, one per half, to have their events stored (each connection is
    closed by the server once its events are durable)."""
    threads = [threading.Thread(target=send, args=(port, b"".join(h))) for h in halves]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def count_rows(url: str, token: str, table: str) -> int:
    body = {"from": 0, "query": f"from {table} group select count() as n", "mode": {"type": "json"}}
    response = httpx.post(
        f"{url}/search/query", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    return int(response.json()["object"][0]["n"])


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="linqd-ingest-"))
    try:
        halves = [make_lines(LINES // SENDERS, i * LINES) for i in range(SENDERS)]
        size = sum(len(line) for half in halves for line in half)
        anchor_s = anchor([line for half in halves for line in half], folder / "anchor")
        process, url, port = start_server(folder / "server")
        try:
            credentials = json.loads((folder / "server" / "credentials.json").read_text())
            tcp_s = send_all(port, halves)
            stored = count_rows(url, credentials["token"], TAG)
            assert stored == LINES, stored
            rate = LINES / tcp_s
            print(f"(a) {LINES:,} syslog lines ({size / LINES:.0f} B) over {SENDERS} TCP senders")
            print(f"    stored in {tcp_s:.2f} s = {rate:,.0f} events/s (target >= 300,000)")
            print(
                f"    anchor (pre-parsed rows appended to DuckDB) {anchor_s:.2f} s = "
                f"{LINES / anchor_s:,.0f} rows/s; ratio {anchor_s / tcp_s:.2f} (target >= 0.35)"
            )

            target = f"{url}/stream/self/token!{credentials['ingestToken']}/bench/my.app.http"
            chunks: list[bytes] = []
            current: list[bytes] = []
            current_size = 0
            for line in (line for half in halves for line in half):
                current.append(line.split(b": ", 1)[1])
                current_size += len(current[-1])
                if current_size > 8 << 20:
                    chunks.append(gzip.compress(b"".join(current), compresslevel=1))
                    current, current_size = [], 0
            if current:
                chunks.append(gzip.compress(b"".join(current), compresslevel=1))
            with httpx.Client(timeout=600) as client:
                started = time.perf_counter()
                for chunk in chunks:
                    response = client.post(
                        target, content=chunk, headers={"Content-Encoding": "gzip"}
                    )
                    response.raise_for_status()
                http_s = time.perf_counter() - started
            assert count_rows(url, credentials["token"], "my.app.http") == LINES
            print(f"(b) the same {LINES:,} events over HTTP /stream (gzip, {len(chunks)} requests)")
            print(
                f"    stored in {http_s:.2f} s = {LINES / http_s:,.0f} events/s; "
                f"ratio to the anchor {anchor_s / http_s:.2f}"
            )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
