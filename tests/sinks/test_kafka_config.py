"""What a request may configure on a Kafka destination: the librdkafka allow-list, file
settings under the operator's folder, inline PEM, and bootstrap servers under the outbound
policy (judged offline here; test_kafka.py connects)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from linqd.errors import SinkError, ValidationError
from linqd.outbound import OutboundPolicy
from linqd.sinks.base import DestinationRules
from linqd.sinks.kafka import KafkaSink
from linqd.sinks.kafka_config import Bootstrap, validate

JOB = "5b8e3f7a-0c1d-4e2f-9a3b-6c7d8e9f0a1b"
BASE = {"bootstrap.servers": "kafka.example.com:9092", "topic": "t"}


def pem_pair() -> tuple[str, str, str]:
    """(CA certificate, client certificate, client key) as PEM text."""
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kafka test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    text = cert.public_bytes(pem).decode()
    private = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return text, text, private


# -- the allow-list ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("ssl.providers", "/tmp/evil", "loads code"),
        ("ssl.providers", "legacy", "loads code"),
        ("plugin.library.paths", "/tmp/evil.so", "loads code"),
        ("ssl.engine.location", "/tmp/evil.so", "loads code"),
        ("ssl.engine.id", "../../tmp/evil", "loads code"),
        ("sasl.kerberos.kinit.cmd", "touch /tmp/pwned", "runs a command"),
        ("sasl.kerberos.keytab", "/etc/krb5.keytab", "runs a command"),
        ("sasl.oauthbearer.method", "oidc", "OAuth tokens"),
        ("sasl.oauthbearer.token.endpoint.url", "http://169.254.169.254/token", "OAuth"),
        ("sasl.oauthbearer.metadata.authentication.type", "azure_imds", "OAuth tokens"),
        ("sasl.oauthbearer.assertion.private.key.file", "/etc/shadow", "OAuth tokens"),
        ("https.ca.location", "/etc/ssl", "OAuth tokens"),
        ("debug", "all", "not allowed in a request"),
        ("client.dns.lookup", "resolve_canonical_bootstrap_servers_only", "not allowed"),
        ("log_level", 7, "not allowed in a request"),
        ("no.such.setting", "1", "not allowed in a request"),
        ("oauth_cb", "x", "managed by linqd"),
        ("transactional.id", "x", "managed by linqd"),
    ],
)
def test_settings_outside_the_allow_list_are_refused(key: str, value: object, why: str) -> None:
    with pytest.raises(ValidationError) as error:
        validate({**BASE, key: value})
    assert error.value.field == key
    assert f"`{key}`" in str(error.value) and why in str(error.value)


def test_allowed_settings_pass_and_reach_the_producer() -> None:
    settings = {
        "client.id": "linqd-export",
        "linger.ms": 20,
        "compression.type": "zstd",
        "batch.size": 500_000,
        "socket.keepalive.enable": True,
        "message.timeout.ms": 60_000,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": "s3cret",
        "partitioner": "murmur2",
        "enable.idempotence": "true",
        "acks": "all",
    }
    config = validate({**BASE, **settings}).producer_config()
    assert config["client.id"] == "linqd-export" and config["sasl.mechanism"] == "SCRAM-SHA-512"
    assert config["socket.keepalive.enable"] == "true"


@pytest.mark.parametrize("mechanism", ["GSSAPI", "gssapi", "AWS_MSK_IAM"])
def test_only_known_sasl_mechanisms(mechanism: str) -> None:
    with pytest.raises(ValidationError) as error:
        validate({**BASE, "sasl.mechanism": mechanism})
    assert error.value.field == "sasl.mechanism"


def test_values_are_bounded() -> None:
    with pytest.raises(ValidationError, match="longer than 4096"):
        validate({**BASE, "client.id": "x" * 4097})
    with pytest.raises(ValidationError, match="longer than 262144"):
        validate({**BASE, "ssl.ca.pem": "x" * 262_145})


# -- inline PEM and files under the operator's folder -------------------------------------------


def test_inline_pem_is_the_way_to_send_key_material() -> None:
    ca, cert, key = pem_pair()
    given = {
        **BASE,
        "security.protocol": "SSL",
        "ssl.ca.pem": ca,
        "ssl.certificate.pem": cert,
        "ssl.key.pem": key,
    }
    config = validate(given).producer_config()  # librdkafka parsed all three offline
    assert config["ssl.key.pem"] == key
    with pytest.raises(ValidationError, match=r"ssl\.certificate\.pem"):
        validate({**given, "ssl.certificate.pem": "-----BEGIN CERTIFICATE-----\nnope\n"})


def test_file_settings_need_the_operators_folder() -> None:
    for key in ("ssl.ca.location", "ssl.key.location", "ssl.keystore.location"):
        with pytest.raises(ValidationError, match="send the PEM inline") as error:
            validate({**BASE, key: "/etc/ssl/certs/ca-certificates.crt"})
        assert error.value.field == key


@pytest.fixture
def files(tmp_path: Path) -> DestinationRules:
    folder = tmp_path / "destination-files"
    (folder / "cas").mkdir(parents=True)
    ca, cert, key = pem_pair()
    (folder / "ca.pem").write_text(ca)
    (folder / "cas" / "other.pem").write_text(ca)
    (folder / "client.pem").write_text(cert)
    (folder / "client.key").write_text(key)
    (tmp_path / "outside.pem").write_text(ca)
    os.symlink(tmp_path / "outside.pem", folder / "escape.pem")
    os.symlink(folder / "ca.pem", folder / "inside-link.pem")
    return DestinationRules(files_dir=folder)


def test_files_under_the_folder_are_resolved_and_used(files: DestinationRules) -> None:
    assert files.files_dir is not None
    folder = files.files_dir.resolve()
    given = {
        **BASE,
        "security.protocol": "SSL",
        "ssl.ca.location": "ca.pem",
        "ssl.certificate.location": str(folder / "client.pem"),
        "ssl.key.location": "cas/../client.key",
    }
    config = validate(given, files).producer_config()  # librdkafka loaded them offline
    assert config["ssl.ca.location"] == str(folder / "ca.pem")
    assert config["ssl.key.location"] == str(folder / "client.key")
    linked = validate({**BASE, "ssl.ca.location": "inside-link.pem"}, files)
    assert dict(linked.config)["ssl.ca.location"] == str(folder / "ca.pem")
    folder_of_cas = validate({**BASE, "ssl.ca.location": "cas"}, files)
    assert dict(folder_of_cas.config)["ssl.ca.location"] == str(folder / "cas")
    probe = validate({**BASE, "ssl.ca.location": "probe"}, files)
    assert dict(probe.config)["ssl.ca.location"] == "probe"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ssl.ca.location", "escape.pem"),  # a symlink out of the folder
        ("ssl.ca.location", "../outside.pem"),
        ("ssl.ca.location", "/etc/passwd"),
        ("ssl.ca.location", "missing.pem"),
        ("ssl.ca.location", "/no/such/file"),
        ("ssl.key.location", "cas"),  # a folder where a file is needed
        ("ssl.crl.location", ".."),
    ],
)
def test_paths_outside_the_folder_are_refused_alike(
    files: DestinationRules, key: str, value: str
) -> None:
    with pytest.raises(ValidationError) as error:
        validate({**BASE, key: value}, files)
    assert error.value.field == key
    # One text for every failure: a request cannot learn which files exist on the server.
    assert str(error.value) == (
        f"Kafka setting `{key}` must name an existing file under the server's destination "
        "files folder"
    )


# -- bootstrap servers and the outbound policy --------------------------------------------------


def test_bootstrap_entries_are_parsed() -> None:
    checked = validate({**BASE, "bootstrap.servers": " a:1, [fd00::1]:9093 ,SASL_SSL://b.c "})
    assert checked.bootstrap == (
        Bootstrap("a", 1),
        Bootstrap("fd00::1", 9093),
        Bootstrap("b.c", 9092, "SASL_SSL://"),
    )
    assert checked.bootstrap_servers == "a:1,[fd00::1]:9093,SASL_SSL://b.c:9092"


@pytest.mark.parametrize(
    "servers",
    ["a b:1", "h:99999", "h:0", "h:", "FOO://h:1", "[nothex]:1", "h/x:1", ",".join(["h"] * 33)],
)
def test_bad_bootstrap_entries_are_refused(servers: str) -> None:
    with pytest.raises(ValidationError) as error:
        validate({**BASE, "bootstrap.servers": servers})
    assert error.value.field == "bootstrap.servers"


@pytest.mark.parametrize(
    "servers",
    [
        "127.0.0.1:9092",
        "good.example.com:9092,127.0.0.1:9092",
        "[::1]:9092",
        "0.0.0.0:9092",
        "169.254.169.254:80",
        "[::ffff:127.0.0.1]:9092",
        "[fd00:ec2::254]:80",
        "2130706433:9092",
        "PLAINTEXT://127.1:9092",
    ],
)
def test_denied_bootstrap_addresses_are_refused_at_validation(servers: str) -> None:
    with pytest.raises(ValidationError, match="is not allowed for outbound connections") as error:
        validate({**BASE, "bootstrap.servers": servers})
    assert error.value.field == "bootstrap.servers"


def test_names_are_judged_when_the_sink_connects() -> None:
    checked = validate({**BASE, "bootstrap.servers": "localhost:9092"})  # a name: passes here
    sink = KafkaSink(checked, job_id=JOB)
    with pytest.raises(SinkError) as refused:
        sink._bootstrap()
    assert str(refused.value) == (
        "Kafka bootstrap server localhost:9092: "
        "Address 127.0.0.1 (of host localhost) is not allowed for outbound connections"
    )
    sink.close()


def test_plaintext_connections_are_pinned_to_the_checked_addresses() -> None:
    rules = DestinationRules(outbound=OutboundPolicy.parse(allow=["localhost"]))
    plain = validate({**BASE, "bootstrap.servers": "localhost:9092,no-such.invalid:1"}, rules)
    assert KafkaSink(plain, job_id=JOB)._bootstrap() == "127.0.0.1:9092"
    sasl = validate(
        {
            **BASE,
            "bootstrap.servers": "SASL_PLAINTEXT://localhost:9092",
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN",
            "sasl.username": "alice",
            "sasl.password": "pw",
        },
        rules,
    )
    assert KafkaSink(sasl, job_id=JOB)._bootstrap() == "SASL_PLAINTEXT://127.0.0.1:9092"
    # TLS checks the certificate against the name: the name stays, a rebinding cannot finish.
    verified = validate(
        {**BASE, "bootstrap.servers": "localhost:9093", "security.protocol": "SSL"}, rules
    )
    assert KafkaSink(verified, job_id=JOB)._bootstrap() == "localhost:9093"
    unverified = validate(
        {
            **BASE,
            "bootstrap.servers": "localhost:9093",
            "security.protocol": "SSL",
            "ssl.endpoint.identification.algorithm": "none",
        },
        rules,
    )
    assert KafkaSink(unverified, job_id=JOB)._bootstrap() == "127.0.0.1:9093"


def test_bootstrap_names_that_do_not_resolve_fail_the_connection() -> None:
    checked = validate({**BASE, "bootstrap.servers": "no-such.invalid:9092"})
    with pytest.raises(SinkError, match=r"do not resolve: no-such\.invalid:9092"):
        KafkaSink(checked, job_id=JOB)._bootstrap()
