"""The ``s3`` destination: each batch of rows becomes one CSV object in an S3 bucket.

Params are Devo's plus ``aws.endpoint``:

- ``aws.bucket``, ``aws.region``, ``aws.accesskey``, ``aws.secretkey`` (all required).
- ``format``: ``zip`` (default), ``gzip`` or ``plain``. Devo documents ``plain`` as a value but
  not its file name; linqd writes it as ``.csv``, uncompressed.
- ``file.password`` (``zip`` only): the zip entry is encrypted with WinZip AES-256 (pyzipper).
  7-Zip, WinZip, ``bsdtar`` and Python's pyzipper open it; the legacy ZipCrypto that some
  tools expect is too weak to offer.
- ``s3.fileName``: a key prefix (it may contain ``/``) replacing ``apiv2_<job id>``. Two jobs
  given the same name write the same keys and overwrite each other's files.
- ``aws.endpoint``: the URL of an S3-compatible store (``http(s)://host[:port]``), reached with
  path-style addressing; without it the AWS endpoint of ``aws.region`` is used.
- ``friendlyName`` is the job's name. Any other key is refused (204).

Every connection, to ``aws.endpoint`` or to AWS, passes the server's outbound policy: botocore's
requests go through linqd's guarded httpx client (``outbound/aws.py``). An endpoint whose host
is an address the policy denies is refused at validation (206); a name is judged on what it
resolves to, when connecting, and a refusal is the job's error.

Objects are named ``<prefix>_<index>.csv.zip``, ``.csv.gz`` or ``.csv``, where the prefix is
``apiv2_<job id>`` (Devo's naming) or ``s3.fileName``, and the index is the batch index. A batch
retried after a failure or a restart keeps its index, so its upload replaces the same key: the
bucket never holds a batch twice. Each object holds the CSV header line and the batch's rows,
every line ended by CRLF (RFC 4180, as the csv query mode writes). Empty batches write nothing.
``send`` returns once S3 has answered the PUT; ``extra()["paths"]`` lists ``s3://bucket/key``
of every object written by this sink, in index order.

Devo reserves codes 200–212 for this type and publishes three texts (205, 210, 211); the rest of
the mapping is linqd's, one code per rule:

====  =========================================================================
203   ``aws.accesskey`` (≤ 256) or ``aws.secretkey`` (≤ 1024) is not printable ASCII
204   a param the ``s3`` type does not take
205   a bucket, region, access key or secret key is missing or not a string
206   ``aws.endpoint`` is not an ``http(s)://host[:port][/path]`` URL without user info
      (≤ 2048 characters), or its host is an address the outbound policy denies
207   ``aws.bucket`` is not a bucket name (3–63 of ``a-z 0-9 . -``, also ``A-Z _``)
208   ``s3.fileName`` is empty, too long, absolute, has ``.``/``..`` segments or controls
209   ``aws.region`` is not a region name (1–64 of ``A-Z a-z 0-9 _ -``)
210   ``format`` is not ``zip``, ``gzip`` or ``plain``
211   ``file.password`` given with ``format`` ``gzip`` or ``plain``
212   ``file.password`` is not a non-empty string of at most 1024 characters
200–202  unused
====  =========================================================================

Secrets: the keys and the zip password are kept out of ``repr`` and masked in every error text.
"""

from __future__ import annotations

import gzip
import io
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import boto3
import httpx
import pyzipper
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..clock import Clock, SystemClock
from ..errors import OutboundRefused, SinkError, ValidationError
from ..outbound import DEFAULT_POLICY, OutboundPolicy
from ..outbound.aws import route_through
from ..outbound.http import guarded_client
from .base import DEFAULT_RULES, DestinationRules, RowFormat, Sink, SinkBatch, SinkSpec

if TYPE_CHECKING:
    from . import SinkContext

log = logging.getLogger("linqd.sinks.s3")

Format = Literal["zip", "gzip", "plain"]
CRLF = "\r\n"
# Rows per object. Devo caps files at 500 MB; at a few hundred bytes per row this stays well
# under it while keeping a batch's memory modest (the object is built in memory).
DEFAULT_BATCH_ROWS = 500_000
_EXTENSIONS: Mapping[str, str] = {"zip": ".csv.zip", "gzip": ".csv.gz", "plain": ".csv"}
_CONTENT_TYPES: Mapping[str, str] = {
    "zip": "application/zip",
    "gzip": "application/gzip",
    "plain": "text/csv; charset=utf-8",
}
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]")
_REGION = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_KEY_TEXT = re.compile(r"[\x21-\x7e]+")  # printable ASCII: keys go into a request header
_KEYS = frozenset(
    {
        "aws.bucket",
        "aws.region",
        "aws.accesskey",
        "aws.secretkey",
        "aws.endpoint",
        "format",
        "file.password",
        "s3.fileName",
        "friendlyName",
    }
)
MAX_ENDPOINT = 2_048
MAX_PASSWORD = 1_024
_ZIP_EPOCH = datetime(1980, 1, 1, tzinfo=UTC)
_WRITE_ROWS = 10_000  # rows encoded and compressed at a time, to bound the text held at once
_TIMEOUT = httpx.Timeout(120.0, connect=10.0)


