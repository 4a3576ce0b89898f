"""The Query API in-process (httpx.ASGITransport): authentication schemes, every response mode,
Devo's error shapes, dates, scopes and domain confinement."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgpack
import openpyxl
import pytest

from linqd.api.app import create_app
from linqd.api.auth import hmac_signature, make_jwt
from linqd.clock import SimulatedClock
from linqd.config import Settings
from linqd.datadir import DataDir, open_data_dir
from linqd.domains import Credentials, DomainStore, TokenKind
from linqd.linq.functions import aggregates

NOW = 1_800_000_000_000
SIGNED = itertools.count()
MINUTE = 60_000
ROWS = 12

pytestmark = pytest.mark.anyio

# devo-sdk's in-band error patterns (spec/query-api.md §6.3), verbatim.
IN_BAND = {
    "json/simple/compact": r'{"e":\[(\d+),"([^"]+)"]}',
    "json/simple": r'\["error",(\d+),"([^"]+)"\]',
    "json": r'"error":\s\[(\d+),"([^"]+)"\]',
    "json/compact": r'"e":\s\[(\d+),"([^"]+)"\]',
    "csv": r"devo\.api\.error,(\d+),([^,\n]+)",
    "tsv": r"devo\.api\.error(?:\t|\s+)(\d+)(?:\t|\s+)([^\t\n]+)",
}


@dataclass
class Env:
    client: httpx.AsyncClient
    data: DataDir
    domains: DomainStore
    creds: Credentials
    clock: SimulatedClock

    def hmac_headers(
        self,
        body: bytes,
        *,
        key: str | None = None,
        secret: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, str]:
        key = key or self.creds.api_key
        # Each signed request is accepted once: a fresh timestamp per request, as clients do.
        ts = str(NOW - next(SIGNED) if timestamp is None else timestamp)
        return {
            "Content-Type": "application/json",
            "x-logtrust-apikey": key,
            "x-logtrust-timestamp": ts,
            "x-logtrust-sign": hmac_signature(key, secret or self.creds.api_secret, body, ts),
        }

    async def query(self, body: dict[str, Any], **headers: str) -> httpx.Response:
        raw = json.dumps(body).encode()
        sent = headers or self.hmac_headers(raw)
        return await self.client.post("/search/query", content=raw, headers=sent)


@pytest.fixture
def data(tmp_path: Path, store_spec: str) -> Iterator[DataDir]:
    data = open_data_dir(tmp_path, SimulatedClock(NOW), store=store_spec)
    data.store.append(
        "demo.ecommerce.data",
        {
            "clientIpAddress": [2130706433 + i for i in range(ROWS)],
            "method": ["GET" if i % 2 else "POST" for i in range(ROWS)],
            "uri": [f'/item/"{i}",x' for i in range(ROWS)],
            "statusCode": [404 if i % 4 == 0 else 200 for i in range(ROWS)],
            "timeTaken": list(range(ROWS)),
        },
        client="self",
        eventdates=[NOW - 10 * MINUTE + i * 1000 for i in range(ROWS)],
    )
    data.store.append(
        "demo.ecommerce.data",
        {"method": ["SECRET"], "uri": ["/other"], "statusCode": [200]},
        client="other",
        eventdates=[NOW - 5 * MINUTE],
    )
    yield data
    data.close()


@pytest.fixture
async def env(data: DataDir) -> AsyncIterator[Env]:
    clock = SimulatedClock(NOW)
    domains = DomainStore(data.meta, clock)
    creds = domains.create_domain("self")
    settings = Settings(data_dir=data.path, keepalive_interval_s=5.0, query_timeout_s=30.0)
    app = create_app(settings, data.store, domains, clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://linqd") as client:
        yield Env(client, data, domains, creds, clock)


BOUNDED = {"from": (NOW - 3_600_000) // 1000, "to": NOW // 1000}
Q = "from demo.ecommerce.data select eventdate, clientIpAddress, method, statusCode"


async def test_health_needs_no_credentials(env: Env) -> None:
    response = await env.client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# -- authentication -------------------------------------------------------------------------------


async def test_hmac_json(env: Env) -> None:
    response = await env.query({**BOUNDED, "query": Q, "mode": {"type": "json"}})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == 0 and body["msg"] == "" and isinstance(body["timestamp"], int)
    assert re.fullmatch(r"[0-9a-f]{12}", body["cid"])
    assert len(body["object"]) == ROWS
    first = body["object"][0]
    assert list(first) == ["eventdate", "clientIpAddress", "method", "statusCode"]
    assert first["eventdate"] == NOW - 10 * MINUTE
    assert first["clientIpAddress"] == 2130706433


async def test_bearer_bare_and_jwt_tokens(env: Env) -> None:
    body = {**BOUNDED, "query": Q, "mode": {"type": "json"}}
    jwt = make_jwt("self", env.creds.api_secret, now_ms=NOW)
    for header in (f"Bearer {env.creds.token}", env.creds.token, f"jwt {jwt}"):
        response = await env.query(body, Authorization=header)
        assert response.status_code == 200, header
        assert len(response.json()["object"]) == ROWS


async def test_missing_bad_and_stale_credentials(env: Env) -> None:
    body = {**BOUNDED, "query": Q}
    raw = json.dumps(body).encode()
    missing = await env.client.post("/search/query", content=raw)
    assert missing.status_code == 401
    assert missing.json() == {"error": {"code": 401, "message": "Unauthorized"}}
    bad = await env.client.post(
        "/search/query", content=raw, headers=env.hmac_headers(raw, secret="wrong")
    )
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == 12
    stale = await env.client.post(
        "/search/query", content=raw, headers=env.hmac_headers(raw, timestamp=NOW - 600_000)
    )
    assert stale.status_code == 401 and stale.json()["error"]["code"] == 12
    token = await env.query(body, Authorization="Bearer not-a-token")
    assert token.status_code == 401 and token.json()["error"]["code"] == 5


async def test_signature_covers_the_exact_body(env: Env) -> None:
    raw = json.dumps({**BOUNDED, "query": Q}).encode()
    headers = env.hmac_headers(raw)
    tampered = raw.replace(b"select", b"select ", 1)
    response = await env.client.post("/search/query", content=tampered, headers=headers)
    assert response.status_code == 401


async def test_root_path_is_the_query_endpoint(env: Env) -> None:
    raw = json.dumps({**BOUNDED, "query": Q, "mode": {"type": "json"}}).encode()
    response = await env.client.post("/", content=raw, headers=env.hmac_headers(raw))
    assert response.status_code == 200
    assert len(response.json()["object"]) == ROWS


# -- modes ----------------------------------------------------------------------------------------


async def test_json_compact(env: Env) -> None:
    response = await env.query({**BOUNDED, "query": Q, "mode": {"type": "json/compact"}})
    obj = response.json()["object"]
    assert obj["m"]["eventdate"] == {"type": "timestamp", "index": 0}
    assert obj["m"]["clientIpAddress"] == {"type": "ip4", "index": 1}
    assert [c["name"] for c in obj["metadata"]] == [
        "eventdate",
        "clientIpAddress",
        "method",
        "statusCode",
    ]
    assert obj["d"][0] == [NOW - 10 * MINUTE, 2130706433, "POST", 404]


async def test_json_simple_lines(env: Env) -> None:
    response = await env.query({**BOUNDED, "query": Q, "mode": {"type": "json/simple"}})
    lines = [json.loads(line) for line in response.text.split("\r\n") if line.strip()]
    assert len(lines) == ROWS
    assert lines[1] == {
        "eventdate": NOW - 10 * MINUTE + 1000,
        "clientIpAddress": 2130706434,
        "method": "GET",
        "statusCode": 200,
    }


async def test_json_simple_compact_first_line(env: Env) -> None:
    response = await env.query({**BOUNDED, "query": Q, "mode": {"type": "json/simple/compact"}})
    lines = [line for line in response.text.split("\r\n") if line.strip()]
    assert lines[0].startswith('{"m":{"eventdate":{"type":"timestamp","index":0')
    assert json.loads(lines[1]) == {"d": [NOW - 10 * MINUTE, 2130706433, "POST", 404]}
    assert len(lines) == ROWS + 1


async def test_ip_as_string(env: Env) -> None:
    response = await env.query(
        {**BOUNDED, "query": Q, "mode": {"type": "json"}, "ipAsString": True}
    )
    assert response.json()["object"][0]["clientIpAddress"] == "127.0.0.1"


async def test_ip6_mac_and_net6_are_canonical_text(env: Env) -> None:
    """ip6, net6 and mac values go out as their canonical text in every mode (spec §5.11 has
    no encoding for them; `ipAsString` is about ip4 only)."""
    query = (
        "from demo.ecommerce.data select ip6(clientIpAddress) as mapped, "
        'ip6("2001:DB8:0:0:1:0:0:1") as v6, mac("00-1A-2B-3C-4D-5E") as hw, '
        'net6("2001:db8::1/32") as net limit 1'
    )
    texts = ["::ffff:127.0.0.1", "2001:db8::1:0:0:1", "00:1a:2b:3c:4d:5e", "2001:db8::/32"]
    compact = await env.query({**BOUNDED, "query": query, "mode": {"type": "json/compact"}})
    obj = compact.json()["object"]
    assert [obj["m"][name]["type"] for name in ("mapped", "v6", "hw", "net")] == [
        "ip6",
        "ip6",
        "mac",
        "net6",
    ]
    assert obj["d"] == [texts]
    lines = await env.query({**BOUNDED, "query": query, "mode": {"type": "json/simple"}})
    assert json.loads(lines.text.split("\r\n")[0]) == dict(
        zip(("mapped", "v6", "hw", "net"), texts, strict=True)
    )
    csv_text = (await env.query({**BOUNDED, "query": query, "mode": {"type": "csv"}})).text
    assert csv_text.split("\r\n")[1] == ",".join(texts)


async def test_csv_and_tsv(env: Env) -> None:
    query = "from demo.ecommerce.data select eventdate, uri, statusCode limit 2"
    csv_text = (await env.query({**BOUNDED, "query": query, "mode": {"type": "csv"}})).text
    rows = [line for line in csv_text.split("\r\n") if line]
    assert rows[0] == "eventdate,uri,statusCode"
    assert rows[1] == '2027-01-15 07:50:00.000,"/item/""0"",x",404'
    tsv_text = (await env.query({**BOUNDED, "query": query, "mode": {"type": "tsv"}})).text
    assert tsv_text.split("\r\n")[0] == "eventdate\turi\tstatusCode"


async def test_csv_time_zone(env: Env) -> None:
    query = "from demo.ecommerce.data select eventdate limit 1"
    body = {**BOUNDED, "query": query, "mode": {"type": "csv"}, "timeZone": "GMT+2"}
    text = (await env.query(body)).text
    assert text.split("\r\n")[1] == "2027-01-15 09:50:00.000"


async def test_msgpack(env: Env) -> None:
    response = await env.query({**BOUNDED, "query": Q, "mode": {"type": "msgpack"}})
    document = msgpack.unpackb(response.content)
    assert document["status"] == 0
    assert len(document["object"]) == ROWS
    assert document["object"][0]["eventdate"] == NOW - 10 * MINUTE


async def test_xls_is_a_workbook(env: Env) -> None:
    response = await env.query({**BOUNDED, "query": Q, "mode": {"type": "xls"}})
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = workbook.active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("eventdate", "clientIpAddress", "method", "statusCode")
    assert len(rows) == ROWS + 1


async def test_bytes_are_base64_text_in_every_mode(env: Env) -> None:
    """Devo's docs name no wire form for bytes (hashes, decoded base16/base64): linqd sends
    standard base64 text with padding, in the JSON modes, csv/tsv cells, msgpack and xls, and
    types the column `bytes`; a null is a null (an empty cell)."""
    query = (
        "from demo.ecommerce.data where statusCode = 404 "
        'select md5("POST") as h, from16(ifthenelse(timeTaken = 0, "00ff", null)) as b'
    )
    digest = "oCQ57CKdi+DnSwwWAjkjEA=="  # base64 of the MD5 of "POST"
    rows = [[digest, "AP8="], [digest, None], [digest, None]]  # timeTaken 0, 4, 8

    def answer(mode: str, **extra: Any) -> Any:
        return env.query({**BOUNDED, "query": query, "mode": {"type": mode}, **extra})

    objects = (await answer("json")).json()["object"]
    assert [[o["h"], o["b"]] for o in objects] == rows
    compact = (await answer("json/compact")).json()["object"]
    assert compact["m"]["h"] == {"type": "bytes", "index": 0}
    assert compact["d"] == rows
    simple = (await answer("json/simple")).text.split("\r\n")
    assert [list(json.loads(line).values()) for line in simple if line] == rows
    for mode, separator in (("csv", ","), ("tsv", "\t")):
        lines = [line for line in (await answer(mode)).text.split("\r\n") if line]
        assert lines == [f"h{separator}b"] + [f"{h}{separator}{b or ''}" for h, b in rows], mode
    document = msgpack.unpackb((await answer("msgpack")).content)
    assert [[o["h"], o["b"]] for o in document["object"]] == rows
    sheet = openpyxl.load_workbook(io.BytesIO((await answer("xls")).content)).active
    assert sheet is not None
    assert [list(r) for r in sheet.iter_rows(min_row=2, values_only=True)] == rows


# A bag, a map and a set through every mode: a map (or bag) is a JSON object, a set an array.
COLLECTIONS = (
    "from demo.ecommerce.data where statusCode = 404 group by method "
    'select collectcompact(clientIpAddress) as ips, {"a": 1, "b": null} as m, {3, 1, 3} as s'
)
BAG = {"2130706433": 1, "2130706437": 1, "2130706441": 1}
COLLECTION_ROW = {"method": "POST", "ips": BAG, "m": {"a": 1, "b": None}, "s": [1, 3]}


@pytest.mark.parametrize(
    "mode", ["json", "json/compact", "json/simple", "json/simple/compact", "msgpack"]
)
async def test_maps_and_bags_are_objects_in_every_json_mode(env: Env, mode: str) -> None:
    response = await env.query({**BOUNDED, "query": COLLECTIONS, "mode": {"type": mode}})
    assert response.status_code == 200
    names = list(COLLECTION_ROW)
    if mode == "json":
        assert response.json()["object"] == [COLLECTION_ROW]
    elif mode == "json/compact":
        body = response.json()["object"]
        assert body["m"]["ips"] == {"type": "map(ip4,int8)", "index": 1}
        assert body["m"]["m"]["type"] == "map(str,int8)"
        assert body["m"]["s"]["type"] == "set(int8)"
        assert body["d"] == [[COLLECTION_ROW[n] for n in names]]
    elif mode == "msgpack":
        assert msgpack.unpackb(response.content)["object"] == [COLLECTION_ROW]
    else:
        lines = [json.loads(line) for line in response.text.split("\r\n") if line.strip()]
        if mode == "json/simple":
            assert lines == [COLLECTION_ROW]
        else:
            assert lines[1:] == [{"d": [COLLECTION_ROW[n] for n in names]}]


async def test_a_map_with_ip_as_string_and_in_csv(env: Env) -> None:
    body = {**BOUNDED, "query": COLLECTIONS, "mode": {"type": "json"}, "ipAsString": True}
    row = (await env.query(body)).json()["object"][0]
    assert row["ips"] == {"127.0.0.1": 1, "127.0.0.5": 1, "127.0.0.9": 1}
    text = (await env.query({**BOUNDED, "query": COLLECTIONS, "mode": {"type": "csv"}})).text
    header, line = [x for x in text.split("\r\n") if x][:2]
    assert header == "method,ips,m,s"
    cells = next(csv.reader([line]))
    assert [json.loads(c) for c in cells[1:]] == [BAG, {"a": 1, "b": None}, [1, 3]]


@pytest.mark.parametrize("mode", list(IN_BAND))
async def test_collectcompact_past_its_bound_reaches_the_caller(
    env: Env, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """The bound is only known as the rows are aggregated: Devo's message comes in band, as
    the subquery cap's does (the production bound, 100,000, is lowered to 2 here)."""
    monkeypatch.setattr(aggregates, "COLLECTCOMPACT_MAX", 2)
    response = await env.query({**BOUNDED, "query": COLLECTIONS, "mode": {"type": mode}})
    assert response.status_code == 200
    match = re.search(IN_BAND[mode], response.text)
    assert match is not None, response.text[:300]
    assert match.group(2).strip() == (
        "Maximum number of elements surpassed for operation `collectcompact`"
    )


