"""The delivery methods API (/delco/methods), sending policies and the delivery log in-process:
CRUD, the validation-code flow against a real receiver and a real SMTP server, passwords never
shown, default-policy rules, validation errors, authentication and domain isolation."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from linqd.alerts.delivery import (
    Dispatcher,
    MethodRepository,
)
from linqd.alerts.model import (
    AlertDefinition,
    DefinitionInput,
    Trigger,
    TriggeredAlert,
    TriggerKind,
)
from linqd.alerts.triggered import TriggeredAlertRepository
from linqd.api.app import api_app
from linqd.api.delco import DelcoAPI
from linqd.clock import SimulatedClock
from linqd.domains import DomainStore
from linqd.meta import MetaStore
from linqd.outbound import OutboundPolicy
from linqd.sinks.email import SmtpSettings

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000_000
DOMAIN = "acme"
SECRET = "hunter2-very-secret"
METHODS = "/delco/methods"
POLICIES = "/alerts/v1/sendingPolicies"
DELIVERIES = "/alerts/v1/deliveries"
ERROR_KEYS = {"code", "msg", "status", "timestamp", "cid", "context", "messageKey", "language"}


class Hook:
    """A webhook receiver on 127.0.0.1 that records JSON bodies; ``fail`` makes it answer 500."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.fail = False
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hook.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(500 if hook.fail else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{port}/hook"

    def codes(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body in self.bodies]


@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


class AnyPortController(Controller):
    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class Env:
    client: httpx.AsyncClient
    meta: MetaStore
    clock: SimulatedClock
    token: str
    other: str
    hook: Hook
    mailbox: Mailbox
    answers: list[str] = field(default_factory=list)

    async def call(
        self, verb: str, path: str, body: Any = None, token: str | None = None, **params: Any
    ) -> httpx.Response:
        content = None if body is None else (body if isinstance(body, bytes) else json.dumps(body))
        response = await self.client.request(
            verb,
            path,
            content=content,
            params=params,
            headers={"standAloneToken": token or self.token, "Content-Type": "application/json"},
        )
        self.answers.append(response.text)
        return response

    async def ok(self, verb: str, path: str, body: Any = None, **params: Any) -> Any:
        response = await self.call(verb, path, body, **params)
        assert response.status_code == 200, response.text
        return response.json()

    async def error(
        self, expected: int, verb: str, path: str, body: Any = None, **params: Any
    ) -> dict[str, Any]:
        response = await self.call(verb, path, body, **params)
        assert response.status_code == expected, response.text
        answer: dict[str, Any] = response.json()
        assert set(answer) == ERROR_KEYS
        return answer

    async def http_method(self, **config: Any) -> dict[str, Any]:
        body = {"name": "hook", "type": "httpjson", "config": {"url": self.hook.url, **config}}
        created: dict[str, Any] = await self.ok("POST", METHODS, body)
        return created

    async def validated(self, method: dict[str, Any]) -> None:
        await self.ok("POST", f"{METHODS}/{method['id']}/send-validation-code")
        code = self.hook.codes()[-1]["code"]
        await self.ok("POST", f"{METHODS}/{method['id']}/validate", {"code": code})


@pytest.fixture
def hook() -> Iterator[Hook]:
    server = Hook()
    thread = threading.Thread(
        target=server.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
async def env(tmp_path: Path, hook: Hook, request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    """Metadata in a SQLite file; also in PostgreSQL for the tests that use ``meta_target``."""
    clock = SimulatedClock(NOW)
    meta = MetaStore(
        request.getfixturevalue("meta_target")
        if "meta_target" in request.fixturenames
        else tmp_path / "meta.sqlite"
    )
    domains = DomainStore(meta, clock)
    token = domains.create_domain(DOMAIN).stand_alone_token
    other = domains.create_domain("elsewhere").stand_alone_token
    mailbox = Mailbox()
    controller = AnyPortController(mailbox, hostname="127.0.0.1", port=0)
    controller.start()
    smtp = SmtpSettings(port=controller.port, sender="linqd@example.com")
    # The hook listens on 127.0.0.1, which the outbound policy denies by default: allowed here
    # as an operator would with `serve --outbound-allow 127.0.0.1`.
    local = OutboundPolicy.parse(allow=["127.0.0.1"])
    app = api_app(DelcoAPI(domains, clock, smtp, outbound=local).routes(), clock)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://linqd") as client:
            yield Env(client, meta, clock, token, other, hook, mailbox)
    finally:
        controller.stop()
        meta.close()


# -- authentication ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verb", "path"),
    [
        ("GET", METHODS),
        ("POST", METHODS),
        ("GET", f"{METHODS}/1"),
        ("PUT", f"{METHODS}/1"),
        ("DELETE", f"{METHODS}/1"),
        ("POST", f"{METHODS}/1/send-validation-code"),
        ("POST", f"{METHODS}/1/validate"),
        ("GET", POLICIES),
        ("POST", POLICIES),
        ("PUT", f"{POLICIES}/1"),
        ("DELETE", f"{POLICIES}/1"),
        ("GET", DELIVERIES),
    ],
)
async def test_every_endpoint_needs_a_token(env: Env, verb: str, path: str) -> None:
    missing = await env.client.request(verb, path)
    assert missing.status_code == 401
    assert set(missing.json()) == ERROR_KEYS
    wrong = await env.client.request(verb, path, headers={"standAloneToken": "nope"})
    assert wrong.status_code == 401


# -- delivery methods ----------------------------------------------------------------------------


@pytest.mark.usefixtures("meta_target")
async def test_method_crud_never_shows_the_password(env: Env) -> None:
    created = await env.http_method(
        headers={"X-Team": "blue"}, username="bob", password=SECRET, timeoutMs=2_000
    )
    assert created == {
        "id": created["id"],
        "name": "hook",
        "type": "httpjson",
        "status": False,
        "config": {
            "url": env.hook.url,
            "contentType": "application/json",
            "headers": {"X-Team": "******"},  # header values often carry keys: masked
            "username": "bob",
            "timeoutMs": 2_000,
        },
    }
    assert isinstance(created["id"], int)
    one = f"{METHODS}/{created['id']}"
    assert await env.ok("GET", one) == created
    assert await env.ok("GET", METHODS) == [created]
    assert await env.ok("GET", METHODS, type="httpjson") == [created]
    assert await env.ok("GET", METHODS, type="email") == []
    assert await env.ok("GET", METHODS, type="slack") == []
    assert (await env.error(400, "GET", METHODS, type="fax"))["context"] == {"field": "type"}
    renamed = await env.ok("PUT", one, {"name": "renamed", "config": {"timeoutMs": 3_000}})
    assert (renamed["name"], renamed["config"]["timeoutMs"]) == ("renamed", 3_000)
    stored = MethodRepository(env.meta, env.clock).get(DOMAIN, created["id"])
    assert getattr(stored.config, "password", None) == SECRET  # kept: the update omitted it
    await env.ok("PUT", one, {"config": {"password": None}})
    stored = MethodRepository(env.meta, env.clock).get(DOMAIN, created["id"])
    assert getattr(stored.config, "password", "?") is None
    assert await env.ok("DELETE", one) == {"id": created["id"], "deleted": True}
    await env.error(404, "GET", one)
    assert all(SECRET not in text for text in env.answers)


async def test_header_values_and_url_query_values_are_masked(env: Env) -> None:
    url = f"{env.hook.url}?token=s3cret&team=blue&flag"
    created = await env.http_method(url=url, headers={"X-Api-Key": "k3y"})
    shown = f"{env.hook.url}?token=******&team=******&flag"
    assert created["config"]["url"] == shown
    assert created["config"]["headers"] == {"X-Api-Key": "******"}
    one = f"{METHODS}/{created['id']}"
    assert (await env.ok("GET", one))["config"] == created["config"]
    # What a client read and sends back unchanged keeps the stored secrets.
    await env.ok("PUT", one, {"name": "again", "config": created["config"]})
    stored = MethodRepository(env.meta, env.clock).get(DOMAIN, created["id"]).config
    assert getattr(stored, "url", None) == url
    assert getattr(stored, "headers", None) == (("X-Api-Key", "k3y"),)
    assert (await env.ok("GET", one))["status"] == created["status"]  # target unchanged
    await env.ok("PUT", one, {"config": {"headers": {"X-Api-Key": "new"}}})
    stored = MethodRepository(env.meta, env.clock).get(DOMAIN, created["id"]).config
    assert getattr(stored, "headers", None) == (("X-Api-Key", "new"),)
    assert all("s3cret" not in text and "k3y" not in text for text in env.answers)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"name": "x", "type": "servicedesk", "config": {}}, "type", "not supported"),
        ({"name": "x", "type": "fax", "config": {}}, "type", "must be one of"),
        ({"type": "httpjson", "config": {"url": "http://h/"}}, "name", "required"),
        ({"name": "x", "type": "httpjson", "config": {"url": "ftp://h/"}}, "config.url", "http"),
        (
            {"name": "x", "type": "httpjson", "config": {"url": "http://u:p@h/"}},
            "config.url",
            "credentials",
        ),
        (
            {
                "name": "x",
                "type": "httpjson",
                "config": {"url": "http://h/", "headers": {"Host": "a"}},
            },
            "config.headers.Host",
            "reserved",
        ),
        (
            {
                "name": "x",
                "type": "httpjson",
                "config": {"url": "http://h/", "headers": {"authorization": "Bearer t"}},
            },
            "config.headers.authorization",
            "reserved",
        ),
        (
            {
                "name": "x",
                "type": "httpjson",
                "config": {"url": "http://h/", "headers": {"X": "a\nb"}},
            },
            "config.headers.X",
            "control",
        ),
        (
            {
                "name": "x",
                "type": "httpjson",
                "config": {"url": "http://h/", "contentType": "text/xml"},
            },
            "config.contentType",
            "must be one of",
        ),
        (
            {"name": "x", "type": "httpjson", "config": {"url": "http://h/", "password": "p"}},
            "config.password",
            "username",
        ),
        (
            {"name": "x", "type": "httpjson", "config": {"url": "http://h/", "timeoutMs": 5}},
            "config.timeoutMs",
            "between",
        ),
        ({"name": "x", "type": "email", "config": {"email": "nobody"}}, "config.email", "e-mail"),
        (
            {"name": "x", "type": "email", "config": {"email": "a@b.c", "timezone": "Mars/Base"}},
            "config.timezone",
            "time zone",
        ),
        ({"name": "x" * 300, "type": "email", "config": {"email": "a@b.c"}}, "name", "at most"),
        ({"name": "\ud800", "type": "email", "config": {"email": "a@b.c"}}, "name", "Unicode"),
        (
            {"name": "x", "type": "httpjson", "config": {"url": "http://h/caf\u00e9"}},
            "config.url",
            "ASCII",
        ),
        (
            {"name": "x", "type": "httpjson", "config": {"url": "http://h:99999/"}},
            "config.url",
            "valid URL",
        ),
        (
            {
                "name": "x",
                "type": "httpjson",
                "config": {"url": "http://h/", "headers": {"X": "\u00e9"}},
            },
            "config.headers.X",
            "ASCII",
        ),
        (b"{not json", "body", "JSON"),
        (b"[" + b" " * 1_100_000 + b"]", "body", "larger"),
    ],
)
async def test_method_validation(env: Env, body: Any, field: str, words: str) -> None:
    answer = await env.error(413 if words == "larger" else 400, "POST", METHODS, body)
    assert answer["context"] == {"field": field}
    assert words in answer["msg"]


