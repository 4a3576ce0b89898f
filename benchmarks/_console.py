"""Shared by the console benchmarks: a linqd server of its own on 127.0.0.1 over the demo data,
Debian's Chromium driven by Playwright, and a signed-in page. Not a benchmark itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from _setup import demo_data

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class Server:
    url: str
    syslog_port: int
    credentials: dict[str, str]
    pid: int


@contextmanager
def demo_server() -> Iterator[Server]:
    """``linqd serve`` over the benchmark's demo data (stopped at the end)."""
    data = demo_data()
    data_dir = data.path
    data.close()
    argv = [sys.executable, "-m", "linqd", "serve", "--data-dir", str(data_dir), "--port", "0"]
    process = subprocess.Popen(
        [*argv, "--syslog-port", "0", "--flush-interval", "0.01"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        if not line.startswith("linqd serving "):
            raise RuntimeError(f"server did not start: {line!r}")
        port = next(int(p.split("=")[1]) for p in line.split() if p.startswith("syslog-tcp="))
        credentials = json.loads((data_dir / "credentials.json").read_text())
        yield Server(line.split()[2], port, credentials, process.pid)
    finally:
        process.terminate()
        process.wait(30)


@contextmanager
def chromium_page(server: Server) -> Iterator[Any]:
    """A headless Chromium page signed in to the console as ``admin``."""
    from playwright.sync_api import sync_playwright

    path = os.environ.get("LINQD_CHROMIUM") or shutil.which("chromium")
    if path is None:
        raise SystemExit("Chromium is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        try:
            viewport = {"width": 1400, "height": 900}
            context = browser.new_context(base_url=server.url, viewport=viewport)
            context.set_default_timeout(120_000)
            page = context.new_page()
            sign_in(page, server)
            yield page
        finally:
            browser.close()


def sign_in(page: Any, server: Server) -> None:
    page.goto("/ui/login")
    page.get_by_label("User").fill(server.credentials["consoleUser"])
    page.get_by_label("Password").fill(server.credentials["consolePassword"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/ui/search**")


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def report(name: str, value: float, anchor_name: str, anchor: float, target: str) -> None:
    """One figure in seconds beside its anchor, and their ratio."""
    ratio = value / anchor if anchor else float("nan")
    print(f"{name}: {value:.3f} s; {anchor_name}: {anchor:.3f} s; ratio {ratio:.2f} ({target})")