@dataclass(frozen=True)
class S3Params:
    bucket: str
    region: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    format: Format = "zip"
    file_password: str | None = field(default=None, repr=False)
    file_name: str | None = None
    endpoint: str | None = None
    # The policy the params were checked against; the sink connects under it.
    outbound: OutboundPolicy = field(default=DEFAULT_POLICY, repr=False, compare=False)

    def secrets(self) -> tuple[str, ...]:
        values = (self.access_key, self.secret_key, self.file_password)
        return tuple(value for value in values if value)


def _invalid(code: int, key: str, message: str) -> ValidationError:
    return ValidationError(message, field=key, devo_code=code)


def _bucket_info(params: Mapping[str, object], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _invalid(205, key, "S3 upload must have all bucket info")
    return value.strip()


def _endpoint(raw: object, outbound: OutboundPolicy) -> str | None:
    if raw is None or raw == "":
        return None
    message = "aws.endpoint must be an http(s)://host[:port] URL"
    if not isinstance(raw, str) or _CONTROL.search(raw) or len(raw) > MAX_ENDPOINT:
        raise _invalid(206, "aws.endpoint", message)
    try:
        url = urlsplit(raw.strip())
        url.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise _invalid(206, "aws.endpoint", message) from None
    if url.scheme not in ("http", "https") or not url.hostname or url.query or url.fragment:
        raise _invalid(206, "aws.endpoint", message)
    if url.username is not None or url.password is not None:
        # Credentials belong in aws.accesskey/aws.secretkey; the URL is shown and logged.
        raise _invalid(206, "aws.endpoint", "aws.endpoint must not contain user info")
    try:
        outbound.check_host(url.hostname)
    except OutboundRefused as refused:
        raise _invalid(206, "aws.endpoint", f"aws.endpoint: {refused.message}") from None
    return raw.strip().rstrip("/")


def _file_name(raw: object) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw or len(raw) > 900 or _CONTROL.search(raw):
        raise _invalid(208, "s3.fileName", "s3.fileName must be a key prefix of 1-900 characters")
    segments = raw.split("/")
    if raw.startswith("/") or raw.endswith("/") or any(s in ("", ".", "..") for s in segments):
        raise _invalid(208, "s3.fileName", "s3.fileName must be a relative key prefix")
    return raw


def validate(params: Mapping[str, object], rules: DestinationRules = DEFAULT_RULES) -> S3Params:
    """Check an s3 destination without contacting the store; ``friendlyName`` is ignored."""
    unknown = sorted(key for key in params if key not in _KEYS)
    if unknown:
        name = unknown[0][:200]
        raise _invalid(204, name, f"S3 destinations do not take `{name}`")
    bucket = _bucket_info(params, "aws.bucket")
    region = _bucket_info(params, "aws.region")
    access_key = _bucket_info(params, "aws.accesskey")
    secret_key = _bucket_info(params, "aws.secretkey")
    for key, value, limit in (
        ("aws.accesskey", access_key, 256),
        ("aws.secretkey", secret_key, 1024),
    ):
        if len(value) > limit or not _KEY_TEXT.fullmatch(value):
            raise _invalid(203, key, f"{key} must be printable ASCII, at most {limit} characters")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise _invalid(207, "aws.bucket", "aws.bucket is not a valid S3 bucket name")
    if not _REGION.fullmatch(region):
        raise _invalid(209, "aws.region", "aws.region is not a valid region name")
    endpoint = _endpoint(params.get("aws.endpoint"), rules.outbound)
    fmt = params.get("format", "zip")
    if fmt not in ("zip", "gzip", "plain"):
        raise _invalid(210, "format", "File compress format must be zip or gzip")
    password = params.get("file.password")
    if password is not None:
        if fmt != "zip":
            message = f"S3 upload with format {fmt} cannot have password"
            raise _invalid(211, "file.password", message)
        if not isinstance(password, str) or not password or len(password) > MAX_PASSWORD:
            message = f"file.password must be a non-empty string of at most {MAX_PASSWORD}"
            raise _invalid(212, "file.password", message)
    return S3Params(
        bucket=bucket,
        region=region,
        access_key=access_key,
        secret_key=secret_key,
        format="gzip" if fmt == "gzip" else "plain" if fmt == "plain" else "zip",
        file_password=password,
        file_name=_file_name(params.get("s3.fileName")),
        endpoint=endpoint,
        outbound=rules.outbound,
    )


def _chunks(header: str, lines: Sequence[str]) -> Iterator[bytes]:
    yield (header + CRLF).encode()
    for start in range(0, len(lines), _WRITE_ROWS):
        chunk = lines[start : start + _WRITE_ROWS]
        yield (CRLF.join(chunk) + CRLF).encode()


def render(
    params: S3Params, entry: str, header: str, lines: Sequence[str], now_ms: int = 0
) -> bytes:
    """The object's bytes: the CSV, compressed as ``params.format`` says. ``entry`` names the
    CSV inside a zip, dated ``now_ms`` (zip cannot date before 1980)."""
    if params.format == "plain":
        return b"".join(_chunks(header, lines))
    buffer = io.BytesIO()
    if params.format == "gzip":
        # mtime=0: the same rows give the same bytes, so a retried batch is identical.
        with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as out:
            for data in _chunks(header, lines):
                out.write(data)
        return buffer.getvalue()
    encrypted = params.file_password is not None
    with pyzipper.AESZipFile(
        buffer,
        "w",
        compression=pyzipper.ZIP_DEFLATED,
        encryption=pyzipper.WZ_AES if encrypted else None,
    ) as archive:
        if params.file_password is not None:
            archive.setpassword(params.file_password.encode())
            archive.setencryption(pyzipper.WZ_AES, nbits=256)
        stamp = max(datetime.fromtimestamp(now_ms / 1000, UTC), _ZIP_EPOCH)
        info = archive.zipinfo_cls(entry, date_time=stamp.timetuple()[:6])
        info.compress_type = pyzipper.ZIP_DEFLATED
        info.external_attr = 0o644 << 16  # a plain readable file once extracted
        with archive.open(info, "w") as out:
            for data in _chunks(header, lines):
                out.write(data)
    return buffer.getvalue()


class S3Sink(Sink):
    """Uploads one object per batch with ``put_object``. One runner thread calls it."""

    def __init__(
        self,
        params: S3Params,
        *,
        job_id: str,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        clock: Clock | None = None,  # dates the CSV inside a zip
        client: Any = None,  # a boto3 S3 client, for tests; built from params otherwise
    ) -> None:
        self.params = params
        self.job_id = job_id
        self.clock: Clock = clock or SystemClock()
        self.spec = SinkSpec(row_format=RowFormat.CSV, batch_rows=batch_rows)
        self._http: httpx.Client | None = None
        if client is None:
            self._http = guarded_client(params.outbound, timeout=_TIMEOUT)
            client = _client(params, self._http)
        self._client = client
        self._owns_client = self._http is not None
        self._paths: dict[int, str] = {}

    def key_for(self, index: int) -> str:
        prefix = self.params.file_name or f"apiv2_{self.job_id}"
        return f"{prefix}_{index}{_EXTENSIONS[self.params.format]}"

    def send(self, batch: SinkBatch) -> None:
        if not batch.lines:
            return
        key = self.key_for(batch.index)
        header = batch.header
        if header is None:
            header = ",".join(column.name for column in batch.columns)
        entry = key.rsplit("/", 1)[-1].removesuffix(".zip")
        body = render(self.params, entry, header, batch.lines, self.clock.now_ms())
        path = f"s3://{self.params.bucket}/{key}"
        try:
            self._client.put_object(
                Bucket=self.params.bucket,
                Key=key,
                Body=body,
                ContentType=_CONTENT_TYPES[self.params.format],
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
            reason = f"HTTP {status} {error.get('Code', '?')}: {error.get('Message', '')}"
            raise SinkError(self._masked(f"S3 upload of {path} failed: {reason}")) from None
        except BotoCoreError as exc:
            message = f"S3 upload of {path} failed: {type(exc).__name__}: {exc}"
            raise SinkError(self._masked(message)) from None
        except OutboundRefused as refused:
            raise SinkError(f"S3 upload of {path} failed: {refused.message}") from None
        self._paths[batch.index] = path
        log.debug(
            "job %s: wrote %s (%d rows, %d bytes)", self.job_id, path, len(batch.lines), len(body)
        )

    def _masked(self, text: str) -> str:
        for secret in sorted(self.params.secrets(), key=len, reverse=True):
            text = text.replace(secret, "******")
        return text

    def extra(self) -> Mapping[str, object]:
        return {"paths": [self._paths[index] for index in sorted(self._paths)]}

    def close(self) -> None:
        if self._owns_client:
            self._client.close()
        if self._http is not None:
            self._http.close()

    def __repr__(self) -> str:
        return f"S3Sink(bucket={self.params.bucket!r}, job_id={self.job_id!r})"


def _client(params: S3Params, http: httpx.Client) -> Any:
    """A client of its own (boto3's default session is shared and not thread-safe to build)
    whose requests go out through ``http``, the guarded client."""
    config = Config(
        region_name=params.region,
        retries={"max_attempts": 3, "mode": "standard"},
        # S3-compatible stores serve buckets under the path, not as DNS names.
        s3={"addressing_style": "path" if params.endpoint else "auto"},
    )
    session = boto3.session.Session()
    client = session.client(
        "s3",
        endpoint_url=params.endpoint,
        aws_access_key_id=params.access_key,
        aws_secret_access_key=params.secret_key,
        config=config,
    )
    route_through(client.meta.events, http)
    return client


def create(params: S3Params, *, job_id: str, context: SinkContext) -> S3Sink:
    return S3Sink(params, job_id=job_id, clock=context.clock)
