"""Date and time: the query's clock (``now``, ``today`` ...), calendar components, period
alignment, and formatting/parsing with Devo's (Java-style) date patterns.

Components are read in UTC unless a time zone (an IANA name such as ``Europe/Madrid``) is given.
Devo counts some of them from 0: ``day`` (0 = the 1st of the month) and ``month`` (0 = January),
while ``daynumber`` and ``monthnumber`` count from 1; ``dayofweek`` has 0 = Sunday. With no
argument, ``day()``, ``hour()``, ``minute()`` and ``second()`` are one-unit durations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlglot import exp

from ..types import LType
from .base import (
    Arg,
    Context,
    FunctionDef,
    Signature,
    Translator,
    both,
    call,
    cast,
    lit,
    paren,
    sig,
)
from .helpers import (
    all_of,
    any_of,
    case,
    ch_cast,
    const_text,
    epoch_ms_of,
    from_epoch_ms,
    minus,
    on_clickhouse,
    plus,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)
SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

# A calendar component of a (wall-clock) timestamp.
Component = Callable[[Context, exp.Expression], exp.Expression]
UTC_TIMESTAMP = "Nullable(DateTime64(3, 'UTC'))"


def zone(ctx: Context, name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ctx.error(f"Unknown time zone {name!r}") from None


def _zone_sql(ctx: Context, tz: Arg) -> exp.Expression:
    """The time zone argument; a constant one is checked now rather than when rows are read."""
    if tz.is_const and isinstance(tz.const, str):
        zone(ctx, tz.const)
    elif on_clickhouse(ctx):
        # A DateTime64's zone is part of its type: ClickHouse takes constant zones only.
        raise ctx.error(f"A time zone must be a constant string on {ctx.engine}")
    return tz.sql


def local_time(ctx: Context, stamp: exp.Expression, tz: Arg | None) -> exp.Expression:
    """The wall-clock time in ``tz`` of a UTC timestamp (the timestamp itself without a zone).
    On ClickHouse the same instant in zone ``tz``, whose components are the wall clock's."""
    if tz is None:
        return stamp
    if on_clickhouse(ctx):
        return call("toTimeZone", stamp, _zone_sql(ctx, tz))
    in_utc = exp.AtTimeZone(this=stamp, zone=lit("UTC"))
    return paren(exp.AtTimeZone(this=in_utc, zone=_zone_sql(ctx, tz)))


def utc_time(ctx: Context, local: exp.Expression, tz: Arg | None) -> exp.Expression:
    """The UTC timestamp of a wall-clock time in ``tz``."""
    if tz is None:
        return local
    zoned = exp.AtTimeZone(this=local, zone=_zone_sql(ctx, tz))
    return paren(exp.AtTimeZone(this=zoned, zone=lit("UTC")))


# -- the query's clock -----------------------------------------------------------------------------


