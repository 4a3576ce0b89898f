"""No librdkafka client outlives what opened it. A client left open keeps reconnecting once its
brokers are gone (hundreds of "Connection refused" lines after a benchmark stopped its broker),
and the sink's producer holds the sink through its callbacks, so only a close ends it.

Every librdkafka client runs threads named ``rdk:...`` (``rdk:main``, ``rdk:broker...``), and
destroying the client joins them before it returns: the count of those threads in this process
is back where it was once a job, a sink or a validation is over, or a client is still open."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import NewTopic

from linqd.jobs.model import JobStatus
from linqd.sinks.base import SinkBatch
from linqd.sinks.kafka import KafkaSink, validate

from .conftest import (
    JOBS_QUERY,
    LOCAL_RULES,
    KafkaBroker,
    run_bounded_job,
    running_kafka,
    store_rows,
)


def librdkafka_threads() -> int:
    count = 0
    for task in Path("/proc/self/task").iterdir():
        try:
            count += (task / "comm").read_text().startswith("rdk:")
        except OSError:
            continue  # a thread that ended while we looked
    return count


@pytest.fixture
def baseline() -> int:
    """The librdkafka threads before the test, garbage of earlier tests collected first."""
    gc.collect()
    return librdkafka_threads()


def make_topic(broker: KafkaBroker) -> str:
    topic = f"linqd-handles-{uuid.uuid4().hex[:12]}"
    admin = broker.admin()
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(10)
    del admin  # an AdminClient has no close(): dropping the last reference destroys it
    return topic


@pytest.mark.parametrize(
    "status",
    [
        JobStatus.CREATED,  # a producer and its metadata requests
        JobStatus.RUNNING,  # the resume consumer first
    ],
)
def test_a_job_leaves_no_librdkafka_client(
    kafka_broker: KafkaBroker, tmp_path: Path, baseline: int, status: JobStatus
) -> None:
    topic = make_topic(kafka_broker)
    assert librdkafka_threads() == baseline
    store_rows(tmp_path, 300)
    params: dict[str, object] = {
        "bootstrap.servers": kafka_broker.bootstrap_servers,
        "topic": topic,
    }
    job, _ = run_bounded_job(tmp_path, "kafka", params, query=JOBS_QUERY, status=status)
    assert job.status is JobStatus.COMPLETED, job.error
    assert job.events_sent == 300
    assert librdkafka_threads() == baseline


@pytest.fixture(scope="module")
def misleading_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """A broker whose metadata advertises 127.0.0.2, which the tests' policy denies: the
    sink's clients fail on an exception path, after they were opened."""
    with running_kafka(tmp_path_factory.mktemp("tansu-denied"), "127.0.0.2") as broker:
        yield broker


@pytest.mark.parametrize(
    "status",
    [
        JobStatus.CREATED,  # the producer's metadata check refuses: the producer is discarded
        JobStatus.RUNNING,  # the resume consumer's does, before any producer
    ],
)
def test_a_job_refused_by_the_metadata_leaves_no_librdkafka_client(
    misleading_broker: KafkaBroker, tmp_path: Path, baseline: int, status: JobStatus
) -> None:
    store_rows(tmp_path, 10)
    params: dict[str, object] = {
        "bootstrap.servers": misleading_broker.bootstrap_servers,
        "topic": "advertised",
    }
    job, _ = run_bounded_job(tmp_path, "kafka", params, query=JOBS_QUERY, status=status)
    assert job.status is JobStatus.STOPPED
    assert "127.0.0.2 is not allowed" in job.error[0]
    assert librdkafka_threads() == baseline


def test_validation_leaves_no_librdkafka_client(baseline: int) -> None:
    validate({"bootstrap.servers": "127.0.0.1:9092", "topic": "t", "linger.ms": 7}, LOCAL_RULES)
    assert librdkafka_threads() == baseline


def test_a_sink_closed_after_sending_leaves_no_librdkafka_client(
    kafka_broker: KafkaBroker, baseline: int
) -> None:
    topic = make_topic(kafka_broker)
    given = {"bootstrap.servers": kafka_broker.bootstrap_servers, "topic": topic}
    sink = KafkaSink(validate(given, LOCAL_RULES), job_id="handles")
    sink.resume()  # the resume consumer is closed as soon as its scan ends
    assert librdkafka_threads() == baseline
    sink.send(SinkBatch("handles", 0, (), ['{"n": 1}'], None, None))
    assert librdkafka_threads() > baseline  # the producer stays open between batches
    sink.close()
    assert librdkafka_threads() == baseline
