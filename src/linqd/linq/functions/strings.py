"""Text functions: case, trimming, slicing (0-based, as in Devo), splitting, regular expressions,
replacement, tokens and URL encoding."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence

from sqlglot import exp

from ..types import Kind, LType
from . import lists
from .base import Arg, Context, FunctionDef, Translator, both, call, cast, lit, paren, sig
from .helpers import (
    REGEX_SPECIAL,
    all_of,
    any_of,
    case,
    ch_cast,
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
from .network import PEEK_NETWORK, peek_network

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
    if value.type.kind is Kind.MAP:
        return lists.map_size(ctx, value.sql)
    return text_call(ctx, "len" if value.type.is_collection else "length", value.sql)


def _length(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return cast(_size(ctx, args[0]), "INTEGER")


def _no_text(ctx: Context) -> exp.Expression:
    """A null of the text type (a bare NULL has none on either engine)."""
    if on_clickhouse(ctx):
        return ch_cast(exp.Null(), "Nullable(String)")
    return cast(exp.Null(), "VARCHAR")


def _substring(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    text, start, *size = args
    part = text_call(ctx, "substring", text.sql, shifted(start, 1), *(s.sql for s in size))
    # A negative start or length names no part of the text, as Java's substring refuses them
    # (the engines would count from the end, each its own way).
    negative: list[exp.Expression] = [
        exp.LT(this=a.sql, expression=lit(0))
        for a in (start, *size)
        if not (a.is_const and isinstance(a.const, int) and a.const >= 0)
    ]
    if not negative:
        return part
    if any(a.is_const and isinstance(a.const, int) and a.const < 0 for a in (start, *size)):
        return _no_text(ctx)
    return case((exp.Not(this=any_of(negative)), part))


def _splitter(name: str, function: str, clickhouse: str) -> Translator:
    """split/splitre: the array of pieces, or with a third argument the n-th piece (0-based).

    A null text or separator splits into no piece: ClickHouse has no null arrays, so [] is the
    one answer both engines can give. An empty text is one empty piece, as a text without the
    separator is one piece (DuckDB's answer; ClickHouse's splitBy* give none)."""

    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        text, separator = args[0].sql, args[1].sql
        missing = any_of([exp.Is(this=a, expression=exp.Null()) for a in (text, separator)])
        pieces: exp.Expression
        if on_clickhouse(ctx):
            null = isinstance(separator, exp.Null) or (
                isinstance(separator, exp.Cast) and isinstance(separator.this, exp.Null)
            )
            constant = null or (isinstance(separator, exp.Literal) and separator.is_string)
            if not constant:
                # Refused now rather than as the rows stream: splitBy* take a constant only.
                raise ctx.error(f"The separator of `{name}' must be a constant on {ctx.engine}")
            # splitByString(separator, text): the other order.
            whole = exp.If(
                this=exp.EQ(this=text, expression=lit("")),
                true=exp.Array(expressions=[lit("")]),
                false=call(clickhouse, separator, text),
            )
            pieces = exp.If(this=missing, true=call("emptyArrayString"), false=whole)
        else:
            pieces = case((missing, cast(exp.Array(expressions=[]), "VARCHAR[]")),
                          default=call(function, text, separator))  # fmt: skip
        if len(args) == 2:
            return pieces
        return text_call(ctx, "list_extract", pieces, shifted(args[2], 1))

    return translate


def _groups(pattern: str) -> int:
    """The capture groups of a regular expression (Python's count, as RE2's); a pattern Python
    cannot read counts as having every group (the engine judges it)."""
    try:
        return re.compile(pattern).groups
    except re.error:
        return sys.maxsize


def _peek(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    if args[-1].type.is_collection or args[0].type.kind in (Kind.IP4, Kind.IP6):
        return peek_network(ctx, args, result)
    text, pattern, *rest = args
    group = const_int(ctx, rest[0], "peek", "group") if rest else 0
    written = pattern.sql  # re("...") is its text
    if isinstance(written, exp.Literal) and written.is_string and group > _groups(written.name):
        # A group the pattern lacks captures nothing (ClickHouse would refuse the query).
        return _no_text(ctx)
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
    items_type = container.type.element
    if items_type is not None and items_type.kind not in (Kind.STR, Kind.ANY, Kind.NULL):
        # Text is never an item of a collection of other values (DuckDB would fail the query
        # reading its items as text): false, or null for a null needle.
        return case((exp.Not(this=exp.Is(this=value.sql, expression=exp.Null())), exp.false()))
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


# -- edit distances built as a dynamic programme over the characters ----------------------------
#
# OSA and Damerau-Levenshtein have no engine function that means the same on both (DuckDB's
# damerau_levenshtein is the unrestricted distance, ClickHouse's damerauLevenshteinDistance the
# restricted one, OSA, and both count bytes): both are written as a fold over the rows of the
# distance table, each row a fold over its cells. The state is the table so far, a list of rows;
# row p is at (1-based) index p + 1 and its cell q at index q + 1. Cost: O(n * m * (n + m)).

TABLE, ROW, ROW_NO, COL_NO, SCAN = (f"_linqd_{n}" for n in ("table", "row", "i", "j", "k"))


def _element(ctx: Context, items: exp.Expression, index: exp.Expression) -> exp.Expression:
    """The element at a 1-based index (sqlglot's Bracket takes 0-based ones)."""
    return call("arrayElement" if on_clickhouse(ctx) else "list_extract", items, index)


def _append(ctx: Context, items: exp.Expression, value: exp.Expression) -> exp.Expression:
    return call("arrayPushBack" if on_clickhouse(ctx) else "list_append", items, value)


def _range(ctx: Context, start: int, stop: exp.Expression) -> exp.Expression:
    """start .. stop - 1. On ClickHouse as Int64s: its UInt64 ranges turn a difference into an
    Int64 and the cells of one row into values of no common type."""
    numbers = call("range", lit(start), stop)
    return ch_cast(numbers, "Array(Int64)") if on_clickhouse(ctx) else numbers


def _fold(
    ctx: Context,
    items: exp.Expression,
    state: str,
    item: str,
    body: exp.Expression,
    initial: exp.Expression,
) -> exp.Expression:
    """``initial`` folded with ``body`` (a function of the columns ``state`` and ``item``)."""
    step = exp.Lambda(this=body, expressions=[exp.to_identifier(state), exp.to_identifier(item)])
    if on_clickhouse(ctx):
        return call("arrayFold", step, items, initial)
    return call("list_reduce", items, step, initial)


def _last_index(ctx: Context, stop: exp.Expression, condition: exp.Expression) -> exp.Expression:
    """The last of 1 .. stop - 1 for which ``condition`` (on the column SCAN) holds; 0 if none."""
    test = exp.Lambda(this=condition, expressions=[exp.to_identifier(SCAN)])
    candidates = _range(ctx, 1, stop)
    if on_clickhouse(ctx):
        return call("toInt64", call("arrayLastIndex", test, candidates))
    found = call("list_max", call("list_filter", candidates, test))
    return exp.Coalesce(this=found, expressions=[lit(0)])


def _dp_distance(ctx: Context, args: Sequence[Arg], unrestricted: bool) -> exp.Expression:
    first, second = args[0].sql, args[1].sql
    i, j, k, table, row = (exp.column(name) for name in (ROW_NO, COL_NO, SCAN, TABLE, ROW))

    def char(text: exp.Expression, position: exp.Expression) -> exp.Expression:
        return text_call(ctx, "substring", text, position, lit(1))

    def size(text: exp.Expression) -> exp.Expression:
        # A null text is read as empty here (ranges take no null bound); the CASE below is null.
        return exp.Coalesce(this=text_call(ctx, "length", text), expressions=[lit(0)])

    def cell(p: exp.Expression, q: exp.Expression) -> exp.Expression:
        """d(p - 1, q - 1): the table's row p - 1, column q - 1."""
        return _element(ctx, _element(ctx, table, p), q)

    def add(left: exp.Expression, right: exp.Expression) -> exp.Expression:
        return exp.Add(this=left, expression=right)

    def sub(left: exp.Expression, right: exp.Expression) -> exp.Expression:
        return exp.Sub(this=left, expression=right)

    a_i, b_j = char(first, i), char(second, j)
    left = add(_element(ctx, row, j), lit(1))  # d(i, j - 1) + 1: the row so far ends there
    cost = case((exp.EQ(this=a_i, expression=b_j), lit(0)), default=lit(1))
    candidates = [
        add(cell(i, plus(j, 1)), lit(1)),  # d(i - 1, j) + 1
        left,
        add(cell(i, j), cost),  # d(i - 1, j - 1) + cost
    ]
    if unrestricted:
        # Lowrance-Wagner: k, the last earlier row whose character is b[j], and l, the last
        # earlier column of this row whose character is a[i]; a swap across them costs
        # d(k - 1, l - 1) + (i - k - 1) + 1 + (j - l - 1).
        last_row = _last_index(ctx, i, exp.EQ(this=char(first, k), expression=b_j))
        last_col = _last_index(ctx, j, exp.EQ(this=char(second, k), expression=a_i))
        both_found = all_of([exp.GT(this=last_row, expression=lit(0)),
                             exp.GT(this=last_col, expression=lit(0))])  # fmt: skip
        skipped = paren(add(add(last_row, last_col), lit(1)))
        swap = sub(add(add(cell(last_row, last_col), i), j), skipped)
    else:
        # Optimal string alignment: only a swap of the two characters just before, once.
        both_found = all_of([
            exp.GT(this=i, expression=lit(1)),
            exp.GT(this=j, expression=lit(1)),
            exp.EQ(this=a_i, expression=char(second, minus(j, 1))),
            exp.EQ(this=char(first, minus(i, 1)), expression=b_j),
        ])  # fmt: skip
        swap = add(cell(minus(i, 1), minus(j, 1)), lit(1))  # d(i - 2, j - 2) + 1
    # Without a swap, a candidate already there: it does not change the minimum.
    candidates.append(case((both_found, swap), default=left))
    cells = _fold(
        ctx,
        _range(ctx, 1, plus(size(second), 1)),
        ROW,
        COL_NO,
        _append(ctx, row, call("least", *candidates)),
        exp.Array(expressions=[i]),
    )
    rows = _fold(
        ctx,
        _range(ctx, 1, plus(size(first), 1)),
        TABLE,
        ROW_NO,
        _append(ctx, table, cells),
        exp.Array(expressions=[_range(ctx, 0, plus(size(second), 1))]),
    )
    distance = _element(ctx, _element(ctx, rows, plus(size(first), 1)), plus(size(second), 1))
    known = all_of([exp.Not(this=exp.Is(this=text, expression=exp.Null()))
                    for text in (first, second)])  # fmt: skip
    return cast(case((known, distance)), "INTEGER")


def _osa(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return _dp_distance(ctx, args, unrestricted=False)


def _damerau(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    table = _dp_distance(ctx, args, unrestricted=True)
    if on_clickhouse(ctx):
        return table
    # DuckDB's own function is the same distance in bytes, and far faster than the table (which
    # looks back along a row and a column for every cell): it is used when every character is one
    # byte. The CASE runs the table only for the rows that reach it.
    one_byte = all_of([
        exp.EQ(this=call("strlen", a.sql), expression=call("length", a.sql)) for a in args
    ])  # fmt: skip
    native = cast(call("damerau_levenshtein", args[0].sql, args[1].sql), "INTEGER")
    return case((one_byte, native), default=table)


def _text(names: tuple[str, ...], signature: str, doc: str, translate: Translator) -> FunctionDef:
    return FunctionDef(names, (sig(signature),), doc, "strings", both(translate))


TOKEN_SIGNATURE = (sig("str, str, bool?, bool? -> bool"),)

FUNCTIONS: tuple[FunctionDef, ...] = (
    _text(("lower",), "str -> str", "Lower case.", _lower),
    _text(("upper",), "str -> str", "Upper case.", text_fn("upper")),
    _text(("trim",), "str -> str", "Without leading and trailing spaces.", text_fn("trim")),
    _text(("ltrim",), "str -> str", "Without leading spaces.", text_fn("ltrim")),
    _text(("rtrim",), "str -> str", "Without trailing spaces.", text_fn("rtrim")),
    FunctionDef(("length",), (sig("str -> int4"), sig("coll -> int4"), sig("map -> int4")),
                "Number of characters of a string, of elements of an array or set, or of "
                "entries of a map.",
                "strings", both(_length)),
    _text(("substring",), "str, int, int? -> str",
          "The part starting at `start` (0-based), `length` characters long or to the end; "
          "null for a negative start or length.",
          _substring),
    FunctionDef(("split",), (sig("str, str -> array(str)"), sig("str, str, int -> str")),
                "The pieces of the text between separators; with `n`, only the n-th piece "
                "(0-based, null when there are fewer). On ClickHouse the separator must be a "
                "constant.", "strings",
                both(_splitter("split", "string_split", "splitByString"))),
    FunctionDef(("splitre",), (sig("str, re -> array(str)"), sig("str, re, int -> str")),
                "As `split`, with a regular expression as separator.", "strings",
                both(_splitter("splitre", "regexp_split_to_array", "splitByRegexp"))),
    FunctionDef(("peek",), (sig("str, re, int? -> str"), *PEEK_NETWORK),
                "The first match of the regular expression, or its capture group `n` (0 = the "
                "whole match); null when it does not match. `peek(ip, [net, ...])`: the first "
                "network of the array (net4 or net6 constants) that holds the ip4 or ip6, null "
                "when none does (across families an ip4 is its IPv4-mapped ip6).", "strings",
                both(_peek)),
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
          "Damerau-Levenshtein distance in characters: insertions, deletions, substitutions and "
          "transpositions of adjacent characters, with no limit on editing a part twice "
          '(`damerau("CA", "ABC")` is 2).', _damerau),
    _text(("osa",), "str, str -> int4",
          "Optimal string alignment distance in characters: as `damerau`, but no part is "
          'edited twice (`osa("CA", "ABC")` is 3).', _osa),
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
