"""User agents: the browser, operating system and device a User-Agent header names, as
``ua-parser`` reads them with uap-core's ordered regular expressions (``ua-parser-builtins``,
pinned in ``pyproject.toml``).

Devo's documentation names the family only as "the ``ua*`` functions"; the names and results
below are inferred (see each doc string) and follow ``ua-parser``, which the tests use as the
oracle on a few thousand real user agents.

How it compiles, with no Python call per row: uap-core's rules are tried in order and the first
that matches wins, its replacement templates (``$1``) filled from its capture groups. Each
function is one ``CASE`` over the rules of its domain (user agent, OS or device), every rule a
constant RE2 pattern (both engines run RE2: DuckDB's ``regexp_matches``/``regexp_extract``,
ClickHouse's ``match``/``regexpExtract``). A row would try hundreds of patterns before the
first match (50 us), so the ``CASE`` sits in a scalar subquery correlated with the argument:
both engines decorrelate it into a join with the argument's distinct values, and each distinct
user agent is parsed once per query, not once per row. A reference table of patterns would keep
the SQL smaller, but DuckDB compiles a non-constant pattern for every row it meets (more than
the parsing itself costs), ClickHouse's ``regexpExtract`` takes constant patterns only, and its
correlated subqueries cannot join.

All of uap-core's patterns compile under RE2 (none needs a lookaround or a backreference), and
on the 3,205 user agents of the oracle test every function gives ua-parser's answer on both
engines. Differences that could show on other input, from the regular expression engines and
the SQL around them: ``\\d``, ``\\w`` and case-insensitive rules are ASCII in RE2 and Unicode in
Python; templates are trimmed of spaces only (Python strips any whitespace) and version parts
are not trimmed; a version part holding the character U+001F would cut the version there.

SQL size: each call carries its domain's patterns, twice when they fill a field from a capture
group: 20 KiB (``uaos``) to 160 KiB (``uadevice``, ``uaisbot``) of SQL, compiled in 15-250 ms.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from sqlglot import exp
from ua_parser.matchers import DeviceMatcher, OSMatcher, UserAgentMatcher

from ..types import LType
from .base import Arg, Context, FunctionDef, Translator, both, call, lit, sig
from .helpers import case, on_clickhouse, regex_extract, regex_matches, trim

# -- rules: uap-core's regexes and what each fills in ---------------------------------------------


@dataclass(frozen=True)
class Group:
    """Capture group ``index`` of the rule's match, null when empty or absent."""

    index: int


@dataclass(frozen=True)
class Template:
    """A replacement such as ``"$1 for ArcGIS"``: text and capture groups (absent ones empty),
    trimmed and null when empty (``ua-parser``'s OS and device rules) or neither (its user
    agent family, which substitutes ``$1`` only)."""

    parts: tuple[str | int, ...]
    trimmed: bool


Value = str | Group | Template | None  # a literal (None: null), a capture group, a template

FIELDS = {
    "ua": ("family", "major", "minor", "patch", "patch_minor"),
    "os": ("family", "major", "minor", "patch", "patch_minor"),
    "device": ("family", "brand", "model"),
}
OTHER = "Other"  # every domain's family when no rule matches, as ua-parser's defaults


@dataclass(frozen=True)
class Rule:
    pattern: str  # RE2 syntax; case-insensitive rules carry (?i)
    values: dict[str, Value]


def _template(text: str, groups: int, trimmed: bool, only_first: bool) -> Value:
    if only_first:
        if "$1" not in text:
            return text
        pieces = text.split("$1")
        parts: list[str | int] = [pieces[0]]
        for piece in pieces[1:]:
            parts += [1, piece]
        return Template(tuple(p for p in parts if p != ""), trimmed)
    parts = []
    for index, piece in enumerate(re.split(r"\$(\d)", text)):
        if index % 2 == 0:
            if piece:
                parts.append(piece)
        elif 0 < int(piece) <= groups:
            parts.append(int(piece))
    if all(isinstance(p, str) for p in parts):
        literal = "".join(str(p) for p in parts).strip()
        return literal or None
    return Template(tuple(parts), trimmed)


def _group(index: int, groups: int) -> Value:
    return Group(index) if index <= groups else None


def _ua_rule(m: UserAgentMatcher) -> Rule:
    groups = m.pattern.groups
    values: dict[str, Value] = {"family": _template(m.family, groups, False, only_first=True)}
    for index, name in enumerate(FIELDS["ua"][1:], start=2):
        replacement = getattr(m, name)
        values[name] = replacement if replacement else _group(index, groups)
    return Rule(m.regex, values)


def _os_rule(m: OSMatcher) -> Rule:
    groups = m.pattern.groups
    values = {
        name: _template(getattr(m, name), groups, True, only_first=False) for name in FIELDS["os"]
    }
    return Rule(m.regex, values)


def _device_rule(m: DeviceMatcher) -> Rule:
    groups = m.pattern.groups
    values = {
        name: _template(getattr(m, name), groups, True, only_first=False)
        for name in FIELDS["device"]
    }
    flags = "(?i)" if m.pattern.flags & re.IGNORECASE else ""
    return Rule(flags + m.regex, values)


