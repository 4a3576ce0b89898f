"""The Arrow type each storable LINQ type travels as, between a reader (ingestion, a CSV
upload, a query's result) and the store. Shared by the DuckDB store and the lookups, which must
agree without the lookups importing an engine."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import pyarrow as pa

from .linq.types import Kind, LType

ARROW_TYPES: Mapping[Kind, pa.DataType] = MappingProxyType(
    {
        Kind.STR: pa.string(),
        Kind.INT4: pa.int32(),
        Kind.INT8: pa.int64(),
        Kind.FLOAT8: pa.float64(),
        Kind.BOOL: pa.bool_(),
        Kind.TIMESTAMP: pa.timestamp("ms"),
        Kind.IP4: pa.uint32(),
        Kind.IP6: pa.string(),  # decimal text (``EventStore._arrays``): Arrow has no 128-bit int
        Kind.MAC: pa.uint64(),
        Kind.JSON: pa.string(),
    }
)


def arrow_type(ltype: LType) -> pa.DataType:
    return ARROW_TYPES[ltype.kind]
