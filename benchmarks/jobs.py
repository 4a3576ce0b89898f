"""Query jobs forwarding 2 M stored events to Kafka (Tansu) and to S3 (SeaweedFS).

For each destination: events/s of a bounded job (from launch to COMPLETED, the runner reading
the store, rendering rows in DuckDB and waiting for every acknowledgement), and the ratio to
the anchor measured in the same run: a plain confluent-kafka producer loop (or boto3 uploads of
the same CSV objects) sending the already-rendered rows from Python. Targets: >= 200,000
events/s to Kafka and a ratio >= 0.6.

The brokers are started on 127.0.0.1 on free ports from the dev dependencies (the test suite's
launchers) and stopped at the end. Every Kafka client the benchmark opens (the topic admin, the
anchor producer) is closed before its broker stops: a client left open keeps reconnecting to
the stopped broker, one "Connection refused" line after another, through the S3 half.

    make bench    # or: .venv/bin/python benchmarks/jobs.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "sinks"))

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import NewTopic  # noqa: E402

import conftest as servers  # noqa: E402  (the test suite's broker launchers)
from linqd.clock import SystemClock  # noqa: E402
from linqd.datadir import open_data_dir  # noqa: E402
from linqd.jobs.model import JobStatus  # noqa: E402

EVENTS = int(os.environ.get("LINQD_BENCH_JOB_EVENTS", "2000000"))
TABLE = "my.app.jobsbench"
QUERY = f"from {TABLE} select eventdate, hostname, message"
BATCH = 200_000


def fill(data_dir: Path) -> None:
    data = open_data_dir(data_dir, SystemClock())
    pad = "p" * 100
    for start in range(0, EVENTS, BATCH):
        count = min(BATCH, EVENTS - start)
        data.store.append(
            TABLE,
            {
                "hostname": [f"h{i % 9}" for i in range(count)],
                "message": [f"event {start + i} user=u{i % 97} {pad}" for i in range(count)],
            },
            client="self",
        )
    data.close()


def run_job(data_dir: Path, kind: str, params: dict[str, object]) -> float:
    job, elapsed = servers.run_bounded_job(data_dir, kind, params, query=QUERY)
    assert job.status is JobStatus.COMPLETED and job.events_sent == EVENTS, job
    return elapsed


def rendered_rows(data_dir: Path, kind: str) -> list[str]:
    """The rows as the job renders them (json/simple lines or CSV lines), for the anchors."""
    from sqlglot import exp

    from linqd.linq import Bounds, compile_linq
    from linqd.query import lines, modes

    data = open_data_dir(data_dir, SystemClock())
    compiled = compile_linq(QUERY, data.store.schema, now_ms=0, bounds=Bounds(client="self"))
    mode = modes.Mode.JSON_SIMPLE if kind == "kafka" else modes.Mode.CSV
    line = lines.line_expression(mode, compiled.columns, modes.EncodeOptions(), engine="duckdb")
    inner = exp.Subquery(
        this=compiled.expression, alias=exp.TableAlias(this=exp.to_identifier("q"))
    )
    sql = exp.Select().select(exp.alias_(line, "line")).from_(inner).sql(dialect="duckdb")
    lines = data.store.reader().sql(sql).to_arrow_table().column("line").to_pylist()
    data.close()
    return [str(x) for x in lines]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="linqd-jobs-bench-") as scratch:
        measure(Path(scratch))


def measure(folder: Path) -> None:
    fill(folder / "data")
    for scratch in ("kafka", "s3"):
        (folder / scratch).mkdir()
    with servers.running_kafka(folder / "kafka") as broker:
        admin = broker.admin()
        for topic in ("bench-job", "bench-anchor"):
            admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
        del admin  # an AdminClient has no close(): dropping the last reference destroys it
        target = {"bootstrap.servers": broker.bootstrap_servers, "topic": "bench-job"}
        job_s = run_job(folder / "data", "kafka", target)
        lines = rendered_rows(folder / "data", "kafka")
        producer = Producer(
            {
                "bootstrap.servers": broker.bootstrap_servers,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "compression.type": "lz4",
                "queue.buffering.max.messages": 500_000,
            }
        )
        try:
            started = time.perf_counter()
            for line in lines:
                while True:
                    try:
                        producer.produce("bench-anchor", line)
                        break
                    except BufferError:
                        producer.poll(0.05)
            producer.flush(120)
            anchor_s = time.perf_counter() - started
        finally:
            producer.close()
        print(
            f"Kafka: {EVENTS:,} events by a job in {job_s:.2f} s = {EVENTS / job_s:,.0f} events/s"
            f" (target >= 200,000); plain producer {anchor_s:.2f} s = "
            f"{EVENTS / anchor_s:,.0f}/s; ratio {anchor_s / job_s:.2f} (target >= 0.6)"
        )
    with servers.running_s3(folder / "s3") as s3:
        params = s3.params(format="plain")
        job_s = run_job(folder / "data", "s3", params)
        lines = rendered_rows(folder / "data", "s3")
        client = s3.client()
        header = "eventdate,hostname,message"
        started = time.perf_counter()
        for index, start in enumerate(range(0, len(lines), 500_000)):
            body = "\r\n".join([header, *lines[start : start + 500_000]]) + "\r\n"
            client.put_object(Bucket=s3.bucket, Key=f"anchor_{index}.csv", Body=body.encode())
        anchor_s = time.perf_counter() - started
        print(
            f"S3: {EVENTS:,} events by a job in {job_s:.2f} s = {EVENTS / job_s:,.0f} events/s;"
            f" boto3 uploads of the same CSV {anchor_s:.2f} s = {EVENTS / anchor_s:,.0f}/s;"
            f" ratio {anchor_s / job_s:.2f}"
        )


if __name__ == "__main__":
    main()
