"""The Alerts API's OpenAPI document is served, describes every route, and every operation,
fuzzed from it with schemathesis (valid and invalid inputs), never answers a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from starlette.applications import Starlette
from starlette.routing import Route

from anystore import STORES
from linqd.alerts.delivery import (
    HttpJsonConfig,
    MethodInput,
    MethodRepository,
    MethodType,
    PolicyInput,
    PolicyRepository,
)
from linqd.alerts.model import TriggeredAlert
from linqd.alerts.triggered import TriggeredAlertRepository
from linqd.api.app import create_app
from linqd.api.openapi import openapi_document
from linqd.clock import SimulatedClock
from linqd.config import Settings
from linqd.datadir import open_data_dir
from linqd.domains import DomainStore

NOW = 1_800_000_000_000
DOCUMENT = "/alerts/v1/openapi.json"


class Fuzzed:
    def __init__(self, tmp: Path, store: str) -> None:
        clock = SimulatedClock(NOW)
        self.data = open_data_dir(tmp / "data", clock, store=store)
        domains = DomainStore(self.data.meta, clock)
        self.token = domains.create_domain("fuzz").stand_alone_token
        self.app = create_app(Settings(data_dir=self.data.path), self.data.store, domains, clock)
        # Something for the delivery operations' ids to find: method 1 (a receiver nobody
        # listens on) and policy 1.
        refused = HttpJsonConfig(url="http://127.0.0.1:9/", timeout_ms=200)
        method = MethodRepository(self.data.meta, clock).create(
            "fuzz", MethodInput("m", MethodType.HTTPJSON, refused)
        )
        PolicyRepository(self.data.meta, clock).create(
            "fuzz", PolicyInput("p", methods=(method.id,))
        )
        alerts = TriggeredAlertRepository(self.data.meta, clock)
        for n in range(3):
            alerts.insert(
                TriggeredAlert(
                    domain="fuzz",
                    definition_id="1",
                    digest=f"d{n}",
                    alert_date=NOW - n * 1000,
                    priority=5.0,
                    context="my.alert.fuzz.rule",
                    alert_name="rule",
                    subcategory="lib.my.fuzz.tests",
                    username="",
                    message="m",
                    description="d",
                    extra_data={"n": str(n)},
                )
            )


@pytest.fixture(scope="module", params=list(STORES))
def fuzzed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fuzzed]:
    target = Fuzzed(tmp_path_factory.mktemp("fuzz"), STORES[request.param])
    yield target
    target.data.close()


@pytest.fixture(scope="module")
def alerts_schema(fuzzed: Fuzzed) -> Any:
    return schemathesis.openapi.from_asgi(DOCUMENT, fuzzed.app)


OPERATIONS = [
    operation["operationId"]
    for methods in openapi_document()["paths"].values()
    for operation in methods.values()
]


# Schemathesis's own pytest plugin does not run under pytest 9 yet; its strategies do.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_no_operation_answers_a_server_error(
    alerts_schema: Any, fuzzed: Fuzzed, operation_id: str, mode: GenerationMode
) -> None:
    operation = alerts_schema.find_operation_by_id(operation_id)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=30,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        response = case.call(headers={"standAloneToken": fuzzed.token})
        case.validate_response(response, checks=(not_a_server_error,))

    fuzz()


def test_the_document_covers_every_alerts_route(fuzzed: Fuzzed) -> None:
    transport = httpx.ASGITransport(app=fuzzed.app)

    async def fetch() -> dict[str, Any]:
        async with httpx.AsyncClient(transport=transport, base_url="http://linqd") as client:
            answer = await client.get(DOCUMENT)
            assert answer.status_code == 200
            document: dict[str, Any] = answer.json()
            return document

    import anyio

    document = anyio.run(fetch)
    assert isinstance(fuzzed.app, Starlette)
    served = {
        (route.path, method.lower())
        for route in fuzzed.app.routes
        if isinstance(route, Route) and route.path.startswith(("/alerts/v1/", "/delco/"))
        for method in (route.methods or ()) - {"HEAD"}
    } - {(DOCUMENT, "get")}
    described = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert served == described
