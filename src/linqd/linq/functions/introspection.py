"""Tables and queries as values (spec §9.9): table-name globs (``nameglob``, ``anymatches`` on
``all.data``'s ``tables``) and what a LINQ text reads (``tablename``, ``pragmavalue``).

A LINQ text known when the query is compiled is parsed by linqd's own parser, so the answer is
exactly what the server would read. A text from a column (a query log) cannot be parsed row by
row in SQL: a regular expression reads it instead, the first ``from <name>`` (after blanks and
``//`` comments) and a ``pragma <key>: <value>``, which a text with ``from`` or ``pragma``
inside a string or a comment can mislead.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from ...errors import LinqError
from .. import ast
from ..format import format_expr
from ..parser import parse
from ..types import LType
from .base import Arg, Context, FunctionDef, both, call, lit, sig
from .helpers import (
    const_text,
    on_clickhouse,
    regex_escape,
    regex_extract,
    regex_matches,
)

LANGUAGE = "LINQ"
# The first `from <name>` of a LINQ text, after blanks and `//` comments.
_TABLE_PATTERN = r"^(?:\s|//[^\n]*)*from\s+([^\s]+)"


def glob_regex(glob: str) -> str:
    """A table-name glob as an anchored regular expression (RE2 and Python alike).

    Levels are separated by dots. A level that is ``*`` is one level; a level that is ``**`` is
    one or more levels (the rule of token scopes, ``domains.glob_matches``); a ``*`` inside a
    level (``web*``) is any run of characters within that level. Everything else is literal.
    """
    levels = []
    for level in glob.split("."):
        if level == "**":
            levels.append(r"[^.]+(?:\.[^.]+)*")
        elif level == "*":
            levels.append(r"[^.]+")
        else:
            levels.append("[^.]*".join(regex_escape(part) for part in level.split("*")))
    return "^" + r"\.".join(levels) + "$"


def _nameglob(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return lit(glob_regex(const_text(ctx, args[0], "nameglob", "glob")))


def _anymatches(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    names, pattern = args[0].sql, args[1].sql
    element = exp.to_identifier("x")
    test = exp.Lambda(this=regex_matches(ctx, exp.column("x"), pattern), expressions=[element])
    if on_clickhouse(ctx):
        return call("arrayExists", test, names)
    # A null name matches nothing, as arrayExists reads it.
    found = call("list_filter", names, test)
    return exp.GT(this=call("len", found), expression=lit(0))


def _language(ctx: Context, arg: Arg, function: str) -> None:
    language = const_text(ctx, arg, function, "language")
    if language.upper() != LANGUAGE:
        raise ctx.error(f"`{function}' reads LINQ texts only, not {language!r}")


def _parsed(text: str) -> ast.Query | None:
    try:
        return parse(text)
    except LinqError:
        return None


def _group(ctx: Context, text: exp.Expression, pattern: str, group: int) -> exp.Expression:
    """Capture ``group`` of ``pattern``'s first match in ``text``; null when it does not match
    (or captures nothing)."""
    return exp.Nullif(this=regex_extract(ctx, text, lit(pattern), group), expression=lit(""))


def _tablename(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    _language(ctx, args[0], "tablename")
    query = args[1]
    if query.is_const:
        parsed = _parsed(query.const) if isinstance(query.const, str) else None
        return lit(None if parsed is None else parsed.table)
    found = _group(ctx, query.sql, "(?i)" + _TABLE_PATTERN, 1)
    return call("replace", found, lit("`"), lit(""))


def pragma_text(value: ast.Expr) -> str:
    """A pragma's value as text: a string as itself, anything else as written."""
    if isinstance(value, ast.Literal) and isinstance(value.value, str):
        return value.value
    return format_expr(value)


def _pragmavalue(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    _language(ctx, args[0], "pragmavalue")
    key = const_text(ctx, args[2], "pragmavalue", "key")
    query = args[1]
    if query.is_const:
        parsed = _parsed(query.const) if isinstance(query.const, str) else None
        values = [pragma_text(p.value) for p in parsed.pragmas if p.key == key] if parsed else []
        return lit(values[-1] if values else None)
    # The last pragma of the key wins, as in the parsed form: a greedy run before it.
    pattern = (
        r"(?s)^.*\bpragma\s+" + regex_escape(key) + r'\s*:\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"][^\s]*))'
    )
    quoted = _group(ctx, query.sql, pattern, 1)
    bare = _group(ctx, query.sql, pattern, 2)
    return exp.Coalesce(this=quoted, expressions=[bare])


FUNCTIONS = (
    FunctionDef(("nameglob",), (sig("str -> re"),),
                "A table-name glob as a regular expression over names: `*` is one level "
                "(`*` inside a level, any run of characters within it), `**` one or more levels "
                '(`nameglob("siem.**")` matches `siem.logtrust.web.activity`); the glob must be a '
                "constant.", "introspection", both(_nameglob)),
    FunctionDef(("anymatches",), (sig("array(str), re -> bool"), sig("set(str), re -> bool")),
                "Whether any name of the collection matches the regular expression: "
                '`from all.data where anymatches(tables, nameglob("siem.**"))`, where a constant '
                "glob also leaves the other tables unread.", "introspection", both(_anymatches)),
    FunctionDef(("tablename",), (sig("str, str -> str"),),
                'The table a LINQ text reads: `tablename("LINQ", "from a.b.c where x > 1")` is '
                "`a.b.c`; null for a text that is not LINQ. The language must be the constant "
                '`"LINQ"`. A text from a column is read by a regular expression (the first '
                "`from <name>`), a constant one by linqd's parser.", "introspection",
                both(_tablename)),
    FunctionDef(("pragmavalue",), (sig("str, str, str -> str"),),
                "The value of pragma `key` in a LINQ text, as text (a string without its quotes, "
                "anything else as written: `true`, `2`); null when the text has no such pragma. "
                'The language must be the constant `"LINQ"` and the key a constant. A text from '
                "a column is read by a regular expression, a constant one by linqd's parser.",
                "introspection", both(_pragmavalue)),
)  # fmt: skip
