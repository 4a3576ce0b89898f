"""The triggered-alerts endpoints in-process: shapes, authentication, domain isolation, parameter
validation, bulk status updates and the status map's default window."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from linqd.alerts.model import AlertStatus, TriggeredAlert
from linqd.alerts.triggered import TriggeredAlertRepository
from linqd.api.app import create_app
from linqd.clock import SimulatedClock
from linqd.config import Settings
from linqd.datadir import DataDir, open_data_dir
from linqd.domains import Credentials, DomainStore

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000_000
HOUR = 3_600_000
BASE = "/alerts/v1/alerts"
WINDOW = {"limit": "100", "offset": "0", "from": "0", "to": str(NOW + HOUR)}
ERROR_KEYS = {"code", "msg", "status", "timestamp", "cid", "context", "messageKey", "language"}
ALERT_FIELDS: dict[str, type | tuple[type, ...] | None] = {
    "id": int,
    "domain": str,
    "priority": float,
    "context": str,
    "category": str,
    "srcPort": None,
    "srcIp": None,
    "srcHost": None,
    "dstIp": None,
    "dstPort": None,
    "dstHost": None,
    "protocol": None,
    "username": str,
    "application": None,
    "engine": None,
    "extraData": str,
    "alertDate": int,
    "status": int,
    "ack_status_date": (int, type(None)),
    "createDate": int,
    "updateDate": int,
    "scaled": bool,
    "digest": str,
    "uniquedigest": str,
    "contexto": dict,
    "postAlertAction": None,
    "contextLabel": str,
    "contextSubscription": None,
    "shouldSend": bool,
    "alertOwner": str,
    "fullExtraData": str,
    "alertLabel": str,
}
EXTENDED_FIELDS: dict[str, type | tuple[type, ...] | None] = {
    **ALERT_FIELDS,
    "alertType": (str, type(None)),
    "alertMitreTactics": (str, type(None)),
    "alertMitreTechniques": (str, type(None)),
    "alertPriority": (str, type(None)),
    "alertDefinition": dict,
    "allExtraDataFields": dict,
    "tags": list,
    "entities": list,
    "commentsList": list,
}


@dataclass
class Env:
    client: httpx.AsyncClient
    repo: TriggeredAlertRepository
    clock: SimulatedClock
    domains: DomainStore
    creds: Credentials
    other: Credentials

    def fire(self, digest: str, alert_date: int, domain: str = "self", **changes: Any) -> int:
        values: dict[str, Any] = {
            "domain": domain,
            "definition_id": "12",
            "digest": digest,
            "alert_date": alert_date,
            "priority": 7.0,
            "context": f"my.alert.{domain}.Port_scan",
            "alert_name": "Port scan",
            "subcategory": f"lib.my.{domain}.Network",
            "username": "soc@example.com",
            "message": "Scan from $srcIp",
            "description": "Many ports",
            "extra_data": {"srcIp": "10.0.0.1", "count": 40, "alertMitreTactics": "Discovery"},
        }
        values.update(changes)
        stored = self.repo.insert(TriggeredAlert(**values))
        assert stored is not None
        return stored.id

    async def call(
        self,
        method: str,
        endpoint: str,
        params: dict[str, str] | None = None,
        *,
        token: str | None = None,
        content: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = {"standAloneToken": token or self.creds.stand_alone_token}
        if headers is not None:
            sent = headers
        return await self.client.request(
            method, f"{BASE}/{endpoint}", params=params, headers=sent, content=content
        )


@pytest.fixture
def data(tmp_path: Path, store_spec: str) -> Iterator[DataDir]:
    data = open_data_dir(tmp_path, SimulatedClock(NOW), store=store_spec)
    yield data
    data.close()


@pytest.fixture
async def env(data: DataDir) -> AsyncIterator[Env]:
    clock = SimulatedClock(NOW)
    domains = DomainStore(data.meta, clock)
    creds = domains.create_domain("self")
    other = domains.create_domain("other")
    app = create_app(Settings(data_dir=data.path), data.store, domains, clock)
    repo = TriggeredAlertRepository(data.meta, clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://linqd"
    ) as client:
        yield Env(client, repo, clock, domains, creds, other)


def assert_error(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_KEYS
    assert body["status"] == status and body["language"] == "en" and body["cid"]
    assert isinstance(body["timestamp"], int) and isinstance(body["msg"], str)
    if field is not None:
        assert body["context"]["field"] == field
    return body


def assert_shape(obj: dict[str, Any], fields: dict[str, type | tuple[type, ...] | None]) -> None:
    assert set(obj) == set(fields)
    for name, kind in fields.items():
        if kind is None:
            assert obj[name] is None, name
        else:
            assert isinstance(obj[name], kind), name


# -- list -----------------------------------------------------------------------------------------


async def test_list_answers_alert_extended_objects(env: Env) -> None:
    alert_id = env.fire("a", NOW - HOUR)
    response = await env.call("GET", "list", WINDOW)
    assert response.status_code == 200
    (alert,) = response.json()
    assert_shape(alert, EXTENDED_FIELDS)
    assert alert["id"] == alert_id and alert["domain"] == "self" and alert["priority"] == 7.0
    assert alert["alertDate"] == NOW - HOUR and alert["createDate"] == NOW
    assert json.loads(alert["extraData"])["srcIp"] == "10.0.0.1"
    assert alert["allExtraDataFields"] == {
        "srcIp": "10.0.0.1",
        "count": "40",
        "alertMitreTactics": "Discovery",
    }
    assert alert["alertMitreTactics"] == "Discovery" and alert["alertType"] is None
    assert alert["contexto"]["id"] == 12 and alert["contexto"]["name"] == "Port scan"
    assert alert["alertDefinition"]["id"] == "12"
    assert alert["alertOwner"] == alert["username"] == "soc@example.com"


async def test_list_filters_orders_and_pages(env: Env) -> None:
    old = env.fire("old", NOW - 3 * HOUR, priority=3.0)
    mid = env.fire("mid", NOW - 2 * HOUR, priority=10.0)
    new = env.fire("new", NOW - HOUR, priority=5.0)
    closed = env.fire("closed", NOW - HOUR, status=AlertStatus.CLOSED)
    outside = env.fire("outside", NOW + HOUR)

    async def listed(**params: str) -> list[int]:
        response = await env.call("GET", "list", {**WINDOW, **params})
        assert response.status_code == 200, response.text
        return [alert["id"] for alert in response.json()]

    assert await listed() == [new, mid, old]  # default: by alert date, newest first
    assert await listed(orderasc="true") == [old, mid, new]
    assert await listed(orderasc="TRUE", showAll="true") == [old, mid, new, closed]
    assert await listed(orderby="priority") == [mid, new, old]
    assert await listed(orderby="priority", orderasc="true") == [old, new, mid]
    assert await listed(orderby="srcPort", orderasc="false") == [new, mid, old]
    assert await listed(limit="1", offset="1") == [mid]
    assert await listed(**{"from": str(NOW - 2 * HOUR), "to": str(NOW - HOUR)}) == [mid]
    assert await listed(to=str(NOW + 2 * HOUR)) == [outside, new, mid, old]
    assert await listed(**{"from": str(NOW), "to": str(NOW)}) == []
    assert await listed(unknown="whatever", tags="x") == [new, mid, old]


@pytest.mark.parametrize("name", ["limit", "offset", "from", "to"])
async def test_list_requires_each_paging_parameter(env: Env, name: str) -> None:
    params = {key: value for key, value in WINDOW.items() if key != name}
    body = assert_error(await env.call("GET", "list", params), 400, name)
    assert name in body["msg"] and body["messageKey"] == "validation"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit", "ten"),
        ("limit", "0"),
        ("limit", "10001"),
        ("limit", "1.5"),
        ("limit", ""),
        ("offset", "-1"),
        ("offset", "99999999999999999999999"),
        ("from", "-5"),
        ("from", "2024-01-01"),
        ("to", "1e12"),
        ("to", " 5"),
        ("orderby", "eventdate"),
        ("orderby", "id desc"),
        ("orderby", ""),
        ("orderasc", "yes"),
        ("showAll", "1"),
    ],
)
async def test_list_refuses_bad_parameters(env: Env, name: str, value: str) -> None:
    assert_error(await env.call("GET", "list", {**WINDOW, name: value}), 400, name)


async def test_list_refuses_from_after_to(env: Env) -> None:
    params = {**WINDOW, "from": str(NOW), "to": str(NOW - 1)}
    assert_error(await env.call("GET", "list", params), 400, "from")


# -- get, updateStatus ----------------------------------------------------------------------------


async def test_get_answers_the_alert_or_404(env: Env) -> None:
    alert_id = env.fire("a", NOW)
    response = await env.call("GET", "get", {"id": str(alert_id), "tags": "true"})
    assert response.status_code == 200
    assert_shape(response.json(), EXTENDED_FIELDS)
    assert response.json()["id"] == alert_id
    also = await env.call("GET", "get", {"id": str(alert_id), "annotations": "false"})
    assert also.status_code == 200
    missing = assert_error(await env.call("GET", "get", {"id": str(alert_id + 1)}), 404)
    assert missing["messageKey"] == "not_found"


@pytest.mark.parametrize(
    "params",
    [{}, {"id": "abc"}, {"id": "0"}, {"id": "-2"}, {"id": "1" * 30}, {"id": "1", "tags": "maybe"}],
)
async def test_get_refuses_bad_parameters(env: Env, params: dict[str, str]) -> None:
    field = "tags" if "tags" in params else "id"
    assert_error(await env.call("GET", "get", params), 400, field)


async def test_update_status(env: Env) -> None:
    alert_id = env.fire("a", NOW - HOUR)
    env.clock.advance(60_000)
    response = await env.call("PUT", "updateStatus", {"id": str(alert_id), "status": "300"})
    assert response.status_code == 200
    body = response.json()
    assert_shape(body, ALERT_FIELDS)
    assert body["status"] == 300
    assert body["updateDate"] == body["ack_status_date"] == NOW + 60_000
    hidden = await env.call("GET", "list", WINDOW)
    assert hidden.json() == []
    shown = await env.call("GET", "list", {**WINDOW, "showAll": "true"})
    assert [alert["status"] for alert in shown.json()] == [300]
    unknown = {"id": str(alert_id + 5), "status": "1"}
    assert_error(await env.call("PUT", "updateStatus", unknown), 404)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "1"}, "id"),
        ({"id": "1"}, "status"),
        ({"id": "1", "status": "3"}, "status"),
        ({"id": "1", "status": "closed"}, "status"),
        ({"id": "1", "status": "-1"}, "status"),
    ],
)
async def test_update_status_refuses_bad_parameters(
    env: Env, params: dict[str, str], field: str
) -> None:
    env.fire("a", NOW)
    assert_error(await env.call("PUT", "updateStatus", params), 400, field)


# -- updateStatusList -----------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["[{0}, {1}]", "{0},{1}", "{0}\n {1}\t", '["{0}", "{1}"]'])
async def test_update_status_list_all_known(env: Env, layout: str) -> None:
    first, second = env.fire("a", NOW), env.fire("b", NOW)
    body = layout.format(first, second)
    response = await env.call("PUT", "updateStatusList", {"status": "100"}, content=body)
    assert response.status_code == 200
    assert response.json() == {"updated": [first, second]}
    statuses = (await env.call("GET", "listStatus")).json()
    assert statuses == {str(first): 100, str(second): 100}


async def test_update_status_list_with_unknown_ids(env: Env) -> None:
    known = env.fire("a", NOW)
    foreign = env.fire("b", NOW, domain="other")
    body = f"{known}, 424242, {foreign}"
    response = await env.call("PUT", "updateStatusList", {"status": "2"}, content=body)
    error = assert_error(response, 400)
    assert error["messageKey"] == "alerts.not_updated"
    assert error["context"] == {"updated": [known], "notUpdated": [424242, foreign]}
    # The known alert was updated; the other domain's was not touched.
    statuses = (await env.call("GET", "listStatus")).json()
    assert statuses == {str(known): 2}
    theirs = await env.call("GET", "listStatus", token=env.other.stand_alone_token)
    assert theirs.json() == {str(foreign): 0}


@pytest.mark.parametrize(
    "body",
    [
        "",
        "  \n",
        "[]",
        "1, two",
        "1;2",
        "[1, true]",
        "[1.5]",
        '{"ids": [1]}',
        "[1, 2",
        "[" * 100_000,
        "[" + "9" * 5000 + "]",
        b"\xff\xfe",
    ],
)
async def test_update_status_list_refuses_bad_bodies(env: Env, body: str | bytes) -> None:
    env.fire("a", NOW)
    response = await env.call("PUT", "updateStatusList", {"status": "1"}, content=body)
    assert_error(response, 400, "body")


async def test_update_status_list_refuses_large_bodies_and_bad_status(env: Env) -> None:
    alert_id = env.fire("a", NOW)
    huge = ",".join([str(alert_id)] * 600_000)
    response = await env.call("PUT", "updateStatusList", {"status": "1"}, content=huge)
    assert "larger" in assert_error(response, 413, "body")["msg"]

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"1," * 50_000

    # Without a Content-Length the limit applies while reading.
    streamed = await env.client.put(
        f"{BASE}/updateStatusList",
        params={"status": "1"},
        headers={"standAloneToken": env.creds.stand_alone_token},
        content=chunks(),
    )
    assert "larger" in assert_error(streamed, 413, "body")["msg"]
    bad = await env.call("PUT", "updateStatusList", {"status": "4"}, content=str(alert_id))
    assert_error(bad, 400, "status")
    missing = await env.call("PUT", "updateStatusList", content=str(alert_id))
    assert_error(missing, 400, "status")
    assert (await env.call("GET", "listStatus")).json() == {str(alert_id): 0}


# -- listStatus -----------------------------------------------------------------------------------


async def test_list_status_default_window_is_the_last_day(env: Env) -> None:
    env.fire("older", NOW - 25 * HOUR)
    day_edge = env.fire("edge", NOW - 24 * HOUR)
    recent = env.fire("recent", NOW - HOUR, status=AlertStatus.FALSE_POSITIVE)
    response = await env.call("GET", "listStatus")
    assert response.status_code == 200
    assert response.json() == {str(day_edge): 0, str(recent): 2}
    env.clock.advance(HOUR + 1)
    assert (await env.call("GET", "listStatus")).json() == {str(recent): 2}
    since = await env.call("GET", "listStatus", {"from": str(NOW - 30 * HOUR)})
    assert len(since.json()) == 3
    assert_error(await env.call("GET", "listStatus", {"from": "yesterday"}), 400, "from")


# -- authentication and isolation -----------------------------------------------------------------

ENDPOINTS = [
    ("GET", "list", WINDOW),
    ("GET", "get", {"id": "1"}),
    ("PUT", "updateStatus", {"id": "1", "status": "1"}),
    ("PUT", "updateStatusList", {"status": "1"}),
    ("GET", "listStatus", {}),
]


@pytest.mark.parametrize(("method", "endpoint", "params"), ENDPOINTS)
async def test_every_endpoint_requires_an_alerts_token(
    env: Env, method: str, endpoint: str, params: dict[str, str]
) -> None:
    alert_id = env.fire("a", NOW)
    assert alert_id == 1
    refused = [
        {},
        {"standAloneToken": "not-a-token"},
        {"standAloneToken": env.creds.token},  # an API token is not an ALERTS token
        {"Authorization": f"Bearer {env.creds.ingest_token}"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ]
    for headers in refused:
        response = await env.call(method, endpoint, params, headers=headers, content="1")
        assert_error(response, 401)
    assert env.repo.get("self", alert_id).status is AlertStatus.UNREAD
    bearer = {"Authorization": f"Bearer {env.creds.stand_alone_token}"}
    accepted = await env.call(method, endpoint, params, headers=bearer, content="1")
    assert accepted.status_code == 200, accepted.text


async def test_another_domain_sees_nothing(env: Env) -> None:
    alert_id = env.fire("a", NOW)
    token = env.other.stand_alone_token
    assert (await env.call("GET", "list", WINDOW, token=token)).json() == []
    assert_error(await env.call("GET", "get", {"id": str(alert_id)}, token=token), 404)
    change = {"id": str(alert_id), "status": "300"}
    assert_error(await env.call("PUT", "updateStatus", change, token=token), 404)
    bulk = await env.call(
        "PUT", "updateStatusList", {"status": "300"}, token=token, content=str(alert_id)
    )
    assert assert_error(bulk, 400)["context"] == {"updated": [], "notUpdated": [alert_id]}
    assert (await env.call("GET", "listStatus", token=token)).json() == {}
    assert env.repo.get("self", alert_id).status is AlertStatus.UNREAD


@pytest.mark.parametrize(
    "query",
    [
        "limit=%ZZ&offset=0&from=0&to=1",
        "limit=1&limit=x&offset=0&from=0&to=1",
        "limit=1&offset=0&from=0&to=1&orderby=%00",
        "limit=1&offset=0&from=0&to=1&orderasc=%FF",
        "limit=\u00e9&offset=&from&to=1",
        "id=%F0%9F%98%80&status=%27%3B--",
        "from=99999999999999999999&id=9223372036854775808",
        "&&&=&==",
    ],
)
async def test_garbage_query_strings_never_fail_the_server(env: Env, query: str) -> None:
    env.fire("a", NOW)
    headers = {"standAloneToken": env.creds.stand_alone_token}
    for method, endpoint, _ in ENDPOINTS:
        response = await env.client.request(
            method, f"{BASE}/{endpoint}?{query}", headers=headers, content="1"
        )
        assert response.status_code < 500, (endpoint, response.text)
        if response.status_code != 200:
            assert_error(response, response.status_code)
