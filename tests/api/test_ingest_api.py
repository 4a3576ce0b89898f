"""Devo's HTTP ingestion API in-process (httpx.ASGITransport): /event and /stream, gzip bodies,
tags, tokens and domains, the 32 MB limit, and the Prometheus metrics."""

from __future__ import annotations

import gzip
import urllib.parse
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import anystore
from linqd.api.app import create_app
from linqd.clock import SimulatedClock
from linqd.config import Settings
from linqd.datadir import DataDir, open_data_dir
from linqd.domains import Credentials, DomainStore, TokenKind
from linqd.ingest.pipeline import IngestPipeline
from linqd.ingest.syslog import ParsedBatch

NOW = 1_800_000_000_000
LIMIT = 10.0
MB = 1024 * 1024

pytestmark = pytest.mark.anyio


@dataclass
class Env:
    client: httpx.AsyncClient
    data: DataDir
    domains: DomainStore
    pipeline: IngestPipeline
    creds: Credentials
    other: Credentials

    def url(
        self,
        kind: str,
        tag: str,
        *,
        host: str = "web-1",
        token: str | None = None,
        domain: str = "self",
    ) -> str:
        return f"/{kind}/{domain}/token!{token or self.creds.ingest_token}/{host}/{tag}"

    def committed(self) -> None:
        """Wait until everything accepted so far is durable (/event answers before that)."""
        empty = ParsedBatch([], [], [], [], [])
        assert self.pipeline.wait_committed(self.pipeline.submit(empty, client="self"), LIMIT)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return anystore.rows(self.data.store, sql, params)

    def messages(self, table: str) -> list[tuple[Any, ...]]:
        return self.rows(f'SELECT hostname, message, client FROM "{table}" ORDER BY _seq')


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
    pipeline = IngestPipeline(data.store, clock, flush_interval_s=0.005)
    settings = Settings(data_dir=data.path)
    app = create_app(settings, data.store, domains, clock, pipeline)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://linqd") as client:
            yield Env(client, data, domains, pipeline, creds, other)
    finally:
        pipeline.close()


def table_exists(env: Env, table: str) -> bool:
    return env.data.store.schema(table) is not None


# -- /event ----------------------------------------------------------------------------------------


async def test_event_get_with_url_encoded_message(env: Env) -> None:
    message = 'user=ana action="log in" 100% & done'
    url = env.url("event", "my.app.events", host="edge-7") + "?" + urllib.parse.quote(message)
    response = await env.client.get(url)
    assert response.status_code == 204
    assert response.content == b""
    env.committed()
    assert env.messages("my.app.events") == [("edge-7", message, "self")]


@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_event_with_the_message_in_the_body(env: Env, method: str) -> None:
    response = await env.client.request(
        method, env.url("event", "my.app.events"), content="héllo body ✓".encode()
    )
    assert response.status_code == 204
    env.committed()
    assert env.messages("my.app.events") == [("web-1", "héllo body ✓", "self")]


async def test_event_events_are_stored_in_arrival_order(env: Env) -> None:
    for i in range(5):
        response = await env.client.get(env.url("event", "my.app.seq") + f"?event%20{i}")
        assert response.status_code == 204
    env.committed()
    assert [m for _, m, _ in env.messages("my.app.seq")] == [f"event {i}" for i in range(5)]


async def test_event_over_32_mb_is_refused(env: Env) -> None:
    response = await env.client.post(env.url("event", "my.app.big"), content=b"x" * (33 * MB))
    assert response.status_code == 413
    assert "32 MB" in response.json()["msg"]
    env.committed()
    assert not table_exists(env, "my.app.big")


# -- /stream ---------------------------------------------------------------------------------------


async def test_stream_plain_body(env: Env) -> None:
    body = b"first line\nsecond line\nthird line\n"
    response = await env.client.post(env.url("stream", "my.app.stream"), content=body)
    assert response.status_code == 200
    reply = response.json()
    assert reply["status"] == 0
    assert reply["events"] == 3
    # Answered only once durable: no extra wait needed.
    assert env.messages("my.app.stream") == [
        ("web-1", "first line", "self"),
        ("web-1", "second line", "self"),
        ("web-1", "third line", "self"),
    ]


async def test_stream_gzip_body(env: Env) -> None:
    lines = [f"event number {i} ünïcode" for i in range(1000)]
    body = gzip.compress(("\n".join(lines) + "\n").encode())
    response = await env.client.post(
        env.url("stream", "my.app.gz"), content=body, headers={"Content-Encoding": "gzip"}
    )
    assert response.status_code == 200
    assert response.json()["events"] == 1000
    assert [m for _, m, _ in env.messages("my.app.gz")] == lines


