"""Every answer carries nosniff and no-store; HSTS when served over TLS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from linqd.api.app import create_app
from linqd.clock import SimulatedClock
from linqd.config import Settings
from linqd.datadir import DataDir, open_data_dir
from linqd.domains import DomainStore

pytestmark = pytest.mark.anyio
NOW = 1_700_000_000_000


@pytest.fixture
def data(tmp_path: Path, store_spec: str) -> Iterator[DataDir]:
    data = open_data_dir(tmp_path, SimulatedClock(NOW), store=store_spec)
    yield data
    data.close()


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_security_headers(data: DataDir, scheme: str) -> None:
    clock = SimulatedClock(NOW)
    domains = DomainStore(data.meta, clock)
    token = domains.create_domain("self").token
    app = create_app(Settings(data_dir=data.path), data.store, domains, clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"{scheme}://linqd") as client:
        body = {"query": "from demo.ecommerce.data", "from": 0, "to": 1}
        answers = [
            await client.get("/health"),
            await client.get("/nowhere"),
            await client.post("/search/query", json={"from": 0}),  # 401
            await client.post(  # streamed
                "/search/query", json=body, headers={"Authorization": f"Bearer {token}"}
            ),
        ]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-store"
        assert ("strict-transport-security" in answer.headers) is (scheme == "https")
    assert answers[3].status_code == 200
