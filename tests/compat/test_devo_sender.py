"""The real devo-sdk Sender, its logging handler, its Lookup and the devo-sender CLI against the
live server's collector; every send is followed by a devo-sdk query that finds exactly it."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from devo.api import Client, ClientConfig
from devo.sender import Lookup, Sender, SenderConfigSSL, SenderConfigTCP

from .conftest import LiveServer


def query(live: LiveServer, linq: str, *, frm: str = "1h") -> list[dict[str, Any]]:
    api = Client(
        address=f"{live.url}/search/query",
        auth={"token": live.credentials["token"]},
        config=ClientConfig(response="json", stream=False),
        verify=str(live.ca),
        timeout=30,
    )
    document = json.loads(api.query(query=linq, dates={"from": frm, "to": "now"}))
    assert document["status"] == 0, document
    rows: list[dict[str, Any]] = document["object"]
    return rows


def fresh_tag(prefix: str) -> str:
    return f"my.app.{prefix}{secrets.token_hex(4)}"


def messages(live: LiveServer, tag: str) -> list[str]:
    return [row["message"] for row in query(live, f"from {tag} select message")]


def tcp_sender(live: LiveServer) -> Sender:
    return Sender(SenderConfigTCP(address=("127.0.0.1", live.syslog_port)))


def tls_sender(live: LiveServer, *, certificates: bool) -> Sender:
    if certificates:
        config = SenderConfigSSL(
            address=("127.0.0.1", live.syslog_tls_port),
            key=str(live.pki.client_key),
            cert=str(live.pki.client_cert),
            chain=str(live.pki.ca_cert),
            verify_config=True,
        )
    else:
        config = SenderConfigSSL(address=("127.0.0.1", live.syslog_tls_port))
    return Sender(config)


def test_tcp_lines(live: LiveServer) -> None:
    tag = fresh_tag("tcp")
    sender = tcp_sender(live)
    for i in range(50):
        sender.send(tag=tag, msg=f"event {i} ünïcode ✓")
    sender.close()
    assert messages(live, tag) == [f"event {i} ünïcode ✓" for i in range(50)]


def test_tls_without_certificates(live: LiveServer) -> None:
    tag = fresh_tag("tls")
    sender = tls_sender(live, certificates=False)
    sender.send(tag=tag, msg="over tls")
    sender.close()
    assert messages(live, tag) == ["over tls"]


def test_tls_with_client_certificate_and_verify_config(live: LiveServer) -> None:
    tag = fresh_tag("mtls")
    sender = tls_sender(live, certificates=True)
    sender.send(tag=tag, msg="mutual tls")
    sender.close()
    assert messages(live, tag) == ["mutual tls"]


def test_multiline_zip_and_raw(live: LiveServer) -> None:
    tag = fresh_tag("mix")
    sender = tcp_sender(live)
    sender.send(tag=tag, msg="first\nsecond\nthird", multiline=True)
    for i in range(20):
        sender.send(tag=tag.encode(), msg=f"zipped {i}".encode(), zip=True)
    sender.flush_buffer()
    sender.send(tag=tag, msg="plain after zip")
    sender.send_raw(f"<14>Jan  1 00:00:00 host {tag}: raw without newline")
    sender.close()
    got = messages(live, tag)
    expected = [
        "first\nsecond\nthird",
        *(f"zipped {i}" for i in range(20)),
        "plain after zip",
        "raw without newline",
    ]
    assert got == expected


def test_historical_usd_tag(live: LiveServer) -> None:
    tag = fresh_tag("usd")
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    sender = tcp_sender(live)
    sender.send_raw(
        f"<14>{yesterday:%b %d %H:%M:%S} python-sdk-test-hostname "
        f"(usd.family[{yesterday.day}]){tag}: ip4=127.0.0.1"
    )
    sender.close()
    rows = query(live, f"from {tag} select eventdate, message", frm="2d")
    assert [r["message"] for r in rows] == ["ip4=127.0.0.1"]
    stamp = dt.datetime.fromtimestamp(rows[0]["eventdate"] / 1000, dt.UTC)
    assert abs((stamp - yesterday).total_seconds()) < 2


def test_logging_handler(live: LiveServer) -> None:
    tag = fresh_tag("log")
    handler = Sender.for_logging(
        config=SenderConfigTCP(address=("127.0.0.1", live.syslog_port)), tag=tag
    )
    logger = logging.getLogger(f"compat.{tag}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.info("handled %s", "message")
    handler.close()
    logger.removeHandler(handler)
    assert [m.rstrip("\x00") for m in messages(live, tag)] == ["handled message"]


def test_lookup_full_inc_delete(live: LiveServer, tmp_path: Path) -> None:
    name = f"LK_{secrets.token_hex(3)}"
    full = tmp_path / "full.csv"
    full.write_text("KEY,COLOR,HEX\n1,Red,d62d20\n2,Green,008744\n3,Blue,0057e7\n")
    sender = tcp_sender(live)
    Lookup(name=name, con=sender, delay=0).send_csv(str(full), key="KEY", action="FULL")
    sender.close()
    table = f"my.lookuplist.{name}"
    rows = query(live, f"from {table} select KEY, COLOR, HEX")
    assert sorted((r["KEY"], r["COLOR"], r["HEX"]) for r in rows) == [
        ("1", "Red", "d62d20"),
        ("2", "Green", "008744"),
        ("3", "Blue", "0057e7"),
    ]
    inc = tmp_path / "inc.csv"
    inc.write_text("KEY,COLOR,HEX,action\n2,Lime,00ff00,\n3,Blue,0057e7,delete\n4,Gold,ffd700,\n")
    sender = tcp_sender(live)
    Lookup(name=name, con=sender, delay=0).send_csv(
        str(inc), key="KEY", action="INC", delete_field="action"
    )
    sender.close()
    rows = query(live, f"from {table} select KEY, COLOR")
    assert sorted((r["KEY"], r["COLOR"]) for r in rows) == [
        ("1", "Red"),
        ("2", "Lime"),
        ("4", "Gold"),
    ]
    joined = query(
        live, f'from demo.ecommerce.data select lu("{name}", "COLOR", "1") as color limit 1'
    )
    assert joined[0]["color"] == "Red"


def test_devo_sender_cli(live: LiveServer, tmp_path: Path) -> None:
    cli = str(Path(sys.executable).parent / "devo-sender")
    tag = fresh_tag("cli")
    sent = subprocess.run(
        [
            cli,
            "data",
            "--type",
            "TCP",
            "-a",
            "127.0.0.1",
            "-p",
            str(live.syslog_port),
            "-t",
            tag,
            "-l",
            "cli line",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert sent.returncode == 0, sent.stderr
    assert messages(live, tag) == ["cli line"]
    name = f"CLI_{secrets.token_hex(3)}"
    csv_file = tmp_path / "lk.csv"
    csv_file.write_text("KEY,VALUE\na,1\nb,2\n")
    env = {**os.environ}
    looked = subprocess.run(
        [
            cli,
            "lookup",
            "--type",
            "TCP",
            "-a",
            "127.0.0.1",
            "-p",
            str(live.syslog_port),
            "-n",
            name,
            "-f",
            str(csv_file),
            "-lk",
            "KEY",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert looked.returncode == 0, looked.stderr + looked.stdout
    rows = query(live, f"from my.lookuplist.{name} select KEY, VALUE")
    assert sorted((r["KEY"], str(r["VALUE"])) for r in rows) == [("a", "1"), ("b", "2")]


def test_http_event_and_stream(live: LiveServer) -> None:
    tag = fresh_tag("http")
    token = live.credentials["ingestToken"]
    base = f"{live.url}/event/self/token!{token}/web01/{tag}"
    with httpx.Client(verify=str(live.ca)) as client:
        assert client.get(f"{base}?hello%20world").status_code == 204
        body = gzip.compress(b"".join(f"line {i}\n".encode() for i in range(1000)))
        stream = client.post(
            f"{live.url}/stream/self/token!{token}/web01/{tag}",
            content=body,
            headers={"Content-Encoding": "gzip"},
        )
        assert stream.status_code == 200
        other = client.get(f"{live.url}/event/other/token!{token}/web01/{tag}?x")
        assert other.status_code == 403
        bad = client.get(f"{live.url}/event/self/token!nope/web01/{tag}?x")
        assert bad.status_code == 401
    rows = query(live, f"from {tag} select hostname, message")
    assert rows[0] == {"hostname": "web01", "message": "hello world"}
    assert [r["message"] for r in rows[1:]] == [f"line {i}" for i in range(1000)]
    # The access log has the requests, without the token or the event in the query string.
    log = (live.data_dir / "server.log").read_text()
    assert f"/event/self/token!***/web01/{tag}?***" in log
    assert token not in log
    assert "hello%20world" not in log
    # Security headers, and no server banner.
    assert stream.headers["x-content-type-options"] == "nosniff"
    assert stream.headers["cache-control"] == "no-store"
    assert stream.headers["strict-transport-security"].startswith("max-age=")
    assert "server" not in stream.headers


def test_malformed_input_is_counted_and_the_connection_goes_on(live: LiveServer) -> None:
    tag = fresh_tag("bad")
    with socket.create_connection(("127.0.0.1", live.syslog_port)) as raw:
        raw.sendall(f"<14>Jan  1 00:00:00 h {tag}: before\n".encode())
        raw.sendall(b"\x00\xff\xfe garbage without a header\n")
        raw.sendall(b"99999999999 <14>bad octet count\n")
        raw.sendall(b"<14>Jan  1 00:00:00 h not_a_tag: invalid tag\n")
        raw.sendall(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03truncated gzip\n")
        raw.sendall(f"<14>Jan  1 00:00:00 h {tag}: ".encode() + b"y" * (10 << 20) + b"\n")
        raw.sendall(f"<14>Jan  1 00:00:00 h {tag}: after\n".encode())
        raw.shutdown(socket.SHUT_WR)
        raw.recv(1)  # the collector closes once everything is stored
    assert messages(live, tag) == ["before", "after"]
    metrics = httpx.get(
        f"{live.url}/metrics",
        headers={"Authorization": f"Bearer {live.credentials['token']}"},
        verify=str(live.ca),
    )
    assert metrics.status_code == 200
    rejected = next(
        line for line in metrics.text.splitlines() if line.startswith("linqd_ingest_rejected_total")
    )
    assert float(rejected.split()[1]) >= 3  # Prometheus writes every value as a float


def test_refused_events_cost_nothing_else(live: LiveServer) -> None:
    """Plain syslog carries no credentials; it once wrote forged rows into linqd's own tables,
    and one case clash lost the rest of its flush."""
    tag = fresh_tag("case")
    mark = secrets.token_hex(4)
    first = tcp_sender(live)
    first.send(tag=tag, msg="creates the table")
    first.close()
    assert messages(live, tag) == ["creates the table"]
    sender = tcp_sender(live)
    sender.send(tag="siem.logtrust.alert.info", msg=f'{{"alertId": "forged-{mark}"}}')
    sender.send(tag=f"my.lookuplist.secrets{mark}", msg=f"forged-{mark}")
    sender.send(tag=tag.upper(), msg=f"clash-{mark}")
    for i in range(20):
        sender.send(tag=tag, msg=f"after {i}")
    sender.close()
    assert messages(live, tag) == ["creates the table"] + [f"after {i}" for i in range(20)]
    forged = query(live, f'from siem.logtrust.alert.info where alertId = "forged-{mark}"')
    assert forged == []
    aside = query(
        live,
        f'from linqd.ingest.rejected where message -> "{mark}" select tag, message, reason',
    )
    assert sorted(row["tag"] for row in aside) == sorted(
        ["siem.logtrust.alert.info", f"my.lookuplist.secrets{mark}", tag.upper()]
    )


def test_linqd_ingest_through_the_running_server(live: LiveServer, tmp_path: Path) -> None:
    tag = fresh_tag("file")
    source = tmp_path / "events.log.gz"
    source.write_bytes(gzip.compress(b"".join(f"file line {i}\n".encode() for i in range(500))))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "linqd",
            "ingest",
            str(source),
            "--tag",
            tag,
            "--data-dir",
            str(live.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "REQUESTS_CA_BUNDLE": str(live.ca)},
    )
    assert out.returncode == 0, out.stderr
    assert "500 events stored" in out.stdout
    assert messages(live, tag) == [f"file line {i}" for i in range(500)]