async def test_stream_two_concatenated_gzip_members(env: Env) -> None:
    body = gzip.compress(b"a1\na2\n") + gzip.compress(b"b1\nb2\nb3")
    response = await env.client.post(
        env.url("stream", "my.app.gz2"), content=body, headers={"Content-Encoding": "GZIP"}
    )
    assert response.status_code == 200
    assert response.json()["events"] == 5
    assert [m for _, m, _ in env.messages("my.app.gz2")] == ["a1", "a2", "b1", "b2", "b3"]


async def test_stream_crlf_lines_and_a_last_line_without_newline(env: Env) -> None:
    body = b"one\r\ntwo\r\nthree"
    response = await env.client.post(env.url("stream", "my.app.crlf"), content=body)
    assert response.status_code == 200
    assert response.json()["events"] == 3
    assert [m for _, m, _ in env.messages("my.app.crlf")] == ["one", "two", "three"]


async def test_stream_empty_trailing_line_is_ignored(env: Env) -> None:
    for body in (b"only\n", b"only\r\n"):
        response = await env.client.post(env.url("stream", "my.app.trail"), content=body)
        assert response.status_code == 200
        assert response.json()["events"] == 1
    assert [m for _, m, _ in env.messages("my.app.trail")] == ["only", "only"]


async def test_stream_empty_body_stores_nothing(env: Env) -> None:
    response = await env.client.post(env.url("stream", "my.app.nothing"), content=b"")
    assert response.status_code == 200
    assert response.json()["events"] == 0
    assert not table_exists(env, "my.app.nothing")


async def test_stream_hostname_and_client_come_from_the_path(env: Env) -> None:
    other_url = env.url("stream", "my.app.hosts", host="db-2", token=env.other.ingest_token)
    response = await env.client.post(other_url.replace("/self/", "/other/"), content=b"o\n")
    assert response.status_code == 200
    response = await env.client.post(env.url("stream", "my.app.hosts", host="db-1"), content=b"s")
    assert response.status_code == 200
    assert env.messages("my.app.hosts") == [("db-2", "o", "other"), ("db-1", "s", "self")]


async def test_stream_over_32_mb_is_refused(env: Env) -> None:
    """A 40 MB body streamed in 1 MB chunks: refused as soon as it passes 32 MB."""
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        line = b"y" * (MB - 1) + b"\n"
        for _ in range(40):
            sent += 1
            yield line

    response = await env.client.post(env.url("stream", "my.app.huge"), content=body())
    assert response.status_code == 413
    reply = response.json()
    assert reply["status"] == 413
    assert "32 MB" in reply["msg"]
    assert sent == 33  # the rest of the body was never read
    env.committed()
    assert not table_exists(env, "my.app.huge")


async def test_stream_just_under_32_mb_is_accepted(env: Env) -> None:
    body = (b"z" * (MB - 1) + b"\n") * 32
    assert len(body) == 32 * MB
    response = await env.client.post(env.url("stream", "my.app.edge"), content=body)
    assert response.status_code == 200
    assert response.json()["events"] == 32


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\x1f\x8b\x08\x00garbage that is not deflate", id="corrupt"),
        pytest.param(b"plain text, no gzip at all\n", id="not-gzip"),
        pytest.param(gzip.compress(b"a\nb\n" * 100)[:-12], id="truncated"),
    ],
)
async def test_stream_bad_gzip_is_400(env: Env, body: bytes) -> None:
    response = await env.client.post(
        env.url("stream", "my.app.badgz"), content=body, headers={"Content-Encoding": "gzip"}
    )
    assert response.status_code == 400
    assert "gzip" in " ".join(response.json()["object"])
    assert not table_exists(env, "my.app.badgz")


# -- tags ------------------------------------------------------------------------------------------


async def test_tag_with_hyphens_names_a_camel_case_table(env: Env) -> None:
    response = await env.client.post(env.url("stream", "web.apache.access-lt"), content=b"hit\n")
    assert response.status_code == 200
    assert env.messages("web.apache.accessLt") == [("web-1", "hit", "self")]
    assert not table_exists(env, "web.apache.access-lt")


