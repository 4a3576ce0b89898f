"""siem.logtrust.web.connection: every credential check. Refusals always, console sign-ins and
sign-outs always, other accepted credentials once a minute per (credential, address)."""

from __future__ import annotations

import re
import socket
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest

import anystore
from compat.conftest import make_pki
from linqd.api.auth import fingerprint, make_jwt
from linqd.audit.service import Audit
from linqd.clock import SimulatedClock
from linqd.datadir import open_data_dir
from linqd.ingest.collector import CollectorConfig, SyslogCollector
from linqd.ingest.pipeline import IngestPipeline

from .conftest import CONNECTION, NODE, NOW, PASSWORD, Env

pytestmark = pytest.mark.anyio

FIELDS = ("client", "domain", "method", "action", "result", "userid", "username", "service")


def seen(env: Env) -> list[tuple[Any, ...]]:
    return [tuple(row[f] for f in FIELDS) for row in env.rows(CONNECTION)]


async def test_accepted_credentials_once_a_minute_per_address(env: Env) -> None:
    bearer = {"Authorization": f"Bearer {env.creds.token}"}
    for _ in range(3):
        assert (await env.query("from demo.ecommerce.data", **bearer)).status_code == 200
    env.clock.advance(60_000)
    await env.query("from demo.ecommerce.data", **bearer)
    transport = httpx.ASGITransport(app=env.app, client=("198.51.100.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://linqd") as elsewhere:
        body = b'{"query": "from demo.ecommerce.data", "from": "1h", "to": "now"}'
        await elsewhere.post("/search/query", content=body, headers=bearer)
    user = fingerprint(env.creds.token)
    login = ("self", "self", "token", "login", "OK", user, "default", "query")
    assert seen(env) == [login, login, login]
    rows = env.rows(CONNECTION)
    assert [(r["srcHost"], r["serverHost"], r["level"]) for r in rows] == [
        ("192.0.2.10", NODE, "INFO"),
        ("192.0.2.10", NODE, "INFO"),
        ("198.51.100.7", NODE, "INFO"),
    ]


async def test_every_refusal_is_written(env: Env) -> None:
    for _ in range(2):
        forged = env.signed(b"signed over another body", env.other)
        assert (await env.client.post("/search/query", content=b"{}", headers=forged)).is_error
    await env.client.get("/search/jobs", headers={"Authorization": "Bearer nope"})
    await env.client.get("/search/jobs")  # no credential at all: not a credential check
    rows = env.rows(CONNECTION)
    key = env.other.api_key
    assert seen(env) == [
        ("other", "other", "hmac", "failed", "DENIED", key, key, "query"),
        ("other", "other", "hmac", "failed", "DENIED", key, key, "query"),
        ("self", "self", "token", "failed", "DENIED", fingerprint("nope"), "", "jobs"),
    ]
    assert [r["reason"] for r in rows] == ["wrong signature"] * 2 + ["unknown token"]
    assert {r["level"] for r in rows} == {"WARN"}
    assert rows[0]["correlationid"] and rows[0]["userAgent"].startswith("python-httpx")


async def test_jwts_and_the_alerts_and_ingestion_tokens(env: Env) -> None:
    good = make_jwt("other", env.other.api_secret, now_ms=NOW)
    forged = make_jwt("other", "not the secret of the domain other", now_ms=NOW)
    assert (await env.query("from demo.ecommerce.data", Authorization=f"jwt {good}")).is_success
    assert (await env.query("from demo.ecommerce.data", Authorization=f"jwt {forged}")).is_error
    alerts = "/alerts/v1/alertDefinitions"
    await env.client.get(alerts, headers={"standAloneToken": env.creds.stand_alone_token})
    await env.client.get(alerts, headers={"standAloneToken": env.creds.token})  # a query token
    await env.client.get(f"/event/self/token!{env.creds.ingest_token}/h/my.app.x?hello")
    assert seen(env) == [
        ("other", "other", "jwt", "login", "OK", fingerprint(good), fingerprint(good), "query"),
        ("other", "other", "jwt", "failed", "DENIED", fingerprint(forged), "", "query"),
        ("self", "self", "token", "login", "OK", fingerprint(env.creds.stand_alone_token),
         "default", "alerts"),
        ("self", "self", "token", "failed", "DENIED", fingerprint(env.creds.token), "default",
         "alerts"),
        ("self", "self", "token", "login", "OK", fingerprint(env.creds.ingest_token), "default",
         "ingest"),
    ]  # fmt: skip
    reasons = [r["reason"] for r in env.rows(CONNECTION)]
    assert reasons[1] == "invalid JWT (InvalidSignatureError)"
    assert reasons[3] == "api token used where an alerts token is needed"


async def sign_in(client: httpx.AsyncClient, user: str, password: str) -> httpx.Response:
    form = await client.get("/ui/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    fields = {"user": user, "password": password, "csrf": csrf.group(1)}
    return await client.post("/ui/login", data=fields)


async def test_console_sign_ins_sign_outs_and_failures(env: Env) -> None:
    env.add_users()
    assert (await sign_in(env.client, "otto", "wrong password!")).status_code == 401
    assert (await sign_in(env.client, "nobody", PASSWORD)).status_code == 401
    assert (await sign_in(env.client, "ana", PASSWORD)).status_code == 303
    page = await env.client.get("/ui/search")
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
    assert csrf is not None
    signed_out = await env.client.post("/ui/logout", headers={"X-CSRF-Token": csrf.group(1)})
    assert signed_out.status_code == 303
    assert seen(env) == [
        ("other", "other", "password", "failed", "DENIED", "otto", "otto", "console"),
        ("self", "self", "password", "failed", "DENIED", "", "", "console"),
        ("self", "self", "password", "login", "OK", "ana", "ana", "console"),
        ("self", "self", "password", "logout", "OK", "ana", "ana", "console"),
    ]
    reasons = [r["reason"] for r in env.rows(CONNECTION)]
    assert reasons[:2] == ["wrong password", "unknown user"]


async def test_failed_sign_ins_past_the_free_attempts_are_throttled(env: Env) -> None:
    env.add_users()
    for _ in range(5):
        await sign_in(env.client, "ana", "not the password")
    rows = env.rows(CONNECTION)
    assert [r["result"] for r in rows] == ["DENIED"] * 4 + ["THROTTLED"]
    assert rows[-1]["reason"] == "too many failed sign-ins"


def test_a_client_certificate_is_a_credential(tmp_path: Path) -> None:
    pki = make_pki(tmp_path, client_cn="acme")
    clock = SimulatedClock(NOW)
    data = open_data_dir(tmp_path / "data", clock)
    audit = Audit.start(data.store, clock, default_domain="self", node=NODE, flush_interval_s=3600)
    pipeline = IngestPipeline(data.store, clock, counts=audit.counts)
    config = CollectorConfig(
        port=None,
        tls_port=0,
        tls_cert=pki.server_cert,
        tls_key=pki.server_key,
        tls_client_ca=pki.ca_cert,
    )
    collector = SyslogCollector(
        config, pipeline, clock, lambda cn: cn if cn == "acme" else None, audit.connections
    ).start()
    port = collector.ports["tls"]
    try:
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        context.load_cert_chain(str(pki.client_cert), str(pki.client_key))
        plain = ssl.create_default_context(cafile=str(pki.ca_cert))
        for ctx in (context, plain):
            with (
                socket.create_connection(("127.0.0.1", port)) as sock,
                ctx.wrap_socket(sock, server_hostname="127.0.0.1") as tls,
            ):
                tls.sendall(b"<14>Jan  1 00:00:00 h my.app.cn: hello\n")
                tls.shutdown(socket.SHUT_WR)
                while tls.recv(1024):  # the collector closes once the events are stored
                    continue
    finally:
        collector.stop()
        pipeline.close()
        audit.close()
    names = ("client", "method", "action", "userid", "service", "srcHost", "serverPort")
    columns = ", ".join(f'"{name}"' for name in names)
    try:
        rows = anystore.rows(data.store, f'SELECT {columns} FROM "{CONNECTION}"')
    finally:
        data.close()
    # The connection without a certificate proved nothing: no row.
    assert rows == [("acme", "certificate", "login", "acme", "syslog", "127.0.0.1", port)]
