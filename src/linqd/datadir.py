"""The data directory: ``events.duckdb`` (events) and ``meta.sqlite`` (metadata), owned by one
process at a time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .clock import Clock, SystemClock
from .domains import secure_permissions
from .meta import MetaStore
from .meta.store import DEFAULT_HOLD_MS
from .reference import References
from .store.base import EventStore
from .store.open import DEFAULT_MEMORY_LIMIT, EVENTS_FILE, open_store

DEFAULT_DATA_DIR = Path("./linqd-data")
META_FILE = "meta.sqlite"


@dataclass(frozen=True)
class DataDir:
    path: Path
    meta: MetaStore
    store: EventStore

    def close(self) -> None:
        self.store.close()
        self.meta.close()


def ensure_private_dir(path: Path) -> None:
    """Create the data directory if needed, readable by this user only (it holds secrets)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    secure_permissions(path)


def open_data_dir(
    path: Path,
    clock: Clock,
    *,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    store: str = "duckdb",
    cluster: str | None = None,
    references: References | None = None,
    meta: str | None = None,
    writer_id: str | None = None,
    meta_hold_ms: int = DEFAULT_HOLD_MS,
) -> DataDir:
    """``store`` and ``cluster``: ``--store`` and ``--clickhouse-cluster`` (``store/open.py``);
    ``references``: the reference data its queries may read (the built-in data by default);
    ``meta``: ``--meta``, the data directory's ``meta.sqlite`` by default; ``writer_id``:
    this node's id when several write into one ClickHouse (``store/watermark.py``)."""
    ensure_private_dir(path)
    meta_store = MetaStore(meta or path / META_FILE, hold_ms=meta_hold_ms)
    try:
        events = open_store(
            store,
            path,
            meta_store,
            clock,
            cluster=cluster,
            memory_limit=memory_limit,
            references=references,
            writer_id=writer_id,
        )
    except BaseException:
        meta_store.close()
        raise
    return DataDir(path, meta_store, events)


def has_events(path: Path, store: str = "duckdb", cluster: str | None = None) -> bool:
    """Whether the data directory's store holds any event yet."""
    if store == "duckdb":
        return (path / EVENTS_FILE).exists()
    data = open_data_dir(path, SystemClock(), store=store, cluster=cluster)
    try:
        return data.store.last_seq > 0
    finally:
        data.close()
