"""Domain names split by the Public Suffix List: ``publicsuffix``, ``rootdomain``, ``subdomain``
and ``topleveldomain``.

The list is reference data (``linqd.public_suffixes``): a table of suffix → rule that the SQL
joins hosts with, on both engines, with no Python per row. A host's public suffix is found as
``publicsuffixlist`` finds it: among the host's last 1 to ``MAX_LABELS`` labels, the longest
suffix in the table decides, by its rule (an exception rule drops a label, a wildcard adds the
host's next one); a host none of whose suffixes is listed has its last label as public suffix
(the list's implicit ``*`` rule).

What the functions read as a host (Devo's documentation says nothing of it): the text in lower
case, one trailing dot ignored; labels of ASCII letters, digits, ``-`` and ``_`` or of any
non-ASCII character, separated by single dots, the last not all digits. Anything else (an IPv4
or IPv6 address, a URL, ``host:port``, an empty label, an empty text) gives null from all four.

DuckDB: one correlated subquery per call, which DuckDB runs once per distinct host (it
decorrelates it into a join over the distinct values), joining the host's candidate suffixes
with the table. ClickHouse, which does not decorrelate subqueries: ``IN`` sets of the table's
suffixes (each built once per query) that each candidate suffix, cut from the host by
``substringIndex``, is looked up in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlglot import exp

from ...public_suffixes import MAX_LABELS, NAME, Rule
from ...reference import reference_table
from ..types import LType
from .base import Arg, Context, FunctionDef, Translator, both, call, cast, lit, paren, sig
from .helpers import case, lower, on_clickhouse, regex_full_match

# One character of a label: an ASCII lower-case letter, digit, `-` or `_`, or any non-ASCII
# character (internationalized names, which the list holds in Unicode as well as in punycode);
# written as the ASCII characters it is not, so it reads the same byte by byte (ClickHouse) as
# character by character (DuckDB). And one that makes a label not all digits: no top-level
# domain is, and that is how an IPv4 address is told from a host.
_CHAR = r"[^\x00-\x2c\x2e\x2f\x3a-\x5e\x60\x7b-\x7f]"
_LETTER = r"[^\x00-\x2c\x2e-\x5e\x60\x7b-\x7f]"
# A host name in lower case: labels of one or more characters, one trailing dot allowed. A
# match, not an extraction: a regular expression with groups to extract costs ClickHouse
# several times as much.
HOST = rf"^(?:{_CHAR}+\.)*{_CHAR}*{_LETTER}{_CHAR}*\.?$"

# Every alias of the subqueries starts so, and every column in them is qualified: nothing they
# name can hide a column of the events that the argument reads.
_ALIAS = "_linqd_psl_"


def _name(part: str) -> str:
    return _ALIAS + part


def _col(part: str, table: str) -> exp.Column:
    return exp.column(_name(part), table=_name(table), quoted=True)


def _host(ctx: Context, arg: Arg) -> exp.Expression:
    """The argument as a host: lower case, without its trailing dot; null when it is none."""
    lowered = lower(ctx, arg.sql)
    trim = "trimRight" if on_clickhouse(ctx) else "rtrim"
    return case((regex_full_match(ctx, lowered, HOST), call(trim, lowered.copy(), lit("."))))


def _code(labels: exp.Expression, rule: exp.Expression) -> exp.Expression:
    """A found suffix as one number that orders by length first: labels * 4 + rule."""
    return exp.Add(this=exp.Mul(this=labels, expression=lit(4)), expression=rule)


@dataclass(frozen=True)
class Host:
    """A host as the answers read it: its labels counted, ``last(k)`` and ``first(k)`` cutting
    its last or first ``k`` labels (each null when the host is), and the number of labels of
    its public suffix."""

    labels: exp.Expression
    last: Callable[[exp.Expression], exp.Expression]
    first: Callable[[exp.Expression], exp.Expression]
    public: exp.Expression


# -- ClickHouse ------------------------------------------------------------------------------------


def _ch_suffixes(rule: Rule | None = None) -> exp.Expression:
    """The table's suffixes (of one rule) as an ``IN`` subquery: a set built once per query."""
    table = _name("r")
    query = exp.select(exp.column("suffix", table=table, quoted=True)).from_(
        reference_table(NAME).as_(table, quoted=True)
    )
    if rule is not None:
        query = query.where(
            exp.EQ(this=exp.column("rule", table=table, quoted=True), expression=lit(int(rule)))
        )
    return exp.Subquery(this=query)


def _bind(
    names: Sequence[str], values: Sequence[exp.Expression], body: exp.Expression
) -> exp.Expression:
    """``body`` with each of ``names`` standing for its value, computed once: a lambda applied
    to one-element arrays (ClickHouse has no ``LET``; the SQL would otherwise repeat each value
    wherever it is used, and the values hold the argument and its lookups)."""
    params = [exp.to_identifier(_name(name)) for name in names]
    mapped = call(
        "arrayMap",
        exp.Lambda(this=body, expressions=params),
        *(exp.Array(expressions=[v]) for v in values),
    )
    return call("arrayElement", mapped, lit(1))