@cache
def rules(domain: str) -> tuple[Rule, ...]:
    """uap-core's rules of ``domain`` (``ua``, ``os`` or ``device``), in order. Read at the
    first query that needs them: compiling the 1,300 patterns costs 0.1 s."""
    from ua_parser_builtins.matchers import MATCHERS

    agents, systems, devices = MATCHERS
    if domain == "ua":
        return tuple(_ua_rule(m) for m in agents if isinstance(m, UserAgentMatcher))
    if domain == "os":
        return tuple(_os_rule(m) for m in systems if isinstance(m, OSMatcher))
    return tuple(_device_rule(m) for m in devices if isinstance(m, DeviceMatcher))


# -- SQL ---------------------------------------------------------------------------------------

ARGUMENT = "ua"  # the argument's column inside the correlated subquery
ROW = "_ua"
PARAMETER = "_linqd_ua"  # the argument's name in the lambda that parses a lookup's result


def _value_sql(ctx: Context, text: exp.Expression, rule: Rule, value: Value) -> exp.Expression:
    pattern = lit(rule.pattern)
    if value is None or isinstance(value, str):
        return lit(value)
    if isinstance(value, Group):
        return call("nullif", regex_extract(ctx, text, pattern, value.index), lit(""))
    pieces = [
        lit(p) if isinstance(p, str) else regex_extract(ctx, text, pattern.copy(), p)
        for p in value.parts
    ]
    joined = pieces[0] if len(pieces) == 1 else call("concat", *pieces)
    if not value.trimmed:
        return joined
    return call("nullif", trim(ctx, joined), lit(""))


Shape = Callable[[Context, exp.Expression, Rule], exp.Expression]


def _field(name: str) -> Shape:
    def shape(ctx: Context, text: exp.Expression, rule: Rule) -> exp.Expression:
        return _value_sql(ctx, text, rule, rule.values[name])

    return shape


SEPARATOR = "\x1f"  # between version parts while a rule's match is read: no user agent has it


def _version(names: Sequence[str]) -> Shape:
    """The version parts of the rule, separated by SEPARATOR (a missing part empty), read with
    one regular expression replacement: the template ``\\2<sep>\\3<sep>\\4`` over the whole
    text. ``_dotted`` then cuts it at the first missing part."""

    def shape(ctx: Context, text: exp.Expression, rule: Rule) -> exp.Expression:
        parts = [rule.values[n] for n in names]
        if all(p is None or isinstance(p, str) for p in parts):
            return lit(
                SEPARATOR.join(p or "" for p in parts if not isinstance(p, Group | Template))
            )
        template = SEPARATOR.join(_replacement(part) for part in parts)
        # Anchored, with the rule's pattern found as a search finds it: its leftmost match.
        whole = f"^(?s:.*?)(?:{rule.pattern})(?s:.*)$"
        return regex_replace(ctx, text, whole, template)

    return shape


def _replacement(part: Value) -> str:
    """A version part in a regular expression replacement (``\\2`` for group 2)."""
    if isinstance(part, Group):
        return f"\\{part.index}"
    if isinstance(part, Template):  # not in uap-core's version fields; read its groups alike
        return "".join(
            f"\\{p}" if isinstance(p, int) else p.replace("\\", "\\\\") for p in part.parts
        )
    return "" if part is None else part.replace("\\", "\\\\")


def _dotted(ctx: Context, raw: exp.Expression) -> exp.Expression:
    """The parts of ``raw`` (see ``_version``) up to the first missing one, joined by dots;
    null when the first is missing."""
    sep = re.escape(SEPARATOR)
    leading = regex_extract(
        ctx, exp.DPipe(this=raw, expression=lit(SEPARATOR)), lit(f"^((?:[^{sep}]+{sep})*)"), 1
    )
    without_last = regex_replace(ctx, leading, f"{sep}$", "")
    return call("nullif", call("replace", without_last, lit(SEPARATOR), lit(".")), lit(""))


def regex_replace(
    ctx: Context, text: exp.Expression, pattern: str, replacement: str
) -> exp.Expression:
    """``text`` with the first match of ``pattern`` replaced (``\\1`` ... read its groups)."""
    name = "replaceRegexpOne" if on_clickhouse(ctx) else "regexp_replace"
    return call(name, text, lit(pattern), lit(replacement))


Finish = Callable[[Context, exp.Expression], exp.Expression]


