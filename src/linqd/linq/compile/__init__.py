"""Compilers from the typed plan to each engine's SQL, by engine name (``EventStore.engine``)."""

from .base import Bounds, Compiler
from .clickhouse import CLICKHOUSE_SETTINGS, ClickHouseCompiler
from .duckdb import DuckDBCompiler

COMPILERS: dict[str, type[Compiler]] = {
    DuckDBCompiler.engine: DuckDBCompiler,
    ClickHouseCompiler.engine: ClickHouseCompiler,
}
DEFAULT_ENGINE = DuckDBCompiler.engine

__all__ = [
    "CLICKHOUSE_SETTINGS",
    "COMPILERS",
    "DEFAULT_ENGINE",
    "Bounds",
    "ClickHouseCompiler",
    "Compiler",
    "DuckDBCompiler",
]
