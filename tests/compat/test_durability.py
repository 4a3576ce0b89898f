"""What the collector promises beyond the happy path: SIGTERM commits every accepted event
before the process exits, and a TLS client certificate's CN names the domain of its events."""

from __future__ import annotations

import json
import socket
import ssl
from pathlib import Path

import httpx

import anystore
from linqd.clock import SystemClock
from linqd.datadir import open_data_dir
from linqd.domains import DomainStore
from linqd.ingest.collector import CollectorConfig, SyslogCollector
from linqd.ingest.pipeline import IngestPipeline

from .conftest import make_pki, start_server, stop_server


def rows(data_dir: Path, sql: str, store: str) -> list[tuple[object, ...]]:
    data = open_data_dir(data_dir, SystemClock(), store=store)
    try:
        return anystore.rows(data.store, sql)
    finally:
        data.close()


def test_sigterm_commits_buffered_events(tmp_path: Path, store_spec: str) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    # An hour between commits: only the shutdown path can have stored these events.
    process, url, _ = start_server(data_dir, None, ["--flush-interval", "3600"], store=store_spec)
    try:
        token = json.loads((data_dir / "credentials.json").read_text())["ingestToken"]
        with httpx.Client() as client:
            for i in range(100):
                answer = client.get(f"{url}/event/self/token!{token}/h/my.app.term?event%20{i}")
                assert answer.status_code == 204
    finally:
        stop_server(process)
    stored = rows(data_dir, 'SELECT message FROM "my.app.term" ORDER BY _seq', store_spec)
    assert [r[0] for r in stored] == [f"event {i}" for i in range(100)]


def test_client_certificate_names_the_domain(tmp_path: Path) -> None:
    pki = make_pki(tmp_path, client_cn="acme")
    data = open_data_dir(tmp_path / "data", SystemClock())
    domains = DomainStore(data.meta, SystemClock())
    domains.create_domain("acme")
    pipeline = IngestPipeline(data.store, SystemClock())
    config = CollectorConfig(
        port=None,
        tls_port=0,
        tls_cert=pki.server_cert,
        tls_key=pki.server_key,
        tls_client_ca=pki.ca_cert,
    )
    known = {d.name for d in domains.list_domains()}
    collector = SyslogCollector(
        config, pipeline, SystemClock(), lambda cn: cn if cn in known else None
    ).start()
    try:
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        context.load_cert_chain(str(pki.client_cert), str(pki.client_key))
        plain = ssl.create_default_context(cafile=str(pki.ca_cert))
        for ctx, text in ((context, "with certificate"), (plain, "without certificate")):
            port = collector.ports["tls"]
            with (
                socket.create_connection(("127.0.0.1", port)) as sock,
                ctx.wrap_socket(sock, server_hostname="127.0.0.1") as tls,
            ):
                tls.sendall(f"<14>Jan  1 00:00:00 h my.app.cn: {text}\n".encode())
                tls.shutdown(socket.SHUT_WR)
                while tls.recv(1024):  # the collector closes once the events are stored
                    continue
        stored = (
            data.store.reader()
            .sql('SELECT client, message FROM "my.app.cn" ORDER BY _seq')
            .fetchall()
        )
        assert stored == [("acme", "with certificate"), ("self", "without certificate")]
    finally:
        collector.stop()
        pipeline.close()
        data.close()
