"""What a catalogue entry is: names, signatures, return type, doc and per-engine translations.

Signatures are written as small strings so the catalogue reads as data::

    sig("str, str -> bool")          fixed parameters
    sig("str, int, int? -> str")     trailing optional parameter
    sig("any, any... -> bool")       the last parameter repeats
    sig("num -> $0")                 the result has the type of argument 0
    sig("num, num -> $num")          the common numeric type of the numeric arguments

Parameter patterns: a type name (``str``, ``int8``, ``timestamp`` ...), ``int`` (any integer),
``num`` (any number), ``any``, ``coll`` (array or set). Integers widen to wider integers and to
float8; a string literal is accepted where a ``timestamp``, ``ip4``, ``net4``, ``ip6``, ``net6``,
``mac`` or ``re`` is expected (the analyzer converts it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlglot import exp

from .. import types as t
from ..types import Kind, LType

NOT_CONSTANT = object()


@dataclass(frozen=True)
class Arg:
    """One compiled argument handed to a translator."""

    sql: exp.Expression
    type: LType
    const: object = NOT_CONSTANT

    @property
    def is_const(self) -> bool:
        return self.const is not NOT_CONSTANT


class Context(Protocol):
    """What a translator may ask of the compiler."""

    engine: str
    now_ms: int

    def error(self, message: str) -> Exception: ...

    def time_column(self) -> exp.Expression | None:
        """The event time of the rows being aggregated (None when regrouping grouped rows)."""

    def source_alias(self) -> str | None:
        """The alias of the table or subquery the expression's columns come from."""


Translator = Callable[[Context, Sequence[Arg], LType], exp.Expression]


@dataclass(frozen=True)
class Signature:
    params: tuple[str, ...]
    returns: str
    optional: int = 0
    variadic: bool = False

    def arity_ok(self, count: int) -> bool:
        required = len(self.params) - self.optional
        if self.variadic:
            return count >= required
        return required <= count <= len(self.params)

    def param(self, index: int) -> str:
        return self.params[min(index, len(self.params) - 1)]

    def text(self) -> str:
        params = []
        for i, p in enumerate(self.params):
            mark = "?" if i >= len(self.params) - self.optional else ""
            more = "..." if self.variadic and i == len(self.params) - 1 else ""
            params.append(f"{p}{mark}{more}")
        return f"({', '.join(params)}) -> {self.returns}"


def sig(text: str) -> Signature:
    params_text, _, returns = text.partition("->")
    params: list[str] = []
    optional = 0
    variadic = False
    for raw in (p.strip() for p in params_text.split(",")):
        if not raw:
            continue
        if raw.endswith("..."):
            variadic = True
            raw = raw[:-3]
        if raw.endswith("?"):
            optional += 1
            raw = raw[:-1]
        params.append(raw)
    return Signature(tuple(params), returns.strip(), optional, variadic)


@dataclass(frozen=True)
class FunctionDef:
    names: tuple[str, ...]
    signatures: tuple[Signature, ...]
    doc: str
    category: str
    translate: Mapping[str, Translator] = field(default_factory=dict)
    aggregate: bool = False
    infix: str | None = None
    # Result depends on the query's start time (now/today) rather than on its arguments only.
    clock: bool = False

    @property
    def name(self) -> str:
        return self.names[0]


COERCIBLE_FROM_STRING = (
    Kind.TIMESTAMP,
    Kind.IP4,
    Kind.NET4,
    Kind.IP6,
    Kind.NET6,
    Kind.MAC,
    Kind.REGEX,
    Kind.DURATION,
)


def accepts(pattern: str, actual: LType, literal: bool) -> bool:
    """Can an argument of type ``actual`` fill a parameter written ``pattern``?"""
    kind = actual.kind
    if kind in (Kind.NULL, Kind.ANY) or pattern == "any":
        return True
    if pattern == "num":
        return actual.is_numeric
    if pattern == "int":
        return actual.is_integer
    if pattern == "coll":
        return actual.is_collection
    expected = t.parse_type(pattern)
    if expected == actual or (expected.kind == kind and expected.element is None):
        return True
    if expected == t.INT8 and kind is Kind.INT4:
        return True
    if expected == t.FLOAT8 and actual.is_integer:
        return True
    if expected.kind is Kind.JSON and kind is Kind.STR:
        return True
    return literal and kind is Kind.STR and expected.kind in COERCIBLE_FROM_STRING