@pytest.mark.usefixtures("meta_target")
async def test_validation_code_flow(env: Env) -> None:
    method = await env.http_method(contentType="application/x-www-form-urlencoded")
    one = f"{METHODS}/{method['id']}"
    await env.error(400, "POST", f"{one}/validate", {"code": "12345678"})  # none sent yet
    sent = await env.ok("POST", f"{one}/send-validation-code")
    assert sent["status"] is False
    # The legacy form mode wraps the code's JSON as it wraps alerts.
    assert env.hook.bodies[0].startswith(b"json=")
    env.hook.bodies[0] = httpx.QueryParams(env.hook.bodies[0].decode())["json"].encode()
    (message,) = env.hook.codes()
    assert set(message) == {"code", "domain"} and message["domain"] == DOMAIN
    assert re.fullmatch(r"\d{8}", message["code"])
    wrong = "0" if message["code"] != "0" * 8 else "1"
    answer = await env.error(400, "POST", f"{one}/validate", {"code": wrong * 8})
    assert answer["context"] == {"field": "code"}
    validated = await env.ok("POST", f"{one}/validate", code=message["code"])
    assert validated["status"] is True
    assert (await env.ok("GET", one))["status"] is True
    # A new target must be validated again; a new name need not.
    assert (await env.ok("PUT", one, {"name": "renamed"}))["status"] is True
    moved = await env.ok("PUT", one, {"config": {"url": env.hook.url + "/v2"}})
    assert moved["status"] is False