def _ch_answer(ctx: Context, arg: Arg, answer: Callable[[Host], exp.Expression]) -> exp.Expression:
    """``answer`` of the host, each value bound once: the host (``_h``); its text, not
    Nullable (``_t``: lookups on a Nullable host took twice as long), and its number of labels
    (``_n``); the labels of its longest suffix in the table (``_b``, 0 for none); whether that
    suffix has a wildcard (``_w``) or an exception rule (``_e``); the labels of the public
    suffix (``_p``). The lookups are ``IN`` sets (a hash lookup each: ``transform`` over the
    table's arrays took twice as long), made only for the labels the host has (``AND``
    evaluates its right side only where its left one holds)."""
    host, text, labels, best, wildcard, exception, public = (
        exp.column(_name(name)) for name in ("h", "t", "n", "b", "w", "e", "p")
    )

    def cut(value: exp.Expression, count: exp.Expression) -> exp.Expression:
        return call("substringIndex", value.copy(), lit("."), count)

    found = [
        exp.Mul(
            this=paren(
                exp.And(
                    this=exp.GTE(this=labels.copy(), expression=lit(count)),
                    expression=exp.In(this=cut(text, lit(-count)), query=_ch_suffixes()),
                )
            ),
            expression=lit(count),
        )
        for count in range(1, MAX_LABELS + 1)
    ]
    rules = [
        exp.In(this=cut(text, exp.Neg(this=paren(best.copy()))), query=_ch_suffixes(rule))
        for rule in (Rule.WILDCARD, Rule.EXCEPTION)
    ]
    # As publicsuffixlist counts: the longest suffix found, one label more for a wildcard when
    # the host has one, one less for an exception; the last label when none was found (no
    # exception rule has a single label, so 1 is also the floor).
    counted = exp.Sub(
        this=exp.Add(
            this=best.copy(),
            expression=paren(
                exp.And(
                    this=wildcard, expression=exp.GT(this=labels.copy(), expression=best.copy())
                )
            ),
        ),
        expression=exception,
    )
    view = Host(
        labels.copy(),
        lambda count: cut(host, exp.Neg(this=paren(count))),
        lambda count: cut(host, count),
        public,
    )
    body = _bind(["p"], [call("greatest", lit(1), counted)], answer(view))
    body = _bind(["w", "e"], rules, body)
    body = _bind(["b"], [call("greatest", *found)], body)
    nonnull = call("ifNull", host.copy(), lit(""))
    length = exp.Add(this=call("countSubstrings", nonnull.copy(), lit(".")), expression=lit(1))
    body = _bind(["t", "n"], [nonnull, length], body)
    # materialize: a constant host would be folded while the query is planned, before the IN
    # sets are built, which ClickHouse refuses ("Not-ready Set").
    return _bind(["h"], [call("materialize", _host(ctx, arg))], body)


# -- DuckDB ----------------------------------------------------------------------------------------


def _derived(
    columns: Sequence[tuple[str, exp.Expression]], source: exp.Select, alias: str
) -> exp.Select:
    """``SELECT value AS name, ... FROM (source) AS alias``."""
    named = [exp.alias_(value, _name(name), quoted=True) for name, value in columns]
    table = exp.TableAlias(this=exp.to_identifier(_name(alias), quoted=True))
    return exp.select(*named).from_(exp.Subquery(this=source, alias=table))


def _duckdb_slice(
    labels: exp.Expression, start: exp.Expression, stop: exp.Expression
) -> exp.Expression:
    return call("array_to_string", call("list_slice", labels, start, stop), lit("."))


def _duckdb_found(labels: exp.Expression) -> exp.Expression:
    """The code of the longest of the host's last 1 to MAX_LABELS labels in the table."""
    candidates = [
        _duckdb_slice(labels.copy(), lit(-count), lit(-1)) for count in range(1, MAX_LABELS + 1)
    ]
    keys = exp.select(
        exp.alias_(
            exp.Unnest(expressions=[exp.Array(expressions=candidates)]), _name("k"), quoted=True
        )
    )
    table = _name("r")
    code = _code(
        cast(exp.column("labels", table=table, quoted=True), "INTEGER"),
        exp.column("rule", table=table, quoted=True),
    )
    on = exp.EQ(this=exp.column("suffix", table=table, quoted=True), expression=_col("k", "k"))
    alias = exp.TableAlias(this=exp.to_identifier(_name("k"), quoted=True))
    found = (
        exp.select(call("max", code))
        .from_(reference_table(NAME).as_(table, quoted=True))
        .join(exp.Subquery(this=keys, alias=alias), on=on)
    )
    return exp.Subquery(this=found)


