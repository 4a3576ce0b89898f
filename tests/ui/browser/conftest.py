"""Browser tests: Debian's Chromium driven by Playwright against a console served on 127.0.0.1.

Playwright's own browser download cannot work on these machines, so the tests launch the system
Chromium (``$LINQD_CHROMIUM`` or ``/usr/bin/chromium``; ``make test`` installs it as root). Without
it they skip, except under CI (``$CI`` set), where they must run. Each test leaves a screenshot of
the page it ends on in ``tests/ui/browser/screenshots/`` (ignored by git), and fails if the page
ever opened a dialog (alert, confirm, prompt): event content must never run as code.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from linqd.alerts.service import AlertServices
from linqd.api.app import create_app
from linqd.clock import SimulatedClock
from linqd.config import Settings
from linqd.datadir import DataDir
from linqd.domains import DomainStore
from linqd.ingest.pipeline import IngestPipeline
from linqd.jobs.repo import JobRepository
from linqd.jobs.runner import JobRunner
from linqd.server import sink_factory
from linqd.sinks import destination_rules
from linqd.sinks.email import SmtpSettings
from linqd.ui.users import ConsoleUsers

from ..conftest import PASSWORD, T0, populated

SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps trying the closed network, many connections at a time.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    configured = os.environ.get("LINQD_CHROMIUM")
    if configured:
        return configured
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class LiveConsole:
    """A console served over HTTP on 127.0.0.1, with the parts behind it."""

    url: str
    data: DataDir
    domains: DomainStore
    users: ConsoleUsers
    clock: SimulatedClock
    pipeline: IngestPipeline
    runner: JobRunner
    alerts: AlertServices
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def append(
        self,
        table: str,
        columns: dict[str, list[Any]],
        *,
        domain: str = "self",
        eventdates: list[int] | None = None,
    ) -> None:
        self.data.store.append(table, columns, client=domain, eventdates=eventdates)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module: Playwright's sync API keeps its event loop marked as
    running while it is started, so a session-wide one would break every async test after it."""
    path = chromium_path()
    if path is None or not Path(path).exists():
        if os.environ.get("CI"):
            pytest.fail(
                "Chromium is missing: `apt-get install -y chromium` (make test does, as root)"
            )
        pytest.skip("Chromium is missing: run `apt-get install -y chromium` as root")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveConsole]:
    clock = SimulatedClock(T0)
    data, domains, users = populated(tmp_path, clock)
    settings = Settings(data_dir=data.path)
    pipeline = IngestPipeline(data.store, clock, flush_interval_s=0.01)
    rules = destination_rules(settings)
    runner = JobRunner(
        data.store,
        JobRepository(data.meta),
        clock,
        sink_factory(SmtpSettings(), clock, rules),
        idle_wait_s=0.05,
    )
    alerts = AlertServices.over(data.meta, clock)
    app = create_app(settings, data.store, domains, clock, pipeline, runner, alerts)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    config = uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    console = LiveConsole(
        url, data, domains, users, clock, pipeline, runner, alerts, server, thread
    )
    try:
        yield console
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        pipeline.close()
        runner.close()
        data.close()


@pytest.fixture
def page(browser: Any, live: LiveConsole, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context's page; a screenshot of where it ends; no dialog may open."""
    context = browser.new_context(base_url=live.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        yield page
    finally:
        SCREENSHOTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        try:
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        finally:
            context.close()
    assert dialogs == [], f"the page opened dialogs: {dialogs}"


def sign_in(page: Any, user: str = "ana", password: str = PASSWORD) -> None:
    page.goto("/ui/login")
    page.get_by_label("User").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/ui/search.*"))
