"""A live linqd server for the compatibility tests: started as its own process on 127.0.0.1 with
a TLS certificate from a private CA made for the run, driven by the real devo-sdk, and stopped at
the end of the session."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from anystore import STORES
from linqd.clock import SystemClock
from linqd.datadir import open_data_dir

SEED_ROWS = 20


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


@dataclass(frozen=True)
class LiveServer:
    url: str
    data_dir: Path
    credentials: dict[str, str]
    ca: Path
    seeded_at_ms: int
    syslog_port: int
    syslog_tls_port: int
    pki: Pki


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_pki(folder: Path, client_cn: str = "self") -> Pki:
    """A CA and a server certificate for 127.0.0.1/localhost (SAN), valid for a day."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("linqd test CA"))
        .issuer_name(_name("linqd test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    # The client certificate's CN names the domain its events belong to.
    client = (
        x509.CertificateBuilder()
        .subject_name(_name(client_cn))
        .issuer_name(ca.subject)
        .public_key(client_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    paths = Pki(
        folder / "ca.pem",
        folder / "server.pem",
        folder / "server.key",
        folder / "client.pem",
        folder / "client.key",
    )
    paths.client_cert.write_bytes(client.public_bytes(pem))
    paths.client_key.write_bytes(
        client_key.private_bytes(
            pem, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    paths.ca_cert.write_bytes(ca.public_bytes(pem))
    # The server presents its chain: leaf then CA.
    paths.server_cert.write_bytes(cert.public_bytes(pem) + ca.public_bytes(pem))
    paths.server_key.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def seed(data_dir: Path, store: str = "duckdb") -> int:
    """A few recent demo rows (the server is not running yet, so the store is ours)."""
    now = SystemClock().now_ms()
    data = open_data_dir(data_dir, SystemClock(), store=store)
    try:
        data.store.append(
            "demo.ecommerce.data",
            {
                "clientIpAddress": [2130706433 + i for i in range(SEED_ROWS)],
                "method": ["GET" if i % 3 else "POST" for i in range(SEED_ROWS)],
                "uri": [f"/item/{i}" for i in range(SEED_ROWS)],
                "statusCode": [404 if i % 5 == 0 else 200 for i in range(SEED_ROWS)],
                "timeTaken": list(range(SEED_ROWS)),
            },
            client="self",
            eventdates=[now - 60_000 + i for i in range(SEED_ROWS)],
        )
        data.store.append(
            "demo.ecommerce.data",
            {"method": ["DELETE"], "uri": ["/other-domain"], "statusCode": [200]},
            client="other",
            eventdates=[now - 30_000],
        )
    finally:
        data.close()
    return now


def start_server(
    data_dir: Path, pki: Pki | None, extra: Sequence[str] = (), store: str = "duckdb"
) -> tuple[subprocess.Popen[bytes], str, dict[str, int]]:
    args = [sys.executable, "-m", "linqd", "serve", "--data-dir", str(data_dir), "--port", "0"]
    args += ["--store", store]
    args += ["--keepalive-interval", "0.2", "--syslog-port", "0"]
    args += list(extra)  # last, so that a test can override the defaults above
    if pki is not None:
        args += ["--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key)]
        args += ["--syslog-tls-port", "0", "--tls-client-ca", str(pki.ca_cert)]
    log = (data_dir / "server.log").open("ab")  # a restarted server keeps the last one's log
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log)
    assert process.stdout is not None
    # The server prints one line once its socket listens; reading it blocks until then.
    line = process.stdout.readline().decode()
    if not line.startswith("linqd serving "):
        process.kill()
        raise RuntimeError(line + (data_dir / "server.log").read_text())
    ports = {
        part.split("=")[0].removeprefix("syslog-"): int(part.split("=")[1])
        for part in line.split()
        if part.startswith("syslog-")
    }
    # The rest of stdout (uvicorn's access log) goes to the log too: a pipe nobody reads would
    # fill up and stall the server.
    threading.Thread(target=_drain, args=(process.stdout, log), daemon=True).start()
    return process, line.split()[2], ports


def _drain(stdout: IO[bytes], log: IO[bytes]) -> None:
    for line in stdout:
        log.write(line)
        log.flush()


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session", params=list(STORES))
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pki: Pki
) -> Iterator[LiveServer]:
    """One server per store for the whole session: devo-sdk's tests run against each."""
    store = STORES[request.param]
    data_dir = tmp_path_factory.mktemp("live-data")
    seeded = seed(data_dir, store)
    process, url, ports = start_server(data_dir, pki, store=store)
    credentials = json.loads((data_dir / "credentials.json").read_text())
    assert (data_dir / "credentials.json").stat().st_mode & 0o777 == 0o600
    os.environ["REQUESTS_CA_BUNDLE"] = str(pki.ca_cert)
    try:
        yield LiveServer(
            url, data_dir, credentials, pki.ca_cert, seeded, ports["tcp"], ports["tls"], pki
        )
    finally:
        stop_server(process)
