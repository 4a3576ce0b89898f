"""200 MiB sent to every route of a real server process, with and without a declared length, with
and without credentials: the server's memory grows by less than 64 MiB (it authenticates from
the headers before reading, refuses a declared length over the limit at once and stops reading
an undeclared one at the limit)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from linqd.alerts.service import AlertServices
from linqd.api.app import create_app
from linqd.clock import SystemClock
from linqd.config import Settings
from linqd.datadir import open_data_dir
from linqd.domains import DomainStore
from linqd.ingest.pipeline import IngestPipeline
from linqd.jobs.repo import JobRepository
from linqd.jobs.runner import JobRunner

from .conftest import start_server, stop_server

MB = 1 << 20
BODY_MB = 200
GROWTH_LIMIT = 64 * MB


def routes(tmp: Path) -> list[tuple[str, str]]:
    """(method, path template) of every route the server answers."""
    data = open_data_dir(tmp, SystemClock())
    pipeline = IngestPipeline(data.store, SystemClock())
    runner = JobRunner(data.store, JobRepository(data.meta), SystemClock(), lambda job: None)  # type: ignore[arg-type,return-value]
    try:
        app = create_app(
            Settings(data_dir=tmp),
            data.store,
            DomainStore(data.meta, SystemClock()),
            SystemClock(),
            pipeline,
            runner,
            AlertServices.over(data.meta, SystemClock()),
        )
        found = []
        for route, prefix in _walk(app.routes, ""):
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    found.append((method, prefix + route.path))
        return found
    finally:
        runner.close()
        pipeline.close()
        data.close()


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class Peak:
    """The largest RSS of a process, sampled every 10 ms while it runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.value = rss(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.value = max(self.value, rss(self.pid))

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _walk(routes: list[BaseRoute], prefix: str) -> Iterator[tuple[Route, str]]:
    """Every route, with the path of the mounts it is in (the console's static files aside)."""
    for route in routes:
        if isinstance(route, Mount):
            if not isinstance(route.app, StaticFiles):
                yield from _walk(route.routes, prefix + route.path)
        else:
            assert isinstance(route, Route)
            yield route, prefix


def send(port: int, method: str, path: str, headers: dict[str, str], declared: bool) -> int:
    """Send 200 MiB as the request body; the status the server answered (0: none)."""
    chunk = b"x" * MB
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    if declared:
        head += f"Content-Length: {BODY_MB * MB}\r\n\r\n"
    else:
        head += "Transfer-Encoding: chunked\r\n\r\n"
    framed = chunk if declared else b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head.encode())
        try:
            for _ in range(BODY_MB):
                conn.sendall(framed)
            if not declared:
                conn.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the server stopped reading: what this test wants
        try:
            answer = conn.recv(64)
        except (ConnectionResetError, TimeoutError):
            return 0
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int, dict[str, str]]]:
    data_dir = tmp_path_factory.mktemp("bounds")
    process, url, _ports = start_server(data_dir, None)
    credentials = json.loads((data_dir / "credentials.json").read_text())
    try:
        yield process.pid, int(url.rsplit(":", 1)[1]), credentials
    finally:
        stop_server(process)


def test_every_route_reads_a_bounded_body(
    server: tuple[int, int, dict[str, str]], tmp_path: Path
) -> None:
    pid, port, creds = server
    fill = {
        "domain": creds["domain"],
        "token": f"token!{creds['ingestToken']}",
        "host": "h",
        "tag": "my.app.bounds",
        "table": "demo.ecommerce.data",
        "id": "1",
        "type": "donothing",
        "name": "x",
        "action": "stop",
    }
    credentialed = {
        "Authorization": f"Bearer {creds['token']}",
        "standAloneToken": creds["standAloneToken"],
    }
    found = routes(tmp_path)
    assert len(found) > 30
    time.sleep(0.5)  # let the server settle after start before the baseline
    baseline = rss(pid)
    statuses: dict[tuple[str, str, bool, bool], int] = {}
    with Peak(pid) as peak:
        for method, template in found:
            path = template.replace("{table:path}", "{table}").format(**fill)
            for with_credentials in (False, True):
                headers = credentialed if with_credentials else {}
                for declared in (True, False):
                    status = send(port, method, path, headers, declared)
                    statuses[(method, path, with_credentials, declared)] = status
    growth = peak.value - baseline
    assert growth < GROWTH_LIMIT, f"RSS grew by {growth / MB:.0f} MiB"
    # Every request got an answer and none broke the server; no route that takes a body took
    # this one (GET routes may answer without reading it, which costs nothing).
    wrong = [
        (key, status)
        for key, status in statuses.items()
        if status >= 500 or status == 0 or (200 <= status < 300 and key[0] in ("POST", "PUT"))
    ]
    assert not wrong
