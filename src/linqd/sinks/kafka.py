"""The ``kafka`` destination: one message per result row, produced with confluent-kafka.

Devo documents no params for this type; linqd's are:

- ``bootstrap.servers`` (required): librdkafka's broker list, ``host:port[,host:port...]``.
- ``topic`` (required): a Kafka topic name (``[A-Za-z0-9._-]``, at most 249 characters).
- ``key`` (optional): a result column whose value keys each message; the runner checks that the
  query has it. Without it messages carry no key.
- ``friendlyName`` is the job's name and is not passed on.
- Any other key is librdkafka producer configuration, for example ``security.protocol``,
  ``sasl.mechanism``, ``sasl.username``, ``sasl.password``, ``ssl.ca.location``,
  ``message.timeout.ms``, ``compression.type``. Values must be strings, numbers or booleans.
  Partitioner settings have no effect: linqd chooses every message's partition itself.

Each message's value is the row as one JSON object (Devo's json/simple row). Each message
carries two headers: ``linqd-job`` (the job id) and ``linqd-pos`` (``<batch index>:<row>``, the
row's position in the job's sink batch, both counted from 0). The partition is
``crc32(key as UTF-8) % partitions`` for a row with a key (a null key column value counts as no
key), else ``batch index % partitions``: a row sent again lands where it went the first time,
and keyless batches still spread over the partitions.

Refused outright: ``sasl.kerberos.kinit.cmd``, ``plugin.library.paths`` and
``ssl.engine.location`` (they run commands or load libraries on the linqd server) and the GSSAPI
SASL mechanism (librdkafka runs ``kinit`` through the shell with request values in it). File
settings such as ``ssl.ca.location`` are allowed and name files on the linqd server; the
``*.pem`` settings carry the same material inline.

Delivery guarantees. The producer always runs with ``enable.idempotence=true`` and ``acks=all``:
params that would weaken them are refused, as are confluent-kafka's callback settings (the sink
owns them) and ``transactional.id``. ``send`` produces every row of a batch, then waits until
librdkafka has a final outcome for each one; it returns only when all were acknowledged and
raises ``SinkError`` otherwise; with librdkafka's default ``message.timeout.ms`` (300 s) an
unreachable broker fails a batch after five minutes (the topic's metadata, fetched once before
the first batch, is waited for as long). Within one sink a batch sent twice is delivered twice.

Across runs the job's rows arrive exactly once. The runner advances its checkpoint only after a
batch was acknowledged and retries a batch with its index and its rows, so after a restart
(``kill -9`` included) or a start after a stop only the batch at the checkpoint can be partly in
Kafka. Before sending again, ``resume`` reads the topic from the start with a consumer in a
fresh group (the request's ``security.*``, ``sasl.*`` and ``ssl.*`` settings apply to it too)
and notes which rows of this job's last batch there (by ``linqd-pos``) Kafka holds; those
rows are skipped when the batch is sent again. They are kept one by one rather than as a
per-partition prefix: a message that timed out may leave a gap before later ones, even with
the idempotent producer. The read ends once every
partition reported its end; it fails the job (``SinkError``) after two minutes. Its cost grows
with the topic's size.

Validation has no Devo codes (``devo_code`` is None). The configuration is checked offline by
building a producer without ``bootstrap.servers``, which makes librdkafka judge property names
and values without connecting anywhere.

Secrets (``sasl.password`` and anything named like a password or secret) are never in a
message: values of such keys are masked in every error text this module produces.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

from ..errors import SinkError, ValidationError
from .base import SECRET_PARAMS, RowFormat, Sink, SinkBatch, SinkSpec

if TYPE_CHECKING:
    from . import SinkContext

log = logging.getLogger("linqd.sinks.kafka")

_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")
# Settings of confluent-kafka's Python layer that take callables or objects (a JSON request cannot
# supply one), or that would replace the sink's own delivery accounting.
_REFUSED = frozenset(
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
# librdkafka settings that run a shell command or load a shared library on this server: a request
# must not be able to do that. GSSAPI is refused for the same reason: librdkafka runs ``kinit``
# through the shell with the principal and keytab substituted into the command line.
_UNSAFE = frozenset({"sasl.kerberos.kinit.cmd", "plugin.library.paths", "ssl.engine.location"})
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
_LIBRDKAFKA_MESSAGE_TIMEOUT_MS = 300_000
_POLL_EVERY = 10_000  # rows produced between poll(0) calls that serve error reports
_FLUSH_SLICE_S = 1.0  # flush in slices so a close() or a failure report ends the wait early
_CLOSE_TIMEOUT_S = 10.0
JOB_HEADER = "linqd-job"
POS_HEADER = "linqd-pos"
_METADATA_SLICE_S = 1.0  # metadata waits in slices too, for the same reason
# Right after a topic is created its metadata may lag; a topic still unknown after this is
# missing (a broker that creates topics on demand answers with partitions at once).
_UNKNOWN_TOPIC_GRACE_S = 5.0
_RESUME_TIMEOUT_S = 120.0
_RESUME_POLL = 10_000  # messages per consume() call of the resume scan
# The request's settings that also concern a consumer: how to reach and authenticate to the
# brokers. Everything else is producer tuning.
_CONSUMER_PREFIXES = ("security.", "sasl.", "ssl.")

Header = tuple[str, str | bytes | None]


@dataclass(frozen=True)
class KafkaParams:
    bootstrap_servers: str
    topic: str
    key: str | None = None
    # librdkafka settings from the request, as strings; may hold SASL credentials.
    config: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def producer_config(self) -> dict[str, Any]:
        """The producer's configuration: defaults, then the request's, then the guarantees."""
        config: dict[str, Any] = dict(_DEFAULTS)
        config.update(self.config)
        config.update(
            {
                "bootstrap.servers": self.bootstrap_servers,
                "enable.idempotence": "true",
                "acks": "all",
                # Only failures are reported: with flush() draining the queue, "no report" means
                # acknowledged, and the per-row Python callback is the costliest part of a send.
                "delivery.report.only.error": True,
            }
        )
        config.pop("request.required.acks", None)  # an alias of acks, already pinned to all
        return config

    def consumer_config(self, group: str) -> dict[str, Any]:
        """A consumer reading the topic from its start, as the producer reaches the brokers."""
        config: dict[str, Any] = {
            key: value for key, value in self.config if key.startswith(_CONSUMER_PREFIXES)
        }
        config.update(
            {
                "bootstrap.servers": self.bootstrap_servers,
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
        return _LIBRDKAFKA_MESSAGE_TIMEOUT_MS / 1000

    def secrets(self) -> tuple[str, ...]:
        return tuple(value for key, value in self.config if _is_secret(key) and value)


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return key in SECRET_PARAMS or "password" in lowered or "secret" in lowered


def _mask(text: str, secrets: Sequence[str]) -> str:
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
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise _invalid(key, f"Kafka setting `{key}` must be a string, a number or a boolean")


def validate(params: Mapping[str, object]) -> KafkaParams:
    """Check a kafka destination without contacting the brokers."""
    servers = _required(params, "bootstrap.servers")
    topic = _required(params, "topic")
    if not _TOPIC.fullmatch(topic) or topic in (".", ".."):
        raise _invalid("topic", "Kafka topic names use A-Z a-z 0-9 . _ - (at most 249)")
    key = params.get("key")
    if key is not None and (not isinstance(key, str) or not key):
        raise _invalid("key", "Kafka `key` must be the name of a result column")
    config: list[tuple[str, str]] = []
    for name, raw in params.items():
        if name in ("bootstrap.servers", "topic", "key", "friendlyName"):
            continue
        if name in _REFUSED:
            raise _invalid(name, f"Kafka setting `{name}` is managed by linqd and cannot be set")
        if name in _UNSAFE:
            raise _invalid(name, f"Kafka setting `{name}` is not allowed in a request")
        value = _setting(name, raw)
        if name in _MECHANISM_KEYS and value.strip().upper() == "GSSAPI":
            raise _invalid(name, "Kafka SASL mechanism GSSAPI (Kerberos) is not supported")
        if name == "enable.idempotence" and value.lower() not in _TRUE:
            raise _invalid(name, "enable.idempotence must stay true: linqd needs it for delivery")
        if name in _ACKS_KEYS and value.lower() not in ("all", "-1"):
            raise _invalid(name, f"{name} must be all (or -1): linqd waits for every replica")
        config.append((name, value))
    checked = KafkaParams(servers, topic, key, tuple(config))
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
    message = f"Invalid Kafka producer setting: {_mask(reason, params.secrets())}"
    raise _invalid(culprit, message)


def _probe(params: KafkaParams) -> str | None:
    config = params.producer_config()
    del config["bootstrap.servers"]
    config["log_level"] = 0  # silences the "no bootstrap.servers" warning of this probe
    try:
        Producer(config).close()
    except KafkaException as exc:
        return _kafka_text(exc)
    return None


def _kafka_text(exc: KafkaException) -> str:
    error = exc.args[0] if exc.args else None
    return str(error.str()) if isinstance(error, KafkaError) else str(exc)


class _NoTopic(Exception):
    """The topic's partition count is not to be had; the text says why."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.missing = missing  # the brokers say the topic does not exist


