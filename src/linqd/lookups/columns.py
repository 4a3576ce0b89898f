"""Column types of lookup tables as the Lookups API names them.

Devo's guide shows ``INT8`` and ``STRING``; the legacy syslog upload used ``str``, ``int``
(= int8), ``int4``, ``int8``, ``float``, ``bool`` and ``ip4``. Both families are accepted, in any
case. A lookup column can be of the types the stores can hold in a table: text, integers,
floats, booleans, timestamps and IPv4 addresses (``IP6`` and ``MAC`` values exist in LINQ but no
store keeps them as a column, so declaring them is refused with the list of types that work).
Replies name types in Devo's REST spelling (``STRING``, ``INT8``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..errors import ValidationError
from ..linq import types as t
from ..linq.types import Kind, LType

TYPE_NAMES: Mapping[str, LType] = MappingProxyType(
    {
        "string": t.STR,
        "str": t.STR,
        "text": t.STR,
        "int4": t.INT4,
        "int32": t.INT4,
        "integer": t.INT4,
        "int8": t.INT8,
        "int": t.INT8,
        "int64": t.INT8,
        "long": t.INT8,
        "float": t.FLOAT8,
        "float8": t.FLOAT8,
        "double": t.FLOAT8,
        "bool": t.BOOL,
        "boolean": t.BOOL,
        "timestamp": t.TIMESTAMP,
        "ip4": t.IP4,
        "ip": t.IP4,
    }
)
UNSTORABLE = frozenset({"ip6", "mac", "net4", "net6", "json", "duration"})
REST_NAMES: Mapping[Kind, str] = MappingProxyType(
    {
        Kind.STR: "STRING",
        Kind.INT4: "INT4",
        Kind.INT8: "INT8",
        Kind.FLOAT8: "FLOAT",
        Kind.BOOL: "BOOL",
        Kind.TIMESTAMP: "TIMESTAMP",
        Kind.IP4: "IP4",
    }
)


def column_type(name: object, *, field: str) -> LType:
    """The type a ``columns[].type`` names; a clear 400 for anything else."""
    if not isinstance(name, str):
        raise ValidationError(f"`{field}` must be a type name such as STRING", field=field)
    found = TYPE_NAMES.get(name.strip().lower())
    if found is not None:
        return found
    known = ", ".join(REST_NAMES.values())
    if name.strip().lower() in UNSTORABLE:
        raise ValidationError(
            f"Type {name} cannot be a lookup column; use one of {known}", field=field
        )
    raise ValidationError(f"Unknown column type `{name}`; use one of {known}", field=field)


def storable(ltype: LType) -> bool:
    return ltype.kind in REST_NAMES


def rest_name(ltype: LType) -> str:
    return REST_NAMES.get(ltype.kind, ltype.name.upper())
