"""The ``kafka`` destination: one message per result row, produced with confluent-kafka.

Devo documents no params for this type; linqd's (``bootstrap.servers``, ``topic``, ``key`` and
an allow-list of librdkafka settings) are checked by ``kafka_config.py``.

Each message's value is the row as one JSON object (Devo's json/simple row). Each message
carries two headers: ``linqd-job`` (the job id) and ``linqd-pos`` (``<batch index>:<row>``, the
row's position in the job's sink batch, both counted from 0). The partition is
``crc32(key as UTF-8) % partitions`` for a row with a key (a null key column value counts as no
key), else ``batch index % partitions``: a row sent again lands where it went the first time,
and keyless batches still spread over the partitions.

Outbound connections. librdkafka resolves and connects on its own threads, beyond Python's
reach, so the server's outbound policy is held as close to that as librdkafka allows:

- Whenever a producer or the resume consumer is opened, every bootstrap host is resolved and
  every address judged. Without TLS name verification (PLAINTEXT, SASL_PLAINTEXT, or TLS with
  verification off) librdkafka is given the checked address literals, so it never resolves the
  names itself; with verification the names stay (the certificate is checked against them), and
  a name rebound to another address cannot complete a handshake there.
- Before every batch (and before the resume scan) the cluster's metadata is read and every
  broker address it advertises is judged the same way; a broker that advertises a denied
  address (``127.0.0.1:8080``) or a name that does not resolve fails the batch before a row
  is produced.

What remains: librdkafka resolves advertised broker names itself, so a name whose DNS answer
changes between linqd's check and librdkafka's lookup (a rebinding within
``broker.address.ttl``) can reach another address, TLS-verified names excepted; and librdkafka
may open a connection to a broker it just learnt of (for its next metadata request) before
linqd has judged it, although no row is produced to it. Connection errors there read as
librdkafka reports them, no finer than before.

Delivery guarantees. The producer always runs with ``enable.idempotence=true`` and ``acks=all``:
params that would weaken them are refused, as are confluent-kafka's callback settings (the sink
owns them) and ``transactional.id``. ``send`` produces every row of a batch, then waits until
librdkafka has a final outcome for each one; it returns only when all were acknowledged and
raises ``SinkError`` otherwise; with librdkafka's default ``message.timeout.ms`` (300 s) an
unreachable broker fails a batch after five minutes (the topic's metadata, fetched before each
batch, is waited for as long). Within one sink a batch sent twice is delivered twice.

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

Secrets (``sasl.password`` and anything named like a password or secret) are never in a
message: values of such keys are masked in every error text this module produces.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin._metadata import ClusterMetadata

from ..errors import OutboundRefused, SinkError
from .base import RowFormat, Sink, SinkBatch, SinkSpec
from .kafka_config import KafkaParams, kafka_text, mask, validate

if TYPE_CHECKING:
    from . import SinkContext

log = logging.getLogger("linqd.sinks.kafka")

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

Header = tuple[str, str | bytes | None]

__all__ = ["JOB_HEADER", "POS_HEADER", "KafkaParams", "KafkaSink", "create", "validate"]


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
        return mask(text, self._secrets)

    def _bootstrap(self) -> str:
        """``bootstrap.servers`` for a client opened now: every host resolved and judged by
        the outbound policy; their checked addresses, or the names where TLS verifies them.
        A name that does not resolve is left out (librdkafka would resolve it later,
        unchecked)."""
        params = self.params
        pin = not params.verifies_broker_names()
        entries: list[str] = []
        unresolved: list[str] = []
        for server in params.bootstrap:
            try:
                targets = params.outbound.resolve(server.host, server.port)
            except OutboundRefused as refused:
                where = server.entry()
                raise SinkError(f"Kafka bootstrap server {where}: {refused.message}") from None
            except OSError:
                unresolved.append(server.entry())
                continue
            if pin:
                entries.extend(server.entry(target.host) for target in targets)
            else:
                entries.append(server.entry())
        if not entries:
            names = ", ".join(unresolved)
            raise SinkError(f"Kafka bootstrap servers do not resolve: {names}")
        return ",".join(entries)

    def _check_brokers(self, metadata: ClusterMetadata) -> None:
        """Every broker the cluster advertises must be allowed, before a row goes to any."""
        for broker in metadata.brokers.values():
            host = str(broker.host or "")
            where = f"{host}:{broker.port}"
            try:
                self.params.outbound.resolve(host, broker.port)
            except OutboundRefused as refused:
                reason = f"broker {where} in the cluster's metadata: {refused.message}"
                raise _NoTopic(reason) from None
            except OSError:
                reason = f"broker {where} in the cluster's metadata does not resolve"
                raise _NoTopic(reason) from None

    def _open(self) -> Producer:
        config = self.params.producer_config(self._bootstrap())
        config.update({"on_delivery": self._on_delivery, "error_cb": self._on_error})
        config["logger"] = log
        try:
            producer = Producer(config)
        except KafkaException as exc:
            raise SinkError(self._masked(f"Kafka producer failed: {kafka_text(exc)}")) from None
        self._producer = producer
        return producer

    def _partition_count(self, client: Producer | Consumer, timeout_s: float) -> int:
        """The topic's partition count from a metadata request; ``_NoTopic`` if there is none,
        or if the cluster advertises a broker the outbound policy denies. A consumer's request
        never creates the topic, a producer's may (broker setting)."""
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
                metadata = client.list_topics(topic, timeout=_METADATA_SLICE_S)
            except KafkaException as exc:
                last = kafka_text(exc)
                continue
            self._check_brokers(metadata)
            found = metadata.topics.get(topic)
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
            config = self.params.consumer_config(group, self._bootstrap())
            config["logger"] = log
            try:
                consumer = Consumer(config)
            except KafkaException as exc:
                raise SinkError(self._masked(f"Kafka consumer failed: {kafka_text(exc)}")) from None
            try:
                scanned = self._scan(consumer, started + _RESUME_TIMEOUT_S)
            except KafkaException as exc:
                raise SinkError(self._resume_error(kafka_text(exc))) from None
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
            try:
                # Every batch: the brokers the cluster advertises are judged again. The first
                # count stays, so a retried batch goes where it went.
                count = self._partition_count(producer, self.params.message_timeout_s())
            except _NoTopic as exc:
                self._discard()
                raise SinkError(self._masked(self._batch_failed(batch, str(exc)))) from None
            self._partitions = self._partitions or count
            self._failures.clear()
            self._fatal = False
            try:
                complete = self._produce(producer, batch)
                timed_out = complete and not self._await(producer)
            except KafkaException as exc:
                self._discard()
                reason = f"Kafka produce to `{self.params.topic}` failed: {kafka_text(exc)}"
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