def _now(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return from_epoch_ms(ctx, lit(ctx.now_ms))


def _midnight(name: str, days: int) -> Translator:
    """Midnight ``days`` after the query's start day, computed once at compile time."""

    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        where = zone(ctx, const_text(ctx, args[0], name, "time zone")) if args else UTC
        today = (EPOCH + ctx.now_ms * ONE_MS).astimezone(where).date()
        day = today + timedelta(days=days)
        start = datetime(day.year, day.month, day.day, tzinfo=where)
        return from_epoch_ms(ctx, lit((start - EPOCH) // ONE_MS))

    return translate


def _clock(name: str, days: int, doc: str) -> FunctionDef:
    return FunctionDef((name,), (sig("str? -> timestamp"),), doc, "time",
                       both(_midnight(name, days)), clock=True)  # fmt: skip


def _midnight_of(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    """midnight(): the start of the query's day; midnight(ts [, tz]): the start of the day of
    ``ts`` in UTC or ``tz``, as a UTC timestamp."""
    if not args:
        return _midnight("midnight", 0)(ctx, args, result)
    stamp, *tz = args
    where = tz[0] if tz else None
    local = local_time(ctx, stamp.sql, where)
    if on_clickhouse(ctx):
        # toStartOfDay keeps the zone of toTimeZone: the cast back to UTC keeps the instant.
        return ch_cast(call("toStartOfDay", local), UTC_TIMESTAMP)
    return utc_time(ctx, call("date_trunc", lit("day"), local), where)


# -- components ------------------------------------------------------------------------------------


def _component(part: Component, unit_ms: int | None) -> Translator:
    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        if not args:
            return lit(unit_ms)
        value = part(ctx, local_time(ctx, args[0].sql, args[1] if len(args) > 1 else None))
        return cast(value, "INTEGER") if result.is_integer else value

    return translate


# DuckDB's calendar functions → ClickHouse's. ClickHouse's toDayOfWeek mode 2 counts 0-6 from
# Sunday, as DuckDB's dayofweek; toISOWeek is DuckDB's weekofyear.
CLICKHOUSE_PARTS: dict[str, Callable[[exp.Expression], exp.Expression]] = {
    "hour": lambda t: call("toHour", t),
    "minute": lambda t: call("toMinute", t),
    "second": lambda t: call("toSecond", t),
    "day": lambda t: call("toDayOfMonth", t),
    "dayofweek": lambda t: call("toDayOfWeek", t, lit(2)),
    "dayofyear": lambda t: call("toDayOfYear", t),
    "month": lambda t: call("toMonth", t),
    "year": lambda t: call("toYear", t),
    "weekofyear": lambda t: call("toISOWeek", t),
    "dayname": lambda t: call("dateName", lit("weekday"), t),
    "monthname": lambda t: call("monthName", t),
}


def _part(name: str) -> Component:
    def part(ctx: Context, stamp: exp.Expression) -> exp.Expression:
        if on_clickhouse(ctx):
            return CLICKHOUSE_PARTS[name](stamp)
        return call(name, stamp)

    return part


def _minute_of_day(ctx: Context, stamp: exp.Expression) -> exp.Expression:
    hours = exp.Mul(this=_part("hour")(ctx, stamp), expression=lit(60))
    return paren(exp.Add(this=hours, expression=_part("minute")(ctx, stamp)))


def _second_of_day(ctx: Context, stamp: exp.Expression) -> exp.Expression:
    minutes = exp.Mul(this=_minute_of_day(ctx, stamp), expression=lit(60))
    return paren(exp.Add(this=minutes, expression=_part("second")(ctx, stamp)))


def _week_of_month(ctx: Context, stamp: exp.Expression) -> exp.Expression:
    """Weeks from Monday to Sunday, week 1 the one holding the 1st (ISO weeks, as
    ``weekofyear``, cut at the month's edges): 1-6."""
    day = _part("day")(ctx, stamp)
    # The weekday counted from Monday = 0, and that of the 1st: (weekday - (day - 1)) mod 7,
    # with 35 added so that the engines' modulo (signed, as the dividend) is taken of a positive.
    weekday = exp.Mod(this=plus(_part("dayofweek")(ctx, stamp), 6), expression=lit(7))
    first = exp.Mod(
        this=paren(exp.Add(this=exp.Sub(this=weekday, expression=day), expression=lit(36))),
        expression=lit(7),
    )
    days_before = paren(exp.Add(this=minus(day, 1), expression=paren(first)))
    if on_clickhouse(ctx):
        weeks = call("intDiv", days_before, lit(7))
    else:
        weeks = paren(exp.IntDiv(this=days_before, expression=lit(7)))
    return plus(weeks, 1)


def _is_leap_year(ctx: Context, stamp: exp.Expression) -> exp.Expression:
    year = _part("year")(ctx, stamp)

    def divisible(by: int) -> exp.Expression:
        return exp.EQ(this=exp.Mod(this=year, expression=lit(by)), expression=lit(0))

    four_not_hundred = all_of([divisible(4), exp.Not(this=divisible(100))])
    return any_of([four_not_hundred, divisible(400)])


def _calendar(
    name: str, part: Component, doc: str, unit_ms: int | None = None, returns: str = "int4"
) -> FunctionDef:
    signatures: tuple[Signature, ...] = (sig(f"timestamp, str? -> {returns}"),)
    if unit_ms is not None:
        signatures = (sig("-> duration"), *signatures)
    return FunctionDef((name,), signatures, doc, "time", both(_component(part, unit_ms)))


# -- periods, formatting and parsing ---------------------------------------------------------------


def _period(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    stamp, width = args
    if width.is_const and (not isinstance(width.const, int) or width.const <= 0):
        # A period has a positive length: none holds the timestamp (DuckDB would refuse it).
        null = exp.Null()
        return ch_cast(null, UTC_TIMESTAMP) if on_clickhouse(ctx) else cast(null, "TIMESTAMP")
    if not width.is_const:
        positive = exp.GT(this=width.sql, expression=lit(0))
        return case((positive, _bucket(ctx, stamp, width)))
    return _bucket(ctx, stamp, width)


def _bucket(ctx: Context, stamp: Arg, width: Arg) -> exp.Expression:
    if on_clickhouse(ctx):
        if width.is_const:
            interval = call("toIntervalMillisecond", width.sql)
            return call("toStartOfInterval", stamp.sql, interval)
        # A computed width: the start of the epoch-aligned period (floored, as time_bucket).
        # A zero width is null here (the caller gives null for it), not a division by zero.
        ms = epoch_ms_of(ctx, stamp.sql)
        size = exp.Nullif(this=width.sql, expression=lit(0))
        offset = exp.Mod(
            this=paren(exp.Add(this=exp.Mod(this=ms, expression=size), expression=size)),
            expression=size,
        )
        return from_epoch_ms(ctx, exp.Sub(this=ms, expression=paren(offset)))
    origin = call("epoch_ms", lit(0))
    return call("time_bucket", call("to_milliseconds", width.sql), stamp.sql, origin)


def _field(letter: str, count: int) -> str | None:
    """The strftime directive for ``count`` repetitions of a Java pattern letter. Devo's own
    examples write `YYYY-MM-DD` for the calendar date, so `Y` and `D`/`DD` read as `y` and `d`."""
    padded = count >= 2
    match letter:
        case "y" | "Y" | "u":
            return "%y" if count == 2 else "%Y"
        case "M" | "L":
            return ("%-m", "%m", "%b")[count - 1] if count <= 3 else "%B"
        case "d":
            return "%d" if padded else "%-d"
        case "D":
            return "%j" if count >= 3 else "%d" if padded else "%-d"
        case "H":
            return "%H" if padded else "%-H"
        case "h":
            return "%I" if padded else "%-I"
        case "m":
            return "%M" if padded else "%-M"
        case "s":
            return "%S" if padded else "%-S"
        case "S":
            return "%g" if count <= 3 else "%f" if count <= 6 else "%n"
        case "a":
            return "%p"
        case "E":
            return "%A" if count >= 4 else "%a"
    return None


def strftime_format(pattern: str) -> str:
    """A Java date pattern (`yyyy-MM-dd HH:mm:ss.SSS`, text in 'quotes' or [brackets]) as a
    strftime format.

    Raises ValueError for a letter that has no equivalent (time-zone letters among them).
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("''", i):
            out.append("'")
            i += 2
        elif char == "'":
            # Quoted text; inside it too, '' stands for one quote.
            end = i + 1
            text: list[str] = []
            while True:
                close = pattern.find("'", end)
                if close < 0:
                    raise ValueError("unterminated quote")
                text.append(pattern[end:close])
                if close + 1 < len(pattern) and pattern[close + 1] == "'":
                    text.append("'")
                    end = close + 2
                    continue
                break
            out.append("".join(text).replace("%", "%%"))
            i = close + 1
        elif char == "[":
            # Devo's patterns follow moment.js (`YYYY-MM-DD[T]HH:mm`): text in brackets is kept
            # as it is, letters included.
            close = pattern.find("]", i + 1)
            if close < 0:
                raise ValueError("unterminated [")
            out.append(pattern[i + 1 : close].replace("%", "%%"))
            i = close + 1
        elif char.isascii() and char.isalpha():
            end = i
            while end < len(pattern) and pattern[end] == char:
                end += 1
            directive = _field(char, end - i)
            if directive is None:
                raise ValueError(f"unsupported pattern letter {char!r}")
            out.append(directive)
            i = end
        else:
            out.append("%%" if char == "%" else char)
            i += 1
    return "".join(out)


# strftime directives (what strftime_format writes) as Joda pattern letters, the syntax of
# ClickHouse's formatDateTimeInJodaSyntax (its MySQL-style formatDateTime has no unpadded month).
JODA = {
    "Y": "yyyy",
    "y": "yy",
    "-m": "M",
    "m": "MM",
    "b": "MMM",
    "B": "MMMM",
    "d": "dd",
    "-d": "d",
    "j": "DDD",
    "H": "HH",
    "-H": "H",
    "I": "hh",
    "-I": "h",
    "M": "mm",
    "-M": "m",
    "S": "ss",
    "-S": "s",
    "g": "SSS",
    "f": "SSSSSS",
    "n": "SSSSSSSSS",
    "p": "a",
    "A": "EEEE",
    "a": "EEE",
}


def joda_pattern(strftime: str) -> str:
    """A strftime format written by ``strftime_format`` as the same Joda pattern (text quoted)."""
    out: list[str] = []
    text: list[str] = []

    def flush() -> None:
        # ClickHouse reads '' as a quote outside quoted text only: quotes end the quoted runs.
        for i, run in enumerate("".join(text).split("'")):
            out.append(("''" if i else "") + (f"'{run}'" if run else ""))
        text.clear()

    i = 0
    while i < len(strftime):
        if strftime[i] != "%":
            text.append(strftime[i])
            i += 1
            continue
        directive = strftime[i + 1 : i + 3] if strftime[i + 1] == "-" else strftime[i + 1]
        if directive == "%":
            text.append("%")
        else:
            flush()
            out.append(JODA[directive])
        i += 1 + len(directive)
    flush()
    return "".join(out)


def _strftime_text(ctx: Context, arg: Arg, function: str) -> str:
    pattern = const_text(ctx, arg, function, "date pattern")
    try:
        return strftime_format(pattern)
    except ValueError as error:
        raise ctx.error(f"Invalid date pattern {pattern!r} for `{function}': {error}") from None


def _format_text(ctx: Context, arg: Arg, function: str) -> str:
    format_ = _strftime_text(ctx, arg, function)
    return joda_pattern(format_) if on_clickhouse(ctx) else format_


def _formatdate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    stamp, pattern, *tz = args
    local = local_time(ctx, stamp.sql, tz[0] if tz else None)
    text = _format_text(ctx, pattern, "formatdate")
    if not text:
        # An empty pattern writes nothing (DuckDB's strftime refuses it).
        return case((exp.Not(this=exp.Is(this=local, expression=exp.Null())), lit("")))
    format_ = lit(text)
    return call("formatDateTimeInJodaSyntax" if on_clickhouse(ctx) else "strftime", local, format_)


def _parsedate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    text, pattern, *tz = args
    written = _strftime_text(ctx, pattern, "parsedate")
    if not written:
        # An empty pattern reads no date (DuckDB's strptime refuses it).
        null = exp.Null()
        return ch_cast(null, UTC_TIMESTAMP) if on_clickhouse(ctx) else cast(null, "TIMESTAMP")
    source = text.sql
    if "%Y" not in written and "%y" not in written:
        # A date without a year is of 1970, as Java's (DuckDB would read 1900, ClickHouse 1970
        # or 2000): the year is given to both.
        written = "%Y " + written
        source = exp.DPipe(this=lit("1970 "), expression=source)
    if on_clickhouse(ctx):
        where = _zone_sql(ctx, tz[0]) if tz else lit("UTC")
        format_ = lit(joda_pattern(written))
        parsed = call("parseDateTime64InJodaSyntaxOrNull", source, format_, where)
        return ch_cast(parsed, UTC_TIMESTAMP)
    parsed = call("try_strptime", source, lit(written))
    return utc_time(ctx, parsed, tz[0] if tz else None)


TZ_NOTE = "in UTC or the given time zone (on ClickHouse, a constant zone)"


def _millisecond(ctx: Context, stamp: exp.Expression) -> exp.Expression:
    if on_clickhouse(ctx):
        return call("toMillisecond", stamp)
    # DuckDB's millisecond() counts from the start of the minute.
    return paren(exp.Mod(this=call("millisecond", stamp), expression=lit(1000)))


def _day_from_zero(ctx: Context, stamp: exp.Expression) -> exp.Expression:
    return minus(_part("day")(ctx, stamp), 1)


def _month_from_zero(ctx: Context, stamp: exp.Expression) -> exp.Expression:
    return minus(_part("month")(ctx, stamp), 1)


FUNCTIONS: tuple[FunctionDef, ...] = (
    FunctionDef(("now",), (sig("-> timestamp"),), "The time the query started.", "time",
                both(_now), clock=True),
    _clock("today", 0, f"Midnight at the start of the query's day, {TZ_NOTE}."),
    _clock("yesterday", -1, "Midnight at the start of the day before the query's day."),
    _clock("tomorrow", 1, "Midnight at the start of the day after the query's day."),
    FunctionDef(("midnight",), (sig("-> timestamp"), sig("timestamp, str? -> timestamp")),
                "Midnight at the start of the timestamp's day (with no argument, of the "
                f"query's day), {TZ_NOTE}.", "time", both(_midnight_of)),
    FunctionDef(("period",), (sig("timestamp, duration -> timestamp"),),
                "Start of the period of that length holding the timestamp, periods aligned to "
                "1970-01-01 UTC: `period(eventdate, 15m)`; null for a length that is not "
                "positive.", "time", both(_period)),
    _calendar("hour", _part("hour"), f"Hour of the day, 0-23, {TZ_NOTE}. With no argument, a "
              "one-hour duration: `eventdate - hour()`.", HOUR_MS),
    _calendar("minute", _part("minute"), f"Minute of the hour, 0-59, {TZ_NOTE}. With no "
              "argument, a one-minute duration.", MINUTE_MS),
    _calendar("second", _part("second"), f"Second of the minute, 0-59, {TZ_NOTE}. With no "
              "argument, a one-second duration.", SECOND_MS),
    _calendar("millisecond", _millisecond, "Millisecond of the second, 0-999."),
    _calendar("day", _day_from_zero, f"Day of the month counted from 0 (0 = the 1st), "
              f"{TZ_NOTE}. With no argument, a one-day duration.", DAY_MS),
    _calendar("daynumber", _part("day"), f"Day of the month, 1-31, {TZ_NOTE}."),
    _calendar("dayofweek", _part("dayofweek"), f"Day of the week, 0-6, 0 = Sunday, {TZ_NOTE}."),
    _calendar("dayofyear", _part("dayofyear"), f"Day of the year, 1-366, {TZ_NOTE}."),
    _calendar("month", _month_from_zero, f"Month counted from 0 (0 = January), {TZ_NOTE}."),
    _calendar("monthnumber", _part("month"), f"Month, 1-12, {TZ_NOTE}."),
    _calendar("year", _part("year"), f"Year, {TZ_NOTE}."),
    _calendar("weekofyear", _part("weekofyear"), f"ISO week of the year, 1-53, {TZ_NOTE}."),
    _calendar("weekofmonth", _week_of_month, "Week of the month, 1-6: weeks run Monday to "
              f"Sunday and week 1 holds the 1st, {TZ_NOTE}."),
    _calendar("minuteofday", _minute_of_day, f"Minutes since midnight, 0-1439, {TZ_NOTE}."),
    _calendar("secondofday", _second_of_day, f"Seconds since midnight, 0-86399, {TZ_NOTE}."),
    _calendar("dayname", _part("dayname"), f"English name of the weekday, {TZ_NOTE}.",
              returns="str"),
    _calendar("monthname", _part("monthname"), f"English name of the month, {TZ_NOTE}.",
              returns="str"),
    _calendar("isleapyear", _is_leap_year, "True when the timestamp falls in a leap year.",
              returns="bool"),
    FunctionDef(("formatdate",), (sig("timestamp, str, str? -> str"),),
                "The timestamp as text with a constant Java-style pattern such as "
                "`yyyy-MM-dd HH:mm:ss.SSS` (`YYYY-MM-DD HH:mm` also reads as the calendar date; "
                "text in 'quotes' or [brackets] is kept as it is), "
                f"{TZ_NOTE}.", "time", both(_formatdate)),
    FunctionDef(("parsedate",), (sig("str, str, str? -> timestamp"),),
                "The timestamp written in the text with a constant Java-style pattern, read in "
                "UTC or in the time zone given; null when the text does not match (or the "
                "pattern is empty). A pattern without a year reads a date of 1970, as Java "
                "does.", "time",
                both(_parsedate)),
)  # fmt: skip
