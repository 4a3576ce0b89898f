"""The hdfs sink against FakeWebHdfs, a TEST DOUBLE of WebHDFS (no real HDFS can run here)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from linqd.clock import SimulatedClock
from linqd.errors import SinkError, ValidationError
from linqd.sinks import SinkContext, create_sink
from linqd.sinks.base import DestinationRules, RowFormat, SinkBatch
from linqd.sinks.hdfs import HdfsParams, HdfsSink, validate

from .conftest import LOCAL_RULES

JOB = "3360ccfa-4a32-413b-8b31-88ba758a20a4"
PREFIX = "/webhdfs/v1"


@dataclass
class StoredFile:
    data: bytes
    replication: int
    user: str | None


@dataclass
class Request:
    role: str  # "namenode" or "datanode"
    method: str
    path: str
    query: dict[str, str]
    body: bytes


@dataclass
class FakeWebHdfs:
    """TEST DOUBLE, not HDFS: two in-memory HTTP servers on 127.0.0.1 that play WebHDFS's
    file creation as Hadoop documents it (a namenode answering ``PUT ?op=CREATE`` with a 307 to
    a datanode, which takes the bytes and answers 201). It keeps files in a dict and knows no
    other operation, blocks, permissions or replicas: ``replication`` is only recorded."""

    files: dict[str, StoredFile] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    deny: bool = False  # the namenode answers 403 AccessControlException
    datanode_fails: bool = False  # the datanode answers 500 IOException
    noredirect: bool = False  # the namenode answers 200 {"Location": ...} (?noredirect=true)
    datanode_host: str = "127.0.0.1"  # the host the namenode sends writers to
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.namenode = self._server("namenode")
        self.datanode = self._server("datanode")
        self.threads = [
            threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
            for s in (self.namenode, self.datanode)
        ]
        for thread in self.threads:
            thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.namenode.server_address[1]}"

    def stop(self) -> None:
        for server in (self.namenode, self.datanode):
            server.shutdown()
            server.server_close()
        for thread in self.threads:
            thread.join()

    def _server(self, role: str) -> ThreadingHTTPServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = Request(role, "PUT", parts.path, query, body)
                with fake.lock:
                    fake.requests.append(request)
                    status, headers, payload = fake.handle(request)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        return server

    def handle(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        if not request.path.startswith(PREFIX + "/") or request.query.get("op") != "CREATE":
            return self.error(400, "IllegalArgumentException", "only op=CREATE is faked")
        path = unquote(request.path.removeprefix(PREFIX))
        if request.role == "datanode":
            if self.datanode_fails:
                return self.error(500, "IOException", "disk full")
            self.files[path] = StoredFile(
                request.body, int(request.query["replication"]), request.query.get("user.name")
            )
            return 201, {"Location": f"hdfs://127.0.0.1:8020{path}"}, b""
        if request.body:
            return self.error(400, "IllegalArgumentException", "data sent to the namenode")
        if self.deny:
            return self.error(403, "AccessControlException", f"Permission denied: {path}")
        if path in self.files and request.query.get("overwrite") != "true":
            return self.error(403, "FileAlreadyExistsException", f"{path} already exists")
        # Like a real namenode: the datanode URL repeats the query and adds a token.
        location = (
            f"http://{self.datanode_host}:{self.datanode.server_address[1]}{request.path}?"
            "op=CREATE&namenoderpcaddress=127.0.0.1:8020"
            f"&overwrite={request.query.get('overwrite', 'false')}"
            f"&replication={request.query.get('replication', '3')}"
            + (f"&user.name={request.query['user.name']}" if "user.name" in request.query else "")
            + "&delegation=SECRET-TOKEN"
        )
        if self.noredirect:
            return (
                200,
                {"Content-Type": "application/json"},
                json.dumps({"Location": location}).encode(),
            )
        return 307, {"Location": location}, b""

    @staticmethod
    def error(status: int, exception: str, message: str) -> tuple[int, dict[str, str], bytes]:
        body = {
            "RemoteException": {"exception": exception, "javaClassName": "x", "message": message}
        }
        return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


@pytest.fixture
def hdfs() -> Iterator[FakeWebHdfs]:
    fake = FakeWebHdfs()
    try:
        yield fake
    finally:
        fake.stop()


def make_sink(fake: FakeWebHdfs, **params: object) -> HdfsSink:
    checked = validate(
        {"fs.defaultFS": fake.url, "file": "/data/linqd/export", **params}, LOCAL_RULES
    )
    return HdfsSink(checked, node="node-1")


def batch(index: int, lines: list[str], *, last: bool = False) -> SinkBatch:
    return SinkBatch(JOB, index, (), lines, None, None, last)


def rows(n: int, start: int = 0) -> list[str]:
    return [
        json.dumps({"eventdate": 1_700_000_000_000 + i, "n": i}) for i in range(start, start + n)
    ]


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("default_fs", "extra", "namenode_url"),
    [
        ("hdfs://172.16.1.17:8020", {}, "http://172.16.1.17:9870"),
        ("hdfs://nn.example.com:8020/", {"webhdfs.port": "50070"}, "http://nn.example.com:50070"),
        ("hdfs://nn", {}, "http://nn:9870"),
        ("webhdfs://nn:50070", {"webhdfs.port": 1}, "http://nn:50070"),
        ("webhdfs://nn", {}, "http://nn:9870"),
        ("swebhdfs://nn", {}, "https://nn:9871"),
        ("http://nn:14000", {}, "http://nn:14000"),
        ("https://nn", {}, "https://nn:443"),
        ("hdfs://[fd00::1]:8020", {}, "http://[fd00::1]:9870"),
    ],
)
def test_default_fs_maps_to_webhdfs(
    default_fs: str, extra: dict[str, object], namenode_url: str
) -> None:
    params = validate({"fs.defaultFS": default_fs, "file": "/tmp/out", **extra})
    assert params.namenode_url == namenode_url
    assert params.default_fs == default_fs.rstrip("/")


def test_defaults_and_devo_spelling() -> None:
    params = validate(
        {
            "fs.defaultFS": "hdfs://server:8020",
            "dfs.replication": "3",
            "file": "/a/b",
            "full path": "/a/b",
        }
    )
    assert params == HdfsParams("hdfs://server:8020", "http://server:9870", "/a/b", 3, None)
    assert validate({"fs.defaultFS": "hdfs://s", "file": "/a"}).replication == 1


@pytest.mark.parametrize(
    ("params", "field_name"),
    [
        ({"file": "/a"}, "fs.defaultFS"),
        ({"fs.defaultFS": "", "file": "/a"}, "fs.defaultFS"),
        ({"fs.defaultFS": "s3://bucket", "file": "/a"}, "fs.defaultFS"),
        ({"fs.defaultFS": "hdfs://nn:8020/user", "file": "/a"}, "fs.defaultFS"),
        ({"fs.defaultFS": "hdfs://nn:notaport", "file": "/a"}, "fs.defaultFS"),
        ({"fs.defaultFS": "hdfs://u:p@nn:8020", "file": "/a"}, "fs.defaultFS"),
        ({"fs.defaultFS": "nn:8020", "file": "/a"}, "fs.defaultFS"),
        ({"fs.defaultFS": "hdfs://nn"}, "file"),
        ({"fs.defaultFS": "hdfs://nn", "file": "relative/path"}, "file"),
        ({"fs.defaultFS": "hdfs://nn", "file": "/dir/"}, "file"),
        ({"fs.defaultFS": "hdfs://nn", "file": "/a/../b"}, "file"),
        ({"fs.defaultFS": "hdfs://nn", "file": "/a//b"}, "file"),
        ({"fs.defaultFS": "hdfs://nn", "file": "/a:b"}, "file"),
        ({"fs.defaultFS": "hdfs://nn", "file": "/a", "dfs.replication": 0}, "dfs.replication"),
        ({"fs.defaultFS": "hdfs://nn", "file": "/a", "dfs.replication": "x"}, "dfs.replication"),
        ({"fs.defaultFS": "hdfs://nn", "file": "/a", "dfs.replication": True}, "dfs.replication"),
        ({"fs.defaultFS": "hdfs://nn", "file": "/a", "webhdfs.port": 70000}, "webhdfs.port"),
        ({"fs.defaultFS": "hdfs://nn", "file": "/a", "hdfs.user": "a b"}, "hdfs.user"),
        ({"fs.defaultFS": "hdfs://nn", "file": "/a", "hdfs.user": 5}, "hdfs.user"),
    ],
)
def test_validation_errors(params: dict[str, object], field_name: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate(params)
    assert info.value.field == field_name


# -- writing ----------------------------------------------------------------------------------


def test_each_batch_is_its_own_file(hdfs: FakeWebHdfs) -> None:
    sink = make_sink(hdfs, **{"dfs.replication": "2", "hdfs.user": "etl"})
    assert sink.spec.row_format is RowFormat.JSON
    sink.send(batch(0, rows(2)))
    sink.send(batch(1, rows(3, 2), last=True))
    first, second = (
        "/data/linqd/export_node-1_00000000.data",
        "/data/linqd/export_node-1_00000001.data",
    )
    assert set(hdfs.files) == {first, second}
    assert hdfs.files[first] == StoredFile(("\n".join(rows(2)) + "\n").encode(), 2, "etl")
    assert hdfs.files[second].data.decode().splitlines() == rows(3, 2)
    namenode = [r for r in hdfs.requests if r.role == "namenode"]
    expected = {"op": "CREATE", "overwrite": "true", "replication": "2", "user.name": "etl"}
    assert [r.query for r in namenode] == [expected, expected]
    assert all(r.body == b"" for r in namenode)
    assert sink.extra() == {"paths": [f"{hdfs.url}{first}", f"{hdfs.url}{second}"]}
    sink.close()


def test_retried_batch_overwrites_its_file(hdfs: FakeWebHdfs) -> None:
    sink = make_sink(hdfs)
    sink.send(batch(0, rows(2)))
    sink.send(batch(0, rows(2)))  # the runner's retry after a lost acknowledgement
    assert list(hdfs.files) == ["/data/linqd/export_node-1_00000000.data"]
    assert hdfs.files["/data/linqd/export_node-1_00000000.data"].data.decode().splitlines() == rows(
        2
    )
    assert len(sink.extra()["paths"]) == 1  # type: ignore[arg-type]


def test_hdfs_scheme_uses_the_webhdfs_port(hdfs: FakeWebHdfs) -> None:
    port = hdfs.namenode.server_address[1]
    params = validate(
        {"fs.defaultFS": "hdfs://127.0.0.1:8020", "file": "/x/y", "webhdfs.port": port},
        LOCAL_RULES,
    )
    sink = HdfsSink(params, node="n")
    sink.send(batch(7, rows(1)))
    assert list(hdfs.files) == ["/x/y_n_00000007.data"]
    assert sink.extra() == {"paths": ["hdfs://127.0.0.1:8020/x/y_n_00000007.data"]}


def test_empty_batch_writes_nothing(hdfs: FakeWebHdfs) -> None:
    sink = make_sink(hdfs)
    sink.send(batch(0, [], last=True))
    assert (hdfs.files, hdfs.requests, sink.extra()) == ({}, [], {"paths": []})


def test_location_in_the_body(hdfs: FakeWebHdfs) -> None:
    hdfs.noredirect = True
    make_sink(hdfs).send(batch(0, rows(1)))
    assert list(hdfs.files) == ["/data/linqd/export_node-1_00000000.data"]


def test_paths_are_url_quoted(hdfs: FakeWebHdfs) -> None:
    checked = validate({"fs.defaultFS": hdfs.url, "file": "/r é/a%b"}, LOCAL_RULES)
    sink = HdfsSink(checked, node="h")
    sink.send(batch(0, rows(1)))
    assert list(hdfs.files) == ["/r é/a%b_h_00000000.data"]


def test_node_defaults_to_the_host_name(hdfs: FakeWebHdfs) -> None:
    context = SinkContext(clock=SimulatedClock(), rules=LOCAL_RULES)
    params = {"fs.defaultFS": hdfs.url, "file": "/d/f"}
    sink = create_sink("hdfs", params, job_id=JOB, context=context)
    assert isinstance(sink, HdfsSink)
    sink.send(batch(0, rows(1)))
    sink.close()
    (path,) = hdfs.files
    assert path.startswith("/d/f_") and path.endswith("_00000000.data")
    assert socket.gethostname().split(".")[0].replace("/", "_") in path


# -- failures ---------------------------------------------------------------------------------


def test_namenode_refusal_is_a_sink_error(hdfs: FakeWebHdfs) -> None:
    hdfs.deny = True
    with pytest.raises(SinkError, match="403 AccessControlException: Permission denied"):
        make_sink(hdfs).send(batch(0, rows(1)))
    assert hdfs.files == {}


def test_datanode_failure_hides_the_delegation_token(hdfs: FakeWebHdfs) -> None:
    hdfs.datanode_fails = True
    with pytest.raises(SinkError, match="500 IOException: disk full") as info:
        make_sink(hdfs).send(batch(0, rows(1)))
    assert "SECRET-TOKEN" not in str(info.value)
    assert hdfs.files == {}


def test_namenode_down_is_a_sink_error() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
        sink = HdfsSink(validate({"fs.defaultFS": url, "file": "/a"}, LOCAL_RULES), node="n")
        with pytest.raises(SinkError, match="ConnectError"):
            sink.send(batch(0, rows(1)))
        sink.close()


# -- outbound connections ----------------------------------------------------------------------


def test_unknown_params_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        validate({"fs.defaultFS": "hdfs://nn", "file": "/a", "dfs.client.socket-timeout": 1})
    assert info.value.field == "dfs.client.socket-timeout"


@pytest.mark.parametrize(
    "default_fs",
    [
        "hdfs://127.0.0.1:8020",
        "http://[::1]:9870",
        "webhdfs://0.0.0.0",
        "http://169.254.169.254",
        "http://[::ffff:127.0.0.1]:9870",
    ],
)
def test_a_denied_namenode_address_is_refused_at_validation(default_fs: str) -> None:
    with pytest.raises(ValidationError, match="is not allowed for outbound connections") as info:
        validate({"fs.defaultFS": default_fs, "file": "/a"})
    assert info.value.field == "fs.defaultFS"


def test_a_namenode_name_resolving_to_loopback_fails_the_write(hdfs: FakeWebHdfs) -> None:
    port = hdfs.namenode.server_address[1]
    checked = validate({"fs.defaultFS": f"http://localhost:{port}", "file": "/a"})
    sink = HdfsSink(checked, node="n")
    with pytest.raises(SinkError, match=r"127\.0\.0\.1 \(of host localhost\) is not allowed"):
        sink.send(batch(0, rows(1)))
    sink.close()
    assert hdfs.requests == []


def test_a_redirect_to_a_denied_datanode_fails_the_write(hdfs: FakeWebHdfs) -> None:
    hdfs.datanode_host = "127.0.0.2"  # loopback too, and not the one address the test allows
    sink = make_sink(hdfs)
    with pytest.raises(SinkError, match=r"Address 127\.0\.0\.2 is not allowed") as info:
        sink.send(batch(0, rows(1)))
    sink.close()
    assert "SECRET-TOKEN" not in str(info.value)
    assert [r.role for r in hdfs.requests] == ["namenode"]
    assert hdfs.files == {}


def test_a_job_to_a_denied_namenode_stops_with_the_refusal(hdfs: FakeWebHdfs, run_job: Any) -> None:
    port = hdfs.namenode.server_address[1]
    params = {"fs.defaultFS": f"http://localhost:{port}", "file": "/jobs/out"}
    job = run_job("hdfs", params, rows=10, rules=DestinationRules())
    assert job.status.value == "STOPPED"
    assert "is not allowed for outbound connections" in job.error[0]
    assert hdfs.requests == []
