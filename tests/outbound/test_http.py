"""The guarded httpx client against real receivers on 127.0.0.1: refused addresses are never
connected to, redirects are judged again, TLS still verifies the host name."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from linqd.errors import OutboundRefused
from linqd.outbound import OutboundPolicy
from linqd.outbound.http import guarded_client

LOCAL = OutboundPolicy.parse(allow=["127.0.0.1"])


class Receiver:
    """Answers 200 to GET /, and 307 to wherever ``redirect`` says for GET /redirect."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.hits: list[str] = []
        self.redirect = ""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                receiver.hits.append(self.path)
                if self.path == "/redirect":
                    self.send_response(307)
                    self.send_header("Location", receiver.redirect)
                else:
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "0.0.0.0", "127.1", "[::1]"]
)
def test_the_default_policy_refuses_the_local_host(receiver: Receiver, host: str) -> None:
    with guarded_client(OutboundPolicy()) as client, pytest.raises(OutboundRefused) as refused:
        client.get(f"http://{host}:{receiver.port}/")
    assert "is not allowed for outbound connections" in str(refused.value)
    assert receiver.hits == []


def test_cloud_metadata_is_refused_before_connecting() -> None:
    with guarded_client(OutboundPolicy(), timeout=30) as client:
        with pytest.raises(OutboundRefused, match=r"Address 169\.254\.169\.254 is not allowed"):
            client.get("http://169.254.169.254/latest/meta-data/")
        with pytest.raises(OutboundRefused, match="fd00:ec2::254"):
            client.get("http://[fd00:ec2::254]/latest/meta-data/")


def test_an_allowed_address_is_reached(receiver: Receiver) -> None:
    with guarded_client(LOCAL) as client:
        assert client.get(f"http://127.0.0.1:{receiver.port}/").status_code == 200
        # localhost resolves to 127.0.0.1 here: the resolved address is what is judged.
        assert client.get(f"http://localhost:{receiver.port}/").status_code == 200
    assert receiver.hits == ["/", "/"]


def test_an_allowed_private_address_is_reached() -> None:
    """The defaults allow everything but the local host: reach this machine on its outward
    address (the source address of its default route)."""
    import socket

    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # UDP: no packet is sent
        address = probe.getsockname()[0]
    except OSError:
        pytest.skip("this machine has no outward IPv4 address")
    finally:
        probe.close()
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((address, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        with guarded_client(OutboundPolicy()) as client:
            response = client.get(f"http://{address}:{server.server_address[1]}/private")
        assert response.status_code == 204 and hits == ["/private"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_redirect_is_judged_like_the_first_request(receiver: Receiver) -> None:
    receiver.redirect = f"http://127.0.0.2:{receiver.port}/"
    with guarded_client(LOCAL) as client:
        first = client.get(f"http://127.0.0.1:{receiver.port}/redirect")
        assert first.status_code == 307
        with pytest.raises(OutboundRefused, match=r"127\.0\.0\.2 is not allowed"):
            client.get(first.headers["location"])
        # Even a client told to follow redirects cannot be led to a denied address.
        with pytest.raises(OutboundRefused):
            client.get(f"http://127.0.0.1:{receiver.port}/redirect", follow_redirects=True)


def test_the_environment_cannot_route_through_a_proxy(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{receiver.port}")
    monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{receiver.port}")
    with guarded_client(LOCAL) as client, pytest.raises(OutboundRefused):
        client.get("http://127.0.0.3:9/")
    assert receiver.hits == []


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for the name ``localhost`` only (no IP address)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "outbound test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    paths = (folder / "ca.pem", folder / "leaf.pem", folder / "leaf.key")
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(leaf.public_bytes(pem))
    paths[2].write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


def test_tls_verifies_the_name_while_connecting_to_the_checked_address(tmp_path: Path) -> None:
    ca, leaf, key = _certificates(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(leaf, key)
    receiver = Receiver(server_tls)
    trust = ssl.create_default_context(cafile=str(ca))
    policy = OutboundPolicy.parse(allow=["localhost", "127.0.0.1"])
    try:
        with guarded_client(policy, verify=trust) as client:
            assert client.get(f"https://localhost:{receiver.port}/").status_code == 200
            # The same server by address: the certificate does not name it.
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                client.get(f"https://127.0.0.1:{receiver.port}/")
    finally:
        receiver.stop()
    assert receiver.hits == ["/"]


class _Trickle:
    """A socket whose buffer takes at most 64 KiB per ``send``, as a busy connection does."""

    def __init__(self) -> None:
        self.received = 0
        self.kinds: set[type] = set()

    def settimeout(self, timeout: float | None) -> None:
        pass

    def send(self, data: bytes | memoryview) -> int:
        self.kinds.add(type(data))
        taken = min(len(data), 65_536)
        self.received += taken
        return taken


def test_a_large_body_is_written_without_copying_what_is_left() -> None:
    # httpcore re-slices bytes after every partial send: a copy of the rest of the body each
    # time, quadratic in the body (S3 objects of tens of MB).
    from httpcore._backends.sync import SyncStream

    from linqd.outbound.http import _ViewStream

    sock = _Trickle()
    _ViewStream(SyncStream(sock)).write(b"x" * (4 << 20))  # type: ignore[arg-type]
    assert sock.received == 4 << 20
    assert sock.kinds == {memoryview}
