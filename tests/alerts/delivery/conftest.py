"""For delivery tests: real receivers on 127.0.0.1 (the HTTP receiver of ``tests/receiver.py``;
an aiosmtpd server), and a ``World`` of metadata, clock, methods, policies, alerts and
dispatchers. Tests whose point is the metadata (planning, claims, retries) run on SQLite and
PostgreSQL; the others on SQLite."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from linqd.alerts.delivery import (
    AntiFlooding,
    Delivery,
    DeliveryMethod,
    DeliveryOutbox,
    Dispatcher,
    FloodMode,
    HttpJsonConfig,
    MethodConfig,
    MethodInput,
    MethodRepository,
    PolicyInput,
    PolicyRepository,
    SendingPolicy,
)
from linqd.alerts.delivery.model import type_of
from linqd.alerts.model import (
    AlertDefinition,
    AlertStatus,
    DefinitionInput,
    Trigger,
    TriggeredAlert,
    TriggerKind,
)
from linqd.alerts.triggered import TriggeredAlertRepository
from linqd.clock import SimulatedClock
from linqd.meta import MetaStore
from linqd.outbound import OutboundPolicy
from linqd.sinks.email import SmtpSettings
from receiver import Receiver, serving

# The receivers listen on 127.0.0.1, which the outbound policy denies by default: dispatchers
# here allow that one address, as an operator would with `serve --outbound-allow 127.0.0.1`.
LOCAL = OutboundPolicy.parse(allow=["127.0.0.1"])
NOW = 1_800_000_000_000  # Fri Jan 15 08:00:00 UTC 2027
HOUR = 3_600_000
DOMAIN = "acme"
EXTRA = {"user": "alice smith", "count": 12, "eventdate": "2027-01-15 08:00:00.000", "x": None}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as server:
        yield server


@dataclass
class Collector:
    """An aiosmtpd handler that keeps every accepted message."""

    messages: list[EmailMessage] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.cond:
            self.messages.append(message)
            self.cond.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.messages) >= count, timeout)
            assert len(self.messages) >= count
            return list(self.messages)


class AnyPortController(Controller):
    """aiosmtpd's Controller on port 0: it learns the port the OS chose before its probe."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def smtp() -> Iterator[tuple[Collector, SmtpSettings]]:
    handler = Collector()
    controller = AnyPortController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield handler, SmtpSettings(port=controller.port, sender="alerts@example.com")
    finally:
        controller.stop()


# -- the world ------------------------------------------------------------------------------------


@dataclass
class World:
    meta: MetaStore
    clock: SimulatedClock
    triggered: TriggeredAlertRepository
    smtp: SmtpSettings | None = None
    dispatchers: list[Dispatcher] = field(default_factory=list)
    digests: int = 0

    @property
    def methods(self) -> MethodRepository:
        return MethodRepository(self.meta, self.clock)

    @property
    def policies(self) -> PolicyRepository:
        return PolicyRepository(self.meta, self.clock)

    def dispatcher(self, *, start: bool = True, **options: Any) -> Dispatcher:
        options.setdefault("backoff_ms", (1_000, 5_000))
        options.setdefault("base_url", "http://linqd.test:8080")
        options.setdefault("outbound", LOCAL)
        dispatcher = Dispatcher(self.meta, self.clock, self.triggered, self.smtp, **options)
        self.dispatchers.append(dispatcher)
        if start:
            dispatcher.start()
        return dispatcher

    def method(
        self, config: MethodConfig, *, validated: bool = True, name: str = "hook"
    ) -> DeliveryMethod:
        method = self.methods.create(DOMAIN, MethodInput(name, type_of(config), config))
        if validated:
            _, code = self.methods.start_validation(DOMAIN, method.id)
            method = self.methods.validate(DOMAIN, method.id, code)
        return method

    def http(self, url: str, **config: Any) -> DeliveryMethod:
        return self.method(HttpJsonConfig(url=url, **config))

    def policy(self, *methods: DeliveryMethod, **spec: Any) -> SendingPolicy:
        spec.setdefault("name", f"policy {len(self.policies.listing(DOMAIN))}")
        spec.setdefault("anti_flooding", AntiFlooding(FloodMode.NONE))
        return self.policies.create(
            DOMAIN, PolicyInput(methods=tuple(m.id for m in methods), **spec)
        )

    def alert(self, definition: AlertDefinition, **changes: Any) -> TriggeredAlert:
        self.digests += 1
        values: dict[str, Any] = {
            "domain": definition.domain,
            "definition_id": definition.id,
            "digest": f"{self.digests:040x}",
            "alert_date": self.clock.now_ms() - 5_000,
            "priority": 3.0,
            "context": definition.name_id,
            "alert_name": definition.name,
            "subcategory": f"lib.my.{DOMAIN}.tests",
            "username": definition.owner_email,
            "message": "Too many failures for alice",
            "description": "Brute force & more",
            "extra_data": EXTRA,
        }
        values.update(changes)
        stored = self.triggered.insert(TriggeredAlert(**values))
        assert stored is not None
        return stored

    def deliveries(self, **filters: Any) -> list[Delivery]:
        return DeliveryOutbox(self.meta).listing(DOMAIN, **filters)

    def status(self, alert: TriggeredAlert) -> AlertStatus:
        return self.triggered.get(alert.domain, alert.id).status


def definition(*policy_ids: str, name: str = "Login failures", id_: str = "7") -> AlertDefinition:
    spec = DefinitionInput(
        name=name,
        subcategory="tests",
        query="from siem.logtrust.web.activity select *",
        priority=3,
        trigger=Trigger(TriggerKind.EACH),
        action_policy_ids=tuple(policy_ids),
    )
    return AlertDefinition(id_, DOMAIN, "1", "1", NOW, NOW, "ops@example.com", spec)


@pytest.fixture
def world(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[World]:
    """Metadata in a SQLite file; also in PostgreSQL for tests that use ``meta_target``
    (``pytest.mark.usefixtures("meta_target")``)."""
    clock = SimulatedClock(NOW)
    meta = MetaStore(
        request.getfixturevalue("meta_target")
        if "meta_target" in request.fixturenames
        else tmp_path / "meta.sqlite"
    )
    state = World(meta, clock, TriggeredAlertRepository(meta, clock))
    try:
        yield state
    finally:
        for dispatcher in state.dispatchers:
            dispatcher.close()
        meta.close()


def settle(dispatcher: Dispatcher) -> None:
    assert dispatcher.wait_idle(10.0)
