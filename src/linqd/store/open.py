"""The event store a data directory uses, chosen by name (``--store``)."""

from __future__ import annotations

from pathlib import Path

from ..clock import Clock
from ..errors import ValidationError
from ..meta import MetaStore
from .base import EventStore
from .duckdb import DEFAULT_MEMORY_LIMIT, DuckDBStore

__all__ = ["DEFAULT_MEMORY_LIMIT", "EVENTS_FILE", "open_store"]

EVENTS_FILE = "events.duckdb"


def open_store(
    spec: str,
    data_dir: Path,
    meta: MetaStore,
    clock: Clock,
    *,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> EventStore:
    """``duckdb``: the embedded store in ``data_dir/events.duckdb``."""
    if spec == "duckdb":
        return DuckDBStore(data_dir / EVENTS_FILE, meta, clock, memory_limit=memory_limit)
    raise ValidationError(f"Unknown store `{spec}`: expected duckdb", field="store")