@pytest.mark.usefixtures("meta_target")
async def test_wrong_codes_use_up_the_code(env: Env) -> None:
    method = await env.http_method()
    one = f"{METHODS}/{method['id']}"
    await env.ok("POST", f"{one}/send-validation-code")
    code = env.hook.codes()[-1]["code"]
    wrong = str((int(code) + 1) % 10**8).zfill(8)
    for _ in range(5):
        await env.error(400, "POST", f"{one}/validate", {"code": wrong})
    answer = await env.error(400, "POST", f"{one}/validate", {"code": code})
    assert "send-validation-code" in answer["msg"]
    await env.error(400, "POST", f"{one}/validate")  # no code at all


async def test_a_failing_receiver_gets_no_validation(env: Env) -> None:
    method = await env.http_method()
    env.hook.fail = True
    answer = await env.error(400, "POST", f"{METHODS}/{method['id']}/send-validation-code")
    assert "HTTP 500" in answer["msg"]


async def test_the_default_policy_keeps_webhooks_off_the_local_host(
    tmp_path: Path, hook: Hook
) -> None:
    clock = SimulatedClock(NOW)
    meta = MetaStore(tmp_path / "strict.sqlite")
    domains = DomainStore(meta, clock)
    token = domains.create_domain(DOMAIN).stand_alone_token
    app = api_app(DelcoAPI(domains, clock, None).routes(), clock)  # the defaults alone
    headers = {"standAloneToken": token}
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://linqd", headers=headers
        ) as client:
            for url in (
                hook.url,
                "http://[::1]:8080/hook",
                "http://0.0.0.0:8080/",
                "http://169.254.169.254/latest/meta-data/",
                "http://[fd00:ec2::254]/latest/meta-data/",
            ):
                body = {"name": "n", "type": "httpjson", "config": {"url": url}}
                answer = await client.post(METHODS, json=body)
                assert answer.status_code == 400, url
                assert answer.json()["context"] == {"field": "config.url"}
                assert answer.json()["msg"].endswith("is not allowed for outbound connections")
            # A name passes validation; it is judged on what it resolves to when sent to.
            by_name = hook.url.replace("127.0.0.1", "localhost")
            body = {"name": "n", "type": "httpjson", "config": {"url": by_name}}
            created = (await client.post(METHODS, json=body)).json()
            sent = await client.post(f"{METHODS}/{created['id']}/send-validation-code")
            assert sent.status_code == 400
            assert "Address 127.0.0.1 (of host localhost) is not allowed" in sent.json()["msg"]
            # Moving a stored method to a denied address is refused like creating one.
            moved = await client.put(
                f"{METHODS}/{created['id']}", json={"config": {"url": hook.url}}
            )
            assert moved.status_code == 400
    finally:
        meta.close()
    assert hook.bodies == []


