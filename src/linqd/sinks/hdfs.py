"""The ``hdfs`` destination, written over WebHDFS (HDFS's REST API) with httpx.

HDFS's native RPC protocol needs a Java (or libhdfs) client, so linqd speaks WebHDFS, which every
namenode serves unless an administrator turned it off (``dfs.webhdfs.enabled``).

Params (Devo's, plus two of linqd's):

- ``fs.defaultFS`` (required): ``hdfs://host:port``, ``webhdfs://host:port``,
  ``swebhdfs://host:port``, or ``http(s)://host:port``. An ``hdfs://`` port is the RPC port
  (8020), not WebHDFS's, so for ``hdfs://`` the HTTP port comes from ``webhdfs.port``
  (default 9870, Hadoop 3's ``dfs.namenode.http-address``). ``webhdfs://`` and ``http://``
  URLs name the HTTP port themselves (default 9870; ``swebhdfs://`` 9871; ``https://`` 443).
- ``file`` (required): an absolute HDFS path, used as a file name prefix.
- ``dfs.replication``: replicas per file, an integer 1–32767 (HDFS's limit), default 1.
- ``hdfs.user``: sent as ``user.name`` (HDFS "simple" authentication); Kerberos is not
  supported.
- ``friendlyName`` and Devo's ``full path`` (a string) are accepted and not used. Any other
  key is refused.

The namenode and the datanode it redirects to are reached through linqd's guarded httpx client:
every connection passes the server's outbound policy on the address it resolves to. A
``fs.defaultFS`` whose host is an address the policy denies is refused at validation; a name,
or a redirect to a denied datanode, fails the job when it is tried.

Devo writes ``{file_name}_{node_name}.data``. linqd writes one file per batch,
``{file}_{node}_{index:08d}.data`` (node: this server's host name), so that a batch retried
after a failure or a restart replaces its own file (``overwrite=true``) instead of appending to
a shared one twice: WebHDFS APPEND is not idempotent. Empty batches write no file.

Each file is a two-step WebHDFS CREATE: ``PUT <namenode>/webhdfs/v1<path>?op=CREATE`` answers
307 with a datanode URL, and the rows (one JSON object per line) are PUT there. ``send``
returns after the datanode's 201, when HDFS has closed the file.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit

import httpx

from ..errors import OutboundRefused, SinkError, ValidationError
from ..outbound import DEFAULT_POLICY, OutboundPolicy
from ..outbound.http import guarded_client
from .base import DEFAULT_RULES, DestinationRules, RowFormat, Sink, SinkBatch, SinkSpec, int_param

if TYPE_CHECKING:
    from . import SinkContext

DEFAULT_WEBHDFS_PORT = 9870
_DEFAULT_PORTS = {"webhdfs": 9870, "swebhdfs": 9871, "http": 80, "https": 443}
_HTTP_SCHEMES = {
    "hdfs": "http",
    "webhdfs": "http",
    "swebhdfs": "https",
    "http": "http",
    "https": "https",
}
_USER = re.compile(r"[A-Za-z0-9._@$-]{1,256}")
_REDIRECTS = (301, 302, 303, 307, 308)
_KEYS = frozenset(
    {"fs.defaultFS", "file", "dfs.replication", "hdfs.user", "webhdfs.port", "friendlyName"}
)
_IGNORED = "full path"  # documented by Devo, not needed by WebHDFS
MAX_DEFAULT_FS = 2_048
MAX_FILE = 4_096


@dataclass(frozen=True)
class HdfsParams:
    default_fs: str  # as given, without a trailing slash: the prefix of the reported paths
    namenode_url: str  # the WebHDFS base, e.g. http://namenode:9870
    file: str
    replication: int = 1
    user: str | None = None
    # The policy the params were checked against; the sink connects under it.
    outbound: OutboundPolicy = field(default=DEFAULT_POLICY, repr=False, compare=False)


def _integer(params: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = int_param(params, key, default)
    if value is None or not low <= value <= high:
        raise ValidationError(f"{key} must be an integer from {low} to {high}", field=key)
    return value


def _namenode(default_fs: object, webhdfs_port: int, outbound: OutboundPolicy) -> tuple[str, str]:
    if not isinstance(default_fs, str) or not default_fs.strip():
        raise ValidationError("fs.defaultFS is required, e.g. hdfs://host:8020", "fs.defaultFS")
    if len(default_fs) > MAX_DEFAULT_FS:
        raise ValidationError("fs.defaultFS is too long", field="fs.defaultFS")
    given = default_fs.strip().rstrip("/")
    try:
        parts = urlsplit(given)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or parts.scheme not in _HTTP_SCHEMES
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise ValidationError(
            "fs.defaultFS must be hdfs://, webhdfs://, swebhdfs://, http:// or https://"
            " followed by host:port and nothing else",
            field="fs.defaultFS",
        )
    try:
        outbound.check_host(parts.hostname)
    except OutboundRefused as refused:
        raise ValidationError(f"fs.defaultFS: {refused.message}", field="fs.defaultFS") from None
    if parts.scheme == "hdfs":
        port = webhdfs_port
    elif port is None:
        port = _DEFAULT_PORTS[parts.scheme]
    scheme = _HTTP_SCHEMES[parts.scheme]
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return given, f"{scheme}://{host}:{port}"


def _path(raw: object) -> str:
    if (
        not isinstance(raw, str)
        or len(raw) > MAX_FILE
        or not raw.startswith("/")
        or raw.endswith("/")
    ):
        raise ValidationError(
            "file must be an absolute HDFS path to a file, e.g. /data/linqd/export", field="file"
        )
    segments = raw.split("/")[1:]
    if any(s in {"", ".", ".."} or ":" in s or "\x00" in s for s in segments):
        # HDFS rejects these names itself; failing at launch beats failing on the first batch.
        raise ValidationError(f"file is not a valid HDFS path: {raw[:200]!r}", field="file")
    return raw


def validate(params: Mapping[str, Any], rules: DestinationRules = DEFAULT_RULES) -> HdfsParams:
    """Check an hdfs destination; ``friendlyName`` and ``full path`` are not used."""
    for key in params:
        if key not in _KEYS and key != _IGNORED:
            name = key[:200]
            raise ValidationError(f"HDFS destinations do not take `{name}`", field=name)
    ignored = params.get(_IGNORED)
    if ignored is not None and (not isinstance(ignored, str) or len(ignored) > MAX_FILE):
        raise ValidationError(f"{_IGNORED} must be a path", field=_IGNORED)
    port = _integer(params, "webhdfs.port", DEFAULT_WEBHDFS_PORT, 1, 65535)
    default_fs, namenode_url = _namenode(params.get("fs.defaultFS"), port, rules.outbound)
    user = params.get("hdfs.user")
    if user is not None and (not isinstance(user, str) or not _USER.fullmatch(user)):
        raise ValidationError("hdfs.user must be an HDFS user name", field="hdfs.user")
    return HdfsParams(
        default_fs=default_fs,
        namenode_url=namenode_url,
        file=_path(params.get("file")),
        replication=_integer(params, "dfs.replication", 1, 1, 32767),
        user=user,
        outbound=rules.outbound,
    )


def _remote_exception(response: httpx.Response) -> str:
    """WebHDFS's error body ``{"RemoteException": {"exception", "message"}}``, shortened."""
    try:
        body = response.json()
        remote = body["RemoteException"]
        return f"{remote.get('exception', 'Error')}: {str(remote.get('message', ''))[:300]}"
    except (ValueError, KeyError, TypeError, AttributeError):
        return response.reason_phrase or "error"


