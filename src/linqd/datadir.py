"""The data directory: ``events.duckdb`` (events) and ``meta.sqlite`` (metadata), owned by one
process at a time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .clock import Clock
from .meta import MetaStore
from .store.duckdb import DEFAULT_MEMORY_LIMIT, EventStore

DEFAULT_DATA_DIR = Path("./linqd-data")
EVENTS_FILE = "events.duckdb"
META_FILE = "meta.sqlite"


@dataclass(frozen=True)
class DataDir:
    path: Path
    meta: MetaStore
    store: EventStore

    def close(self) -> None:
        self.store.close()
        self.meta.close()


def open_data_dir(path: Path, clock: Clock, *, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> DataDir:
    path.mkdir(parents=True, exist_ok=True)
    meta = MetaStore(path / META_FILE)
    store = EventStore(path / EVENTS_FILE, meta, clock, memory_limit=memory_limit)
    return DataDir(path, meta, store)


def has_events(path: Path) -> bool:
    return (path / EVENTS_FILE).exists()
