"""siem.logtrust.web.activity: one row per request, APIs and console, written when the answer
ends, in the principal's domain (or the one a refused credential names), without secrets."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import anyio
import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

import anystore
from linqd import demo
from linqd.api.app import api_app
from linqd.api.auth import fingerprint
from linqd.audit.activity import ActivityLog
from linqd.audit.service import Audit
from linqd.clock import SimulatedClock
from linqd.datadir import DataDir

from .conftest import ACTIVITY, NODE, NOW, PASSWORD, Env

pytestmark = pytest.mark.anyio


def at(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).replace(tzinfo=None)


async def test_every_request_gets_one_row(env: Env) -> None:
    browser = {
        "User-Agent": "probe/1.0",
        "Accept-Language": "es-ES,es;q=0.9",
        "Referer": "https://user:pw@linqd/ui/search?q=x&token=abc",
    }
    env.data.store.append("demo.ecommerce.data", {"method": ["GET"]}, client="self")
    await env.client.get("/health", headers=browser)
    query = await env.query("from demo.ecommerce.data select eventdate")
    env.clock.advance(5_000)
    missing = await env.client.get("/no/such/page")
    rows = env.rows(ACTIVITY)
    assert [(r["method"], r["url"], r["result"], r["level"]) for r in rows] == [
        ("GET", "/health", "OK", "INFO"),
        ("POST", "/search/query", "OK", "INFO"),
        ("GET", "/no/such/page", "404 Not Found", "WARN"),
    ]
    health, search, unknown = rows
    assert health == {
        **health,
        "eventdate": at(NOW),
        "client": "self",  # no credential: the default domain
        "domain": "self",
        "userid": "",
        "type": "request",
        "userAgent": "probe/1.0",
        "locale": "es_ES",
        "referer": "https://linqd/ui/search?q=x&token=***",
        "srcHost": "192.0.2.10",
        "srcPort": 50123,
        "serverHost": NODE,
        "serverPort": None,  # httpx's in-process transport names no port
        "resourceInfo": "health",
        "responseLength": len(b'{"status":"ok"}'),
        "errorInfo": "",
    }
    assert search["domain"] == search["client"] == "self"
    assert search["userid"] == fingerprint(env.creds.token)
    assert search["username"] == "default"  # the token's name
    assert search["responseLength"] == len(query.content) > 0
    assert search["contentLength"] == len(query.request.content)
    assert search["resourceInfo"] == "query" and search["sessionid"] == ""
    assert unknown["eventdate"] == at(NOW + 5_000)
    assert unknown["errorInfo"] == "Not found"
    assert unknown["correlationid"] == missing.json()["cid"]
    assert all(0 <= r["responseTime"] < 60_000 for r in rows)


async def test_a_refused_credential_is_audited_in_the_domain_it_names(env: Env) -> None:
    forged = await env.client.post(
        "/search/query", content=b"{}", headers=env.signed(b"another body", env.other)
    )
    unknown = await env.client.post(
        "/search/query", content=b"{}", headers={"Authorization": "Bearer nope"}
    )
    bare = await env.client.get("/search/jobs")
    assert forged.status_code == unknown.status_code == bare.status_code == 401
    rows = env.rows(ACTIVITY)
    assert {(r["result"], r["level"]) for r in rows} == {("401 Unauthorized", "WARN")}
    assert [(r["client"], r["domain"], r["username"], r["errorInfo"]) for r in rows] == [
        ("other", "other", env.other.api_key, "Invalid signature validation"),
        ("self", "self", "", "Token invalid or expired"),
        ("self", "self", "", "Unauthorized"),
    ]


async def test_console_rows_carry_the_user_and_a_hash_of_the_session(env: Env) -> None:
    env.add_users()
    form = await env.client.get("/ui/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    fields = {"user": "ana", "password": PASSWORD, "csrf": csrf.group(1)}
    signed_in = await env.client.post("/ui/login", data=fields)
    assert signed_in.status_code == 303
    cookie = env.client.cookies["linqd_session"]
    await env.client.get("/ui/search")
    await env.client.get("/ui/jobs")
    rows = env.rows(ACTIVITY)
    assert [(r["method"], r["url"], r["username"], r["domain"]) for r in rows] == [
        ("GET", "/ui/login", "", "self"),
        ("POST", "/ui/login", "ana", "self"),
        ("GET", "/ui/search", "ana", "self"),
        ("GET", "/ui/jobs", "ana", "self"),
    ]
    sessions = {r["sessionid"] for r in rows[2:]}
    assert len(sessions) == 1
    (session,) = sessions
    assert re.fullmatch(r"[0-9a-f]{32}", session)
    assert session not in cookie and cookie.split(".")[0] not in json.dumps(rows, default=str)
    assert {r["resourceInfo"] for r in rows} == {"console"}


async def test_the_demo_rows_stay_in_the_demo_domain(env: Env) -> None:
    demo.generate(env.data.store, events=300, days=0.02, now_ms=NOW - 60_000)
    other = {"Authorization": f"Bearer {env.other.token}"}
    linq = "from siem.logtrust.web.activity select domain, url"
    await env.query(linq, **other)
    env.audit.flush()
    seen = (await env.query(linq, **other)).text.strip().splitlines()
    assert [json.loads(line)["domain"] for line in seen] == ["other"]
    mine = (await env.query(linq)).text.strip().splitlines()
    assert len(mine) > 10  # the synthetic rows, in the domain the demo was made for


# -- the middleware alone ----------------------------------------------------------------------


def http_scope(path: str = "/x") -> Scope:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8080),
    }


async def test_a_streamed_answer_gets_its_row_when_it_ends(data: DataDir) -> None:
    clock = SimulatedClock(NOW)
    audit = Audit.start(data.store, clock, default_domain="self", flush_interval_s=3600)
    started, release = anyio.Event(), anyio.Event()

    async def stream(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"head ", "more_body": True})
        await release.wait()
        await send({"type": "http.response.body", "body": b"tail", "more_body": False})

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message.get("more_body"):
            started.set()

    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(ActivityLog(stream, audit), http_scope("/live"), receive, send)
            await started.wait()
            audit.flush()
            assert activity(data) == []  # streaming: no row yet
            release.set()
        audit.flush()
        assert activity(data) == [("/live", "OK", 9)]
    finally:
        audit.close()


async def test_an_answer_that_never_began_is_499(data: DataDir) -> None:
    audit = Audit.start(data.store, SimulatedClock(NOW), default_domain="self")

    async def hang(scope: Scope, receive: Receive, send: Send) -> None:
        await anyio.sleep_forever()

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        raise AssertionError("nothing is sent")

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(ActivityLog(hang, audit), http_scope("/gone"), receive, send)
        await anyio.wait_all_tasks_blocked()
        tasks.cancel_scope.cancel()
    audit.close()  # written at shutdown, not lost
    assert activity(data) == [("/gone", "499 Client Closed Request", 0)]


async def test_a_bug_is_an_error_row_without_its_text(data: DataDir) -> None:
    clock = SimulatedClock(NOW)
    audit = Audit.start(data.store, clock, default_domain="self", flush_interval_s=3600)

    async def boom(request: Request) -> Response:
        raise RuntimeError("the text of a bug, maybe holding secret-123")

    app = api_app([Route("/boom", boom)], clock, audit)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://linqd") as client:
            answer = await client.get("/boom")
        assert answer.status_code == 500
        audit.flush()
        rows = activity_rows(data)
        assert [(r["url"], r["result"], r["level"], r["errorInfo"]) for r in rows] == [
            ("/boom", "500 Internal Server Error", "ERROR", "Server error (RuntimeError)")
        ]
        assert rows[0]["correlationid"] == answer.json()["cid"]
    finally:
        audit.close()


def activity_rows(data: DataDir) -> list[dict[str, Any]]:
    names = ("url", "result", "level", "errorInfo", "correlationid", "responseLength")
    columns = ", ".join(f'"{name}"' for name in names)
    found = anystore.rows(data.store, f'SELECT {columns} FROM "{ACTIVITY}" ORDER BY _seq')
    return [dict(zip(names, row, strict=True)) for row in found]


def activity(data: DataDir) -> list[tuple[Any, ...]]:
    return [(r["url"], r["result"], r["responseLength"]) for r in activity_rows(data)]