@pytest.mark.parametrize("tag", ["single", "a.b.c.d.e.f.g", "my..app", "my.app.bad$level"])
@pytest.mark.parametrize("kind", ["event", "stream"])
async def test_invalid_tag_is_400(env: Env, kind: str, tag: str) -> None:
    response = await env.client.post(env.url(kind, tag), content=b"x\n")
    assert response.status_code == 400
    assert "Invalid tag" in " ".join(response.json()["object"])


async def test_builtin_table_over_http_keeps_unparsed_lines(env: Env) -> None:
    body = b'{"method":"GET","uri":"/a","statusCode":200}\nnot json\n'
    response = await env.client.post(env.url("stream", "demo.ecommerce.data"), content=body)
    assert response.status_code == 200
    assert response.json()["events"] == 2
    assert env.rows('SELECT method, uri, statusCode FROM "demo.ecommerce.data"') == [
        ("GET", "/a", 200)
    ]
    assert env.messages("demo.ecommerce.data.unparsed") == [("web-1", "not json", "self")]


@pytest.mark.parametrize(
    "tag", ["siem.logtrust.alert.info", "my.lookuplist.secrets", "linqd.ingest.rejected"]
)
@pytest.mark.parametrize("kind", ["event", "stream"])
async def test_tables_linqd_writes_itself_are_400(env: Env, kind: str, tag: str) -> None:
    response = await env.client.post(env.url(kind, tag), content=b"forged\n")
    assert response.status_code == 400
    assert "written by linqd itself" in " ".join(response.json()["object"])
    env.committed()
    assert env.pipeline.stats().rejected_total == 1
    if tag != "linqd.ingest.rejected":
        assert not table_exists(env, tag) or env.rows(f'SELECT count(*) FROM "{tag}"') == [(0,)]


async def test_a_case_clash_is_400_and_leaves_no_error_behind(env: Env) -> None:
    """The review's reproduction: after one `X.Y` event every /stream call of every domain
    answered 500 naming another domain's table."""
    other = env.url("stream", "x.y", domain="other", token=env.other.ingest_token)
    assert (await env.client.post(other, content=b"theirs\n")).status_code == 200
    for kind in ("event", "stream"):
        response = await env.client.post(env.url(kind, "X.Y"), content=b"clash\n")
        assert response.status_code == 400
        text = " ".join(response.json()["object"])
        assert "differs from an existing table only in case" in text
        assert "x.y" not in text.replace("X.Y", "")  # the other domain's table is not named
    for _ in range(3):
        response = await env.client.post(env.url("stream", "my.app.after"), content=b"a\nb\n")
        assert response.status_code == 200
    assert len(env.messages("my.app.after")) == 6


# -- tokens and domains ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["event", "stream"])
async def test_unknown_token_is_401(env: Env, kind: str) -> None:
    response = await env.client.post(env.url(kind, "my.app.auth", token="nope" * 8), content=b"x")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 5
    assert not table_exists(env, "my.app.auth")


@pytest.mark.parametrize("kind", ["event", "stream"])
async def test_api_token_is_not_an_ingest_token(env: Env, kind: str) -> None:
    for token in (env.creds.token, env.creds.stand_alone_token):
        response = await env.client.post(env.url(kind, "my.app.auth", token=token), content=b"x")
        assert response.status_code == 401
    assert not table_exists(env, "my.app.auth")


async def test_missing_token_prefix_is_refused(env: Env) -> None:
    url = f"/stream/self/{env.creds.ingest_token}/web-1/my.app.auth"
    response = await env.client.post(url, content=b"x")
    assert response.status_code in (400, 401)
    assert not table_exists(env, "my.app.auth")


@pytest.mark.parametrize("kind", ["event", "stream"])
async def test_token_of_another_domain_is_403(env: Env, kind: str) -> None:
    response = await env.client.post(
        env.url(kind, "my.app.auth", token=env.other.ingest_token), content=b"x\n"
    )
    assert response.status_code == 403
    assert "self" in response.json()["msg"]
    env.committed()
    assert not table_exists(env, "my.app.auth")


async def test_ingest_token_limited_to_tables(env: Env) -> None:
    token = env.domains.create_token("self", kind=TokenKind.INGEST, tables=["my.app.*"])
    allowed = await env.client.post(env.url("stream", "my.app.ok", token=token), content=b"a")
    assert allowed.status_code == 200
    refused = await env.client.post(env.url("stream", "other.app.no", token=token), content=b"b")
    assert refused.status_code == 403
    assert env.messages("my.app.ok") == [("web-1", "a", "self")]
    assert not table_exists(env, "other.app.no")


# -- /metrics --------------------------------------------------------------------------------------


