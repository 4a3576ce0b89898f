"""Every HTTP request a delivery method makes, pinned as it leaves linqd: the transport's client
is one over ``httpx.MockTransport``, so the method, URL, headers and body are seen exactly,
with no receiver in between. (The real receivers of test_dispatcher.py and test_delco.py keep
testing the wire; the e-mail method is pinned there against aiosmtpd.)

The expected payloads are written out in full, by hand, from spec/alerts.md §8.4 and the
fixtures' alert: every key, in order."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from linqd.alerts.delivery import (
    AntiFlooding,
    ContentType,
    DeliveryStatus,
    FloodMode,
    Transport,
)
from linqd.alerts.model import TriggeredAlert
from linqd.api.app import api_app
from linqd.api.delco import DelcoAPI
from linqd.clock import SimulatedClock
from linqd.domains import DomainStore
from linqd.meta import MetaStore

from .conftest import DOMAIN, NOW, World, definition, settle

# No address is ever reached: the mock answers in place of the network.
HOOK = "https://hooks.example.com/linqd?team=blue"
MINUTE = 60_000


@dataclass(frozen=True)
class Sent:
    """A request as it left: httpx's auth flows send one Request object again, changed."""

    method: str
    url: str
    headers: httpx.Headers
    content: bytes


class Outbox:
    """What the mock transports were sent, in order; each request is answered by ``answer``."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[Sent] = []
        self.answer = answer or (lambda request: httpx.Response(200, text="ok"))
        self._lock = threading.Lock()
        self.clients: list[httpx.Client] = []

    def _handle(self, request: httpx.Request) -> httpx.Response:
        sent = Sent(request.method, str(request.url), request.headers.copy(), request.read())
        with self._lock:
            self.requests.append(sent)
        return self.answer(request)

    def transport(self) -> Transport:
        client = httpx.Client(transport=httpx.MockTransport(self._handle))
        self.clients.append(client)
        return Transport(None, client)


def alert_payload(alert: TriggeredAlert) -> list[tuple[str, Any]]:
    """The conftest alert (World.alert) as Devo's HTTP-JSON delivery carries it."""
    return [
        ("id", str(alert.id)),
        ("domain", "acme"),
        ("priority", "3.0"),
        ("context", "my.alert.acme.Login_failures"),
        ("srcIp", ""),
        ("dstIp", ""),
        ("srcPort", ""),
        ("dstPort", ""),
        ("category", "my"),
        ("protocol", ""),
        ("username", "ops@example.com"),
        ("application", ""),
        ("status", "0"),
        ("creation_date", "Fri Jan 15 08:00:00 UTC 2027"),
        ("ack_status_date", None),
        ("digest", alert.digest),
        ("scaled", "false"),
        ("srcHost", ""),
        ("dstHost", ""),
        (
            "extraData",
            '{"user": "alice+smith", "count": "12", '
            '"eventdate": "2027-01-15+08%3A00%3A00.000", "x": "null"}',
        ),
        ("alertName", "Login failures"),
        ("message", "Too many failures for alice"),
        ("description", "Brute force & more"),
        ("alertUrl", f"http://linqd.test:8080/alerts/v1/alerts/get?id={alert.id}"),
    ]


def items(body: bytes) -> list[tuple[str, Any]]:
    """A JSON object's members in the order they were sent."""
    decoded: list[tuple[str, Any]] = json.loads(body, object_pairs_hook=list)
    return decoded


def deliver(world: World, outbox: Outbox, **config: Any) -> tuple[Sent, TriggeredAlert]:
    world.policy(world.http(HOOK, **config))
    dispatcher = world.dispatcher(transports=outbox.transport)
    alert = world.alert(definition())
    dispatcher.submit(alert, definition())
    settle(dispatcher)
    (delivery,) = world.deliveries()
    assert delivery.status is DeliveryStatus.DELIVERED, delivery.last_error
    (request,) = outbox.requests
    return request, alert


def test_json_method(world: World) -> None:
    outbox = Outbox()
    request, alert = deliver(world, outbox, headers=(("X-Team", "blue"), ("X-Token", "t0k")))
    assert request.method == "POST"
    assert request.url == HOOK
    body = request.content
    assert body == json.dumps(dict(alert_payload(alert)), separators=(",", ":")).encode()
    assert items(body) == alert_payload(alert)
    assert dict(request.headers) == {
        "host": "hooks.example.com",
        "accept": "*/*",
        "accept-encoding": "gzip, deflate",
        "connection": "keep-alive",
        "user-agent": "linqd-delivery/1",
        "x-team": "blue",
        "x-token": "t0k",
        "content-type": "application/json",
        "content-length": str(len(body)),
        # The firing's digest: the same on every attempt, whichever node makes it.
        "idempotency-key": alert.digest,
    }


def test_form_method(world: World) -> None:
    outbox = Outbox()
    request, alert = deliver(world, outbox, content_type=ContentType.FORM)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.content.startswith(b"json=%7B%22id%22%3A%22")
    form = parse_qs(request.content.decode("ascii"), strict_parsing=True)
    assert list(form) == ["json"]
    (text,) = form["json"]
    assert items(text.encode()) == alert_payload(alert)