class KafkaSink(Sink):
    """Produces each row as one message. One runner thread calls ``resume`` and ``send``;
    ``close`` may come from another thread: it makes a waiting ``send`` fail within about a
    second."""

    def __init__(self, params: KafkaParams, *, job_id: str) -> None:
        self.params = params
        self.job_id = job_id
        self.spec = SinkSpec(row_format=RowFormat.JSON, key_column=params.key)
        self._secrets = params.secrets()
        self._producer: Producer | None = None  # made on first use and after a failed batch
        self._lock = threading.Lock()  # librdkafka must not be closed under a running flush
        self._failures: list[KafkaError] = []  # delivery failures of the batch in flight
        self._client_error: str | None = None  # the latest error not tied to one message
        self._fatal = False
        self._closed = False
        self._job_id_bytes = job_id.encode()
        self._job_header: Header = (JOB_HEADER, self._job_id_bytes)  # shared by every message
        self._partitions = 0  # the topic's partition count, once known
        # What an earlier run left in the topic: per partition, this job's last (index, row).
        # What an earlier run delivered of the last batch it reached: (index, rows). Only that
        # batch can be partly in Kafka (the runner sends a batch once the one before it is
        # acknowledged and checkpointed); its rows are kept one by one, not as a prefix, since
        # a message that timed out may leave a gap before the ones after it.
        self._delivered: tuple[int, set[int]] | None = None
        self._row_texts: list[str] = []  # "0", "1", ...: str(row) once, not once per batch

    # librdkafka calls these from poll()/flush(), on the thread that called them.
    def _on_delivery(self, error: KafkaError | None, _message: object) -> None:
        if error is not None:
            self._failures.append(error)

    def _on_error(self, error: KafkaError) -> None:
        self._client_error = str(error.str())
        if error.fatal():
            self._fatal = True  # e.g. an idempotence violation: the producer is unusable
        # librdkafka's own log (routed to this module's logger) already tells each retry.
        log.debug("kafka job %s: %s", self.job_id, self._masked(self._client_error))

    def _masked(self, text: str) -> str:
        return _mask(text, self._secrets)

    def _open(self) -> Producer:
        config = self.params.producer_config()
        config.update({"on_delivery": self._on_delivery, "error_cb": self._on_error})
        config["logger"] = log
        try:
            producer = Producer(config)
        except KafkaException as exc:
            raise SinkError(self._masked(f"Kafka producer failed: {_kafka_text(exc)}")) from None
        self._producer = producer
        return producer

    def _partition_count(self, client: Producer | Consumer, timeout_s: float) -> int:
        """The topic's partition count from a metadata request; ``_NoTopic`` if there is none.
        A consumer's request never creates the topic, a producer's may (broker setting)."""
        topic = self.params.topic
        started = time.monotonic()
        last = "no answer"
        while True:
            if self._closed:
                raise _NoTopic("the sink was closed")
            waited = time.monotonic() - started
            if waited >= timeout_s:
                raise _NoTopic(f"topic metadata timed out after {waited:.1f} s: {last}")
            try:
                found = client.list_topics(topic, timeout=_METADATA_SLICE_S).topics.get(topic)
            except KafkaException as exc:
                last = _kafka_text(exc)
                continue
            if found is None:
                last = "the answer does not list the topic"
                continue
            if found.error is not None:
                last = str(found.error.str())
                unknown = found.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
                if unknown and waited >= min(_UNKNOWN_TOPIC_GRACE_S, timeout_s):
                    raise _NoTopic(f"the topic does not exist ({last})", missing=True)
                if not unknown and found.error.code() != KafkaError.LEADER_NOT_AVAILABLE:
                    raise _NoTopic(f"topic metadata error: {last}")
                time.sleep(0.1)  # a topic being created: ask again shortly
                continue
            if not found.partitions:
                raise _NoTopic("the topic has no partitions")
            return len(found.partitions)

    def resume(self) -> None:
        """Read the whole topic and note, per partition, the last row of this job it holds."""
        with self._lock:
            if self._closed:
                raise SinkError("Kafka sink is closed")
            started = time.monotonic()
            group = f"linqd-resume-{self.job_id}-{uuid.uuid4().hex}"
            config = self.params.consumer_config(group)
            config["logger"] = log
            try:
                consumer = Consumer(config)
            except KafkaException as exc:
                raise SinkError(
                    self._masked(f"Kafka consumer failed: {_kafka_text(exc)}")
                ) from None
            try:
                scanned = self._scan(consumer, started + _RESUME_TIMEOUT_S)
            except KafkaException as exc:
                raise SinkError(self._resume_error(_kafka_text(exc))) from None
            finally:
                consumer.close()
            last = self._delivered
            found = f"{len(last[1])} rows of batch {last[0]}" if last else "none"
            log.info(
                "kafka job %s: resume read %d messages of topic %s in %.1f s; this job's last "
                "batch there: %s",
                self.job_id,
                scanned,
                self.params.topic,
                time.monotonic() - started,
                found,
            )

    def _scan(self, consumer: Consumer, deadline: float) -> int:
        """Consume the topic to its end (every partition reported EOF); messages read."""
        topic = self.params.topic
        try:
            count = self._partition_count(consumer, deadline - time.monotonic())
        except _NoTopic as exc:
            if exc.missing:
                return 0  # nothing was delivered there; the first send says if it stays so
            raise SinkError(self._resume_error(str(exc))) from None
        self._partitions = count
        consumer.subscribe([topic])
        job = self._job_id_bytes
        self._delivered = None
        last_index = -1
        rows: set[int] = set()
        ended: set[int] = set()
        scanned = 0
        # Not high watermarks: Tansu's under-count. EOF comes once a fetch reaches the end.
        while len(ended) < count:
            if self._closed:
                raise SinkError("Kafka sink is closed")
            if time.monotonic() > deadline:
                reason = (
                    f"the topic was not read to its end in {_RESUME_TIMEOUT_S:.0f} s "
                    f"({scanned} messages, {len(ended)} of {count} partitions done)"
                )
                raise SinkError(self._resume_error(reason))
            for message in consumer.consume(_RESUME_POLL, 0.5):
                error = message.error()
                partition = message.partition()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF and partition is not None:
                        ended.add(partition)
                    elif error.fatal():
                        raise SinkError(self._resume_error(str(error.str())))
                    else:  # librdkafka retries on its own; the deadline bounds the wait
                        log.debug("kafka job %s resume: %s", self.job_id, error.str())
                    continue
                scanned += 1
                position = _position(message.headers(), job)
                if position is None:
                    continue
                index, row = position
                if index > last_index:
                    last_index, rows = index, set()
                if index == last_index:
                    rows.add(row)
        if last_index >= 0:
            self._delivered = (last_index, rows)
        return scanned

    def _resume_error(self, reason: str) -> str:
        text = f"Kafka job resume could not read topic `{self.params.topic}`: {reason}"
        return self._masked(text)

    def send(self, batch: SinkBatch) -> None:
        if not batch.lines:
            return
        with self._lock:
            if self._closed:
                raise SinkError("Kafka sink is closed")
            producer = self._producer or self._open()
            if not self._partitions:
                try:
                    self._partitions = self._partition_count(
                        producer, self.params.message_timeout_s()
                    )
                except _NoTopic as exc:
                    self._discard()
                    raise SinkError(self._masked(self._batch_failed(batch, str(exc)))) from None
            self._failures.clear()
            self._fatal = False
            try:
                complete = self._produce(producer, batch)
                timed_out = complete and not self._await(producer)
            except KafkaException as exc:
                self._discard()
                reason = f"Kafka produce to `{self.params.topic}` failed: {_kafka_text(exc)}"
                raise SinkError(self._masked(reason)) from None
            if timed_out or not complete or self._failures or self._fatal or self._closed:
                raise self._failed(batch, timed_out)

    def _aborted(self) -> bool:
        return bool(self._failures) or self._fatal or self._closed

    def _targets(self, batch: SinkBatch) -> list[int] | None:
        """Each row's partition when rows have keys; None when the whole batch goes to one."""
        if batch.keys is None:
            return None
        count = self._partitions
        default = batch.index % count
        crc32 = zlib.crc32
        return [default if key is None else crc32(key.encode()) % count for key in batch.keys]

    def _rows(self, batch: SinkBatch) -> Sequence[int]:
        """The rows of ``batch`` to produce: all, except those an earlier run delivered."""
        everything = range(len(batch.lines))
        if self._delivered is None:
            return everything
        index, delivered = self._delivered
        if batch.index > index:
            self._delivered = None  # past what the earlier run reached: back to the fast path
            return everything
        if batch.index < index:
            # Not partly delivered: the earlier run went past it only once it was acknowledged.
            log.warning("kafka job %s: batch %d was delivered before", self.job_id, batch.index)
            return range(0)
        rows = [row for row in everything if row not in delivered]
        log.info(
            "kafka job %s: batch %d: %d of %d rows were delivered by an earlier run",
            self.job_id,
            index,
            len(batch.lines) - len(rows),
            len(batch.lines),
        )
        return rows

    def _produce(self, producer: Producer, batch: SinkBatch) -> bool:
        """Queue the batch's rows; False if a failure or a close stopped it early."""
        produce = producer.produce
        topic = self.params.topic
        lines = batch.lines
        keys = batch.keys
        targets = self._targets(batch)
        rows = self._rows(batch)
        job = self._job_header
        prefix = f"{batch.index}:"
        texts = self._row_texts
        if len(texts) < len(lines):
            texts.extend(map(str, range(len(texts), len(lines))))
        partition = batch.index % self._partitions
        for start in range(0, len(rows), _POLL_EVERY):
            # str values go to librdkafka as UTF-8 with no Python-level encode; this loop is
            # the sink's hot path, hence the two variants and the positional arguments
            # (topic, value, key, partition, callback, on_delivery, timestamp, headers).
            if keys is None or targets is None:
                for row in rows[start : start + _POLL_EVERY]:
                    headers: list[Header] = [job, (POS_HEADER, prefix + texts[row])]
                    try:
                        produce(topic, lines[row], None, partition, None, None, 0, headers)
                    except BufferError:
                        if not self._produce_when_room(
                            producer, lines[row], None, partition, headers
                        ):
                            return False
            else:
                for row in rows[start : start + _POLL_EVERY]:
                    headers = [job, (POS_HEADER, prefix + texts[row])]
                    key, target = keys[row], targets[row]
                    try:
                        produce(topic, lines[row], key, target, None, None, 0, headers)
                    except BufferError:
                        if not self._produce_when_room(producer, lines[row], key, target, headers):
                            return False
            producer.poll(0)  # serves failure reports early, so a dead broker stops the loop
            if self._aborted():
                return False
        return True

    def _produce_when_room(
        self,
        producer: Producer,
        line: str,
        key: str | None,
        partition: int,
        headers: list[Header],
    ) -> bool:
        """The local queue is full: let librdkafka send some, then queue ``line``."""
        while not self._aborted():
            producer.poll(0.05)
            try:
                producer.produce(self.params.topic, line, key, partition=partition, headers=headers)
                return True
            except BufferError:
                continue
        return False

    def _await(self, producer: Producer) -> bool:
        """Wait for an outcome for every queued row; False if none came in time."""
        deadline = time.monotonic() + self.params.message_timeout_s() + 30
        while producer.flush(_FLUSH_SLICE_S) > 0:
            if self._aborted():
                return True
            if time.monotonic() > deadline:
                return False
        return True

    def _batch_failed(self, batch: SinkBatch, reason: str) -> str:
        return (
            f"Kafka delivery of batch {batch.index} ({len(batch.lines)} rows) to topic "
            f"`{self.params.topic}` failed: {reason}"
        )

    def _failed(self, batch: SinkBatch, timed_out: bool) -> SinkError:
        if self._failures:
            first = self._failures[0]
            reason = f"{first.str()} ({first.name()})"
            if len(self._failures) > 1:
                reason += f", and {len(self._failures) - 1} more rows failed so far"
        elif self._fatal:
            reason = "the producer hit a fatal error"
        elif timed_out:
            reason = "no acknowledgement within message.timeout.ms"
        else:
            reason = "the sink was closed"
        if self._client_error and self._client_error not in reason:
            reason += f"; last client error: {self._client_error}"
        self._discard()
        return SinkError(self._masked(self._batch_failed(batch, reason)))

    def _discard(self) -> None:
        """Drop the producer and whatever it still holds; the runner retries the batch."""
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            producer.purge()
            producer.flush(0)  # serves the purge reports so nothing outlives the producer
            producer.close()
        except (KafkaException, RuntimeError) as exc:
            log.warning("kafka job %s: closing the producer: %s", self.job_id, exc)

    def close(self) -> None:
        self._closed = True  # a send in progress notices within a flush slice
        with self._lock:
            producer = self._producer
            if producer is not None and producer.flush(_CLOSE_TIMEOUT_S) > 0:
                log.warning("kafka job %s: unsent messages dropped at close", self.job_id)
            self._discard()

    def __repr__(self) -> str:
        return f"KafkaSink(topic={self.params.topic!r}, job_id={self.job_id!r})"


def _position(
    headers: list[Header] | dict[str, str | bytes | None] | None, job: bytes
) -> tuple[int, int] | None:
    """(batch index, row) of a message this job produced; None for any other message."""
    if not isinstance(headers, list):
        return None  # no headers (a consumer gives a list when there are any)
    owner = position = None
    for name, value in headers:
        if name == JOB_HEADER:
            owner = value
        elif name == POS_HEADER:
            position = value
    if owner != job or not isinstance(position, bytes):
        return None
    index, _, row = position.partition(b":")
    try:
        return int(index), int(row)
    except ValueError:
        return None  # not linqd's own header after all: it cannot be one of this job's rows


def create(params: KafkaParams, *, job_id: str, context: SinkContext) -> KafkaSink:
    return KafkaSink(params, job_id=job_id)
