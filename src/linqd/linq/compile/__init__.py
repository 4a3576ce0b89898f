"""Compilers from the typed plan to each engine's SQL."""

from .base import Bounds, Compiler
from .duckdb import DuckDBCompiler

__all__ = ["Bounds", "Compiler", "DuckDBCompiler"]
