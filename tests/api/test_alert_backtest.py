"""POST /alerts/v1/alertDefinitions/backtest: what a definition would have raised over the stored
history, through the API (the CLI and the engine use the same code)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from linqd.api.app import create_app
from linqd.clock import SimulatedClock
from linqd.config import Settings
from linqd.datadir import open_data_dir
from linqd.domains import DomainStore

pytestmark = pytest.mark.anyio

T0 = 1_800_000_000_000
URL = "/alerts/v1/alertDefinitions/backtest"
M = 60_000


def definition(query: str, trigger: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "test",
        "subcategory": "t",
        "message": "$hostname sent $count",
        "description": "at $eventdate",
        "alertCorrelationContext": {
            "querySourceCode": query,
            "priority": 5,
            "correlationTrigger": trigger,
        },
    }


@pytest.fixture
async def client(tmp_path: Path, store_spec: str) -> AsyncIterator[httpx.AsyncClient]:
    clock = SimulatedClock(T0 + 60 * M)
    data = open_data_dir(tmp_path / "data", clock, store=store_spec)
    domains = DomainStore(data.meta, clock)
    token = domains.create_domain("self").stand_alone_token
    hosts = ["a", "a", "a", "b", "a"]
    data.store.append(
        "my.app.web",
        {"hostname": hosts, "message": ["x"] * 5},
        client="self",
        eventdates=[T0 + 5_000, T0 + 6_000, T0 + 7_000, T0 + 8_000, T0 + M + 1_000],
    )
    other = domains.create_domain("other")
    data.store.append(
        "my.app.web", {"hostname": ["a"] * 9}, client=other.domain, eventdates=[T0] * 9
    )
    app = create_app(Settings(data_dir=data.path), data.store, domains, clock)
    transport = httpx.ASGITransport(app=app)
    headers = {"standAloneToken": token}
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://linqd", headers=headers
        ) as c:
            yield c
    finally:
        data.close()


async def test_backtest_answers_the_firings(client: httpx.AsyncClient) -> None:
    body = definition(
        "from my.app.web",
        {"kind": "several", "period": M, "threshold": 1, "keys": ["hostname"]},
    )
    answer = await client.post(URL, params={"from": T0, "to": T0 + 3 * M}, json=body)
    assert answer.status_code == 200, answer.text
    fired = answer.json()
    assert [(f["eventdate"], f["extraData"]) for f in fired] == [
        (T0, {"hostname": "a", "count": 3, "eventdate": "2027-01-15 08:00:00.000"}),
    ]
    assert fired[0]["message"] == "a sent 3"
    assert fired[0]["description"] == "at 2027-01-15 08:00:00.000"
    # nothing was stored: a backtest is not an alert
    listed = await client.get(
        "/alerts/v1/alerts/list", params={"from": 0, "to": 2**40, "limit": 10, "offset": 0}
    )
    assert listed.json() == []


async def test_backtest_of_each_events(client: httpx.AsyncClient) -> None:
    body = definition('from my.app.web where hostname = "b"', {"kind": "each"})
    answer = await client.post(URL, params={"from": T0, "to": T0 + 3 * M}, json=body)
    assert [f["eventdate"] for f in answer.json()] == [T0 + 8_000]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"to": T0}, "from"),
        ({"from": T0}, "to"),
        ({"from": "x", "to": T0}, "from"),
        ({"from": T0, "to": T0}, "to"),
        ({"from": T0, "to": T0 + 400 * 86_400_000}, "to"),
    ],
)
async def test_backtest_parameters(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    body = definition("from my.app.web", {"kind": "low", "period": 1_000, "threshold": 0})
    answer = await client.post(URL, params=params, json=body)
    assert answer.status_code == 400
    assert answer.json()["context"]["field"] == field


async def test_backtest_validates_the_definition(client: httpx.AsyncClient) -> None:
    body = definition("from my.app.web", {"kind": "several", "period": 1, "threshold": 1})
    answer = await client.post(URL, params={"from": T0, "to": T0 + M}, json=body)
    assert answer.status_code == 400
    assert answer.json()["context"]["field"] == "alertCorrelationContext.correlationTrigger.period"


async def test_engine_status_without_an_engine(client: httpx.AsyncClient) -> None:
    answer = await client.get("/alerts/v1/engineStatus")
    assert answer.json() == {"running": False, "definitions": []}
