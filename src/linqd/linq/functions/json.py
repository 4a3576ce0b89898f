"""JSON: parsing text, jq paths, the type of a value and its text.

A json value is stored as its minified JSON text. Devo's jq support is the path subset (`.a.b`,
`.[0]`, `.a[1].b`), which maps one to one onto JSONPath, so a compiled jq program is just the
JSONPath text. Text of type str handed where json is expected is checked first: text that is not
JSON gives null instead of failing the whole query.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlglot import exp

from ..types import Kind, LType
from .base import Arg, Context, FunctionDef, call, cast, lit, sig
from .helpers import case, const_text

# One step of a jq path: `.name`, `[n]` / `.[n]`, `["key"]` / `.["key"]` or `."key"`.
JQ_STEP = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\.?\[(-?\d+)\]|\.?\["([^"\\]*)"\]|\."([^"\\]*)"')

# json_type() names → the JSON type names label() reports.
LABELS = (
    ("OBJECT", "object"),
    ("ARRAY", "array"),
    ("VARCHAR", "string"),
    ("BOOLEAN", "boolean"),
    ("NULL", "null"),
    ("UBIGINT", "number"),
    ("BIGINT", "number"),
    ("HUGEINT", "number"),
    ("DOUBLE", "number"),
)


def jq_to_jsonpath(path: str) -> str:
    """A jq path as JSONPath; ValueError for anything beyond plain paths."""
    text = path.strip()
    if not text.startswith("."):
        raise ValueError("a jq path starts with '.'")
    if text == ".":
        return "$"
    out = ["$"]
    position = 0
    while position < len(text):
        step = JQ_STEP.match(text, position)
        if step is None:
            raise ValueError(f"unsupported jq at {text[position:]!r}")
        name, index, bracketed, quoted = step.groups()
        if name is not None:
            out.append("." + name)
        elif index is not None:
            # JSONPath counts from the end with `#-n`; jq with a plain negative index.
            out.append(f"[{index}]" if not index.startswith("-") else f"[#{index}]")
        else:
            out.append('."' + (bracketed if bracketed is not None else quoted) + '"')
        position = step.end()
    return "".join(out)


def checked(value: Arg, sql: exp.Expression) -> exp.Expression:
    """``sql`` computed from a json argument, null when that argument is text that is not JSON."""
    if value.type.kind is Kind.JSON:
        return sql
    return case((call("json_valid", value.sql), sql))


def _jsonparse(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    value = args[0]
    minified = cast(call("json", value.sql), "VARCHAR")
    return case((call("json_valid", value.sql), minified))


def _jqcompile(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    path = const_text(ctx, args[0], "jqcompile", "jq program")
    try:
        return lit(jq_to_jsonpath(path))
    except ValueError as error:
        raise ctx.error(f"Cannot compile jq {path!r}: {error}") from None


def _jqeval(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    program, value = args
    return checked(value, cast(call("json_extract", value.sql, program.sql), "VARCHAR"))


def _label(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    value = args[0]
    ifs = [exp.If(this=lit(engine), true=lit(label)) for engine, label in LABELS]
    return checked(value, exp.Case(this=call("json_type", value.sql), ifs=ifs))


def _stringify(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    value = args[0]
    return checked(value, cast(call("json", value.sql), "VARCHAR"))


FUNCTIONS: tuple[FunctionDef, ...] = (
    FunctionDef(("jsonparse",), (sig("str -> json"), sig("json -> json")),
                "The JSON value written in the text; null when the text is not valid JSON.",
                "json", {"duckdb": _jsonparse}),
    FunctionDef(("jqcompile",), (sig("str -> jq"),),
                "A jq program from constant text; paths only: `.a.b`, `.[0]`, `.a[1].b`, "
                '`.["key"]`, `.[-1]` (the last element).', "json", {"duckdb": _jqcompile}),
    FunctionDef(("jqeval",), (sig("jq, json -> json"),),
                "The value the jq path selects (null when absent); a string comes back "
                "JSON-quoted, `str()` unquotes it.", "json", {"duckdb": _jqeval}),
    FunctionDef(("label",), (sig("json -> str"),),
                "The JSON type of the value: object, array, string, number, boolean or null.",
                "json", {"duckdb": _label}),
    FunctionDef(("stringify",), (sig("json -> str"),),
                "The value as JSON text (strings keep their quotes).", "json",
                {"duckdb": _stringify}),
)  # fmt: skip