def metric(text: str, name: str, table: str | None = None) -> float | None:
    """A sample's value, read with Prometheus' own parser (so the text must parse)."""
    labels = {} if table is None else {"table": table}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


async def test_metrics_need_credentials(env: Env) -> None:
    response = await env.client.get("/metrics")
    assert response.status_code == 401
    response = await env.client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401


async def test_metrics_refuse_the_ingest_token(env: Env) -> None:
    headers = {"Authorization": f"Bearer {env.creds.ingest_token}"}
    response = await env.client.get("/metrics", headers=headers)
    assert response.status_code == 401


async def test_metrics_for_another_domain_are_403(env: Env) -> None:
    response = await env.client.get(
        "/metrics", headers={"Authorization": f"Bearer {env.other.token}"}
    )
    assert response.status_code == 403


async def test_metrics_count_events_per_table(env: Env) -> None:
    await env.client.post(env.url("stream", "my.app.metrics"), content=b"a\nb\nc\n")
    await env.client.get(env.url("event", "my.app.metrics") + "?d")
    await env.client.post(
        env.url("stream", "demo.ecommerce.data"), content=b'{"method":"GET"}\nbroken\n'
    )
    env.committed()

    response = await env.client.get(
        "/metrics", headers={"Authorization": f"Bearer {env.creds.token}"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    received = "linqd_ingest_events_received_total"
    assert f'{received}{{table="my.app.metrics"}} 4.0' in text.splitlines()
    assert metric(text, received, "demo.ecommerce.data") == 2
    assert metric(text, "linqd_ingest_events_stored_total", "my.app.metrics") == 4
    assert metric(text, "linqd_ingest_events_stored_total", "demo.ecommerce.data") == 1
    assert metric(text, "linqd_ingest_events_unparsed_total", "demo.ecommerce.data") == 1
    assert metric(text, "linqd_ingest_rejected_total") == 0
    assert metric(text, "linqd_ingest_pending_rows") == 0
    assert f"# TYPE {received} counter" in text


async def test_metrics_count_bytes_per_table(env: Env) -> None:
    await env.client.get(env.url("event", "my.app.bytes") + "?abc")
    env.committed()
    response = await env.client.get(
        "/metrics", headers={"Authorization": f"Bearer {env.creds.token}"}
    )
    assert metric(response.text, "linqd_ingest_bytes_total", "my.app.bytes") == 3


async def test_metrics_count_bytes_not_characters(env: Env) -> None:
    message = "héllo ✓"  # 7 characters, 10 bytes in UTF-8
    url = env.url("event", "my.app.utf8") + "?" + urllib.parse.quote(message)
    assert (await env.client.get(url)).status_code == 204
    env.committed()
    response = await env.client.get(
        "/metrics", headers={"Authorization": f"Bearer {env.creds.token}"}
    )
    assert metric(response.text, "linqd_ingest_bytes_total", "my.app.utf8") == len(message.encode())


async def test_no_ingest_routes_without_a_pipeline(data: DataDir) -> None:
    clock = SimulatedClock(NOW)
    domains = DomainStore(data.meta, clock)
    creds = domains.create_domain("self")
    app = create_app(Settings(data_dir=data.path), data.store, domains, clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://linqd") as client:
        url = f"/stream/self/token!{creds.ingest_token}/h/my.app.none"
        assert (await client.post(url, content=b"x")).status_code == 404


async def test_metrics_count_events_kept_aside_per_table(env: Env) -> None:
    # HTTP refuses such a table up front; syslog has no way to, so its events are kept aside.
    forged = ParsedBatch(["siem.logtrust.forged"] * 2, ["h"] * 2, ["x", "y"], [None] * 2, [])
    env.pipeline.submit(forged, client="self")
    await env.client.post(env.url("stream", "my.app.fine"), content=b"a\n")
    env.committed()
    response = await env.client.get(
        "/metrics", headers={"Authorization": f"Bearer {env.creds.token}"}
    )
    text = response.text
    rejected = "linqd_ingest_events_rejected_total"
    assert metric(text, rejected, "siem.logtrust.forged") == 2
    assert metric(text, rejected, "my.app.fine") == 0
    assert metric(text, "linqd_ingest_events_stored_total", "siem.logtrust.forged") == 0
    assert metric(text, "linqd_ingest_events_lost_total") == 0
    assert f"# TYPE {rejected} counter" in text.splitlines()
    assert "# TYPE linqd_ingest_events_lost_total counter" in text.splitlines()
