"""The console in process: an app over a temporary data directory and a simulated clock, and
clients signed in as users of each role."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

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


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    clock = SimulatedClock(T0)
    data = open_data_dir(tmp_path / "data", clock)
    domains = DomainStore(data.meta, clock)
    domains.create_domain("self")
    domains.create_domain("other")
    users = ConsoleUsers(data.meta, clock)
    users.create("ana", "self", Role.ANALYST, PASSWORD)
    users.create("vic", "self", Role.VIEWER, PASSWORD)
    users.create("otto", "other", Role.ADMIN, PASSWORD)
    app = create_app(Settings(data_dir=data.path), data.store, domains, clock)
    try:
        yield Console(data, domains, users, clock, httpx.ASGITransport(app=app))
    finally:
        data.close()


@pytest.fixture
async def analyst(console: Console) -> AsyncIterator[httpx.AsyncClient]:
    async with console.signed_in("ana") as client:
        yield client