async def test_email_validation_code(env: Env) -> None:
    body = {"name": "ops", "type": "email", "config": {"email": "ops@example.com"}}
    method = await env.ok("POST", METHODS, body)
    assert method["config"] == {
        "email": "ops@example.com",
        "timezone": "UTC",
        "locale": "en",
        "attachEvents": "false",
        "maxEvents": 0,
    }
    await env.ok("POST", f"{METHODS}/{method['id']}/send-validation-code")
    (message,) = env.mailbox.messages
    assert message["To"] == "ops@example.com"
    found = re.search(r"\b(\d{8})\b", message.get_content())
    assert found is not None
    validated = await env.ok("POST", f"{METHODS}/{method['id']}/validate", {"code": found[1]})
    assert validated["status"] is True


# -- sending policies ----------------------------------------------------------------------------


@pytest.mark.usefixtures("meta_target")
async def test_policy_crud_and_one_default(env: Env) -> None:
    method = await env.http_method()
    first = await env.ok("POST", POLICIES, {"name": "first", "methods": [method["id"]]})
    assert first == {
        "id": first["id"],
        "name": "first",
        "isDefault": True,  # the first policy of a domain is its default
        "methods": [method["id"]],
        "antiFlooding": {
            "mode": "default",
            "maxAlerts": 5,
            "periodMs": 3_600_000,
            "reminderAfterMs": 3_600_000,
        },
        "schedule": None,
    }
    assert re.fullmatch(r"\d+", first["id"])
    body = {
        "name": "second",
        "isDefault": True,
        "antiFlooding": {"mode": "custom", "maxAlerts": 2, "periodMs": 60_000},
        "schedule": {"days": ["mon", "FRI"], "from": "22:00", "to": "06:00"},
        "unknown": "ignored",
    }
    second = await env.ok("POST", POLICIES, body)
    assert second["antiFlooding"] == {
        "mode": "custom",
        "maxAlerts": 2,
        "periodMs": 60_000,
        "reminderAfterMs": 60_000,
    }
    assert second["schedule"] == {
        "days": ["mon", "fri"],
        "from": "22:00",
        "to": "06:00",
        "timezone": "UTC",
    }
    assert (await env.ok("GET", f"{POLICIES}/{first['id']}"))["isDefault"] is False
    assert [p["isDefault"] for p in await env.ok("GET", POLICIES)] == [False, True]
    # The default cannot be unset or deleted while other policies exist.
    answer = await env.error(400, "PUT", f"{POLICIES}/{second['id']}", {"isDefault": False})
    assert answer["context"] == {"field": "isDefault"}
    await env.error(409, "DELETE", f"{POLICIES}/{second['id']}")
    # A partial update keeps the rest; null clears the schedule.
    updated = await env.ok("PUT", f"{POLICIES}/{second['id']}", {"name": "2nd", "schedule": None})
    assert (updated["name"], updated["schedule"], updated["antiFlooding"]) == (
        "2nd",
        None,
        second["antiFlooding"],
    )
    made_default = await env.ok("PUT", f"{POLICIES}/{first['id']}", {"isDefault": True})
    assert made_default["isDefault"] is True
    assert await env.ok("DELETE", f"{POLICIES}/{second['id']}") == {
        "id": second["id"],
        "deleted": True,
    }
    await env.ok("DELETE", f"{POLICIES}/{first['id']}")  # the last one may go
    assert await env.ok("GET", POLICIES) == []
    await env.error(404, "GET", f"{POLICIES}/{first['id']}")
    await env.error(404, "GET", f"{POLICIES}/abc")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"methods": [424242]}, "methods"),
        ({"methods": ["x"]}, "methods"),
        ({"isDefault": "yes"}, "isDefault"),
        ({"antiFlooding": {"mode": "sometimes"}}, "antiFlooding.mode"),
        ({"antiFlooding": {"mode": "custom", "maxAlerts": 0}}, "antiFlooding.maxAlerts"),
        (
            {"antiFlooding": {"mode": "custom", "periodMs": 60_000, "reminderAfterMs": 1_000}},
            "antiFlooding.reminderAfterMs",
        ),
        ({"schedule": {"days": [], "from": "09:00", "to": "17:00"}}, "schedule.days"),
        ({"schedule": {"days": ["someday"], "from": "09:00", "to": "17:00"}}, "schedule.days"),
        ({"schedule": {"days": ["mon"], "from": "9:00", "to": "17:00"}}, "schedule.from"),
        ({"schedule": {"days": ["mon"], "from": "09:00", "to": "24:00"}}, "schedule.to"),
        (
            {"schedule": {"days": ["mon"], "from": "09:00", "to": "17:00", "timezone": "X/Y"}},
            "schedule.timezone",
        ),
    ],
)
async def test_policy_validation(env: Env, body: dict[str, Any], field: str) -> None:
    answer = await env.error(400, "POST", POLICIES, {"name": "p", **body})
    assert answer["context"] == {"field": field}


