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
from .base import Arg, Context, FunctionDef, both, call, cast, lit, sig
from .helpers import case, const_text, json_input, json_plain, on_clickhouse

# One step of a jq path: `.name`, `[n]` / `.[n]`, `["key"]` / `.["key"]` or `."key"`.
JQ_STEP = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\.?\[(-?\d+)\]|\.?\["([^"\\]*)"\]|\."([^"\\]*)"')

# One step of a JSONPath that jq_to_jsonpath wrote.
JSONPATH_STEP = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[#(-\d+)\]|\."([^"\\]*)"')

# ClickHouse's JSONType() names → the JSON type names label() reports.
CLICKHOUSE_LABELS = (
    ("Object", "object"),
    ("Array", "array"),
    ("String", "string"),
    ("Bool", "boolean"),
    ("Null", "null"),
    ("Int64", "number"),
    ("UInt64", "number"),
    ("Double", "number"),
)

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


def jsonpath_steps(path: str) -> list[exp.Expression]:
    """A JSONPath of ``jq_to_jsonpath`` as the keys and positions JSONExtract* take (1-based,
    negative from the end)."""
    steps: list[exp.Expression] = []
    position = 1
    while position < len(path):
        step = JSONPATH_STEP.match(path, position)
        if step is None:
            raise ValueError(f"not a JSONPath of jqcompile: {path!r}")
        name, index, from_end, quoted = step.groups()
        if index is not None:
            steps.append(lit(int(index) + 1))
        elif from_end is not None:
            steps.append(lit(int(from_end)))
        else:
            steps.append(lit(name if name is not None else quoted))
        position = step.end()
    return steps


def _valid(ctx: Context, sql: exp.Expression) -> exp.Expression:
    return call("isValidJSON" if on_clickhouse(ctx) else "json_valid", json_plain(ctx, sql))


def minified(ctx: Context, sql: exp.Expression) -> exp.Expression:
    """The text of a JSON value without its insignificant spaces. ClickHouse writes numbers as
    their value (`1.0` → `1`), DuckDB keeps a real's decimal point (docs/devo-compatibility.md)."""
    if on_clickhouse(ctx):
        return call("JSONExtractRaw", json_plain(ctx, sql))
    return cast(call("json", sql), "VARCHAR")


def checked(ctx: Context, value: Arg, sql: exp.Expression) -> exp.Expression:
    """``sql`` computed from a json argument, null when that argument is text that is not JSON."""
    if value.type.kind is Kind.JSON:
        return sql
    return case((_valid(ctx, value.sql), sql))


def _jsonparse(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    value = args[0]
    return case((_valid(ctx, value.sql), minified(ctx, value.sql)))


def _jqcompile(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    path = const_text(ctx, args[0], "jqcompile", "jq program")
    try:
        return lit(jq_to_jsonpath(path))
    except ValueError as error:
        raise ctx.error(f"Cannot compile jq {path!r}: {error}") from None


def _jqeval(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    program, value = args
    if not on_clickhouse(ctx):
        return checked(ctx, value, cast(call("json_extract", value.sql, program.sql), "VARCHAR"))
    # ClickHouse's JSON functions take the path as arguments: the program must be known now.
    if not (isinstance(program.sql, exp.Literal) and program.sql.is_string):
        raise ctx.error(f"The jq program of `jqeval' must be a jqcompile(...) on {ctx.engine}")
    steps = jsonpath_steps(program.sql.name)
    found = call("JSONExtractRaw", json_plain(ctx, value.sql), *steps)
    # '' is what JSONExtractRaw gives for a missing path (no JSON value is empty).
    return checked(ctx, value, exp.Nullif(this=found, expression=lit("")))


def _label(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    value = args[0]
    labels, function = (
        (CLICKHOUSE_LABELS, "JSONType") if on_clickhouse(ctx) else (LABELS, "json_type")
    )
    ifs = [exp.If(this=lit(engine), true=lit(label)) for engine, label in labels]
    return exp.Case(this=call(function, json_input(ctx, value)), ifs=ifs)


def _stringify(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    value = args[0]
    return checked(ctx, value, minified(ctx, value.sql))


FUNCTIONS: tuple[FunctionDef, ...] = (
    FunctionDef(("jsonparse",), (sig("str -> json"), sig("json -> json")),
                "The JSON value written in the text; null when the text is not valid JSON.",
                "json", both(_jsonparse)),
    FunctionDef(("jqcompile",), (sig("str -> jq"),),
                "A jq program from constant text; paths only: `.a.b`, `.[0]`, `.a[1].b`, "
                '`.["key"]`, `.[-1]` (the last element).', "json", both(_jqcompile)),
    FunctionDef(("jqeval",), (sig("jq, json -> json"),),
                "The value the jq path selects (null when absent); a string comes back "
                "JSON-quoted, `str()` unquotes it. On ClickHouse the program must be a "
                "`jqcompile` of a constant.", "json", both(_jqeval)),
    FunctionDef(("label",), (sig("json -> str"),),
                "The JSON type of the value: object, array, string, number, boolean or null.",
                "json", both(_label)),
    FunctionDef(("stringify",), (sig("json -> str"),),
                "The value as JSON text (strings keep their quotes).", "json",
                both(_stringify)),
)  # fmt: skip
