"""Text functions: case, trimming, slicing (0-based, as in Devo), splitting, regular expressions,
replacement, tokens and URL encoding."""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from ..types import Kind, LType
from .base import Arg, Context, FunctionDef, Translator, both, call, cast, lit, paren, sig
from .helpers import (
    REGEX_SPECIAL,
    case,
    const_bool,
    const_int,
    contains,
    identity,
    lower,
    minus,
    on_clickhouse,
    plus,
    regex_escape,
    regex_extract,
    regex_matches,
    shifted,
)

# Devo's tokens are runs of ASCII letters and digits; anything else separates them.
ALNUM = "[A-Za-z0-9]"
NOT_ALNUM = "[^A-Za-z0-9]"
LEFT_EDGE = f"(?:^|{NOT_ALNUM})"
RIGHT_EDGE = f"(?:{NOT_ALNUM}|$)"
# The position variable of the lambdas that walk a text; an unusual name, so that it does not
# hide a column of the same name used in the texts.
LAMBDA_POSITION = "_linqd_pos"


# DuckDB's text functions count characters; ClickHouse's plain ones count bytes, its *UTF8 ones
# characters. (name on DuckDB, name on ClickHouse)
TEXT_FUNCTIONS = {
    "length": ("length", "lengthUTF8"),
    "len": ("len", "length"),
    "substring": ("substring", "substringUTF8"),
    "strpos": ("strpos", "positionUTF8"),
    "left": ("left", "leftUTF8"),
    "reverse": ("reverse", "reverseUTF8"),
    "list_reverse": ("list_reverse", "reverse"),
    "list_extract": ("list_extract", "arrayElementOrNull"),
    "list_contains": ("list_contains", "has"),
    "replace": ("replace", "replaceAll"),
    "upper": ("upper", "upperUTF8"),
    "trim": ("trim", "trimBoth"),
    "ltrim": ("ltrim", "trimLeft"),
    "rtrim": ("rtrim", "trimRight"),
    "starts_with": ("starts_with", "startsWith"),
    "ends_with": ("ends_with", "endsWith"),
    "url_encode": ("url_encode", "encodeURLComponent"),
    "url_decode": ("url_decode", "decodeURLComponent"),
    # Both count bytes, as DuckDB's do.
    "levenshtein": ("levenshtein", "editDistance"),
    "damerau_levenshtein": ("damerau_levenshtein", "damerauLevenshteinDistance"),
}


def text_call(ctx: Context, name: str, *args: exp.Expression) -> exp.Expression:
    """The engine's function of DuckDB's ``name`` (see TEXT_FUNCTIONS)."""
    duckdb, clickhouse = TEXT_FUNCTIONS[name]
    return call(clickhouse if on_clickhouse(ctx) else duckdb, *args)


def text_fn(name: str) -> Translator:
    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        return text_call(ctx, name, *(a.sql for a in args))

    return translate


def _size(ctx: Context, value: Arg) -> exp.Expression:
    return text_call(ctx, "len" if value.type.is_collection else "length", value.sql)


