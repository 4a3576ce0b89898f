"""From event to receiver: events sent with devo-sdk's Sender to the syslog collector, stored,
evaluated by the running engine, and delivered by the running dispatcher to a local webhook
(Devo's HTTP-JSON payload) and by mail (aiosmtpd); methods, their validation codes, the
sending policy and the definition all set up through the HTTP APIs."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from devo.sender import Sender, SenderConfigTCP

from linqd.alerts.delivery import Dispatcher
from linqd.alerts.engine import AlertEngine
from linqd.alerts.service import AlertServices
from linqd.api.app import create_app
from linqd.clock import SystemClock
from linqd.config import Settings
from linqd.datadir import open_data_dir
from linqd.domains import DomainStore
from linqd.ingest.collector import CollectorConfig, SyslogCollector
from linqd.ingest.pipeline import IngestPipeline
from linqd.sinks.email import SmtpSettings

from .conftest import LOCAL, Collector, Receiver

pytestmark = pytest.mark.anyio

TABLE = "my.app.checkout"
WAIT_S = 20.0


@dataclass
class Server:
    client: httpx.AsyncClient
    syslog_port: int

    async def ok(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        answer = await self.client.request(method, path, json=body, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture
async def server(
    tmp_path: Path, smtp: tuple[Collector, SmtpSettings], store_spec: str
) -> AsyncIterator[Server]:
    clock = SystemClock()
    data = open_data_dir(tmp_path / "data", clock, store=store_spec)
    domains = DomainStore(data.meta, clock)
    token = domains.create_domain("self").stand_alone_token
    data.store.append(
        TABLE,
        {"hostname": ["seed"], "message": ["seed"]},
        client="self",
        eventdates=[clock.now_ms() - 86_400_000],
    )
    pipeline = IngestPipeline(data.store, clock, flush_interval_s=0.05)
    collector = SyslogCollector(
        CollectorConfig(port=0, tls_port=None), pipeline, clock, lambda cn: None
    ).start()
    alerts = AlertServices.over(data.meta, clock)
    dispatcher = Dispatcher(data.meta, clock, alerts.triggered, smtp[1], outbound=LOCAL)
    dispatcher.start()
    alerts.engine = AlertEngine(
        data.store,
        alerts.definitions,
        alerts.triggered,
        clock,
        dispatcher=dispatcher,
        tick_s=0.05,
    ).start()
    app = create_app(
        Settings(data_dir=data.path, outbound_allow=("127.0.0.1",)),
        data.store,
        domains,
        clock,
        pipeline,
        alerts=alerts,
        smtp=smtp[1],
    )
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://linqd", headers={"standAloneToken": token}
        ) as client:
            yield Server(client, collector.ports["tcp"])
    finally:
        collector.stop()
        pipeline.close()
        alerts.engine.close()
        dispatcher.close()
        data.close()


async def test_an_event_reaches_the_webhook_and_the_mailbox(
    server: Server, receiver: Receiver, smtp: tuple[Collector, SmtpSettings]
) -> None:
    mailbox = smtp[0]
    hook = await server.ok(
        "POST",
        "/delco/methods",
        {
            "name": "hook",
            "type": "httpjson",
            "config": {"url": receiver.url("/hook"), "headers": {"X-Team": "ops"}},
        },
    )
    await server.ok("POST", f"/delco/methods/{hook['id']}/send-validation-code")
    code = json.loads(receiver.wait_for(1, "/hook")[0].body)["code"]
    await server.ok("POST", f"/delco/methods/{hook['id']}/validate", {"code": code})
    mail = await server.ok(
        "POST",
        "/delco/methods",
        {"name": "mail", "type": "email", "config": {"email": "oncall@example.com"}},
    )
    await server.ok("POST", f"/delco/methods/{mail['id']}/send-validation-code")
    found = re.search(r"\b(\d{8})\b", mailbox.wait_for(1)[0].get_content())
    assert found is not None
    await server.ok("POST", f"/delco/methods/{mail['id']}/validate", {"code": found.group(1)})
    policy = await server.ok(
        "POST",
        "/alerts/v1/sendingPolicies",
        {"name": "ops", "methods": [hook["id"], mail["id"]]},
    )
    definition = await server.ok(
        "POST",
        "/alerts/v1/alertDefinitions",
        {
            "name": "Payment failed",
            "subcategory": "checkout",
            "message": "payment failed on $hostname",
            "description": "$message",
            "alertCorrelationContext": {
                "querySourceCode": f'from {TABLE} where message -> "payment failed"',
                "priority": 7,
                "correlationTrigger": {"kind": "each"},
            },
            "actionPolicyId": [policy["id"]],
        },
    )
    sender = Sender(SenderConfigTCP(address=("127.0.0.1", server.syslog_port)))
    try:
        sender.send(tag=TABLE, msg="order 1 ok", hostname="web-1")
        sender.send(tag=TABLE, msg="order 2 payment failed: card declined", hostname="web-2")
    finally:
        sender.close()
    (delivered,) = receiver.wait_for(2, "/hook", timeout=WAIT_S)[1:]
    assert delivered.headers["content-type"].startswith("application/json")
    assert delivered.headers["x-team"] == "ops"
    payload = json.loads(delivered.body)
    # The same on every attempt and from any node: a receiver can drop a repeat.
    assert delivered.headers["idempotency-key"] == payload["digest"]
    assert payload["context"] == "my.alert.self.Payment_failed"
    assert payload["priority"] == "7.0" and payload["status"] == "0"
    assert payload["message"] == "payment failed on web-2"
    assert len(payload["digest"]) == 40
    extra = json.loads(payload["extraData"])
    assert extra["hostname"] == "web-2"
    assert extra["message"] == "order+2+payment+failed%3A+card+declined"  # URL-encoded values
    (_, alert_mail) = mailbox.wait_for(2, timeout=WAIT_S)
    assert alert_mail["To"] == "oncall@example.com"
    assert "Payment failed" in alert_mail["Subject"]
    assert "card declined" in alert_mail.get_content()
    # the alert is in the triggered-alerts API and each delivery is on record
    (alert,) = await server.ok(
        "GET", "/alerts/v1/alerts/list", **{"from": 0, "to": 2**41, "limit": 10, "offset": 0}
    )
    assert alert["context"] == payload["context"] and alert["status"] == 0
    deliveries = await server.ok("GET", "/alerts/v1/deliveries", alertId=alert["id"])
    assert sorted(d["status"] for d in deliveries) == ["delivered", "delivered"]
    assert definition["actionPolicyId"] == [policy["id"]]
