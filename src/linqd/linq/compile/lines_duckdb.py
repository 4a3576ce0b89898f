"""DuckDB's spelling of response lines: its JSON functions encode plain SQL values, so most JSON
values are the column itself. This is the reference spelling (see ``lines_base``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from ..functions.base import call, cast, lit, try_cast
from .lines_base import LineDialect


def _case(condition: exp.Expression, then: exp.Expression) -> exp.Expression:
    return exp.Case().when(condition, then)


def _concat(*parts: exp.Expression) -> exp.Expression:
    result = parts[0]
    for part in parts[1:]:
        result = exp.DPipe(this=result, expression=part)
    return result


class DuckDBLines(LineDialect):
    engine = "duckdb"

    def epoch_ms(self, ref: exp.Expression) -> exp.Expression:
        return call("epoch_ms", ref)

    def drop_nulls(self, array: exp.Expression) -> exp.Expression:
        x = exp.to_identifier("x")
        kept = exp.Lambda(
            this=exp.Not(this=exp.Is(this=exp.column(x), expression=exp.Null())), expressions=[x]
        )
        return call("list_filter", array, kept)

    # -- JSON values: DuckDB's json_object/json_array/to_json encode SQL values themselves ------

    def json_number(self, ref: exp.Expression) -> exp.Expression:
        return ref

    def json_float(self, ref: exp.Expression) -> exp.Expression:
        return _case(call("isfinite", ref), ref)

    def json_bool(self, ref: exp.Expression) -> exp.Expression:
        return ref

    def json_string(self, ref: exp.Expression, *, plain: bool = False) -> exp.Expression:
        return ref

    def json_embedded(self, ref: exp.Expression) -> exp.Expression:
        return call("coalesce", try_cast(ref, "JSON"), call("to_json", ref))

    def tuple_item(self, ref: exp.Expression, position: int) -> exp.Expression:
        return call("struct_extract", ref, lit(position))

    def json_list(self, ref: exp.Expression, param: str, element: exp.Expression) -> exp.Expression:
        # Lists whose elements need no conversion stay as they are: no per-element work.
        if isinstance(element, exp.Column) and element.name == param and not element.table:
            return ref
        lam = exp.Lambda(this=element, expressions=[exp.to_identifier(param)])
        return call("list_transform", ref, lam)

    def json_map(
        self,
        ref: exp.Expression,
        params: tuple[str, str],
        key: exp.Expression,
        value: exp.Expression,
    ) -> exp.Expression:
        # to_json writes a MAP(VARCHAR, ...) as an object: the keys made text, the values
        # converted as list elements are.
        k, v = params
        keys = self.json_list(call("map_keys", ref), k, key)
        values = self.json_list(call("map_values", ref), v, value)
        return _case(
            exp.Not(this=exp.Is(this=ref, expression=exp.Null())), call("map", keys, values)
        )

    def json_other(self, ref: exp.Expression) -> exp.Expression:
        return ref

    def json_object(self, pairs: Sequence[tuple[str, exp.Expression]]) -> exp.Expression:
        return call("json_object", *(part for name, value in pairs for part in (lit(name), value)))

    def json_array(self, values: Sequence[exp.Expression]) -> exp.Expression:
        return call("json_array", *values)

    def json_text(self, value: exp.Expression) -> exp.Expression:
        return cast(call("to_json", value), "VARCHAR")

    # -- text -------------------------------------------------------------------------------------

    def ip_number(self, ref: exp.Expression) -> exp.Expression:
        return ref

    def dotted(self, ref: exp.Expression) -> exp.Expression:
        def octet(divisor: int) -> exp.Expression:
            value = exp.IntDiv(this=ref, expression=lit(divisor)) if divisor > 1 else ref
            return cast(exp.Mod(this=exp.Paren(this=value), expression=lit(256)), "VARCHAR")

        # One concat() is faster than a chain of `||`, but it reads NULL as "", hence the CASE.
        dot = lit(".")
        text = call("concat", octet(16_777_216), dot, octet(65_536), dot, octet(256), dot, octet(1))
        return _case(exp.Not(this=exp.Is(this=ref, expression=exp.Null())), text)

    def float_text(self, ref: exp.Expression) -> exp.Expression:
        # DuckDB's DOUBLE → VARCHAR is Python's repr (shortest round trip, same exponents).
        return _case(call("isfinite", ref), cast(ref, "VARCHAR"))

    def bool_text(self, ref: exp.Expression) -> exp.Expression:
        return cast(ref, "VARCHAR")

    def to_text(self, ref: exp.Expression) -> exp.Expression:
        return cast(ref, "VARCHAR")

    def timestamp_text(
        self, ref: exp.Expression, zone: int | str, *, iso: bool, suffix: str
    ) -> exp.Expression:
        local: exp.Expression
        if isinstance(zone, int):
            local = exp.Add(this=ref, expression=call("to_seconds", lit(zone))) if zone else ref
        else:
            # timezone(z, TIMESTAMPTZ) gives the wall clock in z whatever the session's TimeZone.
            local = call("timezone", lit(zone), call("timezone", lit("UTC"), ref))
        if not iso:
            return call("strftime", local, lit("%Y-%m-%d %H:%M:%S.%g"))
        text = call("strftime", local, lit("%Y-%m-%dT%H:%M:%S.%g"))
        if isinstance(zone, int):
            return _concat(text, lit(suffix))
        # The offset of an IANA zone varies by row: wall clock minus UTC, printed as a clock time.
        offset = exp.Sub(this=call("epoch_ms", local), expression=call("epoch_ms", ref))
        sign = exp.Case().when(exp.LT(this=offset, expression=lit(0)), lit("-")).else_(lit("+"))
        clock = call("strftime", call("epoch_ms", call("abs", offset)), lit("%H:%M"))
        return _concat(text, sign, clock)

    def base64(self, ref: exp.Expression) -> exp.Expression:
        return call("to_base64", ref)

    def matches(self, text: exp.Expression, pattern: str) -> exp.Expression:
        return call("regexp_matches", text, lit(pattern))

    def finish(self, text: exp.Expression) -> exp.Expression:
        return cast(text, "VARCHAR")