def test_a_custom_header_in_another_case_does_not_double_linqds_own(world: World) -> None:
    # Validation refuses the reserved names (Content-Type, Accept...) but not User-Agent.
    outbox = Outbox()
    request, _ = deliver(world, outbox, headers=(("user-agent", "curl/8"),))
    assert request.headers.get_list("user-agent") == ["linqd-delivery/1"]


def test_digest_credentials_answer_the_challenge(world: World) -> None:
    def challenge(request: httpx.Request) -> httpx.Response:
        if "authorization" in request.headers:
            return httpx.Response(200)
        digest = 'Digest realm="hooks", nonce="abc123", qop="auth", algorithm=MD5'
        return httpx.Response(401, headers={"WWW-Authenticate": digest})

    outbox = Outbox(challenge)
    world.policy(world.http(HOOK, username="bob", password="s3cr3t-pw"))
    dispatcher = world.dispatcher(transports=outbox.transport)
    dispatcher.submit(world.alert(definition()), definition())
    settle(dispatcher)
    first, second = outbox.requests
    assert "authorization" not in first.headers
    authorization = second.headers["authorization"]
    assert authorization.startswith('Digest username="bob", realm="hooks", nonce="abc123", ')
    assert 'uri="/linqd?team=blue"' in authorization
    assert "s3cr3t-pw" not in authorization
    assert first.content == second.content
    assert [d.status for d in world.deliveries()] == [DeliveryStatus.DELIVERED]


def test_reminder(world: World) -> None:
    one_a_minute = AntiFlooding(
        FloodMode.CUSTOM, max_alerts=1, period_ms=MINUTE, reminder_after_ms=MINUTE
    )
    world.policy(world.http(HOOK), anti_flooding=one_a_minute)
    outbox = Outbox()
    dispatcher = world.dispatcher(transports=outbox.transport)
    alerts = []
    for _ in range(3):  # at 08:00:00, 08:00:01 and 08:00:02; the last two are held back
        alerts.append(world.alert(definition()))
        dispatcher.submit(alerts[-1], definition())
        world.clock.advance(1_000)
    settle(dispatcher)
    world.clock.now = NOW + MINUTE
    dispatcher.tick()
    settle(dispatcher)
    assert len(outbox.requests) == 2
    last = alerts[2]
    expected = dict(alert_payload(last))
    expected.update(
        status="500",
        creation_date="Fri Jan 15 08:00:02 UTC 2027",
        message=(
            "Reminder: anti-flooding held back 2 alert(s) of Login failures between "
            "Fri Jan 15 08:00:01 UTC 2027 and Fri Jan 15 08:00:02 UTC 2027"
        ),
        suppressedCount="2",
    )
    assert items(outbox.requests[1].content) == list(expected.items())


def test_every_worker_closes_its_client(world: World) -> None:
    outbox = Outbox()
    world.dispatcher(transports=outbox.transport, workers=3)
    world.dispatchers.pop().close()
    assert len(outbox.clients) == 3
    assert all(client.is_closed for client in outbox.clients)


# -- validation codes ------------------------------------------------------------------------------


@pytest.fixture
async def delco(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Outbox]]:
    clock = SimulatedClock(NOW)
    meta = MetaStore(tmp_path / "delco.sqlite")
    token = DomainStore(meta, clock).create_domain(DOMAIN).stand_alone_token
    outbox = Outbox()
    api = DelcoAPI(DomainStore(meta, clock), clock, None, transports=outbox.transport)
    app = api_app(api.routes(), clock)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://linqd",
            headers={"standAloneToken": token},
        ) as client:
            yield client, outbox
    finally:
        meta.close()


@pytest.mark.anyio
@pytest.mark.parametrize("content_type", [ContentType.JSON, ContentType.FORM])
async def test_validation_code(
    delco: tuple[httpx.AsyncClient, Outbox], content_type: ContentType
) -> None:
    client, outbox = delco
    config = {"url": HOOK, "contentType": content_type.value, "headers": {"X-Team": "blue"}}
    body = {"name": "hook", "type": "httpjson", "config": config}
    method = (await client.post("/delco/methods", json=body)).json()
    sent = await client.post(f"/delco/methods/{method['id']}/send-validation-code")
    assert sent.status_code == 200, sent.text
    (request,) = outbox.requests
    assert request.method == "POST"
    assert request.url == HOOK
    assert request.headers["content-type"] == content_type.value
    assert request.headers["user-agent"] == "linqd-delivery/1"
    assert request.headers["x-team"] == "blue"
    text = request.content
    if content_type is ContentType.FORM:
        (value,) = parse_qs(text.decode("ascii"), strict_parsing=True)["json"]
        text = value.encode()
    (code_item, domain_item) = items(text)
    assert code_item[0] == "code" and code_item[1].isdigit() and len(code_item[1]) == 8
    assert domain_item == ("domain", DOMAIN)
    assert all(client.is_closed for client in outbox.clients)