def result_type(signature: Signature, args: Sequence[LType]) -> LType:
    return _spec_type(signature.returns, args)


def _spec_type(spec: str, args: Sequence[LType]) -> LType:
    """The type a result spec names: ``$num``, ``$0``, ``elem($0)`` (the element or map value
    type), ``key($0)`` (a map's key type), ``bag(...)`` (a map of it to int8),
    ``array(...)``/``set(...)`` of one of those, or ``$append`` (``add`` on an array: the
    two sides' element types, mixed ones as str)."""
    if spec == "$num":
        numeric = [a for a in args if a.is_numeric]
        result = numeric[0] if numeric else t.INT8
        for other in numeric[1:]:
            result = t.common_numeric(result, other)
        return result
    if spec == "$append":
        return t.array_of(appended(args[0], args[1]))
    for wrapper, build in (("array(", t.array_of), ("set(", t.set_of)):
        if spec.startswith(wrapper) and "$" in spec:
            return build(_spec_type(spec[len(wrapper) : -1], args))
    if spec.startswith("bag("):
        return t.map_of(_spec_type(spec[4:-1], args), t.INT8)
    if spec.startswith("elem("):
        return _spec_type(spec[5:-1], args).element or t.ANY
    if spec.startswith("key("):
        return _spec_type(spec[4:-1], args).key or t.ANY
    if spec.startswith("$"):
        return _arg_type(spec, args)
    return t.parse_type(spec)


def appended(items: LType, added: LType) -> LType:
    """The element type of ``items + added`` (an element, or an array or set whose elements are
    added): one type when they agree or are numbers, str when they mix (as Devo's
    ``[1, 2] + "a"`` is ``["1", "2", "a"]``)."""
    first = items.element or t.ANY
    second = (added.element or t.ANY) if added.is_collection else added
    if first.kind in (Kind.ANY, Kind.NULL):
        return second if second.kind is not Kind.NULL else t.ANY
    if second.kind in (Kind.ANY, Kind.NULL) or first == second:
        return first
    if first.is_numeric and second.is_numeric:
        return t.common_numeric(first, second)
    return t.STR


def _arg_type(ref: str, args: Sequence[LType]) -> LType:
    index = int(ref[1:])
    return args[index] if index < len(args) else t.ANY


def resolve(
    fn: FunctionDef, args: Sequence[LType], literals: Sequence[bool]
) -> tuple[Signature, LType] | None:
    """The first signature that takes these arguments, and the result type; None if none does."""
    for signature in fn.signatures:
        if not signature.arity_ok(len(args)):
            continue
        if all(accepts(signature.param(i), arg, literals[i]) for i, arg in enumerate(args)):
            return signature, result_type(signature, args)
    return None


# -- translation helpers shared by the catalogue modules -------------------------------------------


def call(name: str, *args: exp.Expression) -> exp.Expression:
    """An engine function call by name (sqlglot keeps unknown names as anonymous calls)."""
    return exp.Anonymous(this=name, expressions=list(args))


def both(translate: Translator) -> dict[str, Translator]:
    """One translator for DuckDB and ClickHouse: it builds only nodes that mean the same on each,
    or asks the helpers that differ by engine (``helpers.py``)."""
    return {"duckdb": translate, "clickhouse": translate}


def same(name: str) -> Translator:
    """Translate to the engine function ``name`` with the arguments unchanged."""

    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        return call(name, *(a.sql for a in args))

    return translate


def lit(value: object) -> exp.Expression:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float)):
        if value < 0:
            return exp.Neg(this=exp.Literal.number(-value))
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def cast(expression: exp.Expression, to: str) -> exp.Expression:
    return exp.Cast(this=expression, to=exp.DataType.build(to, dialect="duckdb"))


def try_cast(expression: exp.Expression, to: str) -> exp.Expression:
    return exp.TryCast(this=expression, to=exp.DataType.build(to, dialect="duckdb"))


def paren(expression: exp.Expression) -> exp.Expression:
    return exp.Paren(this=expression)
