"""The real devo-sdk API client and its `devo-api` CLI against a live linqd server (HTTPS)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgpack
import pytest
import requests
from devo.api import Client, ClientConfig, DevoClientException

from linqd.api.auth import make_jwt

from .conftest import SEED_ROWS, LiveServer

Q = "from demo.ecommerce.data select eventdate, clientIpAddress, method, statusCode"
STREAMED = ("json/simple", "json/simple/compact", "csv", "tsv")
WHOLE = ("json", "json/compact")


def client(
    live: LiveServer,
    response: str = "json",
    *,
    stream: bool = False,
    auth: dict[str, str] | None = None,
    address: str | None = None,
    processor: Any = "default",
) -> Client:
    config = ClientConfig(response=response, stream=stream, processor=processor)
    credentials = auth or {
        "key": live.credentials["apiKey"],
        "secret": live.credentials["apiSecret"],
    }
    return Client(
        address=address or f"{live.url}/search/query",
        auth=credentials,
        config=config,
        verify=str(live.ca),
        timeout=30,
    )


def rows_of_json(text: str) -> list[dict[str, Any]]:
    document = json.loads(text)
    assert document["status"] == 0
    objects: list[dict[str, Any]] = document["object"]
    return objects


def test_key_and_secret(live: LiveServer) -> None:
    result = client(live).query(query=Q, dates={"from": "1h"})
    assert len(rows_of_json(result)) == SEED_ROWS


def test_token_and_jwt(live: LiveServer) -> None:
    jwt = make_jwt(
        "self",
        live.credentials["apiSecret"],
        now_ms=int(dt.datetime.now(dt.UTC).timestamp() * 1000),
    )
    for auth in ({"token": live.credentials["token"]}, {"jwt": jwt}):
        result = client(live, auth=auth).query(query=Q, dates={"from": "1h"})
        assert len(rows_of_json(result)) == SEED_ROWS, auth


def test_address_with_trailing_slash_posts_to_root(live: LiveServer) -> None:
    result = client(live, address=f"{live.url}/").query(query=Q, dates={"from": "1h"})
    assert len(rows_of_json(result)) == SEED_ROWS


@pytest.mark.parametrize("mode", STREAMED)
@pytest.mark.parametrize("stream", [True, False])
def test_streamed_modes(live: LiveServer, mode: str, stream: bool) -> None:
    result = client(live, mode, stream=stream).query(query=Q, dates={"from": "1h", "to": "now"})
    lines = list(result) if stream else [x for x in str(result).splitlines() if x.strip()]
    data_lines = len(lines) - 1  # the m line or the header line
    expected = SEED_ROWS
    if mode == "json/simple":
        data_lines += 1
    assert data_lines == expected, lines[:3]
    if mode == "json/simple/compact":
        assert str(lines[0]).startswith('{"m":{"eventdate":{"type":"timestamp","index":0')


@pytest.mark.parametrize("mode", WHOLE)
def test_whole_json_modes(live: LiveServer, mode: str) -> None:
    result = json.loads(client(live, mode).query(query=Q, dates={"from": "1h"}))
    obj = result["object"]
    rows = obj if mode == "json" else obj["d"]
    assert len(rows) == SEED_ROWS


def test_msgpack_and_xls(live: LiveServer) -> None:
    packed = client(live, "msgpack").query(query=Q, dates={"from": "1h"})
    assert len(msgpack.unpackb(packed)["object"]) == SEED_ROWS
    workbook = client(live, "xls").query(query=Q, dates={"from": "1h"})
    assert workbook[:2] == b"PK"  # an Office Open XML zip


def test_dates_as_ints_relative_strings_and_days(live: LiveServer) -> None:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%d")
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).strftime("%Y-%m-%d")
    windows = (
        {"from": now - 3600, "to": now},
        {"from": "1h"},
        {"from": "now()-1h", "to": "now"},
        {"from": "1d", "to": "now"},
        {"from": "2ad", "to": "tomorrow()"},
        {"from": yesterday, "to": tomorrow},
        {"from": "now()-7*day()"},
        {"from": today},
    )
    for dates in windows:
        result = client(live).query(query=Q, dates=dict(dates))
        assert len(rows_of_json(result)) == SEED_ROWS, dates


def test_limit_ends_a_continuous_query(live: LiveServer) -> None:
    result = client(live, "json/simple", stream=True).query(
        query=Q, dates={"from": "1h", "to": None}, limit=1
    )
    lines = list(result)  # returns only because the server closes after one row
    assert len(lines) == 1


def test_continuous_query_without_rows_sends_keep_alives(live: LiveServer) -> None:
    # No row will ever match: the server keeps the response open with keep-alive spaces.
    body = {
        "from": "1h",
        "to": None,
        "mode": {"type": "json/simple"},
        "query": 'from siem.logtrust.web.activity where method = "OTHER" select method',
    }
    headers = {"Authorization": f"Bearer {live.credentials['token']}"}
    with requests.post(
        f"{live.url}/search/query",
        json=body,
        headers=headers,
        stream=True,
        verify=str(live.ca),
        timeout=30,
    ) as response:
        assert response.status_code == 200
        first = next(response.iter_content(chunk_size=None))
    assert first.strip() == b""


def test_ip_as_string(live: LiveServer) -> None:
    query = "from demo.ecommerce.data select eventdate, clientIpAddress limit 1"
    plain = rows_of_json(client(live).query(query=query, dates={"from": "1h"}))
    assert plain[0]["clientIpAddress"] == 2130706433
    dotted = rows_of_json(client(live).query(query=query, dates={"from": "1h"}, ip_as_string=True))
    assert dotted[0]["clientIpAddress"] == "127.0.0.1"


def test_bad_credentials(live: LiveServer) -> None:
    bad = client(live, auth={"key": "aaa", "secret": "bbb"})
    with pytest.raises(DevoClientException) as caught:
        bad.query(query=Q, dates={"from": "1h"})
    assert caught.value.status == 401
    assert caught.value.code == 12


def test_unknown_table(live: LiveServer) -> None:
    with pytest.raises(DevoClientException) as caught:
        client(live).query(query="from no.such.table", dates={"from": "1h"})
    assert "Unknown table `no.such.table`" in str(caught.value.message)


def test_other_domain_is_invisible(live: LiveServer) -> None:
    result = client(live).query(
        query="from demo.ecommerce.data select method", dates={"from": "1h"}
    )
    assert "DELETE" not in {row["method"] for row in rows_of_json(result)}


def test_devo_api_cli(live: LiveServer, tmp_path: Path) -> None:
    devo_api = Path(sys.executable).parent / "devo-api"
    env = {**os.environ, "REQUESTS_CA_BUNDLE": str(live.ca)}
    out = subprocess.run(
        [
            str(devo_api),
            "query",
            "--address",
            f"{live.url}/search/query",
            "--key",
            live.credentials["apiKey"],
            "--secret",
            live.credentials["apiSecret"],
            "--query",
            "from demo.ecommerce.data select eventdate, clientIpAddress limit 1",
            "--from",
            "1h",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert '{"m":{"eventdate":{"type":"timestamp","index":0' in out.stdout
    bad = subprocess.run(
        [
            str(devo_api),
            "query",
            "--address",
            f"{live.url}/search/query",
            "--key",
            "aaa",
            "--secret",
            "bbb",
            "--query",
            "from demo.ecommerce.data",
            "--from",
            "1h",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert bad.returncode != 0


def test_linqd_query_asks_the_running_server(live: LiveServer) -> None:
    # The server owns the data directory: the CLI must go through its Query API.
    env = {**os.environ, "REQUESTS_CA_BUNDLE": str(live.ca)}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "linqd",
            "query",
            "--data-dir",
            str(live.data_dir),
            "from demo.ecommerce.data group by method select count() as n",
            "--from",
            "1h",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "GET" in out.stdout and "POST" in out.stdout
    assert "DELETE" not in out.stdout  # the other domain's row