def _safe(url: str) -> str:
    """A URL fit for an error message: datanode redirects carry delegation tokens in the query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class HdfsSink(Sink):
    """Writes each batch to its own HDFS file. Not thread-safe: one runner thread calls it."""

    def __init__(
        self,
        params: HdfsParams,
        *,
        node: str | None = None,
        client: httpx.Client | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self.params = params
        self.spec = SinkSpec(row_format=RowFormat.JSON)
        raw_node = node if node is not None else socket.gethostname()
        self.node = re.sub(r"[^A-Za-z0-9._-]", "_", raw_node) or "linqd"
        self._owns_client = client is None
        # Redirects are followed by hand: the namenode's 307 must become a PUT with the body.
        # Each connection, the datanode's too, is judged by the outbound policy.
        self._client = client or guarded_client(params.outbound, timeout=timeout_s)
        self._paths: dict[str, None] = {}  # ordered set: a retried batch is listed once

    def path_for(self, index: int) -> str:
        return f"{self.params.file}_{self.node}_{index:08d}.data"

    def send(self, batch: SinkBatch) -> None:
        if not batch.lines:
            return
        path = self.path_for(batch.index)
        data = "".join(line + "\n" for line in batch.lines).encode()
        try:
            location = self._create(path)
            self._write(location, data, path)
        except httpx.RequestError as exc:
            where = _safe(str(exc.request.url))
            message = f"HDFS write of {path} failed at {where}: {type(exc).__name__}: {exc}"
            raise SinkError(message) from exc
        except httpx.InvalidURL as exc:
            raise SinkError(f"HDFS namenode sent an unusable datanode URL for {path}") from exc
        except OutboundRefused as refused:
            raise SinkError(f"HDFS write of {path} failed: {refused.message}") from None
        self._paths[f"{self.params.default_fs}{path}"] = None

    def _create(self, path: str) -> str:
        """Step one: ask the namenode where to write; returns the datanode URL."""
        query: dict[str, str | int] = {
            "op": "CREATE",
            "overwrite": "true",
            "replication": self.params.replication,
        }
        if self.params.user is not None:
            query["user.name"] = self.params.user
        url = f"{self.params.namenode_url}/webhdfs/v1{quote(path, safe='/')}"
        response = self._client.put(url, params=query)
        if response.status_code in _REDIRECTS and "location" in response.headers:
            return urljoin(str(response.url), response.headers["location"])
        if response.status_code == 200:
            # With ?noredirect=true (or some gateways) the datanode URL comes in the body.
            try:
                location = response.json()["Location"]
                if isinstance(location, str):
                    return location
            except (ValueError, KeyError, TypeError):
                pass
        raise SinkError(
            f"HDFS namenode refused CREATE {path}: HTTP {response.status_code} "
            f"{_remote_exception(response)}"
        )

    def _write(self, location: str, data: bytes, path: str) -> None:
        """Step two: send the bytes to the datanode, which answers 201 once the file is closed."""
        response = self._client.put(
            location, content=data, headers={"Content-Type": "application/octet-stream"}
        )
        if response.status_code not in (200, 201):
            raise SinkError(
                f"HDFS datanode {_safe(location)} refused {path}: HTTP {response.status_code} "
                f"{_remote_exception(response)}"
            )

    def extra(self) -> Mapping[str, object]:
        return {"paths": list(self._paths)}

    def close(self) -> None:
        if self._owns_client:
            self._client.close()


def create(params: HdfsParams, *, job_id: str, context: SinkContext) -> HdfsSink:
    return HdfsSink(params)
