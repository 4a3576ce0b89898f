"""Compilers from the typed plan to each engine's SQL, by engine name (``EventStore.engine``)."""

from .base import Bounds, Compiler
from .duckdb import DuckDBCompiler

COMPILERS: dict[str, type[Compiler]] = {DuckDBCompiler.engine: DuckDBCompiler}
DEFAULT_ENGINE = DuckDBCompiler.engine

__all__ = ["COMPILERS", "DEFAULT_ENGINE", "Bounds", "Compiler", "DuckDBCompiler"]
