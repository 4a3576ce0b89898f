"""The vendor delivery methods (slack, pagerduty, jira, servicenow, pushover) through
/delco/methods in-process: create, list, get, update and delete with their secrets never shown
and kept by updates that leave them out or send the mask back, Devo's error shape for every
refused field, and send-validation-code against a real receiver standing in for each vendor,
then validate."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from linqd.alerts.delivery import MethodRepository
from linqd.api.app import api_app
from linqd.api.delco import DelcoAPI
from linqd.clock import SimulatedClock
from linqd.domains import DomainStore
from linqd.meta import MetaStore
from linqd.outbound import OutboundPolicy
from receiver import Receiver, serving
from vendor_secrets import (
    APP_TOKEN,
    JIRA_TOKEN,
    ROUTING_KEY,
    SECRETS,
    SLACK_TOKEN,
    SN_PASSWORD,
    USER_KEY,
)

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000_000
DOMAIN = "acme"
METHODS = "/delco/methods"
ERROR_KEYS = {"code", "msg", "status", "timestamp", "cid", "context", "messageKey", "language"}
TYPES = ["slack", "pagerduty", "jira", "servicenow", "pushover"]


@dataclass
class Env:
    client: httpx.AsyncClient
    meta: MetaStore
    clock: SimulatedClock
    receiver: Receiver
    answers: list[str] = field(default_factory=list)

    async def call(self, verb: str, path: str, body: Any = None) -> httpx.Response:
        response = await self.client.request(verb, path, json=body)
        self.answers.append(response.text)
        return response

    async def ok(self, verb: str, path: str, body: Any = None) -> Any:
        response = await self.call(verb, path, body)
        assert response.status_code == 200, response.text
        return response.json()

    async def error(self, verb: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await self.call(verb, path, body)
        assert response.status_code == 400, response.text
        answer: dict[str, Any] = response.json()
        assert set(answer) == ERROR_KEYS
        return answer

    def stored(self, method_id: int) -> dict[str, Any]:
        config = MethodRepository(self.meta, self.clock).get(DOMAIN, method_id).config
        return config.to_json(with_secret=True)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    clock = SimulatedClock(NOW)
    meta = MetaStore(tmp_path / "meta.sqlite")
    domains = DomainStore(meta, clock)
    token = domains.create_domain(DOMAIN).stand_alone_token
    # The receiver is on 127.0.0.1: allowed as `serve --outbound-allow 127.0.0.1` would.
    local = OutboundPolicy.parse(allow=["127.0.0.1"])
    app = api_app(DelcoAPI(domains, clock, None, outbound=local).routes(), clock)
    transport = httpx.ASGITransport(app=app)
    try:
        with serving() as receiver:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://linqd", headers={"standAloneToken": token}
            ) as client:
                yield Env(client, meta, clock, receiver)
    finally:
        meta.close()


@dataclass(frozen=True)
class Case:
    given: dict[str, Any]  # the config created
    shown: dict[str, Any]  # as the API shows it
    moved: dict[str, Any]  # a change of where alerts go


def case(kind: str, receiver: Receiver) -> Case:
    timeout = {"timeoutMs": 10_000}
    if kind == "slack":
        url = receiver.url(f"/services/T0001/B0002/{SLACK_TOKEN}")
        return Case(
            {"webhookUrl": url},
            {"webhookUrl": receiver.url("/******"), **timeout},
            {"webhookUrl": url + "x"},
        )
    if kind == "pagerduty":
        given = {
            "routingKey": ROUTING_KEY,
            "eventsUrl": receiver.url("/v2/enqueue"),
            "severity": "CRITICAL",
            "source": "siem",
        }
        shown = {**given, "routingKey": "******", "severity": "critical", **timeout}
        return Case(given, shown, {"routingKey": "X" * 32})
    if kind == "jira":
        given = {
            "url": receiver.url("/jira"),
            "username": "ops@example.com",
            "apiToken": JIRA_TOKEN,
            "projectKey": "ops",
            "labels": ["linqd"],
        }
        shown = {
            **given,
            "apiToken": "******",
            "projectKey": "OPS",
            "issueType": "Task",
            "priority": None,
            **timeout,
        }
        return Case(given, shown, {"projectKey": "SEC"})
    if kind == "servicenow":
        given = {
            "url": receiver.url("/sn"),
            "username": "linqd",
            "password": SN_PASSWORD,
            "urgency": 1,
        }
        shown = {
            **given,
            "password": "******",
            "impact": None,
            "callerId": None,
            "assignmentGroup": None,
            **timeout,
        }
        return Case(given, shown, {"url": receiver.url("/sn2")})
    given = {"userKey": USER_KEY, "appToken": APP_TOKEN, "apiUrl": receiver.url("/po")}
    shown = {
        **given,
        "userKey": "******",
        "appToken": "******",
        "priority": 0,
        "device": None,
        "sound": None,
        **timeout,
    }
    return Case(given, shown, {"userKey": "Y" * 30})


@pytest.mark.parametrize("kind", TYPES)
async def test_crud_never_shows_a_secret_and_keeps_it_through_updates(env: Env, kind: str) -> None:
    given = case(kind, env.receiver)
    created = await env.ok(
        "POST", METHODS, {"name": "n", "type": kind, "config": given.given, "unknown": 1}
    )
    assert created == {
        "id": created["id"],
        "name": "n",
        "type": kind,
        "status": False,
        "config": given.shown,
    }
    one = f"{METHODS}/{created['id']}"
    assert await env.ok("GET", one) == created
    assert await env.ok("GET", f"{METHODS}?type={kind}") == [created]
    stored = env.stored(created["id"])
    secrets = {k: v for k, v in stored.items() if any(s in str(v) for s in SECRETS)}
    assert secrets  # stored as given
    _, code = MethodRepository(env.meta, env.clock).start_validation(DOMAIN, created["id"])
    MethodRepository(env.meta, env.clock).validate(DOMAIN, created["id"], code)
    # An update that leaves the secrets out, or sends back what it was shown, keeps them.
    renamed = await env.ok("PUT", one, {"name": "renamed", "config": {"timeoutMs": 2_000}})
    assert (renamed["name"], renamed["config"]["timeoutMs"], renamed["status"]) == (
        "renamed",
        2_000,
        True,
    )
    again = await env.ok("PUT", one, {"config": created["config"]})
    assert again["status"] is True  # the same target
    assert {k: env.stored(created["id"])[k] for k in secrets} == secrets
    # Moving the method makes it pending again.
    moved = await env.ok("PUT", one, {"config": given.moved})
    assert moved["status"] is False
    assert await env.ok("DELETE", one) == {"id": created["id"], "deleted": True}
    assert all(secret not in text for text in env.answers for secret in SECRETS)


def body(kind: str, **config: Any) -> dict[str, Any]:
    return {"name": "x", "type": kind, "config": config}


JIRA = {"url": "https://acme.atlassian.net", "username": "u", "apiToken": "t", "projectKey": "OPS"}
SN = {"url": "https://acme.service-now.com", "username": "u", "password": "p"}
PO = {"userKey": USER_KEY, "appToken": APP_TOKEN}


@pytest.mark.parametrize(
    ("sent", "field_", "words"),
    [
        (body("slack"), "config.webhookUrl", "required"),
        (body("slack", webhookUrl="ftp://hooks.slack.com/x"), "config.webhookUrl", "http"),
        (
            body("slack", webhookUrl="http://169.254.169.254/latest/"),
            "config.webhookUrl",
            "not allowed for outbound connections",
        ),
        (body("slack", webhookUrl="https://h/", timeoutMs=60_001), "config.timeoutMs", "between"),
        (body("pagerduty"), "config.routingKey", "required"),
        (body("pagerduty", routingKey="short"), "config.routingKey", "32-character"),
        (
            body("pagerduty", routingKey=ROUTING_KEY, severity="panic"),
            "config.severity",
            "must be one of critical, error, warning, info",
        ),
        (
            body("pagerduty", routingKey=ROUTING_KEY, source="x" * 256),
            "config.source",
            "at most 255",
        ),
        (body("jira", **{**JIRA, "apiToken": ""}), "config.apiToken", "required"),
        (body("jira", **{**JIRA, "projectKey": "1OPS"}), "config.projectKey", "project key"),
        (body("jira", **{**JIRA, "url": "https://j/?a=1"}), "config.url", "base URL"),
        (body("jira", **{**JIRA, "labels": ["two words"]}), "config.labels", "without spaces"),
        (body("jira", **{**JIRA, "labels": ["l"] * 21}), "config.labels", "at most 20"),
        (body("jira", **{**JIRA, "issueType": "x" * 256}), "config.issueType", "at most 255"),
        (body("servicenow", **{**SN, "urgency": 4}), "config.urgency", "between 1 and 3"),
        (body("servicenow", **{**SN, "impact": "1"}), "config.impact", "integer"),
        (body("servicenow", url=SN["url"], username="u"), "config.password", "required"),
        (body("pushover", **{**PO, "userKey": "u" * 29}), "config.userKey", "30 letters"),
        (body("pushover", **{**PO, "priority": 3}), "config.priority", "between -2 and 2"),
        (body("pushover", **{**PO, "device": "a b"}), "config.device", "device names"),
        (body("servicedesk"), "type", "not supported"),
    ],
)
async def test_refused_fields_answer_devos_error_shape(
    env: Env, sent: dict[str, Any], field_: str, words: str
) -> None:
    answer = await env.error("POST", METHODS, sent)
    assert answer["context"] == {"field": field_}
    assert words in answer["msg"]
    assert answer["code"] != 0
    assert all(secret not in answer["msg"] for secret in SECRETS)


CODE = re.compile(r"\b(\d{8})\b")


def slack_code(receiver: Receiver) -> str:
    (request,) = receiver.received()
    assert request.path == f"/services/T0001/B0002/{SLACK_TOKEN}"
    assert request.headers["content-type"] == "application/json"
    message = json.loads(request.body)
    assert set(message) == {"text"}
    found = CODE.search(message["text"])
    assert found is not None
    return found[1]


def pagerduty_code(receiver: Receiver) -> str:
    trigger, resolve = (json.loads(r.body) for r in receiver.received("/v2/enqueue"))
    assert trigger["event_action"] == "trigger" and resolve["event_action"] == "resolve"
    assert trigger["routing_key"] == resolve["routing_key"] == ROUTING_KEY
    assert trigger["dedup_key"] == resolve["dedup_key"]
    assert trigger["payload"]["severity"] == "info" and trigger["payload"]["source"] == "linqd"
    found = CODE.search(trigger["payload"]["summary"])
    assert found is not None
    return found[1]


def pushover_code(receiver: Receiver) -> str:
    (request,) = receiver.received()
    assert request.path == "/po/1/messages.json"
    form = parse_qs(request.body.decode("ascii"))
    assert (form["token"], form["user"]) == ([APP_TOKEN], [USER_KEY])
    found = CODE.search(form["message"][0])
    assert found is not None
    return found[1]


def checked(paths: list[str]) -> Callable[[Receiver], None]:
    """The read-only calls that prove a Jira's or a ServiceNow's credentials."""

    def check(receiver: Receiver) -> None:
        requests = receiver.received()
        assert [f"{r.method} {r.path}?{r.query}".rstrip("?") for r in requests] == paths
        assert all(r.headers["authorization"].startswith("Basic ") for r in requests)

    return check


@pytest.mark.parametrize("kind", TYPES)
async def test_send_validation_code_then_validate(env: Env, kind: str) -> None:
    receiver = env.receiver
    receiver.behave("/v2/enqueue", status=202)
    created = await env.ok("POST", METHODS, body(kind, **case(kind, receiver).given))
    one = f"{METHODS}/{created['id']}"
    sent = await env.ok("POST", f"{one}/send-validation-code")
    if kind in ("jira", "servicenow"):
        # Nobody reads a code in an API: the credentials passed, the caller is told it.
        code = sent.pop("validationCode")
        check = checked(
            ["GET /jira/rest/api/2/myself", "GET /jira/rest/api/2/project/OPS"]
            if kind == "jira"
            else ["GET /sn/api/now/table/incident?sysparm_limit=1"]
        )
        check(receiver)
    else:
        assert "validationCode" not in sent
        code = {"slack": slack_code, "pagerduty": pagerduty_code, "pushover": pushover_code}[kind](
            receiver
        )
    assert sent == created
    validated = await env.ok("POST", f"{one}/validate", {"code": code})
    assert validated["status"] is True
    assert all(secret not in text for text in env.answers for secret in SECRETS)


@pytest.mark.parametrize(
    ("kind", "path", "status", "words"),
    [
        ("jira", "/jira/rest/api/2/project/OPS", 404, "project OPS is not visible to"),
        ("jira", "/jira/rest/api/2/myself", 401, "HTTP 401"),
        ("servicenow", "/sn/api/now/table/incident", 403, "HTTP 403"),
        ("slack", f"/services/T0001/B0002/{SLACK_TOKEN}", 404, "HTTP 404"),
        ("pagerduty", "/v2/enqueue", 400, "HTTP 400"),
    ],
)
async def test_a_refused_validation_says_why(
    env: Env, kind: str, path: str, status: int, words: str
) -> None:
    env.receiver.behave(path, fail=-1, fail_status=status)
    created = await env.ok("POST", METHODS, body(kind, **case(kind, env.receiver).given))
    answer = await env.error("POST", f"{METHODS}/{created['id']}/send-validation-code")
    assert answer["context"] == {"field": "config"}
    assert answer["msg"].startswith("The validation code was not delivered: ")
    assert words in answer["msg"]
    assert (await env.ok("GET", f"{METHODS}/{created['id']}"))["status"] is False
    assert all(secret not in text for text in env.answers for secret in SECRETS)
