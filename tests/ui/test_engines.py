"""The search page on each store: the console runs LINQ through the same compiler seam as the
APIs, so its rows, histogram and top values are the same on DuckDB and ClickHouse."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from linqd.api.app import create_app
from linqd.clock import SimulatedClock
from linqd.config import Settings

from .conftest import PASSWORD, T0, populated, sign_in

pytestmark = pytest.mark.anyio
M = 60_000


@pytest.fixture
async def client(tmp_path: Path, store_spec: str) -> AsyncIterator[httpx.AsyncClient]:
    clock = SimulatedClock(T0)
    data, domains, _ = populated(tmp_path, clock, store_spec)
    hosts = ["a", "b", "a", "a", None]
    data.store.append(
        "my.app.web",
        {"hostname": hosts, "message": ["x", "y", "<b>z</b>", "x", "w"]},
        client="self",
        eventdates=[T0 - 50 * M, T0 - 49 * M, T0 - 20 * M, T0 - 20 * M + 1, T0 - 1],
    )
    data.store.append(
        "my.app.web", {"hostname": ["o"] * 3}, client="other", eventdates=[T0 - M] * 3
    )
    app = create_app(Settings(data_dir=data.path), data.store, domains, clock)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://linqd"
        ) as c:
            await sign_in(c, "ana", PASSWORD)
            yield c
    finally:
        data.close()


PARAMS = {"from": "1h", "to": "now", "tz": "UTC"}


async def test_rows_and_hits(client: httpx.AsyncClient) -> None:
    params = {"q": "from my.app.web select hostname, message", **PARAMS}
    fragment = (await client.get("/ui/search/results", params=params)).text
    body = fragment.split('<tbody id="rows" role="rowgroup">', 1)[1].split("</tbody>", 1)[0]
    rows = [
        [html.unescape(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]
    assert rows == [["a", "x"], ["b", "y"], ["a", "<b>z</b>"], ["a", "x"], ["null", "w"]]
    hits = json.loads(html.unescape(re.search(r"data-hits='([^']*)'", fragment).group(1)))  # type: ignore[union-attr]
    assert hits["step"] == 30_000 and sum(hits["y"]) == 5
    counted = {x: y for x, y in zip(hits["x"], hits["y"], strict=True) if y}
    assert counted == {T0 - 50 * M: 1, T0 - 49 * M: 1, T0 - 20 * M: 2, T0 - 30_000: 1}


async def test_top_values(client: httpx.AsyncClient) -> None:
    params = {"q": "from my.app.web", "column": "hostname", **PARAMS}
    fragment = (await client.get("/ui/search/field", params=params)).text
    text = re.sub(r"<[^>]+>", " ", fragment)
    found = re.findall(r"(\w+)\s+(\d+)", text)
    assert found[0] == ("a", "3") and sorted(found[1:]) == [("b", "1"), ("null", "1")]
    assert " o " not in text  # another domain's rows
