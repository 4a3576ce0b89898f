"""What a request may configure on a ``kafka`` destination: checked before any connection.

Params:

- ``bootstrap.servers`` (required): ``host[:port][,host[:port]...]``, each entry optionally
  prefixed by a protocol (``SASL_SSL://``), IPv6 addresses in brackets, port 9092 by default;
  at most 32 entries and 2,048 characters. An address that the server's outbound policy denies
  is refused here; names are judged when the sink connects (``kafka.py``).
- ``topic`` (required): a Kafka topic name (``[A-Za-z0-9._-]``, at most 249 characters).
- ``key`` (optional): a result column whose value keys each message.
- ``friendlyName`` is the job's name and is not passed on.
- librdkafka producer settings from an allow-list (``ALLOWED``): connection and retry tuning,
  batching and compression, timeouts, ``security.protocol``, ``sasl.mechanism`` (PLAIN,
  SCRAM-SHA-256, SCRAM-SHA-512; OAUTHBEARER with librdkafka's unsecured JWT only),
  ``sasl.username``/``sasl.password``, TLS options, and the client's key material inline as
  ``ssl.ca.pem``, ``ssl.certificate.pem``, ``ssl.key.pem`` (with ``ssl.key.password``). Values
  are strings, numbers or booleans of at most 4,096 characters (256 KiB for PEM).
- File settings (``FILE_SETTINGS``: ``ssl.ca.location``, ``ssl.certificate.location``,
  ``ssl.key.location``, ``ssl.crl.location``, ``ssl.keystore.location``) take a path that,
  resolved with symlinks followed, names an existing file (or, for the CA, a folder) under the
  operator's ``serve --destination-files-dir``; a relative path is taken from that folder and
  ``ssl.ca.location`` also takes ``probe`` (the system's CA locations). Without the folder they
  are refused. Every failure reads the same, so that a request cannot learn which files exist
  on the server.

Everything else is refused with a ValidationError naming the setting: settings that load code
or run commands on the server (``plugin.library.paths``, ``ssl.engine.*``, ``ssl.providers``,
``sasl.kerberos.*``; GSSAPI runs ``kinit`` through the shell), that log what they should not
(``debug``), that reach hosts outside linqd's outbound checks, and confluent-kafka's callbacks,
``transactional.id`` and ``delivery.report.only.error``, which the sink owns. Partitioner
settings are accepted but have no effect: linqd chooses every message's partition itself.

OAuth/OIDC token endpoints (``sasl.oauthbearer.method=oidc``, ``...token.endpoint.url``, the
Azure IMDS variant) are refused rather than fetched by linqd itself through ``oauth_cb``:
librdkafka's own fetch uses libcurl, which linqd cannot hold to the outbound policy at connect
time, and redoing its client-credentials and JWT-bearer grants (the latter with key files) in
linqd would be a second OAuth client with no broker in the test setup to prove it against.

Delivery guarantees: ``enable.idempotence`` must stay true and ``acks`` all (-1).

The configuration is then judged by librdkafka offline, by building a producer without
``bootstrap.servers``, which checks names and values without connecting anywhere. Validation
has no Devo codes (``devo_code`` is None). Secrets (``sasl.password`` and anything named like
a password or secret) are masked in every error text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from ..errors import OutboundRefused, ValidationError
from ..outbound import DEFAULT_POLICY, OutboundPolicy
from ..outbound.policy import HOST_NAME, literal_address
from .base import DEFAULT_RULES, SECRET_PARAMS, DestinationRules

TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")
_PROTOCOLS = ("plaintext", "ssl", "sasl_plaintext", "sasl_ssl")
_ENTRY = re.compile(
    r"(?:(?P<protocol>[A-Za-z_]{1,16})://)?"
    r"(?:\[(?P<v6>[0-9A-Fa-f:.%\w-]{2,64})\]|(?P<host>[A-Za-z0-9._-]{1,253}))"
    r"(?::(?P<port>[0-9]{1,5}))?"
)
DEFAULT_PORT = 9092
MAX_BOOTSTRAP = 2_048
MAX_BROKERS = 32
MAX_VALUE = 4_096
MAX_PEM = 262_144
_REQUEST_KEYS = ("bootstrap.servers", "topic", "key", "friendlyName")

# librdkafka global and producer settings a request may set; each is harmless to the server.
ALLOWED = frozenset(
    {
        # connections, metadata, retries
        "client.id",
        "client.rack",
        "message.max.bytes",
        "message.copy.max.bytes",
        "receive.message.max.bytes",
        "max.in.flight.requests.per.connection",
        "max.in.flight",
        "topic.metadata.refresh.interval.ms",
        "metadata.max.age.ms",
        "topic.metadata.refresh.fast.interval.ms",
        "topic.metadata.refresh.sparse",
        "topic.metadata.propagation.max.ms",
        "metadata.recovery.strategy",
        "metadata.recovery.rebootstrap.trigger.ms",
        "socket.timeout.ms",
        "socket.send.buffer.bytes",
        "socket.receive.buffer.bytes",
        "socket.keepalive.enable",
        "socket.nagle.disable",
        "socket.max.fails",
        "socket.connection.setup.timeout.ms",
        "connections.max.idle.ms",
        "broker.address.ttl",
        "broker.address.family",
        "reconnect.backoff.ms",
        "reconnect.backoff.max.ms",
        "retry.backoff.ms",
        "retry.backoff.max.ms",
        "api.version.request.timeout.ms",
        "allow.auto.create.topics",
        "enable.metrics.push",
        # the producer
        "enable.idempotence",
        "enable.gapless.guarantee",
        "queue.buffering.max.messages",
        "queue.buffering.max.kbytes",
        "queue.buffering.max.ms",
        "linger.ms",
        "message.send.max.retries",
        "retries",
        "queue.buffering.backpressure.threshold",
        "compression.codec",
        "compression.type",
        "compression.level",
        "batch.num.messages",
        "batch.size",
        "sticky.partitioning.linger.ms",
        "acks",
        "request.required.acks",
        "request.timeout.ms",
        "message.timeout.ms",
        "delivery.timeout.ms",
        "partitioner",
        # security
        "security.protocol",
        "ssl.cipher.suites",
        "ssl.curves.list",
        "ssl.sigalgs.list",
        "ssl.key.password",
        "ssl.keystore.password",
        "enable.ssl.certificate.verification",
        "ssl.endpoint.identification.algorithm",
        "sasl.mechanism",
        "sasl.mechanisms",
        "sasl.username",
        "sasl.password",
        "sasl.oauthbearer.config",
        "enable.sasl.oauthbearer.unsecure.jwt",
    }
)
PEM_SETTINGS = frozenset({"ssl.ca.pem", "ssl.certificate.pem", "ssl.key.pem"})
FILE_SETTINGS = frozenset(
    {
        "ssl.ca.location",
        "ssl.certificate.location",
        "ssl.key.location",
        "ssl.crl.location",
        "ssl.keystore.location",
    }
)
_FOLDERS_ALLOWED = frozenset({"ssl.ca.location"})  # librdkafka takes a folder of CAs there
# Settings of confluent-kafka's Python layer that take callables or objects (a JSON request
# cannot supply one), or that would replace the sink's own delivery accounting.
MANAGED = frozenset(
    {
        "on_delivery",
        "dr_cb",
        "dr_msg_cb",
        "error_cb",
        "throttle_cb",
        "stats_cb",
        "oauth_cb",
        "logger",
        "delivery.report.only.error",
        "transactional.id",
    }
)
_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")
_MECHANISM_KEYS = ("sasl.mechanism", "sasl.mechanisms")
_ACKS_KEYS = ("acks", "request.required.acks")
_TIMEOUT_KEYS = ("message.timeout.ms", "delivery.timeout.ms")
_TRUE = ("true", "1")
# Tuned for ~150-byte JSON rows sent 50,000 at a time: a few ms of linger fills large record
# batches; lz4 is cheap on the client and Tansu and real brokers both accept it. Each may be
# overridden by a param.
_DEFAULTS: Mapping[str, str] = {
    "linger.ms": "5",
    "batch.num.messages": "10000",
    "compression.type": "lz4",
    "queue.buffering.max.messages": "500000",
    "queue.buffering.max.kbytes": "1048576",
}
LIBRDKAFKA_MESSAGE_TIMEOUT_MS = 300_000
# The request's settings that also concern a consumer: how to reach and authenticate to the
# brokers. Everything else is producer tuning.
_CONSUMER_PREFIXES = ("security.", "sasl.", "ssl.")


@dataclass(frozen=True)
class Bootstrap:
    """One entry of ``bootstrap.servers``."""

    host: str  # a name or an address, IPv6 without brackets
    port: int
    protocol: str = ""  # the entry's ``PROTOCOL://`` prefix as given, if any

    def entry(self, host: str | None = None) -> str:
        """The entry for librdkafka, with ``host`` (an address literal, bracketed for IPv6)
        in place of the given host."""
        shown = host or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"{self.protocol}{shown}:{self.port}"


@dataclass(frozen=True)
class KafkaParams:
    bootstrap: tuple[Bootstrap, ...]
    topic: str
    key: str | None = None
    # librdkafka settings from the request, as strings; may hold SASL credentials.
    config: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    # The policy the params were checked against; the sink connects under it.
    outbound: OutboundPolicy = field(default=DEFAULT_POLICY, repr=False, compare=False)

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(server.entry() for server in self.bootstrap)

    def producer_config(self, bootstrap: str | None = None) -> dict[str, Any]:
        """The producer's configuration: defaults, then the request's, then the guarantees;
        ``bootstrap``: the brokers to start from (default: as given)."""
        config: dict[str, Any] = dict(_DEFAULTS)
        config.update(self.config)
        config.update(
            {
                "bootstrap.servers": bootstrap or self.bootstrap_servers,
                "enable.idempotence": "true",
                "acks": "all",
                # Only failures are reported: with flush() draining the queue, "no report" means
                # acknowledged, and the per-row Python callback is the costliest part of a send.
                "delivery.report.only.error": True,
            }
        )
        config.pop("request.required.acks", None)  # an alias of acks, already pinned to all
        return config

    def consumer_config(self, group: str, bootstrap: str | None = None) -> dict[str, Any]:
        """A consumer reading the topic from its start, as the producer reaches the brokers."""
        config: dict[str, Any] = {
            key: value for key, value in self.config if key.startswith(_CONSUMER_PREFIXES)
        }
        config.update(
            {
                "bootstrap.servers": bootstrap or self.bootstrap_servers,
                "group.id": group,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                # Tansu's first group join takes ~23 s with the default session timeout.
                "session.timeout.ms": 6000,
            }
        )
        return config

    def message_timeout_s(self) -> float:
        for key in _TIMEOUT_KEYS:
            value = dict(self.config).get(key)
            if value is not None and value.isdigit():
                return int(value) / 1000
        return LIBRDKAFKA_MESSAGE_TIMEOUT_MS / 1000

    def verifies_broker_names(self) -> bool:
        """Whether TLS checks each broker's certificate against its host name: then a name
        cannot be answered by another address (a handshake would fail), so names may stay
        names; otherwise the sink connects to the addresses it checked."""
        settings = {key: value.lower() for key, value in self.config}
        protocol = settings.get("security.protocol", "plaintext")
        return (
            protocol in ("ssl", "sasl_ssl")
            and settings.get("enable.ssl.certificate.verification", "true") in _TRUE
            and settings.get("ssl.endpoint.identification.algorithm", "https") == "https"
        )

    def secrets(self) -> tuple[str, ...]:
        return tuple(value for key, value in self.config if is_secret(key) and value)


def is_secret(key: str) -> bool:
    lowered = key.lower()
    return key in SECRET_PARAMS or "password" in lowered or "secret" in lowered


def mask(text: str, secrets: Sequence[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "******")
    return text


def _invalid(key: str, message: str) -> ValidationError:
    return ValidationError(message, field=key, devo_code=None)


def _required(params: Mapping[str, object], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _invalid(key, f"Kafka destination needs `{key}` (a non-empty string)")
    return value.strip()


def _setting(key: str, value: object) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float | str):
        text = str(value)
    else:
        raise _invalid(key, f"Kafka setting `{key}` must be a string, a number or a boolean")
    limit = MAX_PEM if key in PEM_SETTINGS else MAX_VALUE
    if len(text) > limit:
        raise _invalid(key, f"Kafka setting `{key}` is longer than {limit} characters")
    if "\x00" in text:
        raise _invalid(key, f"Kafka setting `{key}` must not hold NUL characters")
    return text


def parse_bootstrap(raw: str, outbound: OutboundPolicy) -> tuple[Bootstrap, ...]:
    """The broker list, each host judged as far as it can be without DNS."""
    key = "bootstrap.servers"
    if len(raw) > MAX_BOOTSTRAP:
        raise _invalid(key, f"bootstrap.servers is longer than {MAX_BOOTSTRAP} characters")
    entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
    if len(entries) > MAX_BROKERS:
        raise _invalid(key, f"bootstrap.servers lists more than {MAX_BROKERS} brokers")
    servers: list[Bootstrap] = []
    for entry in entries:
        match = _ENTRY.fullmatch(entry)
        port = int(match["port"]) if match and match["port"] else DEFAULT_PORT
        protocol = match["protocol"] if match else None
        host = (match["v6"] or match["host"]) if match else ""
        if (
            match is None
            or not 0 < port < 65536
            or (protocol is not None and protocol.lower() not in _PROTOCOLS)
            or (match["v6"] is not None and literal_address(host) is None)
            or (match["host"] is not None and not HOST_NAME.fullmatch(host.lower()))
        ):
            raise _invalid(key, f"bootstrap.servers entry {entry[:100]!r} is not host[:port]")
        try:
            outbound.check_host(host)
        except OutboundRefused as refused:
            raise _invalid(key, f"bootstrap.servers: {refused.message}") from None
        servers.append(Bootstrap(host, port, f"{protocol}://" if protocol else ""))
    return tuple(servers)


def _refusal(name: str) -> str:
    """Why a setting outside the allow-list is refused."""
    if name in MANAGED:
        return f"Kafka setting `{name}` is managed by linqd and cannot be set"
    if name.startswith(("sasl.oauthbearer.", "https.ca.")):
        return (
            f"Kafka setting `{name}` is not supported: linqd does not let librdkafka fetch "
            "OAuth tokens (its HTTP client is outside the server's outbound checks)"
        )
    if name.startswith(("plugin.", "ssl.engine.", "ssl.providers", "sasl.kerberos.")):
        return (
            f"Kafka setting `{name}` is not allowed in a request: it loads code or runs "
            "a command on the linqd server"
        )
    return f"Kafka setting `{name}` is not allowed in a request"


def _file_setting(name: str, value: str, folder: Path | None) -> str:
    """A file setting's path, resolved under the operator's folder, or a ValidationError that
    does not tell whether the file exists."""
    if name == "ssl.ca.location" and value == "probe":
        return value
    if folder is None:
        raise _invalid(
            name,
            f"Kafka setting `{name}` names a file on the linqd server, which this server "
            "does not allow (no --destination-files-dir); send the PEM inline "
            "(ssl.ca.pem, ssl.certificate.pem, ssl.key.pem)",
        )
    refused = _invalid(
        name,
        f"Kafka setting `{name}` must name an existing file under the server's destination "
        "files folder",
    )
    try:
        folder = folder.resolve(strict=True)
        path = (folder / value).resolve(strict=True)
        kind_ok = path.is_file() or (name in _FOLDERS_ALLOWED and path.is_dir())
    except (OSError, RuntimeError, ValueError):
        raise refused from None
    if not kind_ok or not path.is_relative_to(folder):
        raise refused
    return str(path)


def validate(params: Mapping[str, object], rules: DestinationRules = DEFAULT_RULES) -> KafkaParams:
    """Check a kafka destination without contacting the brokers."""
    servers = parse_bootstrap(_required(params, "bootstrap.servers"), rules.outbound)
    topic = _required(params, "topic")
    if not TOPIC.fullmatch(topic) or topic in (".", ".."):
        raise _invalid("topic", "Kafka topic names use A-Z a-z 0-9 . _ - (at most 249)")
    key = params.get("key")
    if key is not None and (not isinstance(key, str) or not key or len(key) > 1024):
        raise _invalid("key", "Kafka `key` must be the name of a result column")
    config: list[tuple[str, str]] = []
    for name, raw in params.items():
        if name in _REQUEST_KEYS:
            continue
        if name not in ALLOWED and name not in PEM_SETTINGS and name not in FILE_SETTINGS:
            raise _invalid(name[:200], _refusal(name[:200]))
        value = _setting(name, raw)
        if name in FILE_SETTINGS:
            value = _file_setting(name, value, rules.files_dir)
        if name in _MECHANISM_KEYS and value.strip().upper() == "GSSAPI":
            raise _invalid(name, "Kafka SASL mechanism GSSAPI (Kerberos) is not supported")
        if name in _MECHANISM_KEYS and value.strip().upper() not in _MECHANISMS:
            supported = ", ".join(_MECHANISMS)
            raise _invalid(name, f"Kafka SASL mechanism must be one of {supported}")
        if name == "enable.idempotence" and value.lower() not in _TRUE:
            raise _invalid(name, "enable.idempotence must stay true: linqd needs it for delivery")
        if name in _ACKS_KEYS and value.lower() not in ("all", "-1"):
            raise _invalid(name, f"{name} must be all (or -1): linqd waits for every replica")
        config.append((name, value))
    checked = KafkaParams(servers, topic, key, tuple(config), rules.outbound)
    _check_offline(checked)
    return checked


def _check_offline(params: KafkaParams) -> None:
    """Let librdkafka judge the settings: a producer without brokers connects to nothing."""
    reason = _probe(params)
    if reason is None:
        return
    # Name the culprit: the first setting that fails on its own (librdkafka's text may use an
    # alias of the name given, or name no property at all).
    culprit = next(
        (key for key, value in params.config if _probe(replace(params, config=((key, value),)))),
        "params",
    )
    message = f"Invalid Kafka producer setting: {mask(reason, params.secrets())}"
    raise _invalid(culprit, message)


def _probe(params: KafkaParams) -> str | None:
    config = params.producer_config()
    del config["bootstrap.servers"]
    config["log_level"] = 0  # silences the "no bootstrap.servers" warning of this probe
    try:
        Producer(config).close()
    except KafkaException as exc:
        return kafka_text(exc)
    return None


def kafka_text(exc: KafkaException) -> str:
    error = exc.args[0] if exc.args else None
    return str(error.str()) if isinstance(error, KafkaError) else str(exc)
