"""No secret reaches the audit tables or the server's log: every endpoint family is called with
secrets (HMAC, tokens, standAloneToken, JWT, ingestion tokens in URLs, job destinations with
keys, alert definitions, delivery methods of every type with their secrets, the Lookups API,
console passwords, accepted and refused), then every row of the three tables is searched for
each secret."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest

from linqd.api.auth import make_jwt

from .conftest import ACTIVITY, CONNECTION, COUNTER, NOW, PASSWORD, Env

pytestmark = pytest.mark.anyio

S3_ACCESS = "AKIAEXAMPLEACCESS01"
S3_SECRET = "s3-secret-wJalrXUtnFEMI-K7MDENG"
ZIP_PASSWORD = "zip-password-77d1"
KAFKA_PASSWORD = "kafka-sasl-password-3f9a"
METHOD_PASSWORD = "hook-password-b0a8"
HEADER_KEY = "hook-header-key-5e21"
TYPED_AS_USER = "pw-typed-as-user-9c4e"
WRONG_PASSWORD = "wrong-password-1d2f"
QUERY_SECRET = "query-string-secret-8a7b"
SLACK_PATH = "T000/B000/slack-webhook-secret-4c2d"
ROUTING_KEY = "pdroutingkey0123456789abcdef0123"
JIRA_TOKEN = "jira-api-token-6e3b"
SNOW_PASSWORD = "servicenow-password-2a9c"
PUSHOVER_TOKEN = "pushoverapptoken0123456789abcd"
PUSHOVER_USER = "pushoveruserkey0123456789abcde"
VENDOR_METHODS = {
    "slack": {"webhookUrl": f"https://hooks.slack.example.invalid/services/{SLACK_PATH}"},
    "pagerduty": {"routingKey": ROUTING_KEY},
    "jira": {
        "url": "https://jira.example.invalid",
        "username": "bob@example.com",
        "apiToken": JIRA_TOKEN,
        "projectKey": "OPS",
    },
    "servicenow": {
        "url": "https://snow.example.invalid",
        "username": "bob",
        "password": SNOW_PASSWORD,
    },
    "pushover": {"userKey": PUSHOVER_USER, "appToken": PUSHOVER_TOKEN},
}


async def console_sign_in(client: httpx.AsyncClient, user: str, password: str) -> str:
    """Signs in (or tries); returns the page's CSRF token when it worked."""
    form = await client.get("/ui/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    await client.post("/ui/login", data={"user": user, "password": password, "csrf": csrf.group(1)})
    page = await client.get("/ui/search")
    found = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
    return found.group(1) if found else ""


async def test_no_secret_reaches_the_audit_tables_or_the_log(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    env.add_users()
    creds, client = env.creds, env.client
    jwt = make_jwt("self", creds.api_secret, now_ms=NOW)
    forged_jwt = make_jwt("self", "a guessed secret, long enough for HS256", now_ms=NOW)
    bounded = {"from": (NOW - 3_600_000) // 1000, "to": NOW // 1000}
    body = json.dumps({**bounded, "query": "from demo.ecommerce.data"}).encode()
    signed = env.signed(body)
    signatures = [signed["x-logtrust-sign"]]

    # The Query API: HMAC (good, then replayed later), Bearer, bare token, JWT, a forged JWT.
    assert (await client.post("/search/query", content=body, headers=signed)).is_success
    for authorization in (f"Bearer {creds.token}", creds.token, f"jwt {jwt}", f"jwt {forged_jwt}"):
        await client.post("/search/query", content=body, headers={"Authorization": authorization})
    bad = env.signed(b"not this body")
    signatures.append(bad["x-logtrust-sign"])
    assert (await client.post("/search/query", content=body, headers=bad)).status_code == 401
    env.clock.advance(10_000)
    assert (await client.post("/search/query", content=body, headers=signed)).status_code == 401
    # Credentials in query strings, where some clients put them.
    leaky = (
        f"standAloneToken={creds.stand_alone_token}&token={creds.token}&apikey={QUERY_SECRET}"
        f"&sign={signatures[0]}&jwt={jwt}&limit=5"
    )
    await client.get(f"/alerts/v1/alertDefinitions?{leaky}")
    await client.get(f"/search/jobs?{leaky}", headers=env.signed())

    # Jobs whose destinations carry keys: one accepted, one refused.
    s3 = {
        "type": "s3",
        "params": {
            "aws.bucket": "audit-bucket",
            "aws.region": "eu-west-1",
            "aws.accesskey": S3_ACCESS,
            "aws.secretkey": S3_SECRET,
            "file.password": ZIP_PASSWORD,
        },
    }
    kafka = {
        "type": "kafka",
        "params": {
            "bootstrap.servers": "127.0.0.1:9",
            "topic": "t",
            "sasl.password": KAFKA_PASSWORD,
        },
    }
    refused_s3 = {**s3, "params": {**s3["params"], "aws.region": "nowhere"}}
    for destination in (s3, kafka, refused_s3):
        job = {**bounded, "query": "from demo.ecommerce.data", "destination": destination}
        raw = json.dumps(job).encode()
        await client.post("/search/query", content=raw, headers=env.signed(raw))
    await client.get("/search/jobs", headers=env.signed())

    # Ingestion: tokens in the path, good and wrong.
    await client.get(f"/event/self/token!{creds.ingest_token}/h/my.app.x?password={PASSWORD}")
    await client.post(f"/stream/self/token!{creds.ingest_token}/h/my.app.x", content=b"a\nb\n")
    await client.get(f"/event/self/token!{QUERY_SECRET}/h/my.app.x?event")

    # The Alerts API and the delivery methods API.
    alerts = {"standAloneToken": creds.stand_alone_token, "Content-Type": "application/json"}
    definition = {
        "name": "audited",
        "message": "m",
        "description": "d",
        "subcategory": "s",
        "alertCorrelationContext": {
            "querySourceCode": 'from siem.logtrust.web.connection where action = "failed"',
            "priority": 5,
            "correlationTrigger": {"kind": "each"},
        },
    }
    created = await client.post("/alerts/v1/alertDefinitions", json=definition, headers=alerts)
    assert created.is_success, created.text
    await client.get("/alerts/v1/alertDefinitions", headers={"standAloneToken": creds.token})
    method = {
        "name": "hook",
        "type": "httpjson",
        "config": {
            "url": "http://hooks.example.invalid/alert",
            "username": "bob",
            "password": METHOD_PASSWORD,
            "headers": {"X-Api-Key": HEADER_KEY},
        },
    }
    assert (await client.post("/delco/methods", json=method, headers=alerts)).is_success
    bad_method = {**method, "config": {**method["config"], "url": "not a url"}}
    await client.post("/delco/methods", json=bad_method, headers=alerts)
    await client.get("/delco/methods", headers=alerts)
    for kind, config in VENDOR_METHODS.items():
        vendor = {"name": kind, "type": kind, "config": config}
        made = await client.post("/delco/methods", json=vendor, headers=alerts)
        assert made.is_success, made.text
        await client.put(f"/delco/methods/{made.json()['id']}", json=vendor, headers=alerts)

    # The Lookups API: a multipart upload and a JSON call with a token, one on another domain.
    bearer = {"Authorization": f"Bearer {creds.token}"}
    config = {
        "columns": [{"name": "k", "type": "INT8"}, {"name": "v", "type": "STRING"}],
        "hasHeader": True,
        "key": {"type": "column", "column": "k"},
    }
    files = {
        "deploy-config": (None, json.dumps(config), "application/json"),
        "csv": ("a.csv", b"k,v\n1,one\n", "text/csv"),
    }
    uploaded = await client.post(
        "/lookup-api/lookup/self/audited/deploy-csv", files=files, headers=bearer
    )
    assert uploaded.is_success, uploaded.text
    await client.get("/lookup-api/lookup/self", headers=bearer)
    await client.get("/lookup-api/lookup/other/audited", headers=bearer)

    # The console: a password typed as a user name, a wrong password, the right one.
    await console_sign_in(client, TYPED_AS_USER, PASSWORD)
    await console_sign_in(client, "ana", WRONG_PASSWORD)
    csrf = await console_sign_in(client, "ana", PASSWORD)
    assert csrf
    await client.post("/ui/logout", headers={"X-CSRF-Token": csrf})
    env.committed()
    env.clock.advance(60_000)  # closes the counters' minute

    tables = {table: env.rows(table) for table in (ACTIVITY, CONNECTION, COUNTER)}
    assert len(tables[ACTIVITY]) >= 25 and tables[CONNECTION] and tables[COUNTER]
    written = json.dumps(tables, default=str)
    secrets = {
        "HMAC secret": creds.api_secret,
        "query token": creds.token,
        "standAloneToken": creds.stand_alone_token,
        "ingestion token": creds.ingest_token,
        "JWT": jwt,
        "forged JWT": forged_jwt,
        "console password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "password typed as a user": TYPED_AS_USER,
        "S3 access key": S3_ACCESS,
        "S3 secret key": S3_SECRET,
        "zip password": ZIP_PASSWORD,
        "Kafka password": KAFKA_PASSWORD,
        "method password": METHOD_PASSWORD,
        "method header": HEADER_KEY,
        "query-string secret": QUERY_SECRET,
        "Slack webhook": SLACK_PATH,
        "PagerDuty routing key": ROUTING_KEY,
        "Jira API token": JIRA_TOKEN,
        "ServiceNow password": SNOW_PASSWORD,
        "Pushover app token": PUSHOVER_TOKEN,
        "Pushover user key": PUSHOVER_USER,
        **{f"signature {i}": sign for i, sign in enumerate(signatures)},
    }
    # The server's log: everything but the test's own HTTP client (httpx logs its URLs).
    server_log = "\n".join(
        caplog.handler.format(record)
        for record in caplog.records
        if not record.name.startswith(("httpx", "httpcore"))
    )
    for what, secret in secrets.items():
        assert secret not in written, f"the {what} is in an audit table"
        assert secret not in server_log, f"the {what} is in the log"
    # The rows still say what happened.
    assert '"username": "ana"' in written and "wrong signature" in written
    assert "replayed request" in written and "/event/self/token!***/h/my.app.x?***" in written