async def test_limit_and_offset(env: Env) -> None:
    body = {**BOUNDED, "query": Q, "mode": {"type": "json"}, "limit": 3, "offset": 2}
    objects = (await env.query(body)).json()["object"]
    assert [o["clientIpAddress"] for o in objects] == [2130706435, 2130706436, 2130706437]


async def test_continuous_query_ends_at_its_limit(env: Env) -> None:
    body = {"from": "1h", "to": None, "query": Q, "mode": {"type": "json/simple"}, "limit": 2}
    response = await env.query(body)
    lines = [line for line in response.text.split("\r\n") if line.strip()]
    assert len(lines) == 2


async def test_relative_dates(env: Env) -> None:
    for window in ({"from": "1h", "to": "now"}, {"from": "now()-1h"}, {"from": "1d"}):
        body = {**window, "query": Q, "mode": {"type": "json"}}
        body.setdefault("to", NOW // 1000)
        objects = (await env.query(body)).json()["object"]
        assert len(objects) == ROWS, window


# -- errors ---------------------------------------------------------------------------------------


async def test_unknown_table(env: Env) -> None:
    response = await env.query({**BOUNDED, "query": "from no.such.table"})
    assert response.status_code == 400
    body = response.json()
    assert body["msg"] == "Error Launching Query"
    assert body["object"] == [
        "Error Launching Query",
        "Unknown table `no.such.table` at line 1, column 6",
    ]
    assert body["code"] == 2086000
    assert all(isinstance(item, str) for item in body["object"])


async def test_linq_error_names_line_and_column(env: Env) -> None:
    response = await env.query({**BOUNDED, "query": "from demo.ecommerce.data\nwhere nope = 1"})
    assert response.status_code == 400
    assert "Unknown identifier `nope' at line 2, column 7" in response.json()["object"][1]


async def test_a_refused_function_reaches_the_caller_in_devos_error_shape(env: Env) -> None:
    text = "from demo.ecommerce.data\nselect reputation(clientIpAddress) as r"
    response = await env.query({**BOUNDED, "query": text})
    assert response.status_code == 400
    body = response.json()
    assert body["msg"] == "Error Launching Query"
    assert body["object"] == [
        "Error Launching Query",
        "`reputation' needs Devo's reputation feed, which this server does not have "
        "at line 2, column 8",
    ]
    assert body["code"] == 1101002


@pytest.mark.parametrize(
    ("window", "code"),
    [
        ({"to": NOW // 1000}, "405"),
        ({"from": "2024-01-02T03:04:05Z"}, "406"),
        ({"from": NOW // 1000, "to": NOW // 1000 - 60}, "408"),
    ],
)
async def test_date_errors(env: Env, window: dict[str, Any], code: str) -> None:
    response = await env.query({**window, "query": Q})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Bad parameters"
    assert body["object"][0].startswith(code)


async def test_bad_body(env: Env) -> None:
    raw = b"{not json"
    response = await env.client.post("/search/query", content=raw, headers=env.hmac_headers(raw))
    assert response.status_code == 400
    assert response.json()["error"] == "Bad parameters"


async def test_oversized_body(env: Env) -> None:
    raw = json.dumps({**BOUNDED, "query": Q + " " * 2_000_000}).encode()
    response = await env.client.post("/search/query", content=raw, headers=env.hmac_headers(raw))
    assert response.status_code == 413
    assert "larger than" in response.json()["msg"]


@pytest.mark.parametrize("mode", list(IN_BAND))
async def test_in_band_errors_match_devo_sdk(env: Env, data: DataDir, mode: str) -> None:
    data.store.append(
        "my.app.big",
        {"message": [f"m{i}" for i in range(32_001)]},
        client="self",
        eventdates=[NOW - MINUTE] * 32_001,
    )
    query = (
        "from demo.ecommerce.data where uri in "
        "(from my.app.big group every - by message) select uri"
    )
    response = await env.query({**BOUNDED, "query": query, "mode": {"type": mode}})
    assert response.status_code == 200
    match = re.search(IN_BAND[mode], response.text)
    assert match is not None, response.text[:300]
    assert "max value for size is 32000 but reached 32001" in match.group(2)


# -- scope and domains ----------------------------------------------------------------------------


async def test_other_domains_rows_are_invisible(env: Env) -> None:
    body = {**BOUNDED, "query": "from demo.ecommerce.data select method", "mode": {"type": "json"}}
    methods = {o["method"] for o in (await env.query(body)).json()["object"]}
    assert "SECRET" not in methods
    other = env.domains.create_domain("other")
    response = await env.query(body, Authorization=f"Bearer {other.token}")
    assert [o["method"] for o in response.json()["object"]] == ["SECRET"]


async def test_token_scope(env: Env) -> None:
    scoped = env.domains.create_token("self", kind=TokenKind.API, tables=("siem.**",))
    body = {**BOUNDED, "query": Q}
    response = await env.query(body, Authorization=f"Bearer {scoped}")
    assert response.status_code == 403
    assert response.json()["msg"] == "Access not allowed for table 'demo.ecommerce.data'"
    sub = (
        "from siem.logtrust.web.activity where username in "
        "(from demo.ecommerce.data group every - by method) select username"
    )
    response = await env.query({**BOUNDED, "query": sub}, Authorization=f"Bearer {scoped}")
    assert response.status_code == 403


async def test_all_data_reads_the_domains_tables_in_the_tokens_scope(env: Env) -> None:
    env.data.store.append("my.app.x", {"message": ["GET in my.app.x"]}, client="self")
    env.data.store.append("my.app.theirs", {"message": ["GET of theirs"]}, client="other")
    query = 'from all.data where toktains(message, "GET") group by table select count() as n'
    body = {**BOUNDED, "query": query, "mode": {"type": "json"}}
    response = await env.query(body)
    assert response.status_code == 200, response.text
    counts = {o["table"]: o["n"] for o in response.json()["object"]}
    assert counts == {"demo.ecommerce.data": ROWS // 2, "my.app.x": 1}
    # A token reads the tables of its scope only, without being refused for the others.
    token = env.domains.create_token("self", tables=["my.app.*"])
    response = await env.query(body, Authorization=f"Bearer {token}")
    assert response.status_code == 200, response.text
    assert {o["table"]: o["n"] for o in response.json()["object"]} == {"my.app.x": 1}


async def test_saved_query(env: Env) -> None:
    env.domains.add_saved_query("self", "qid-1", "from demo.ecommerce.data select method")
    body = {**BOUNDED, "queryId": "qid-1", "mode": {"type": "json"}}
    assert len((await env.query(body)).json()["object"]) == ROWS
    missing = await env.query({**BOUNDED, "queryId": "nope"})
    assert missing.status_code == 400


async def test_table_endpoint(env: Env) -> None:
    path = "/search/table/demo.ecommerce.data"
    response = await env.client.get(path, headers=env.hmac_headers(b""))
    assert response.status_code == 200
    columns = response.json()["object"]
    assert columns[0] == {"fieldName": "eventdate", "type": "timestamp"}
    assert {"fieldName": "clientIpAddress", "type": "ip4"} in columns
    missing = await env.client.get("/search/table/no.such", headers=env.hmac_headers(b""))
    assert missing.status_code == 403
    assert missing.json()["msg"] == "Access not allowed for table 'no.such'"


async def test_another_domains_table_is_answered_like_a_missing_one(env: Env) -> None:
    # Tables outside the fixed-schema families (my.app.* always exists: test_test_tables.py).
    env.data.store.append("web.app.theirs", {"message": ["secret"]}, client="other")
    answers = []
    for table in ("web.app.theirs", "web.app.nowhere"):
        response = await env.client.get(f"/search/table/{table}", headers=env.hmac_headers(b""))
        answers.append((response.status_code, response.json()["msg"].replace(table, "T")))
    assert answers[0] == answers[1] == (403, "Access not allowed for table 'T'")
    texts = []
    for table in ("web.app.theirs", "web.app.nowhere"):
        response = await env.query({**BOUNDED, "query": f"from {table} select message"})
        texts.append((response.status_code, response.json()["object"][1].replace(table, "T")))
    assert texts[0] == texts[1] == (400, "Unknown table `T` at line 1, column 6")
    env.data.store.append("web.app.theirs", {"message": ["mine"]}, client="self")
    response = await env.client.get("/search/table/web.app.theirs", headers=env.hmac_headers(b""))
    assert response.status_code == 200


async def test_scope_is_checked_before_any_name(env: Env) -> None:
    """A table-scoped token must not learn another table's columns from error texts."""
    token = env.domains.create_token("self", tables=["my.app.*"])
    headers = {"Authorization": f"Bearer {token}"}
    env.data.store.append("my.app.x", {"message": ["a"]}, client="self")
    for query in (
        "from demo.ecommerce.data select nosuchcolumn",
        "from demo.ecommerce.data select method",
        "from my.app.x where message in (from demo.ecommerce.data select nosuchcolumn)",
    ):
        response = await env.query({**BOUNDED, "query": query}, **headers)
        assert response.status_code == 403, response.text
        assert response.json()["msg"] == "Access not allowed for table 'demo.ecommerce.data'"
    response = await env.client.get("/search/table/demo.ecommerce.data", headers=headers)
    assert response.status_code == 403
