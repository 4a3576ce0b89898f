"""The console's live tail: an event sent over syslog appears at the top of the page, in
headless Chromium; p95 of PROBES events, sent one at a time.

Beside it, measured on the same events: a continuous query of the Query API (json/simple/compact,
no ``to``) read by a client on this machine, the way devo-sdk follows a stream. Target: p95 <= 1 s.

    make bench    # or: .venv/bin/python benchmarks/ui_live_tail.py
"""

from __future__ import annotations

import socket
import statistics
import threading
import time

import httpx

from _console import Server, chromium_page, demo_server, p95

PROBES = 50
TAG = "my.app.bench.live"
QUERY = f"from {TAG}"
FIRST_ROW = """(probe) => {
  const row = document.querySelector('table[aria-label="Results"] tbody tr');
  return row !== null && row.textContent.includes(probe);
}"""


class ApiFollower:
    """A continuous Query API query; notes when each probe's line arrives."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.seen: dict[str, float] = {}
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._follow, daemon=True)
        self.thread.start()
        self.ready.wait(30)

    def _follow(self) -> None:
        try:
            self._read()
        except httpx.HTTPError:
            if not self.stop.is_set():  # the server going away at the end is expected
                raise

    def _read(self) -> None:
        body = {
            "query": QUERY,
            "from": int(time.time()) - 60,
            "mode": {"type": "json/simple/compact"},
        }
        headers = {"Authorization": f"Bearer {self.server.credentials['token']}"}
        with (
            httpx.Client(timeout=None) as client,
            client.stream(
                "POST", f"{self.server.url}/search/query", json=body, headers=headers
            ) as response,
        ):
            self.ready.set()
            for line in response.iter_lines():
                now = time.perf_counter()
                for word in line.split('"'):
                    if word.startswith("probe-"):
                        self.seen.setdefault(word.split()[0], now)
                if self.stop.is_set():
                    return


def main() -> None:
    with demo_server() as server, chromium_page(server) as page:
        page.get_by_label("Query").fill(QUERY)
        page.get_by_label("From").fill("1m")
        page.get_by_label("Live").check()
        page.wait_for_function(
            "() => document.querySelector('#live-status').textContent.includes('Live tail')"
        )
        follower = ApiFollower(server)
        sender = socket.create_connection(("127.0.0.1", server.syslog_port))
        run = f"{time.time_ns():x}"  # the data directory keeps earlier runs' probes
        page_times: list[float] = []
        api_times: list[float] = []
        try:
            for i in range(PROBES + 1):  # the first is a warm-up
                probe = f"probe-{run}-{i}"
                started = time.perf_counter()
                sender.sendall(f"<14>Jan  1 00:00:00 bench {TAG}: {probe} here\n".encode())
                page.wait_for_function(FIRST_ROW, arg=f"{probe} here", polling="raf")
                shown = time.perf_counter()
                deadline = time.time() + 10
                while probe not in follower.seen and time.time() < deadline:
                    time.sleep(0.001)
                if i:
                    page_times.append(shown - started)
                    api_times.append(follower.seen.get(probe, float("nan")) - started)
        finally:
            follower.stop.set()
            sender.close()
    page_p95, api_p95 = p95(page_times), p95(api_times)
    print(
        f"live tail, syslog to the page: p95 {page_p95:.3f} s, median "
        f"{statistics.median(page_times):.3f} s over {PROBES} events; the Query API's continuous "
        f"query: p95 {api_p95:.3f} s; ratio {page_p95 / api_p95:.2f}; target p95 <= 1 s "
        f"(ratio to the target {page_p95 / 1.0:.2f})"
    )


if __name__ == "__main__":
    main()
