"""LINQ's data types, as Devo names them on the wire (``str``, ``int8``, ``ip4``,
``array(str)`` ...).

The address types hold integers in SQL: ``ip4`` an unsigned 32-bit one, ``ip6`` an unsigned
128-bit one (DuckDB UHUGEINT, ClickHouse UInt128), ``mac`` an unsigned 48-bit one in 64 bits;
``net4`` and ``net6`` are constants (their text in SQL). A query's result carries ``ip6`` and
``mac`` values as their canonical text (``addresses.py``): Arrow has no 128-bit integer."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    STR = "str"
    INT4 = "int4"
    INT8 = "int8"
    FLOAT8 = "float8"
    BOOL = "bool"
    TIMESTAMP = "timestamp"
    DURATION = "duration"
    IP4 = "ip4"
    NET4 = "net4"
    IP6 = "ip6"
    NET6 = "net6"
    MAC = "mac"
    JSON = "json"
    REGEX = "re"
    JQ = "jq"
    TEMPLATE = "template"
    DC = "dc"
    # Raw bytes (hashes, decoded base16/base64/Z85): Devo's docs name no wire type for them.
    BYTES = "bytes"
    ARRAY = "array"
    SET = "set"
    MAP = "map"
    TUPLE = "tuple"
    NULL = "null"
    ANY = "any"


@dataclass(frozen=True)
class LType:
    """A type; ``element`` is the item type of an array or set and the value type of a map,
    ``key`` a map's key type, ``fields`` a tuple's item types in order (its text and its
    items are written from them). A map's name carries both, ``map(str,int8)``, as an array's
    carries its item type; a tuple's name is ``tuple`` whatever its items."""

    kind: Kind
    element: LType | None = None
    key: LType | None = None
    fields: tuple[LType, ...] = ()

    @property
    def name(self) -> str:
        if self.kind in (Kind.ARRAY, Kind.SET) and self.element is not None:
            return f"{self.kind.value}({self.element.name})"
        if self.kind is Kind.MAP and self.element is not None and self.key is not None:
            return f"map({self.key.name},{self.element.name})"
        return self.kind.value

    def __str__(self) -> str:
        # Messages show a tuple's items (`tuple(int8,str)`); its wire name stays `tuple`.
        if self.kind is Kind.TUPLE and self.fields:
            return f"tuple({','.join(str(f) for f in self.fields)})"
        return self.name

    @property
    def is_integer(self) -> bool:
        return self.kind in (Kind.INT4, Kind.INT8)

    @property
    def is_numeric(self) -> bool:
        return self.kind in (Kind.INT4, Kind.INT8, Kind.FLOAT8)

    @property
    def is_binary(self) -> bool:
        """Held as bytes by the engines: ``bytes``, and ``dc`` sketches (their packed form)."""
        return self.kind in (Kind.BYTES, Kind.DC)

    @property
    def is_collection(self) -> bool:
        return self.kind in (Kind.ARRAY, Kind.SET)


STR = LType(Kind.STR)
INT4 = LType(Kind.INT4)
INT8 = LType(Kind.INT8)
FLOAT8 = LType(Kind.FLOAT8)
BOOL = LType(Kind.BOOL)
TIMESTAMP = LType(Kind.TIMESTAMP)
DURATION = LType(Kind.DURATION)
IP4 = LType(Kind.IP4)
NET4 = LType(Kind.NET4)
IP6 = LType(Kind.IP6)
NET6 = LType(Kind.NET6)
MAC = LType(Kind.MAC)
JSON = LType(Kind.JSON)
REGEX = LType(Kind.REGEX)
JQ = LType(Kind.JQ)
TEMPLATE = LType(Kind.TEMPLATE)
DC = LType(Kind.DC)
BYTES = LType(Kind.BYTES)
MAP = LType(Kind.MAP)
# An array or set of any element (signature patterns).
ARRAY = LType(Kind.ARRAY)
SET = LType(Kind.SET)
TUPLE = LType(Kind.TUPLE)
NULL = LType(Kind.NULL)
ANY = LType(Kind.ANY)


def array_of(element: LType) -> LType:
    return LType(Kind.ARRAY, element)


def set_of(element: LType) -> LType:
    return LType(Kind.SET, element)


def map_of(key: LType, value: LType) -> LType:
    return LType(Kind.MAP, value, key)


def tuple_of(fields: tuple[LType, ...]) -> LType:
    return LType(Kind.TUPLE, fields=fields)


_BY_NAME = {
    t.name: t
    for t in (
        STR,
        INT4,
        INT8,
        FLOAT8,
        BOOL,
        TIMESTAMP,
        DURATION,
        IP4,
        NET4,
        IP6,
        NET6,
        MAC,
        JSON,
        REGEX,
        JQ,
        DC,
        BYTES,
        MAP,
        ARRAY,
        SET,
        TUPLE,
        TEMPLATE,
    )
}
_ALIASES = {
    "any": ANY,
    "null": NULL,
    "int": INT8,
    "float": FLOAT8,
    "string": STR,
    "boolean": BOOL,
    "ip": IP4,
}


def parse_type(name: str) -> LType:
    """A type from its Devo name; ``array(str)``/``set(ip4)``/``map(str,int8)`` nest."""
    text = name.strip().lower()
    if text.startswith("map(") and text.endswith(")"):
        inner = text[4:-1]
        depth = 0
        for index, char in enumerate(inner):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if char == "," and depth == 0:
                return map_of(parse_type(inner[:index]), parse_type(inner[index + 1 :]))
    for kind in (Kind.ARRAY, Kind.SET):
        prefix = kind.value + "("
        if text.startswith(prefix) and text.endswith(")"):
            return LType(kind, parse_type(text[len(prefix) : -1]))
    if text in _BY_NAME:
        return _BY_NAME[text]
    if text in _ALIASES:
        return _ALIASES[text]
    raise ValueError(f"unknown type {name!r}")


def common_numeric(a: LType, b: LType) -> LType:
    """The type of ``a op b`` for two numbers: float wins, then the wider integer."""
    if FLOAT8 in (a, b):
        return FLOAT8
    if INT8 in (a, b):
        return INT8
    return INT4 if a == b == INT4 else INT8


def ip4_dotted(value: int) -> str:
    """An ``ip4`` value (an unsigned 32-bit integer) as dotted text, ``10.0.0.1``."""
    return ".".join(str((value >> shift) & 255) for shift in (24, 16, 8, 0))
