"""The console on two nodes sharing PostgreSQL metadata: a session and its CSRF token from
one node work on the other, and signing out on one ends the session on both (a load balancer
may send each request anywhere)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from linqd.api.app import create_app
from linqd.clock import SimulatedClock
from linqd.config import Settings
from linqd.datadir import DataDir, open_data_dir
from linqd.domains import DomainStore
from linqd.ui.sessions import COOKIE
from linqd.ui.users import ConsoleUsers, Role
from pgserver import PostgresServer

from .conftest import PASSWORD, T0, csrf_of, sign_in

pytestmark = pytest.mark.anyio


@dataclass
class Node:
    data: DataDir
    transport: httpx.ASGITransport

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, base_url="http://linqd")


@pytest.fixture
def nodes(tmp_path: Path, postgres: PostgresServer) -> Iterator[list[Node]]:
    url = postgres.fresh_url()
    clock = SimulatedClock(T0)
    made: list[Node] = []
    try:
        for name in ("a", "b"):
            data = open_data_dir(tmp_path / name, clock, meta=url)
            domains = DomainStore(data.meta, clock)
            if name == "a":
                domains.create_domain("self")
                ConsoleUsers(data.meta, clock).create("ana", "self", Role.ANALYST, PASSWORD)
            app = create_app(Settings(data_dir=data.path), data.store, domains, clock)
            made.append(Node(data, httpx.ASGITransport(app=app)))
        yield made
    finally:
        for node in made:
            node.data.close()


async def test_a_session_and_its_csrf_token_work_on_every_node(nodes: list[Node]) -> None:
    a, b = nodes
    async with a.client() as on_a, b.client() as on_b:
        assert (await sign_in(on_a, "ana", PASSWORD)).status_code == 303
        token = csrf_of((await on_a.get("/ui/search")).text)
        on_b.cookies.set(COOKIE, on_a.cookies[COOKIE])
        assert (await on_b.get("/ui/search")).status_code == 200
        # A state change on b with a's token: b checks it against the shared session.
        assert (await on_b.post("/ui/logout", headers={"X-CSRF-Token": token})).status_code == 303
        assert (await on_a.get("/ui/search")).status_code == 303  # ended on a too