@pytest.mark.usefixtures("meta_target")
async def test_a_method_in_use_cannot_be_deleted(env: Env) -> None:
    method = await env.http_method()
    policy_ = await env.ok("POST", POLICIES, {"name": "p", "methods": [method["id"]]})
    answer = await env.error(409, "DELETE", f"{METHODS}/{method['id']}")
    assert policy_["id"] in answer["msg"]
    await env.ok("PUT", f"{POLICIES}/{policy_['id']}", {"methods": []})
    await env.ok("DELETE", f"{METHODS}/{method['id']}")


# -- deliveries and domains ----------------------------------------------------------------------


@pytest.mark.usefixtures("meta_target")
async def test_deliveries_listing(env: Env) -> None:
    method = await env.http_method()
    await env.validated(method)
    await env.ok("POST", POLICIES, {"name": "p", "methods": [method["id"]]})
    triggered = TriggeredAlertRepository(env.meta, env.clock)
    spec = DefinitionInput("Rule", "tests", "from t select *", 3, Trigger(TriggerKind.EACH))
    definition = AlertDefinition("7", DOMAIN, "1", "1", NOW, NOW, "ops@example.com", spec)
    alert = triggered.insert(
        TriggeredAlert(DOMAIN, "7", "d1", NOW, 3.0, "ctx", "Rule", "sub", "ops", "m", "d")
    )
    assert alert is not None
    Dispatcher(env.meta, env.clock, triggered, None).submit(alert, definition)  # never started
    (pending,) = await env.ok("GET", DELIVERIES, alertId=alert.id)
    assert pending == {
        "id": pending["id"],
        "alertId": alert.id,
        "methodId": method["id"],
        "kind": "alert",
        "status": "pending",
        "attempts": 0,
        "lastError": None,
        "nextAttemptMs": NOW,
        "deliveredMs": None,
    }
    assert await env.ok("GET", DELIVERIES, status="pending") == [pending]
    assert await env.ok("GET", DELIVERIES, status="delivered") == []
    assert await env.ok("GET", DELIVERIES, alertId=alert.id + 1) == []
    assert (await env.error(400, "GET", DELIVERIES, status="lost"))["context"] == {
        "field": "status"
    }
    await env.error(400, "GET", DELIVERIES, alertId="x")
    await env.error(400, "GET", DELIVERIES, limit="0")
    other = await env.call("GET", DELIVERIES, token=env.other)
    assert other.json() == []


@pytest.mark.usefixtures("meta_target")
async def test_domains_are_isolated(env: Env) -> None:
    method = await env.http_method()
    mine = await env.ok("POST", POLICIES, {"name": "p", "methods": [method["id"]]})
    one = f"{METHODS}/{method['id']}"
    for verb, path in [
        ("GET", one),
        ("PUT", one),
        ("DELETE", one),
        ("POST", f"{one}/send-validation-code"),
        ("POST", f"{one}/validate"),
        ("GET", f"{POLICIES}/{mine['id']}"),
        ("PUT", f"{POLICIES}/{mine['id']}"),
        ("DELETE", f"{POLICIES}/{mine['id']}"),
    ]:
        response = await env.call(verb, path, {"code": "1", "name": "x"}, token=env.other)
        assert response.status_code == 404, (verb, path, response.text)
    assert (await env.call("GET", METHODS, token=env.other)).json() == []
    assert (await env.call("GET", POLICIES, token=env.other)).json() == []
    # Another domain's method cannot be put in a policy.
    response = await env.call(
        "POST", POLICIES, {"name": "p", "methods": [method["id"]]}, token=env.other
    )
    assert response.status_code == 400
    assert env.hook.bodies == []
