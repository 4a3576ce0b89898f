"""The console in process: an app over a temporary data directory and a simulated clock, and
clients signed in as users of each role."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from linqd.alerts.model import TriggeredAlert
from linqd.alerts.triggered import TriggeredAlertRepository
from linqd.api.app import create_app
from linqd.clock import SimulatedClock
from linqd.config import Settings
from linqd.datadir import DataDir, open_data_dir
from linqd.domains import DomainStore
from linqd.ui.users import ConsoleUsers, Role

T0 = 1_800_000_000_000
PASSWORD = "correct horse battery"


@dataclass
class Console:
    data: DataDir
    domains: DomainStore
    users: ConsoleUsers
    clock: SimulatedClock
    transport: httpx.ASGITransport

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, base_url="http://linqd")

    @asynccontextmanager
    async def signed_in(self, name: str) -> AsyncIterator[httpx.AsyncClient]:
        """A client with a session of ``name`` (password ``PASSWORD``); its CSRF token is
        in ``client.headers['X-CSRF-Token']``."""
        async with self.client() as client:
            await sign_in(client, name, PASSWORD)
            page = await client.get("/ui/search")
            assert page.status_code == 200, page.text
            client.headers["X-CSRF-Token"] = csrf_of(page.text)
            yield client


def csrf_of(html: str) -> str:
    found = re.search(r'"X-CSRF-Token": "([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    form = await client.get("/ui/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token
    return await client.post(
        "/ui/login", data={"user": name, "password": password, "csrf": token.group(1)}
    )


def populated(
    tmp_path: Path, clock: SimulatedClock, store: str = "duckdb"
) -> tuple[DataDir, DomainStore, ConsoleUsers]:
    """A data directory with the domains ``self`` and ``other`` and their users: ana (analyst)
    and vic (viewer) of self, otto (admin) of other, all with ``PASSWORD``."""
    data = open_data_dir(tmp_path / "data", clock, store=store)
    domains = DomainStore(data.meta, clock)
    domains.create_domain("self")
    domains.create_domain("other")
    users = ConsoleUsers(data.meta, clock)
    users.create("ana", "self", Role.ANALYST, PASSWORD)
    users.create("vic", "self", Role.VIEWER, PASSWORD)
    users.create("otto", "other", Role.ADMIN, PASSWORD)
    return data, domains, users


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    clock = SimulatedClock(T0)
    data, domains, users = populated(tmp_path, clock)
    app = create_app(Settings(data_dir=data.path), data.store, domains, clock)
    try:
        yield Console(data, domains, users, clock, httpx.ASGITransport(app=app))
    finally:
        data.close()


@pytest.fixture
async def analyst(console: Console) -> AsyncIterator[httpx.AsyncClient]:
    async with console.signed_in("ana") as client:
        yield client


def fire(repo: TriggeredAlertRepository, digest: str, alert_date: int, **changes: Any) -> int:
    """Store a triggered alert of the domain ``self`` (as the engine would) and return its id."""
    values: dict[str, Any] = {
        "domain": "self",
        "definition_id": "12",
        "digest": digest,
        "alert_date": alert_date,
        "priority": 7.0,
        "context": "my.alert.self.Port_scan",
        "alert_name": "Port scan",
        "subcategory": "lib.my.self.Network",
        "username": "ana",
        "message": f"Scan {digest}",
        "description": "Many ports",
        "extra_data": {"srcIp": "10.0.0.1", "count": 40, "eventdate": "2027-01-15 07:00:00.000"},
    }
    values.update(changes)
    stored = repo.insert(TriggeredAlert(**values))
    assert stored is not None
    return stored.id
