"""Compilers from the typed plan to each engine's SQL, by engine name (``EventStore.engine``)."""

from collections.abc import Mapping

from .base import Bounds, Compiler
from .clickhouse import CLICKHOUSE_SETTINGS, ClickHouseCompiler
from .duckdb import DuckDBCompiler
from .lines_base import LineDialect
from .lines_clickhouse import ClickHouseLines
from .lines_duckdb import DuckDBLines

COMPILERS: dict[str, type[Compiler]] = {
    DuckDBCompiler.engine: DuckDBCompiler,
    ClickHouseCompiler.engine: ClickHouseCompiler,
}
DEFAULT_ENGINE = DuckDBCompiler.engine
# How each engine writes response lines (``query/lines.py``), by engine name.
LINE_DIALECTS: Mapping[str, LineDialect] = {
    DuckDBLines.engine: DuckDBLines(),
    ClickHouseLines.engine: ClickHouseLines(),
}


def line_dialect(engine: str) -> LineDialect:
    dialect = LINE_DIALECTS.get(engine)
    if dialect is None:
        raise ValueError(f"no line dialect for the engine `{engine}`")
    return dialect


__all__ = [
    "CLICKHOUSE_SETTINGS",
    "COMPILERS",
    "DEFAULT_ENGINE",
    "Bounds",
    "ClickHouseCompiler",
    "Compiler",
    "DuckDBCompiler",
]
__all__ += ["LINE_DIALECTS", "DuckDBLines", "LineDialect", "line_dialect"]
__all__ += ["ClickHouseLines"]