def _duckdb_public(code: exp.Expression, length: exp.Expression) -> exp.Expression:
    """The labels of the public suffix from the longest suffix found (``code``: labels * 4 +
    rule; null when none was) and the host's number of labels, as ``publicsuffixlist`` counts
    them: that suffix, one label more for a wildcard when the host has one, one less for an
    exception; the last label when none was found."""
    found = exp.IntDiv(this=code, expression=lit(4))
    rule = paren(exp.Mod(this=code.copy(), expression=lit(4)))
    exception = exp.EQ(this=rule, expression=lit(int(Rule.EXCEPTION)))
    wildcard = exp.And(
        this=exp.EQ(this=rule.copy(), expression=lit(int(Rule.WILDCARD))),
        expression=exp.GT(this=length, expression=found.copy()),
    )
    return case(
        (exp.Is(this=code.copy(), expression=exp.Null()), lit(1)),
        (exception, exp.Sub(this=found, expression=lit(1))),
        (wildcard, exp.Add(this=found.copy(), expression=lit(1))),
        default=found.copy(),
    )


def _duckdb_answer(
    ctx: Context, arg: Arg, answer: Callable[[Host], exp.Expression]
) -> exp.Expression:
    """``answer`` of the host in one scalar subquery over the argument, whose derived tables
    name each value once: the host (``_a``), its labels (``_b``), their count and the longest
    suffix found (``_c``), the labels of the public suffix (``_d``)."""
    host = exp.select(exp.alias_(_host(ctx, arg), _name("h"), quoted=True))
    split = _derived([("l", call("string_split", _col("h", "a"), lit(".")))], host, "a")
    coded = _derived(
        [
            ("l", _col("l", "b")),
            ("n", call("len", _col("l", "b"))),
            ("c", _duckdb_found(_col("l", "b"))),
        ],
        split,
        "b",
    )
    public = _duckdb_public(_col("c", "c"), _col("n", "c"))
    counted = _derived([("l", _col("l", "c")), ("n", _col("n", "c")), ("p", public)], coded, "c")
    labels = _col("l", "d")
    view = Host(
        _col("n", "d"),
        lambda count: _duckdb_slice(labels.copy(), exp.Neg(this=paren(count)), lit(-1)),
        lambda count: _duckdb_slice(labels.copy(), lit(1), count),
        _col("p", "d"),
    )
    table = exp.TableAlias(this=exp.to_identifier(_name("d"), quoted=True))
    return exp.Subquery(
        this=exp.select(answer(view)).from_(exp.Subquery(this=counted, alias=table))
    )


# -- the answers -----------------------------------------------------------------------------------


def _publicsuffix(host: Host) -> exp.Expression:
    return host.last(host.public)


def _rootdomain(host: Host) -> exp.Expression:
    more = exp.GT(this=host.labels, expression=host.public)
    return case((more, host.last(exp.Add(this=host.public.copy(), expression=lit(1)))))


def _subdomain(host: Host) -> exp.Expression:
    registrable = exp.Add(this=host.public, expression=lit(1))
    more = exp.GT(this=host.labels, expression=registrable)
    left = exp.Sub(this=host.labels.copy(), expression=paren(registrable.copy()))
    return case((more, host.first(left)))


def _by_list(answer: Callable[[Host], exp.Expression]) -> Translator:
    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        if on_clickhouse(ctx):
            return _ch_answer(ctx, args[0], answer)
        return _duckdb_answer(ctx, args[0], answer)

    return translate


def _topleveldomain(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    host = _host(ctx, args[0])
    if on_clickhouse(ctx):
        return call("substringIndex", host, lit("."), lit(-1))
    return call("split_part", host, lit("."), lit(-1))


# What every entry says of its argument, and what the three list-based ones say of the list.
_HOST = (
    " Null for what is no host name (an IP address, a URL: write `rootdomain(urihost(uri))`, "
    "`host:port`, an empty label), and for null. Upper case reads as lower case and a trailing "
    "dot is ignored."
)
_LIST = (
    " By the Public Suffix List, its ICANN and its private sections both (`publicsuffixlist` "
    "1.1.2.20261023)."
)

FUNCTIONS: tuple[FunctionDef, ...] = (
    FunctionDef(("publicsuffix",), (sig("str -> str"),),
                "The public suffix of a host name: the longest suffix under which the Public "
                "Suffix List lets anyone register names (`www.example.co.uk` → `co.uk`, "
                "`x.blogspot.com` → `blogspot.com`); a host that is itself a suffix is its own "
                "(`co.uk`), an unlisted top-level domain is one (`host.internal` → "
                "`internal`)." + _HOST + _LIST, "network", both(_by_list(_publicsuffix))),
    FunctionDef(("rootdomain",), (sig("str -> str"),),
                "The registrable domain of a host name: its public suffix and one label more "
                "(`www.example.co.uk` → `example.co.uk`); null when the host is a public "
                "suffix (`co.uk`, `localhost`)." + _HOST + _LIST, "network",
                both(_by_list(_rootdomain))),
    FunctionDef(("subdomain",), (sig("str -> str"),),
                "The labels of a host name before its registrable domain (`a.b.example.co.uk` "
                "→ `a.b`); null when there are none (`example.co.uk`, `co.uk`)." + _HOST + _LIST,
                "network", both(_by_list(_subdomain))),
    FunctionDef(("topleveldomain",), (sig("str -> str"),),
                "The last label of a host name (`www.example.co.uk` → `uk`, `localhost` → "
                "`localhost`), listed or not." + _HOST, "network", both(_topleveldomain)),
)  # fmt: skip
