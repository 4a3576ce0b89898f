"""Regular-expression substitution: ``subs`` (the first match) and ``subsall`` (every match) with a
``template`` naming capture groups, ``\\1`` to ``\\9`` and ``\\0`` for the whole match.

Both engines rewrite with RE2's rules (DuckDB's ``regexp_replace``, ClickHouse's
``replaceRegexpOne``/``replaceRegexpAll``), and both fail on a group the pattern lacks or a
backslash before anything else: the analyzer refuses those templates instead, so a query never
fails after its response has started.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlglot import exp

from ..types import LType
from .base import Arg, Context, FunctionDef, Translator, both, call, lit, sig
from .helpers import case, identity, on_clickhouse, regex_matches

# What a template may hold after a backslash: a group number, or a backslash (itself).
_TEMPLATE_ESCAPE = re.compile(r"\\(.?)", re.DOTALL)


def _constant_text(arg: Arg) -> str | None:
    sql = arg.sql
    if isinstance(sql, exp.Literal) and sql.is_string:
        return sql.name
    return None


def _groups_referenced(ctx: Context, function: str, template: str) -> int:
    """The highest group the template names; an error for a backslash before anything else."""
    highest = 0
    for match in _TEMPLATE_ESCAPE.finditer(template):
        after = match.group(1)
        if after.isdigit():
            highest = max(highest, int(after))
        elif after != "\\":
            raise ctx.error(
                f"Invalid template for `{function}': {template!r} (a backslash must be followed "
                "by a group number 0-9 or by another backslash)"
            )
    return highest


def _pattern_groups(pattern: str) -> int | None:
    """The capture groups of a constant pattern; None when Python's reader cannot tell (RE2
    syntax it lacks, such as ``\\pL``)."""
    try:
        return re.compile(pattern).groups
    except (re.error, OverflowError):
        return None


def _substitute(every: bool) -> Translator:
    function = "subsall" if every else "subs"

    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        text, pattern, template_arg = args[0].sql, args[1].sql, args[2]
        template = _constant_text(template_arg)
        if template is None:
            raise ctx.error(f"The template of `{function}' must be a constant string")
        wanted = _groups_referenced(ctx, function, template)
        constant_pattern = _constant_text(args[1])
        if constant_pattern is not None:
            groups = _pattern_groups(constant_pattern)
            if groups is not None and wanted > groups:
                raise ctx.error(
                    f"The template of `{function}' names group {wanted}; the regular expression "
                    f"{constant_pattern!r} has {groups}"
                )
        if on_clickhouse(ctx):
            name = "replaceRegexpAll" if every else "replaceRegexpOne"
            replaced = call(name, text, pattern, lit(template))
        else:
            flags = [lit("g")] if every else []
            replaced = call("regexp_replace", text, pattern, lit(template), *flags)
        if len(args) < 4:
            return replaced
        # A null text matches nothing, and stays null rather than taking `fail`.
        matched = regex_matches(ctx, text.copy(), pattern.copy())
        return case((matched, replaced), (exp.Not(this=matched.copy()), args[3].sql))

    return translate


SUBS_SIGNATURES = (sig("str, re, template, str? -> str"), sig("str, re, str, str? -> str"))

FUNCTIONS: tuple[FunctionDef, ...] = (
    FunctionDef(("template",), (sig("str -> template"),),
                "A substitution template for `subs`/`subsall` from constant text: `\\1` to "
                "`\\9` are capture groups, `\\0` the whole match, `\\\\` a backslash; a "
                "backslash before anything else is an error. In a double-quoted LINQ string each "
                'backslash is written twice: `template("<\\\\1>")`.', "strings", both(identity)),
    FunctionDef(("subs",), SUBS_SIGNATURES,
                "The text with the first match of the regular expression replaced by the "
                "template (a `template(...)` or constant text); with `fail`, the value when the "
                "expression does not match at all (otherwise the text unchanged): "
                '`subs("a-1", re("([a-z])-([0-9])"), template("\\\\2\\\\1"))` is `1a`.',
                "strings", both(_substitute(every=False))),
    FunctionDef(("subsall",), SUBS_SIGNATURES,
                "As `subs`, every non-overlapping match replaced (an empty match too, between "
                "characters).", "strings", both(_substitute(every=True))),
)  # fmt: skip