def _parse(
    domain: str, shape: Shape, default: exp.Expression, finish: Finish | None = None
) -> Translator:
    def parse_text(ctx: Context, text: exp.Expression) -> exp.Expression:
        branches = []
        for rule in rules(domain):
            matched = regex_matches(ctx, text.copy(), lit(rule.pattern))
            branches.append((matched, shape(ctx, text.copy(), rule)))
        parsed = case(*branches, default=default)
        return parsed if finish is None else finish(ctx, parsed)

    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        argument = args[0].sql
        if args[0].is_const:
            # A literal is parsed once anyway: no subquery (which DuckDB refuses inside lambdas).
            missing = exp.Is(this=argument.copy(), expression=exp.Null())
            return case((missing, exp.Null()), default=parse_text(ctx, argument))
        if on_clickhouse(ctx) and argument.find(exp.Select) is not None:
            # A lookup's result (`uabrowser(uabrowser(ua))`): ClickHouse cannot correlate a
            # subquery inside another's FROM, so the text is parsed by a lambda over a
            # one-item array instead, once per row.
            text = exp.column(PARAMETER)
            missing = exp.Is(this=text.copy(), expression=exp.Null())
            parsed = case((missing, exp.Null()), default=parse_text(ctx, text))
            lam = exp.Lambda(this=parsed, expressions=[exp.to_identifier(PARAMETER)])
            each = call("arrayMap", lam, exp.Array(expressions=[argument]))
            return call("arrayElement", each, lit(1))
        parsed = parse_text(ctx, exp.column(ARGUMENT, table=ROW, quoted=True))
        # A copy: aliasing a subquery argument (`uabrowser(asorg(ip))`) sets the alias on the
        # subquery itself, which the null test below reads too.
        row = exp.Select().select(exp.alias_(argument.copy(), ARGUMENT, quoted=True), copy=False)
        select = exp.Select().select(parsed, copy=False)
        select = select.from_(
            exp.Subquery(this=row, alias=exp.TableAlias(this=exp.to_identifier(ROW))), copy=False
        )
        # The argument read outside the subquery too: ClickHouse correlates only with columns
        # its outer query reads itself.
        missing = exp.Is(this=argument.copy(), expression=exp.Null())
        return case((missing, exp.Null()), default=exp.Subquery(this=select))

    return translate


def _is_bot(ctx: Context, text: exp.Expression, rule: Rule) -> exp.Expression:
    family = rule.values["family"]
    if family is None or isinstance(family, str):
        return exp.Boolean(this=family == SPIDER)
    return exp.EQ(this=_value_sql(ctx, text, rule, family), expression=lit(SPIDER))


SPIDER = "Spider"  # uap-core's device family for crawlers, bots and monitoring agents
UA = "str -> str"
INFERRED = " (Name inferred: Devo's documentation does not list the `ua*` functions.)"

BROWSER_VERSION = FIELDS["ua"][1:]
OS_VERSION = FIELDS["os"][1:]


def _entry(name: str, returns: str, doc: str, translate: Translator) -> FunctionDef:
    return FunctionDef(
        (name,), (sig(f"str -> {returns}"),), doc + INFERRED, "network", both(translate)
    )


FUNCTIONS: tuple[FunctionDef, ...] = (
    _entry("uabrowser", "str",
           "The browser (user agent family) a User-Agent header names, as ua-parser reads it "
           "with uap-core's rules: `Chrome`, `Mobile Safari`, `Googlebot` ...; `Other` when no "
           "rule matches, null for null.",
           _parse("ua", _field("family"), lit(OTHER))),
    _entry("uabrowserversion", "str",
           "The browser's version as ua-parser reads it: major, minor, patch and patch-minor "
           "joined by dots up to the first missing one (`120.0.0`, `17.2`); null when the "
           "browser has no major version or is unknown.",
           _parse("ua", _version(BROWSER_VERSION), lit(""), _dotted)),
    _entry("uaos", "str",
           "The operating system a User-Agent header names, as ua-parser reads it: `Windows`, "
           "`Mac OS X`, `Android`, `iOS` ...; `Other` when no rule matches, null for null.",
           _parse("os", _field("family"), lit(OTHER))),
    _entry("uaosversion", "str",
           "The operating system's version as ua-parser reads it: major, minor, patch and "
           "patch-minor joined by dots up to the first missing one (`10_15_7` reads `10.15.7`); "
           "null when there is no major version.",
           _parse("os", _version(OS_VERSION), lit(""), _dotted)),
    _entry("uadevice", "str",
           "The device family a User-Agent header names, as ua-parser reads it: `iPhone`, "
           "`Pixel 8`, `Mac`, `Spider` (crawlers and bots) ...; `Other` when no rule matches "
           "(desktop browsers on Windows and Linux), null for null.",
           _parse("device", _field("family"), lit(OTHER))),
    _entry("uadevicebrand", "str",
           "The device's brand as ua-parser reads it (`Apple`, `Google`, `Samsung`, `Spider` "
           "...); null when unknown.",
           _parse("device", _field("brand"), exp.Null())),
    _entry("uadevicemodel", "str",
           "The device's model as ua-parser reads it (`iPhone`, `Pixel 8`, `SM-G991B` ...); "
           "null when unknown.",
           _parse("device", _field("model"), exp.Null())),
    _entry("uaisbot", "bool",
           "Whether the User-Agent header is a crawler, bot or monitoring agent: ua-parser "
           "reads its device family as `Spider`; null for null.",
           _parse("device", _is_bot, exp.false())),
)  # fmt: skip