def _length(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return cast(_size(ctx, args[0]), "INTEGER")


def _substring(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    text, start, *size = args
    return text_call(ctx, "substring", text.sql, shifted(start, 1), *(s.sql for s in size))


def _splitter(function: str, clickhouse: str) -> Translator:
    """split/splitre: the array of pieces, or with a third argument the n-th piece (0-based)."""

    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        if on_clickhouse(ctx):
            # splitByString(separator, text): the other order. ClickHouse has no null arrays:
            # a null text splits into none (not into one empty piece).
            pieces: exp.Expression = exp.If(
                this=exp.Is(this=args[0].sql, expression=exp.Null()),
                true=call("emptyArrayString"),
                false=call(clickhouse, args[1].sql, args[0].sql),
            )
        else:
            pieces = call(function, args[0].sql, args[1].sql)
        if len(args) == 2:
            return pieces
        return text_call(ctx, "list_extract", pieces, shifted(args[2], 1))

    return translate


def _peek(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    text, pattern, *rest = args
    group = const_int(ctx, rest[0], "peek", "group") if rest else 0
    # regexp_extract gives '' when nothing matches; Devo gives null.
    found = regex_extract(ctx, text.sql, pattern.sql, group)
    return case((regex_matches(ctx, text.sql, pattern.sql), found))


def _replace_first(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    text, search, replacement = (a.sql for a in args)
    position = text_call(ctx, "strpos", text, search)
    before = text_call(ctx, "left", text, minus(position, 1))
    start = exp.Add(this=position, expression=text_call(ctx, "length", search))
    after = text_call(ctx, "substring", text, start)
    replaced = exp.DPipe(this=exp.DPipe(this=before, expression=replacement), expression=after)
    return case((exp.GT(this=position, expression=lit(0)), replaced), default=text)


def _locate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return cast(minus(text_call(ctx, "strpos", args[0].sql, args[1].sql), 1), "INTEGER")


def _reverse(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    value = args[0]
    return text_call(ctx, "list_reverse" if value.type.is_collection else "reverse", value.sql)


def _urldecode(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    # Form encoding writes a space as '+'; url_decode leaves '+' alone ('%2B' is a real plus).
    spaced = text_call(ctx, "replace", args[0].sql, lit("+"), lit(" "))
    return text_call(ctx, "url_decode", spaced)


def _eqic(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return paren(exp.EQ(this=lower(ctx, args[0].sql), expression=lower(ctx, args[1].sql)))


def _lower(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return lower(ctx, args[0].sql) if on_clickhouse(ctx) else call("lower", args[0].sql)


def _isempty(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    empty = exp.EQ(this=_size(ctx, args[0]), expression=lit(0))
    return exp.Coalesce(this=empty, expressions=[exp.false()])


def _lowered_items(ctx: Context, container: Arg) -> list[exp.Expression] | None:
    """The lower-cased elements of a literal collection; None for a computed one."""
    if container.is_const and isinstance(container.const, list):
        return [lit(v.lower()) if isinstance(v, str) else lit(v) for v in container.const]
    if isinstance(container.sql, exp.Array):
        return [lower(ctx, item) for item in container.sql.expressions]
    return None


def _weakin(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    value, container = args
    needle = lower(ctx, value.sql)
    if container.type.kind is Kind.STR:
        return contains(ctx, lower(ctx, container.sql), needle)
    items = _lowered_items(ctx, container)
    if items is not None:
        return paren(exp.In(this=needle, expressions=items)) if items else exp.false()
    element = exp.to_identifier("x")
    lowered = exp.Lambda(this=lower(ctx, exp.column("x")), expressions=[element])
    if on_clickhouse(ctx):
        return call("has", call("arrayMap", lowered, container.sql), needle)
    return call("list_contains", call("list_transform", container.sql, lowered), needle)


def _alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _token_pattern(ctx: Context, args: Sequence[Arg], function: str) -> exp.Expression:
    """The regular expression behind toktains: the token, with a word edge on each side unless
    that side is extended or the token itself starts/ends with a separator there."""
    token = args[1]
    left_ext = const_bool(ctx, args[2], function, "left extension") if len(args) > 2 else False
    right_ext = const_bool(ctx, args[3], function, "right extension") if len(args) > 3 else False
    if token.is_const and isinstance(token.const, str):
        text = token.const
        left = "" if left_ext or not _alnum(text[:1]) else LEFT_EDGE
        right = "" if right_ext or not _alnum(text[-1:]) else RIGHT_EDGE
        return lit(left + regex_escape(text) + right)
    special = "([" + "".join("\\" + c for c in REGEX_SPECIAL) + "])"
    escape = lit("\\\\\\1")
    if on_clickhouse(ctx):
        pattern = call("replaceRegexpAll", token.sql, lit(special), escape)
    else:
        pattern = call("regexp_replace", token.sql, lit(special), escape, lit("g"))
    if not left_ext:
        starts = regex_matches(ctx, token.sql, lit("^" + ALNUM))
        edge = case((starts, lit(LEFT_EDGE)), default=lit(""))
        pattern = exp.DPipe(this=edge, expression=pattern)
    if not right_ext:
        ends = regex_matches(ctx, token.sql, lit(ALNUM + "$"))
        edge = case((ends, lit(RIGHT_EDGE)), default=lit(""))
        pattern = exp.DPipe(this=pattern, expression=edge)
    return pattern


def _toktains(case_sensitive: bool) -> Translator:
    name = "toktains" if case_sensitive else "weaktoktains"

    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        pattern = _token_pattern(ctx, args, name)
        return regex_matches(ctx, args[0].sql, pattern, ignore_case=not case_sensitive)

    return translate


def _edit_distance(function: str) -> Translator:
    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        return cast(text_call(ctx, function, args[0].sql, args[1].sql), "INTEGER")

    return translate


def _hamming(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    """The characters that differ position by position; null unless the lengths are equal.
    Built from a count over the positions: DuckDB's hamming() counts bytes and fails on texts of
    different lengths (a query must not fail on one row), and ClickHouse has no text one."""
    first, second = args[0].sql, args[1].sql
    size = text_call(ctx, "length", first)
    position = exp.column(LAMBDA_POSITION)

    def char(text: exp.Expression) -> exp.Expression:
        return text_call(ctx, "substring", text, position, lit(1))

    differs = exp.Lambda(
        this=exp.NEQ(this=char(first), expression=char(second)),
        expressions=[exp.to_identifier(LAMBDA_POSITION)],
    )
    # A null text has no positions (ClickHouse's range takes no null bound); the CASE is null.
    positions = call("range", lit(1), plus(exp.Coalesce(this=size, expressions=[lit(0)]), 1))
    if on_clickhouse(ctx):
        count = call("arrayCount", differs, positions)
    else:
        count = call("len", call("list_filter", positions, differs))
    same_size = exp.EQ(this=size, expression=text_call(ctx, "length", second))
    return cast(case((same_size, count)), "INTEGER")


def _text(names: tuple[str, ...], signature: str, doc: str, translate: Translator) -> FunctionDef:
    return FunctionDef(names, (sig(signature),), doc, "strings", both(translate))


TOKEN_SIGNATURE = (sig("str, str, bool?, bool? -> bool"),)

FUNCTIONS: tuple[FunctionDef, ...] = (
    _text(("lower",), "str -> str", "Lower case.", _lower),
    _text(("upper",), "str -> str", "Upper case.", text_fn("upper")),
    _text(("trim",), "str -> str", "Without leading and trailing spaces.", text_fn("trim")),
    _text(("ltrim",), "str -> str", "Without leading spaces.", text_fn("ltrim")),
    _text(("rtrim",), "str -> str", "Without trailing spaces.", text_fn("rtrim")),
    FunctionDef(("length",), (sig("str -> int4"), sig("coll -> int4")),
                "Number of characters of a string, or of elements of an array or set.",
                "strings", both(_length)),
    _text(("substring",), "str, int, int? -> str",
          "The part starting at `start` (0-based), `length` characters long or to the end.",
          _substring),
    FunctionDef(("split",), (sig("str, str -> array(str)"), sig("str, str, int -> str")),
                "The pieces of the text between separators; with `n`, only the n-th piece "
                "(0-based, null when there are fewer).", "strings",
                both(_splitter("string_split", "splitByString"))),
    FunctionDef(("splitre",), (sig("str, re -> array(str)"), sig("str, re, int -> str")),
                "As `split`, with a regular expression as separator.", "strings",
                both(_splitter("regexp_split_to_array", "splitByRegexp"))),
    _text(("peek",), "str, re, int? -> str",
          "The first match of the regular expression, or its capture group `n` (0 = the "
          "whole match); null when it does not match.", _peek),
    _text(("replace",), "str, str, str -> str",
          "The text with the first occurrence of `search` (literal text) replaced.",
          _replace_first),
    _text(("replaceall",), "str, str, str -> str",
          "The text with every occurrence of `search` (literal text) replaced.",
          text_fn("replace")),
    _text(("startswith",), "str, str -> bool", "Starts with the prefix.", text_fn("starts_with")),
    _text(("endswith",), "str, str -> bool", "Ends with the suffix.", text_fn("ends_with")),
    _text(("locate",), "str, str -> int4",
          "Position (0-based) of the first occurrence of `sub`, or -1.", _locate),
    FunctionDef(("reverse",), (sig("str -> str"), sig("coll -> $0")),
                "Characters, or elements, in reverse order.", "strings", both(_reverse)),
    FunctionDef(("re",), (sig("re -> re"), sig("str -> re")),
                'A regular expression (RE2 syntax) from its text: `s ~ re("^a.*")`.', "strings",
                both(identity)),
    _text(("urlencode",), "str -> str", "Percent-encoding of the text.", text_fn("url_encode")),
    _text(("urldecode",), "str -> str", "Decodes %XX escapes and `+` (as a space).",
          _urldecode),
    _text(("levenshtein",), "str, str -> int4",
          "Levenshtein edit distance (insertions, deletions, substitutions).",
          _edit_distance("levenshtein")),
    _text(("damerau",), "str, str -> int4",
          "Damerau-Levenshtein distance (also counts transpositions of adjacent characters).",
          _edit_distance("damerau_levenshtein")),
    _text(("hamming",), "str, str -> int4",
          "Hamming distance: the number of positions whose characters differ; null when the "
          "texts differ in length.", _hamming),
    FunctionDef(("eqic",), (sig("str, str -> bool"),), "Equal, ignoring case.", "comparison",
                both(_eqic)),
    FunctionDef(("toktains",), TOKEN_SIGNATURE,
                "Contains `token` as a whole token (bounded by non-alphanumerics or the ends); "
                "`leftExt`/`rightExt` let it match inside a longer alphanumeric run on that side.",
                "membership", both(_toktains(True))),
    FunctionDef(("weaktoktains",), TOKEN_SIGNATURE, "As `toktains`, ignoring case.",
                "membership", both(_toktains(False))),
    FunctionDef(("weakin",), (sig("str, coll -> bool"), sig("str, str -> bool")),
                "Membership of a string in a set or array (or in a text), ignoring case.",
                "membership", both(_weakin)),
    FunctionDef(("isempty",), (sig("str -> bool"), sig("coll -> bool")),
                "True for an empty string or collection (false for null).", "null",
                both(_isempty)),
)  # fmt: skip
