"""The date language of a query's ``from`` and ``to`` (docs/design.md, "Time").

Shared by the HTTP API and the CLI. Everything here is pure: "now" is always passed in as
``now_ms``, so a query, a test and a backtest resolve the same text to the same range.

Accepted values, for ``from`` and ``to`` alike unless said:

* Epoch **seconds** as an int, a float (fraction allowed) or a string of digits (``"-1.5"`` and
  ``"1795392000"`` too). ``bool`` is not a number here.
* ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM:SS`` and ``YYYY-MM-DD HH:MM:SS.fff``, read in ``timeZone``.
  ISO strings with ``T``/``Z`` are rejected, as Devo does.
* Devo's dynamic dates: ``now``, ``today``, ``endday``, ``endmonth``, ``N<unit>`` and
  ``Na<unit>``. As ``from`` they count back from now; as ``to`` they count forward from ``from``.
* Expressions, parsed by a small recursive-descent evaluator (never ``eval``):
  ``now() - 1h``, ``today() - 2*day()``, ``(now() - 1d) @ 1d``, ``now() ^ 6d``, ``now() << 11M``.
  An expression that comes out as a duration (``"1h30m"``, ``"2*day()"``) is read like ``N<unit>``.

Decisions where the spec is silent:

* ``to`` is exclusive. A whole number of seconds in ``to`` covers that whole second
  (``(to + 1) * 1000``, docs/design.md "Time"); ints, integral floats and digit strings count as
  whole seconds. Every other form is an exact instant. ``from > to`` is checked against the seconds
  as sent, so ``from=to=S`` is the one-second range ``[S, S+1)`` and ``from=S+1, to=S`` is a 408.
* ``endday``/``endmonth`` as ``to`` end at the next midnight (exclusive), which includes the
  whole of 23:59:59; as ``from`` they are 23:59:59.000 of today / of the month's last day.
  ``endmonth`` as ``to`` is the end of the month of ``from``.
* Units: ``ms s m h d w`` are fixed lengths, so ``timeZone`` never changes them; ``M`` (month) and
  ``y`` (year) are calendar steps on the wall clock of ``timeZone``, clamped to the month's last
  day. ``month()`` is the fixed 30 days of devo-sdk. ``W`` is an alias of ``w``.
* The ``Na<unit>`` forms with ``d``/``w`` step whole calendar days so they land on a midnight.
* ``@``/``|<`` (snap) and ``^`` (replace) work on the wall clock of ``timeZone``; weeks start on
  Monday. ``<<`` moves backward and ``>>`` forward, like ``-`` and ``+``. ``+ - << >> @ |< ^``
  share one precedence and apply left to right; only ``*`` binds tighter.
* A bare number inside an expression has no unit and cannot be added to a date (``now() - 3600``
  is a 406); it may only multiply a duration.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from types import MappingProxyType
from typing import TypeAlias
from zoneinfo import ZoneInfo

from linqd.errors import ValidationError

__all__ = ["UTC", "TimeRange", "parse_date", "parse_timezone", "resolve_range"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
_DAY_MS = 86_400_000
# A day inside datetime's range at each end, so moving to any UTC offset cannot overflow.
_MIN_MS = (datetime(1, 1, 2, tzinfo=UTC) - _EPOCH) // _ONE_MS
_MAX_MS = (datetime(9999, 12, 30, tzinfo=UTC) - _EPOCH) // _ONE_MS
# Bounds the parser's work on hostile input (and its recursion depth).
_MAX_TEXT = 200
_MAX_DEPTH = 16

_WEEK_MS = 7 * _DAY_MS
_FIXED_UNITS: Mapping[str, int] = MappingProxyType(
    {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": _DAY_MS, "w": _WEEK_MS, "W": _WEEK_MS}
)
_CALENDAR_UNITS: Mapping[str, int] = MappingProxyType({"M": 1, "y": 12})
_UNIT = r"(?:ms|[smhdwWMy])"

_NUMBER_RE = re.compile(r"(-?)(\d+)(?:\.(\d+))?", re.ASCII)
_DATE_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?", re.ASCII
)
_ANCHORED_RE = re.compile(rf"(\d+)a({_UNIT})", re.ASCII)
_PART_RE = re.compile(rf"(\d+)({_UNIT})", re.ASCII)
_TOKEN_RE = re.compile(
    rf"""\s*(?:
        (?P<span>(?:\d++{_UNIT})++)(?![A-Za-z0-9_])
      | (?P<num>\d++)(?![A-Za-z_])
      | (?P<name>[A-Za-z_]\w*)
      | (?P<op>\|<|<<|>>|[-+*@^()])
    )""",
    re.ASCII | re.VERBOSE,
)
_ADDITIVE_OPS = frozenset({"+", "-", "<<", ">>"})
_CALENDAR_OPS = frozenset({"@", "|<", "^"})
_OFFSET_RE = re.compile(r"(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?", re.ASCII | re.IGNORECASE)


@dataclass(frozen=True)
class TimeRange:
    """A resolved query range in epoch milliseconds: ``from_ms <= eventdate < to_ms``.

    ``to_ms`` is None for a continuous (open-ended) query.
    """

    from_ms: int
    to_ms: int | None


class _BadDate(Exception):
    """Why a date did not parse; chained under the 406 so the CLI can show the detail."""


@dataclass(frozen=True)
class _Span:
    """A duration: calendar months (applied first, on the wall clock) plus fixed milliseconds."""

    months: int = 0
    ms: int = 0

    def scaled(self, factor: int) -> _Span:
        return _Span(self.months * factor, self.ms * factor)

    def negated(self) -> _Span:
        return self.scaled(-1)

    def plus(self, other: _Span) -> _Span:
        return _Span(self.months + other.months, self.ms + other.ms)


@dataclass(frozen=True)
class _Point:
    ms: int


_Value: TypeAlias = _Point | _Span | int


# --- time zones ---------------------------------------------------------------------------------


def parse_timezone(name: str | None) -> tzinfo:
    """Resolve a ``timeZone`` value: None/"" is UTC; ``UTC``, ``GMT``, ``GMT+2``, ``GMT-05:30``,
    ``UTC+1``, ``+02:00`` are fixed offsets (``GMT+2`` is two hours *ahead* of UTC, as in Java and
    Devo, unlike IANA's ``Etc/GMT+2``); anything else must be an IANA name such as
    ``Europe/Madrid``."""
    if name is None:
        return UTC
    if not isinstance(name, str):
        raise _bad_timezone(name)
    text = name.strip()
    if text == "" or text.upper() in {"UTC", "GMT", "Z", "UT"}:
        return UTC
    offset = _OFFSET_RE.fullmatch(text)
    if offset is not None:
        sign, hours, minutes = offset.groups()
        # Java's ZoneOffset allows up to 18 hours; datetime.timezone needs strictly under 24.
        if int(hours) > 18 or int(minutes or 0) > 59:
            raise _bad_timezone(name)
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(text)
    except (KeyError, ValueError, OSError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise _bad_timezone(name) from exc


def _bad_timezone(name: object) -> ValidationError:
    return ValidationError(f"Unknown timeZone: {name!r}", field="timeZone")


# --- public entry points ------------------------------------------------------------------------


def parse_date(
    value: object,
    *,
    now_ms: int,
    tz: tzinfo = UTC,
    base_ms: int | None = None,
    field: str = "from",
) -> int:
    """Resolve one endpoint to epoch milliseconds.

    ``field="to"`` selects the ``to`` reading: relative words count from ``base_ms`` (the
    resolved ``from``; ``now_ms`` when absent) and whole seconds cover their whole second. Any
    other field reads as a ``from``. Errors are ``ValidationError`` with Devo's codes: 405 for a
    missing ``from``, 406 for anything that does not parse.
    """
    ms, whole_second = _parse_endpoint(value, now_ms=now_ms, tz=tz, base_ms=base_ms, field=field)
    return ms + 1000 if whole_second and field == "to" else ms


def resolve_range(
    from_value: object,
    to_value: object,
    *,
    now_ms: int,
    tz: tzinfo | str | None = None,
) -> TimeRange:
    """Resolve a query's ``from``/``to`` pair. A ``to`` of None, "" or -1 makes it continuous."""
    zone = tz if isinstance(tz, tzinfo) else parse_timezone(tz)
    from_ms, _ = _parse_endpoint(from_value, now_ms=now_ms, tz=zone, base_ms=None, field="from")
    if _is_continuous(to_value):
        return TimeRange(from_ms, None)
    to_ms, whole_second = _parse_endpoint(
        to_value, now_ms=now_ms, tz=zone, base_ms=from_ms, field="to"
    )
    # Compare before widening a whole-second `to`, so from=S+1, to=S is still "later".
    if from_ms > to_ms:
        raise ValidationError("Date from is later than date to", field="from", devo_code=408)
    return TimeRange(from_ms, to_ms + 1000 if whole_second else to_ms)


def _is_continuous(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() in {"", "-1"}
    return not isinstance(value, bool) and isinstance(value, int | float) and value == -1


def _parse_endpoint(
    value: object, *, now_ms: int, tz: tzinfo, base_ms: int | None, field: str
) -> tuple[int, bool]:
    """(milliseconds, whether the value was a whole number of seconds)."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if field == "from":
            raise ValidationError("Date from is required", field="from", devo_code=405)
        raise _not_valid(field)
    try:
        ms, whole = _parse_value(value, now_ms, tz, base_ms, as_to=field == "to")
        if not _MIN_MS <= ms <= _MAX_MS:
            raise _BadDate("date out of range")
    # datetime reports impossible fields (31 February) as ValueError and years past 9999 as
    # OverflowError or ValueError; to a client all of them are a badly formatted date.
    except (_BadDate, ValueError, OverflowError) as exc:
        raise _not_valid(field) from exc
    return ms, whole


def _not_valid(field: str) -> ValidationError:
    # The message is Devo's, word for word; the detail stays in __cause__.
    return ValidationError(f"Date {field} not valid format", field=field, devo_code=406)


# --- forms ----------------------------------------------------------------------------------------


def _parse_value(
    value: object, now_ms: int, tz: tzinfo, base_ms: int | None, *, as_to: bool
) -> tuple[int, bool]:
    if isinstance(value, bool):
        raise _BadDate("a boolean is not a date")
    if isinstance(value, int):
        return value * 1000, True
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _BadDate("not a finite number")
        return round(value * 1000), value.is_integer()
    if not isinstance(value, str):
        raise _BadDate(f"unsupported type {type(value).__name__}")
    text = value.strip()
    if len(text) > _MAX_TEXT:
        raise _BadDate("too long")

    number = _NUMBER_RE.fullmatch(text)
    if number is not None:
        sign, whole, fraction = number.groups()
        ms = int(whole) * 1000 + (int(fraction[:3].ljust(3, "0")) if fraction else 0)
        return (-ms if sign else ms), fraction is None

    stamp = _DATE_RE.fullmatch(text)
    if stamp is not None:
        return _local_stamp(stamp, tz), False

    base = now_ms if base_ms is None else base_ms
    word = _word(text.lower(), now_ms, base, tz, as_to=as_to)
    if word is not None:
        return word, False

    anchored = _ANCHORED_RE.fullmatch(text)
    if anchored is not None:
        return _anchored(int(anchored[1]), anchored[2], now_ms, base, tz, as_to=as_to), False

    result = _Parser(text, now_ms, tz).parse()
    if isinstance(result, _Point):
        return result.ms, False
    if isinstance(result, _Span):
        # A bare duration is Devo's N<unit>: back from now as `from`, on from `from` as `to`.
        return (_shift(base, result, tz) if as_to else _shift(now_ms, result.negated(), tz)), False
    raise _BadDate("a bare number inside an expression has no unit")


def _local_stamp(match: re.Match[str], tz: tzinfo) -> int:
    year, month, day, hour, minute, second = (int(group or 0) for group in match.groups()[:6])
    millis = int(match[7][:3].ljust(3, "0")) if match[7] else 0
    return _to_ms(datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=tz))


def _word(word: str, now_ms: int, base: int, tz: tzinfo, *, as_to: bool) -> int | None:
    if word == "now":
        return now_ms
    if word == "today":
        return _midnight(_local(now_ms, tz).date(), tz)
    if word == "endday":
        # As `to`: the exclusive end of the `from` day; as `from`: today 23:59:59.
        day = _local(base if as_to else now_ms, tz).date()
        end = _midnight(day + timedelta(days=1), tz)
        return end if as_to else end - 1000
    if word == "endmonth":
        day = _local(base if as_to else now_ms, tz).date()
        end = _midnight(_first_of_next_month(day), tz)
        return end if as_to else end - 1000
    return None


def _anchored(count: int, unit: str, now_ms: int, base: int, tz: tzinfo, *, as_to: bool) -> int:
    """``Na<unit>``: midnight of today minus N units, or midnight of the ``from`` day plus N."""
    day = _local(base if as_to else now_ms, tz).date()
    sign = 1 if as_to else -1
    if unit in {"d", "w", "W"}:
        # Whole calendar days, so a DST change in between still lands on a midnight.
        days = count * (7 if unit != "d" else 1)
        return _midnight(day + timedelta(days=sign * days), tz)
    return _shift(_midnight(day, tz), _unit_span(count, unit).scaled(sign), tz)


# --- calendar helpers ---------------------------------------------------------------------------


def _local(ms: int, tz: tzinfo) -> datetime:
    return (_EPOCH + timedelta(milliseconds=ms)).astimezone(tz)


def _to_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // _ONE_MS


def _midnight(day: date, tz: tzinfo) -> int:
    return _to_ms(datetime.combine(day, time(), tzinfo=tz))


def _first_of_next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def _unit_span(count: int, unit: str) -> _Span:
    if unit in _CALENDAR_UNITS:
        return _Span(months=count * _CALENDAR_UNITS[unit])
    return _Span(ms=count * _FIXED_UNITS[unit])


def _shift(ms: int, span: _Span, tz: tzinfo) -> int:
    if span.months:
        local = _local(ms, tz)
        index = local.year * 12 + local.month - 1 + span.months
        year, month = divmod(index, 12)
        day = min(local.day, calendar.monthrange(year, month + 1)[1])
        ms = _to_ms(local.replace(year=year, month=month + 1, day=day, fold=0))
    result = ms + span.ms
    if not _MIN_MS <= result <= _MAX_MS:
        raise _BadDate("date out of range")
    return result


def _snap(ms: int, count: int, unit: str, tz: tzinfo) -> int:
    if count != 1:
        raise _BadDate("snapping only works with one unit (1m, 1h, 1d, 1w, 1M, 1y)")
    local = _local(ms, tz)
    if unit == "ms":
        return ms
    if unit == "s":
        return _to_ms(local.replace(microsecond=0))
    if unit == "m":
        return _to_ms(local.replace(second=0, microsecond=0))
    if unit == "h":
        return _to_ms(local.replace(minute=0, second=0, microsecond=0))
    day = local.date()
    if unit == "d":
        return _midnight(day, tz)
    if unit in {"w", "W"}:
        return _midnight(day - timedelta(days=day.weekday()), tz)
    if unit == "M":
        return _midnight(day.replace(day=1), tz)
    return _midnight(date(day.year, 1, 1), tz)


def _replace(ms: int, count: int, unit: str, tz: tzinfo) -> int:
    """``^``: set one wall-clock field (y, M, d, h, m, s) of the date."""
    order = "yMdhms"
    if unit not in order:
        raise _BadDate(f"cannot replace unit {unit!r}")
    local = _local(ms, tz)
    fields = [local.year, local.month, local.day, local.hour, local.minute, local.second]
    fields[order.index(unit)] = count
    # An impossible field (day 31 of February, hour 24) is a ValueError, hence a 406.
    year, month, day, hour, minute, second = fields
    return _to_ms(datetime(year, month, day, hour, minute, second, local.microsecond, tzinfo=tz))


# --- expressions --------------------------------------------------------------------------------


def _today(now_ms: int, tz: tzinfo, days: int) -> _Point:
    return _Point(_midnight(_local(now_ms, tz).date() + timedelta(days=days), tz))


_FUNCTIONS: Mapping[str, Callable[[int, tzinfo], _Value]] = MappingProxyType(
    {
        "now": lambda now, tz: _Point(now),
        "now_without_ms": lambda now, tz: _Point(now - now % 1000),
        "today": lambda now, tz: _today(now, tz, 0),
        "yesterday": lambda now, tz: _today(now, tz, -1),
        "tomorrow": lambda now, tz: _today(now, tz, 1),
        "second": lambda now, tz: _Span(ms=1000),
        "minute": lambda now, tz: _Span(ms=60_000),
        "hour": lambda now, tz: _Span(ms=3_600_000),
        "day": lambda now, tz: _Span(ms=_DAY_MS),
        "week": lambda now, tz: _Span(ms=7 * _DAY_MS),
        # devo-sdk's month() is a fixed 30 days; the `M` unit is the calendar month.
        "month": lambda now, tz: _Span(ms=30 * _DAY_MS),
    }
)


class _Parser:
    """Evaluates while it parses. Grammar (operators of one line share a precedence, left to right):

    expr := term (("+" | "-" | "<<" | ">>") term | ("@" | "|<" | "^") UNIT)*
    term := atom ("*" atom)*
    atom := SPAN | NUMBER | NAME "(" ")" | "(" expr ")"
    """

    def __init__(self, text: str, now_ms: int, tz: tzinfo) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0
        self.depth = 0
        self.now_ms = now_ms
        self.tz = tz

    def parse(self) -> _Value:
        if not self.tokens:
            raise _BadDate("empty expression")
        value = self.expr()
        if self.pos != len(self.tokens):
            raise _BadDate(f"unexpected {self.tokens[self.pos][1]!r}")
        return value

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _BadDate("unexpected end of expression")
        self.pos += 1
        return token

    def expect(self, text: str) -> None:
        if self.take() != ("op", text):
            raise _BadDate(f"expected {text!r}")

    def expr(self) -> _Value:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _BadDate("expression nested too deeply")
        value = self.term()
        while (token := self.peek()) is not None and token[1] in _ADDITIVE_OPS | _CALENDAR_OPS:
            op = self.take()[1]
            if op in _CALENDAR_OPS:
                value = self.calendar_op(value, op)
            else:
                value = _add(value, self.term(), negate=op in {"-", "<<"}, tz=self.tz)
        self.depth -= 1
        return value

    def calendar_op(self, value: _Value, op: str) -> _Point:
        kind, text = self.take()
        part = _PART_RE.fullmatch(text) if kind == "span" else None
        if part is None or not isinstance(value, _Point):
            raise _BadDate(f"{op!r} needs a date on its left and one unit such as 1d on its right")
        count, unit = int(part[1]), part[2]
        if op == "^":
            return _Point(_replace(value.ms, count, unit, self.tz))
        return _Point(_snap(value.ms, count, unit, self.tz))

    def term(self) -> _Value:
        value = self.atom()
        while self.peek() == ("op", "*"):
            self.take()
            value = _multiply(value, self.atom())
        return value

    def atom(self) -> _Value:
        kind, text = self.take()
        if kind == "span":
            span = _Span()
            for part in _PART_RE.finditer(text):
                span = span.plus(_unit_span(int(part[1]), part[2]))
            return span
        if kind == "num":
            return int(text)
        if kind == "name":
            function = _FUNCTIONS.get(text.lower())
            if function is None:
                raise _BadDate(f"unknown function {text!r}")
            self.expect("(")
            self.expect(")")
            return function(self.now_ms, self.tz)
        if text == "(":
            value = self.expr()
            self.expect(")")
            return value
        raise _BadDate(f"unexpected {text!r}")


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN_RE.match(text, pos)
        if match is None or match.lastgroup is None:
            raise _BadDate(f"unexpected character at {pos}")
        tokens.append((match.lastgroup, match[match.lastgroup]))
        pos = match.end()
    return tokens


def _add(left: _Value, right: _Value, *, negate: bool, tz: tzinfo) -> _Value:
    if isinstance(right, _Span):
        step = right.negated() if negate else right
        if isinstance(left, _Point):
            return _Point(_shift(left.ms, step, tz))
        if isinstance(left, _Span):
            return left.plus(step)
    if isinstance(left, _Span) and isinstance(right, _Point) and not negate:
        return _Point(_shift(right.ms, left, tz))
    raise _BadDate("only a date and a duration, or two durations, can be added or subtracted")


def _multiply(left: _Value, right: _Value) -> _Value:
    if isinstance(left, int) and isinstance(right, int):
        return left * right
    if isinstance(left, _Span) and isinstance(right, int):
        return left.scaled(right)
    if isinstance(left, int) and isinstance(right, _Span):
        return right.scaled(left)
    raise _BadDate("only a whole number and a duration can be multiplied")
