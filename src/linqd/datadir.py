"""The data directory: ``events.duckdb`` (events) and ``meta.sqlite`` (metadata), owned by one
process at a time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .clock import Clock
from .domains import secure_permissions
from .meta import MetaStore
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
) -> DataDir:
    ensure_private_dir(path)
    meta = MetaStore(path / META_FILE)
    try:
        events = open_store(store, path, meta, clock, memory_limit=memory_limit)
    except BaseException:
        meta.close()
        raise
    return DataDir(path, meta, events)


def has_events(path: Path) -> bool:
    return (path / EVENTS_FILE).exists()
