"""Which event store a data directory uses, from one spec string (``--store``).

- ``duckdb`` (the default): the embedded DuckDB file ``<data dir>/events.duckdb``.
- ``chdb:DIR``: ClickHouse's engine in process, its data in ``DIR`` (relative to the data
  directory unless absolute). One process, one such directory.
- ``clickhouse://USER@HOST[:PORT]/DB``: a ClickHouse server over HTTP (port 8123 by default).
  ``clickhouse+https://USER@HOST[:PORT]/DB``, or ``https://USER@HOST[:PORT]/DB``, is the same
  over TLS (port 8443 by default): the scheme alone says whether the connection is encrypted.
  The password is read from the environment variable ``LINQD_CLICKHOUSE_PASSWORD``; a password
  written in the spec is refused, because specs end up on command lines and in logs.

A spec that is none of these is a ``ValidationError`` that repeats nothing after the scheme.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..clock import Clock
from ..errors import StoreError, ValidationError
from ..meta import MetaStore
from ..reference import References
from .base import EventStore
from .clickhouse_backend import Backend, ChdbBackend, EngineFailure, HttpBackend, ServerAddress
from .duckdb import DEFAULT_MEMORY_LIMIT, DuckDBStore

__all__ = ["DEFAULT_MEMORY_LIMIT", "EVENTS_FILE", "open_store", "server_address"]

EVENTS_FILE = "events.duckdb"

PASSWORD_VARIABLE = "LINQD_CLICKHOUSE_PASSWORD"
_HTTP_SCHEMES = {
    "clickhouse": (False, 8123),
    "clickhouse+https": (True, 8443),
    "https": (True, 8443),
}
_USAGE = "use duckdb, chdb:DIR, clickhouse://USER@HOST:PORT/DB or clickhouse+https://…"


def server_address(spec: str) -> ServerAddress:
    """The server named by a ``clickhouse://``, ``clickhouse+https://`` or ``https://`` spec."""
    scheme = spec.partition("://")[0].lower()
    secure, default_port = _HTTP_SCHEMES[scheme]
    parts = urlsplit(spec)
    if parts.password is not None:
        raise ValidationError(
            f"A password in the store spec is refused: set {PASSWORD_VARIABLE}", field="store"
        )
    if parts.query or parts.fragment:
        raise ValidationError(f"Unexpected `?` or `#` in the store spec: {_USAGE}", field="store")
    try:
        port = parts.port or default_port
    except ValueError:
        raise ValidationError("Invalid port in the store spec", field="store") from None
    database = unquote(parts.path.strip("/")) or "default"
    if not parts.hostname or "/" in database:
        raise ValidationError(f"Invalid ClickHouse store spec: {_USAGE}", field="store")
    return ServerAddress(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username or "default"),
        database=database,
        secure=secure,
    )


def open_store(
    spec: str,
    data_dir: Path,
    meta: MetaStore,
    clock: Clock,
    *,
    cluster: str | None = None,
    environ: Mapping[str, str] | None = None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    references: References | None = None,
    writer_id: str | None = None,
) -> EventStore:
    """Open the event store ``spec`` names for ``data_dir`` (see the module docstring).
    ``cluster`` (``--clickhouse-cluster``) creates ClickHouse tables ``ON CLUSTER``;
    ``references`` are the reference sources it may load (the built-in ones by default).
    ``writer_id``: this node's id among several writing into one ClickHouse; their sequence
    and watermark are then kept in ``meta`` (``store/watermark.py``)."""
    spec = spec.strip()
    scheme = spec.partition("://")[0].lower() if "://" in spec else spec.partition(":")[0]
    if spec == "duckdb":
        return DuckDBStore(
            data_dir / EVENTS_FILE, meta, clock, memory_limit=memory_limit, references=references
        )
    backend: Backend
    settings = _settings()
    try:
        if scheme == "chdb" and "://" not in spec:
            directory = spec.partition(":")[2]
            if not directory:
                raise ValidationError(f"`chdb:` needs a directory: {_USAGE}", field="store")
            path = Path(directory) if Path(directory).is_absolute() else data_dir / directory
            if cluster is not None:
                raise ValidationError("chdb runs on one machine: no cluster", field="store")
            backend = ChdbBackend(str(path), {**settings, **_CHDB_SETTINGS})
        elif scheme in _HTTP_SCHEMES:
            address = server_address(spec)
            password = (os.environ if environ is None else environ).get(PASSWORD_VARIABLE, "")
            backend = HttpBackend(address, password, settings)
        else:
            raise ValidationError(f"Unknown store `{scheme}`: {_USAGE}", field="store")
    except EngineFailure as error:
        raise StoreError(f"ClickHouse store unavailable: {error.text}") from None
    from .clickhouse import ClickHouseStore

    return ClickHouseStore(
        backend,
        meta,
        clock,
        state_dir=data_dir,
        cluster=cluster,
        references=references,
        writer_id=writer_id,
        shared_sequence=writer_id is not None,
    )


# In process, Arrow's own compression only costs time.
_CHDB_SETTINGS = {"output_format_arrow_compression_method": "none"}


def _settings() -> dict[str, int | str]:
    from .clickhouse import compiler_settings

    return compiler_settings()
