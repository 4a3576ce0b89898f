"""ClickHouse's spelling of response lines, byte for byte DuckDB's (``lines_duckdb``).

ClickHouse's own JSON output differs from DuckDB's in small ways clients would see, so lines
are assembled as text here and every JSON value is its JSON text (NULL for null; containers
write ``null``):

- strings: ``toJSONString`` escapes as DuckDB does (``\\u000F``, ``\\b``...) but also ``/`` (as
  ``\\/``) and U+2028/U+2029; DuckDB leaves those as they are. Strings with nothing to escape
  (most) are only quoted; the others are escaped and the three undone (see ``_escaped``).
- floats: ``toString`` writes the shortest round-trip digits with the thresholds of DuckDB's
  JSON writer (decimal from 1e-6 up to 1e21, else ``1e-7``, ``1.5e300``) but drops ``.0``
  (``100`` for DuckDB's ``100.0``); csv/tsv cells are Python's ``repr``, rebuilt from the same
  digits (``_repr``).
- bools may be UInt8 in ClickHouse (comparisons): written through ``toBool``.
- timestamps are ``DateTime64(3)`` (``store/clickhouse_ddl``); ``%f`` prints 6 digits, cut to 3.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from sqlglot import exp

from ..functions.base import call, lit
from .lines_base import LineDialect

# toJSONString never writes a raw control character: one stands in for an escaped backslash
# while the escapes DuckDB does not write are undone.
_SENTINEL = "\x01"
# What JSON strings must escape: quote, backslash, control characters.
_NEEDS_ESCAPE = '[\\x00-\\x1f"\\\\]'
_HEX_ESCAPE = re.compile(r"\\u([0-9a-f]{4})")
# JSON text as tokens: strings, words (numbers, literals, nan), any other character alone.
_TOKEN = r'"(?:[^"\\]|\\.)*"|[-+.0-9A-Za-z]+|[^ \t\n\r]'
_INTEGER = r"^-?(0|[1-9][0-9]*)$"
_NUMBER = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
# What DuckDB's reader (yyjson) also takes as a number, and writes back as it came.
_NAN_OR_INF = r"^-?(?i:nan|inf|infinity)$"
# JSON that DuckDB writes back byte for byte: no whitespace, escape, float, -0 or trailing comma,
# and no byte order mark (ClickHouse's reader skips one at the start, DuckDB's does not).
_REWRITTEN = "[\\s\\\\\ufeff]|[0-9][.eE]|-0|,[\\]}]"


def _if(condition: exp.Expression, then: exp.Expression, other: exp.Expression) -> exp.Expression:
    return call("if", condition, then, other)


def _null_as(value: exp.Expression, text: str) -> exp.Expression:
    return call("ifNull", value, lit(text))


def _replace(text: exp.Expression, old: str, new: str) -> exp.Expression:
    return call("replaceAll", text, lit(old), lit(new))


def _contains(text: exp.Expression, needle: str) -> exp.Expression:
    return exp.GT(this=call("position", text, lit(needle)), expression=lit(0))


def _json_key(name: str) -> str:
    """A key as DuckDB writes it: escapes as ``json.dumps`` without ASCII escaping, upper hex."""
    text = json.dumps(name, ensure_ascii=False)
    return _HEX_ESCAPE.sub(lambda m: "\\u" + m.group(1).upper(), text)


def _escaped(ref: exp.Expression) -> exp.Expression:
    """``toJSONString`` of a string with ``\\/``, ``\\u2028`` and ``\\u2029`` written as DuckDB
    writes them (raw). An escaped backslash is set aside first, so that ``\\\\u2028`` (a
    backslash, then the text u2028) stays as it is."""
    text = _replace(call("toJSONString", ref), "\\\\", _SENTINEL)
    for old, new in (("\\/", "/"), ("\\u2028", "\u2028"), ("\\u2029", "\u2029")):
        text = _replace(text, old, new)
    return _replace(text, _SENTINEL, "\\\\")


def _shortest(ref: exp.Expression) -> exp.Expression:
    return call("toString", ref)


def _repr(ref: exp.Expression) -> exp.Expression:
    """A finite float8 as Python's ``repr``: decimal from 1e-4 up to 1e16 (``.0`` on integral
    values), else ``d.ddde±XX``. ClickHouse writes the same shortest digits, decimal from 1e-6
    up to 1e21: the digits and exponent are read back from its text where the forms differ."""
    text = _shortest(ref)
    size = call("abs", ref)
    sign = _if(exp.LT(this=ref, expression=lit(0)), lit("-"), lit(""))
    digits = call("replaceRegexpOne", text, lit("^-"), lit(""))

    def scientific(mantissa: exp.Expression, exponent: exp.Expression) -> exp.Expression:
        # mantissa: the significant digits, without leading or trailing zeros.
        rest = call("substring", mantissa, lit(2))
        dotted = _if(
            exp.EQ(this=rest, expression=lit("")),
            call("substring", mantissa, lit(1), lit(1)),
            call("concat", call("substring", mantissa, lit(1), lit(1)), lit("."), rest),
        )
        return call("concat", sign, dotted, lit("e"), exponent)

    # 1e16 <= |x| < 1e21: an integer of 17 to 21 digits.
    whole = call("replaceRegexpOne", digits, lit("0+$"), lit(""))
    large = scientific(
        whole,
        call(
            "concat",
            lit("+"),
            call("toString", exp.Sub(this=call("length", digits), expression=lit(1))),
        ),
    )
    # 1e-6 <= |x| < 1e-4: 0.0000ddd.
    fraction = call("substring", digits, lit(3))
    significant = call("replaceRegexpOne", fraction, lit("^0+"), lit(""))
    zeros = exp.Sub(this=call("length", fraction), expression=call("length", significant))
    small = scientific(
        significant,
        call("concat", lit("-0"), call("toString", exp.Add(this=zeros, expression=lit(1)))),
    )
    # ClickHouse's own exponent form: 1e-7 → 1e-07, 1e308 → 1e+308.
    signed = call("replaceRegexpOne", text, lit("e([0-9])"), lit("e+\\1"))
    padded = call("replaceRegexpOne", signed, lit("e([+-])([0-9])$"), lit("e\\10\\2"))
    decimal = _if(_contains(text, "."), text, call("concat", text, lit(".0")))
    return call(
        "multiIf",
        _contains(text, "e"),
        padded,
        exp.GTE(this=size, expression=lit(1e16)),
        large,
        exp.And(
            this=exp.LT(this=size, expression=lit(1e-4)),
            expression=exp.NEQ(this=size, expression=lit(0)),
        ),
        small,
        decimal,
    )


class ClickHouseLines(LineDialect):
    engine = "clickhouse"

    def epoch_ms(self, ref: exp.Expression) -> exp.Expression:
        return call("toUnixTimestamp64Milli", ref)

    def drop_nulls(self, array: exp.Expression) -> exp.Expression:
        x = exp.to_identifier("x")
        kept = exp.Lambda(
            this=exp.Not(this=exp.Is(this=exp.column(x), expression=exp.Null())), expressions=[x]
        )
        return call("arrayFilter", kept, array)

    # -- JSON values: their JSON text, NULL for null -----------------------------------------------

    def json_number(self, ref: exp.Expression) -> exp.Expression:
        return call("toString", ref)

    def json_float(self, ref: exp.Expression) -> exp.Expression:
        text = _shortest(ref)
        # DuckDB writes integral floats with ".0" (100.0, -0.0); ClickHouse does not.
        bare = exp.And(
            this=exp.EQ(this=call("position", text, lit(".")), expression=lit(0)),
            expression=exp.EQ(this=call("position", text, lit("e")), expression=lit(0)),
        )
        written = _if(bare, call("concat", text, lit(".0")), text)
        return _if(call("isFinite", ref), written, exp.Null())

    def json_bool(self, ref: exp.Expression) -> exp.Expression:
        return call("toString", call("toBool", ref))

    def json_string(self, ref: exp.Expression, *, plain: bool = False) -> exp.Expression:
        quoted = call("concat", lit('"'), ref, lit('"'))
        if plain:
            return quoted
        return _if(call("match", ref, lit(_NEEDS_ESCAPE)), _escaped(ref), quoted)

    def json_embedded(self, ref: exp.Expression) -> exp.Expression:
        # DuckDB reads the text (yyjson: trailing commas, NaN and Infinity allowed) and writes
        # it back compact: strings re-escaped, floats in its own spelling, -0 as 0, numbers too
        # big for a double or 64 bits as they came.
        canonical = exp.And(
            this=call("isValidJSON", ref),
            expression=exp.Not(this=call("match", ref, lit(_REWRITTEN))),
        )
        tokens = call("extractAll", ref, lit(_TOKEN))
        tok, after, before = (exp.column(n) for n in ("tok", "after", "before"))
        trailing = exp.And(
            this=exp.And(
                this=exp.EQ(this=tok, expression=lit(",")),
                expression=exp.In(this=after, expressions=[lit("]"), lit("}")]),
            ),
            expression=exp.Not(
                this=exp.In(this=before, expressions=[lit("["), lit("{"), lit(","), lit("")])
            ),
        )
        kept = call(
            "arrayFilter",
            exp.Lambda(
                this=exp.Not(this=exp.Paren(this=trailing)),
                expressions=[exp.to_identifier(n) for n in ("tok", "after", "before")],
            ),
            tokens,
            call("arrayShiftLeft", tokens, lit(1), lit("")),
            call("arrayShiftRight", tokens, lit(1), lit("")),
        )
        number = exp.Or(
            this=call("match", tok, lit(_NUMBER)), expression=call("match", tok, lit(_NAN_OR_INF))
        )
        checked = call(
            "arrayStringConcat",
            call(
                "arrayMap",
                exp.Lambda(this=_if(number, lit("0"), tok), expressions=[exp.to_identifier("tok")]),
                kept,
            ),
            lit(" "),
        )
        # Led by a space: a byte order mark is then no longer where ClickHouse's reader skips it.
        checked = call("concat", lit(" "), checked)
        value = call("toFloat64OrNull", tok)
        written = call(
            "multiIf",
            call("startsWith", tok, lit('"')),
            _if(_contains(tok, "\\"), self.json_string(call("JSONExtractString", tok)), tok),
            call("match", tok, lit(_INTEGER)),
            _if(exp.EQ(this=tok, expression=lit("-0")), lit("0"), tok),
            exp.And(this=call("match", tok, lit(_NUMBER)), expression=call("isFinite", value)),
            self.json_float(value),
            tok,
        )
        compact = call(
            "arrayStringConcat",
            call(
                "arrayMap", exp.Lambda(this=written, expressions=[exp.to_identifier("tok")]), kept
            ),
            lit(""),
        )
        return call(
            "multiIf",
            canonical,
            ref,
            call("isValidJSON", checked),
            compact,
            self.json_string(ref),
        )

    def tuple_item(self, ref: exp.Expression, position: int) -> exp.Expression:
        return call("tupleElement", ref, lit(position))

    def json_list(self, ref: exp.Expression, param: str, element: exp.Expression) -> exp.Expression:
        lam = exp.Lambda(this=_null_as(element, "null"), expressions=[exp.to_identifier(param)])
        items = call("arrayStringConcat", call("arrayMap", lam, ref), lit(","))
        return call("concat", lit("["), items, lit("]"))

    def json_map(
        self,
        ref: exp.Expression,
        params: tuple[str, str],
        key: exp.Expression,
        value: exp.Expression,
    ) -> exp.Expression:
        k, v = params
        entry = call("concat", self.json_string(key), lit(":"), _null_as(value, "null"))
        lam = exp.Lambda(this=entry, expressions=[exp.to_identifier(k), exp.to_identifier(v)])
        entries = call("arrayMap", lam, call("mapKeys", ref), call("mapValues", ref))
        return call("concat", lit("{"), call("arrayStringConcat", entries, lit(",")), lit("}"))

    def json_other(self, ref: exp.Expression) -> exp.Expression:
        return _escaped(ref)

    def json_object(self, pairs: Sequence[tuple[str, exp.Expression]]) -> exp.Expression:
        parts: list[exp.Expression] = []
        for index, (name, value) in enumerate(pairs):
            parts += [
                lit(("{" if index == 0 else ",") + _json_key(name) + ":"),
                _null_as(value, "null"),
            ]
        if not parts:
            return lit("{}")
        return call("concat", *parts, lit("}"))

    def json_array(self, values: Sequence[exp.Expression]) -> exp.Expression:
        parts: list[exp.Expression] = []
        for index, value in enumerate(values):
            if index:
                parts.append(lit(","))
            parts.append(_null_as(value, "null"))
        return call("concat", lit("["), *parts, lit("]"))

    def json_text(self, value: exp.Expression) -> exp.Expression:
        return value

    # -- text -------------------------------------------------------------------------------------

    def ip_number(self, ref: exp.Expression) -> exp.Expression:
        return call("toUInt32", ref)

    def dotted(self, ref: exp.Expression) -> exp.Expression:
        return call("IPv4NumToString", call("toUInt32", ref))

    def float_text(self, ref: exp.Expression) -> exp.Expression:
        return _if(call("isFinite", ref), _repr(ref), exp.Null())

    def bool_text(self, ref: exp.Expression) -> exp.Expression:
        return call("toString", call("toBool", ref))

    def to_text(self, ref: exp.Expression) -> exp.Expression:
        return call("toString", ref)

    def timestamp_text(
        self, ref: exp.Expression, zone: int | str, *, iso: bool, suffix: str
    ) -> exp.Expression:
        pattern = "%Y-%m-%dT%H:%i:%S.%f" if iso else "%Y-%m-%d %H:%i:%S.%f"
        if isinstance(zone, int):
            local = call("addSeconds", ref, lit(zone)) if zone else ref
            formatted = call("formatDateTime", local, lit(pattern), lit("UTC"))
        else:
            formatted = call("formatDateTime", ref, lit(pattern), lit(zone))
        # %f prints microseconds; the format wants milliseconds.
        text = call("substring", formatted, lit(1), lit(23))
        if not iso:
            return text
        if isinstance(zone, int):
            return call("concat", text, lit(suffix))
        offset = call("timeZoneOffset", call("toTimeZone", ref, lit(zone)))
        sign = _if(exp.LT(this=offset, expression=lit(0)), lit("-"), lit("+"))
        clock = call(
            "formatDateTime", call("toDateTime", call("abs", offset), lit("UTC")), lit("%H:%i")
        )
        return call("concat", text, sign, clock)

    def base64(self, ref: exp.Expression) -> exp.Expression:
        # The column is the one-field tuple bytes results leave ClickHouse's queries as.
        return call("base64Encode", call("tupleElement", ref, lit(1)))

    def matches(self, text: exp.Expression, pattern: str) -> exp.Expression:
        return call("match", text, lit(pattern))

    def finish(self, text: exp.Expression) -> exp.Expression:
        return text
