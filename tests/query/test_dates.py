"""The from/to date language (spec/query-api.md §3, DESIGN "Time" 2 and 5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linqd.errors import ValidationError
from linqd.query.dates import TimeRange, parse_date, parse_timezone, resolve_range

DAY = 86_400_000
HOUR = 3_600_000


def ms(text: str, tz: tzinfo = UTC) -> int:
    """Epoch milliseconds of a wall-clock ``YYYY-MM-DD[ HH:MM[:SS]]`` in ``tz``."""
    moment = datetime.fromisoformat(text).replace(tzinfo=tz)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


# The reference "now" of Devo's dynamic-date table (spec §3.3) and of the platform page (§3.5).
DEVO_NOW = ms("2018-10-08 14:33:12")
PLATFORM_NOW = ms("2025-02-05 13:37:05")  # a Wednesday


def madrid() -> tzinfo:
    # The zone database is a dependency (tzdata), so this zone is always there.
    return ZoneInfo("Europe/Madrid")


# --- spec §3.3 worked examples ------------------------------------------------------------------


def test_today_as_from_is_midnight() -> None:
    assert parse_date("today", now_ms=DEVO_NOW) == ms("2018-10-08")


def test_relative_from_and_to() -> None:
    assert resolve_range("5d", "2d", now_ms=DEVO_NOW) == TimeRange(
        ms("2018-10-03 14:33:12"), ms("2018-10-05 14:33:12")
    )


def test_relative_to_counts_from_a_numeric_from() -> None:
    assert resolve_range(1536150131, "2d", now_ms=DEVO_NOW) == TimeRange(
        1536150131000, 1536150131000 + 2 * DAY
    )


# --- spec §3.5 platform examples ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now() - 60m", ms("2025-02-05 12:37:05")),
        ("now() @ 1h", ms("2025-02-05 13:00")),
        ("(now() - 1d) @ 1d", ms("2025-02-04")),
        ("now() |< 1m", ms("2025-02-05 13:37")),
        ("now() @ 1w", ms("2025-02-03")),  # ISO week: Monday
        ("now() @ 1M", ms("2025-02-01")),
        ("now() @ 1y", ms("2025-01-01")),
        ("now() ^ 6d", ms("2025-02-06 13:37:05")),
        ("now() ^ 3M", ms("2025-03-05 13:37:05")),
        ("now() ^ 0h", ms("2025-02-05 00:37:05")),
        ("now() << 11M", ms("2024-03-05 13:37:05")),
        ("now() >> 1y", ms("2026-02-05 13:37:05")),
        ("now() - 1h @ 1d", ms("2025-02-05")),  # left to right: (now() - 1h) @ 1d
    ],
)
def test_platform_operators(text: str, expected: int) -> None:
    assert parse_date(text, now_ms=PLATFORM_NOW) == expected


def test_calendar_month_shift_clamps_to_the_last_day() -> None:
    assert parse_date("now() << 1M", now_ms=ms("2025-03-31 08:00")) == ms("2025-02-28 08:00")


# --- expressions (spec §3.4) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now()", PLATFORM_NOW),
        ("now()-1h", PLATFORM_NOW - HOUR),
        ("now() + 15m", PLATFORM_NOW + 15 * 60_000),
        ("now()-7*day()", PLATFORM_NOW - 7 * DAY),
        ("today()", ms("2025-02-05")),
        ("today()-2*day()", ms("2025-02-03")),
        ("today()-6*month()", ms("2025-02-05") - 180 * DAY),  # month() is a fixed 30 days
        ("yesterday()", ms("2025-02-04")),
        ("tomorrow()", ms("2025-02-06")),
        ("now() - 1h30m", PLATFORM_NOW - 90 * 60_000),
        ("now() - 500ms", PLATFORM_NOW - 500),
        ("now() - (1h + 2*30m)", PLATFORM_NOW - 2 * HOUR),
        ("now() - day() * 2", PLATFORM_NOW - 2 * DAY),
        ("now() - 1w", PLATFORM_NOW - 7 * DAY),
        ("second() + now()", PLATFORM_NOW + 1000),
    ],
)
def test_expressions(text: str, expected: int) -> None:
    assert parse_date(text, now_ms=PLATFORM_NOW) == expected


@pytest.mark.parametrize(
    "text",
    [
        "now() - 3600",  # a bare number has no unit
        "now() + now()",
        "now - 1h",
        "now(",
        "now() @ 2h",
        "now() @ 1h30m",
        "1d @ 1d",
        "now() ^ 31M",
        "now() ^ 30d - 1h @ 1x",
        "eval()",
        "__import__('os')",
        "now() -",
        "((((((((((((((((((now()))))))))))))))))))",
        "1D",
        "(5)",
        "now() - 99999999999999999999y",
    ],
)
def test_bad_expressions_are_406(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_date(text, now_ms=PLATFORM_NOW)
    assert info.value.devo_code == 406
    assert info.value.message == "Date from not valid format"


# --- relative words (spec §3.2) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", DEVO_NOW),
        ("NOW", DEVO_NOW),
        ("endday", ms("2018-10-08 23:59:59")),
        ("endmonth", ms("2018-10-31 23:59:59")),
        ("1h", DEVO_NOW - HOUR),
        ("3m", DEVO_NOW - 180_000),
        ("10s", DEVO_NOW - 10_000),
        ("1w", DEVO_NOW - 7 * DAY),
        ("2ad", ms("2018-10-06")),
        ("0ad", ms("2018-10-08")),
        ("2ah", ms("2018-10-07 22:00")),
        ("30am", ms("2018-10-07 23:30")),
        ("5as", ms("2018-10-07 23:59:55")),
    ],
)
def test_words_as_from(text: str, expected: int) -> None:
    assert parse_date(text, now_ms=DEVO_NOW) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", DEVO_NOW),
        ("today", ms("2018-10-08")),  # the current day, not the day of `from`
        ("endday", ms("2018-10-02")),  # exclusive end of the `from` day
        ("endmonth", ms("2018-11-01")),  # exclusive end of the `from` month
        ("2d", ms("2018-10-03 06:00")),
        ("1ad", ms("2018-10-02")),
        ("6ah", ms("2018-10-01 06:00")),
        ("1M", ms("2018-11-01 06:00")),
    ],
)
def test_words_as_to_count_from_from(text: str, expected: int) -> None:
    base = ms("2018-10-01 06:00")
    assert parse_date(text, now_ms=DEVO_NOW, base_ms=base, field="to") == expected


def test_endday_from_to_covers_the_day() -> None:
    assert resolve_range("today", "endday", now_ms=DEVO_NOW) == TimeRange(
        ms("2018-10-08"), ms("2018-10-09")
    )


# --- numbers, fixed dates, the whole-second rule ------------------------------------------------


def test_from_seconds() -> None:
    assert parse_date(1795392000, now_ms=DEVO_NOW) == 1795392000_000
    assert parse_date("1795392000", now_ms=DEVO_NOW) == 1795392000_000
    assert parse_date(1795392000.25, now_ms=DEVO_NOW) == 1795392000_250
    assert parse_date("1795392000.5", now_ms=DEVO_NOW) == 1795392000_500


def test_to_in_whole_seconds_covers_that_second() -> None:
    assert resolve_range(1795392000, 1795432145, now_ms=DEVO_NOW) == TimeRange(
        1795392000_000, 1795432146_000
    )
    assert parse_date("1795432145", now_ms=DEVO_NOW, field="to") == 1795432146_000
    assert parse_date(1795432145.0, now_ms=DEVO_NOW, field="to") == 1795432146_000
    # Sub-second and non-numeric forms are exact instants.
    assert parse_date(1795432145.5, now_ms=DEVO_NOW, field="to") == 1795432145_500
    assert parse_date("now", now_ms=DEVO_NOW, field="to") == DEVO_NOW


def test_equal_seconds_is_one_second_and_earlier_to_is_408() -> None:
    assert resolve_range(100, 100, now_ms=DEVO_NOW) == TimeRange(100_000, 101_000)
    with pytest.raises(ValidationError) as info:
        resolve_range(101, 100, now_ms=DEVO_NOW)
    assert info.value.devo_code == 408


def test_fixed_date_strings() -> None:
    assert parse_date("2024-01-02", now_ms=DEVO_NOW) == ms("2024-01-02")
    assert parse_date("2024-01-02 03:04:05", now_ms=DEVO_NOW) == ms("2024-01-02 03:04:05")
    assert parse_date("2024-01-02 03:04:05.123", now_ms=DEVO_NOW) == ms("2024-01-02 03:04:05") + 123


@pytest.mark.parametrize(
    "value", ["2024-01-02T03:04:05Z", "2024-01-02T03:04:05", "2024-02-30", "2024-01-02 24:00:00"]
)
def test_iso_and_impossible_dates_are_406(value: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_date(value, now_ms=DEVO_NOW)
    assert info.value.devo_code == 406
    assert info.value.field == "from"
    assert info.value.message == "Date from not valid format"


def test_406_message_names_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        resolve_range("1h", "2024-01-02T03:04:05Z", now_ms=DEVO_NOW)
    assert (info.value.devo_code, info.value.field) == (406, "to")
    assert info.value.message == "Date to not valid format"


@pytest.mark.parametrize("value", [True, False, [1], {"a": 1}, float("nan"), float("inf"), 10**20])
def test_non_dates_are_406(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        parse_date(value, now_ms=DEVO_NOW)
    assert info.value.devo_code == 406


# --- missing, continuous, ordering ----------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_from_is_405(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        resolve_range(value, None, now_ms=DEVO_NOW)
    assert (info.value.devo_code, info.value.field) == (405, "from")


@pytest.mark.parametrize("value", [None, "", -1, "-1"])
def test_continuous(value: object) -> None:
    assert resolve_range("1h", value, now_ms=DEVO_NOW) == TimeRange(DEVO_NOW - HOUR, None)


def test_from_later_than_to_is_408() -> None:
    with pytest.raises(ValidationError) as info:
        resolve_range("now", "today", now_ms=DEVO_NOW)
    assert info.value.devo_code == 408
    assert info.value.field == "from"


def test_empty_range_is_allowed() -> None:
    assert resolve_range("now", "now", now_ms=DEVO_NOW) == TimeRange(DEVO_NOW, DEVO_NOW)
    assert resolve_range("now", "0d", now_ms=DEVO_NOW) == TimeRange(DEVO_NOW, DEVO_NOW)


def test_future_to_is_allowed() -> None:
    assert resolve_range("now", "1d", now_ms=DEVO_NOW) == TimeRange(DEVO_NOW, DEVO_NOW + DAY)


# --- time zones ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "offset"),
    [
        (None, timedelta(0)),
        ("", timedelta(0)),
        ("UTC", timedelta(0)),
        ("GMT", timedelta(0)),
        ("GMT+2", timedelta(hours=2)),
        ("GMT-05:30", -timedelta(hours=5, minutes=30)),
        ("UTC+1", timedelta(hours=1)),
        ("+02:00", timedelta(hours=2)),
    ],
)
def test_parse_timezone_offsets(name: str | None, offset: timedelta) -> None:
    assert parse_timezone(name).utcoffset(datetime(2025, 1, 1)) == offset


def test_parse_timezone_iana() -> None:
    zone = madrid()
    assert parse_timezone("Europe/Madrid") == zone


@pytest.mark.parametrize("name", ["Mars/Olympus", "GMT+25", "GMT+2:75", "../etc/passwd", "Europe"])
def test_bad_timezone(name: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_timezone(name)
    assert info.value.field == "timeZone"
    with pytest.raises(ValidationError):
        resolve_range("1h", None, now_ms=DEVO_NOW, tz=name)


def test_gmt_plus_2_moves_today() -> None:
    # 23:30 UTC on 8 Oct is already 9 Oct in GMT+2.
    now = ms("2018-10-08 23:30")
    gmt2 = timezone(timedelta(hours=2))
    assert resolve_range("today", None, now_ms=now, tz="GMT+2").from_ms == ms("2018-10-09", gmt2)
    assert resolve_range("today", None, now_ms=now).from_ms == ms("2018-10-08")


def test_timezone_moves_midnight_anchors_only() -> None:
    gmt2 = timezone(timedelta(hours=2))
    assert parse_date("2ad", now_ms=DEVO_NOW, tz=gmt2) == ms("2018-10-06", gmt2)
    assert parse_date("endday", now_ms=DEVO_NOW, tz=gmt2) == ms("2018-10-08 23:59:59", gmt2)
    assert parse_date("2024-01-02", now_ms=DEVO_NOW, tz=gmt2) == ms("2024-01-02", gmt2)
    assert parse_date("today() - 1d", now_ms=DEVO_NOW, tz=gmt2) == ms("2018-10-07", gmt2)
    # Neither now nor fixed durations nor epoch seconds move.
    for text in ("now", "5d", "now() - 1h", 1536150131):
        assert parse_date(text, now_ms=DEVO_NOW, tz=gmt2) == parse_date(text, now_ms=DEVO_NOW)


def test_anchored_days_land_on_midnight_across_dst() -> None:
    zone = madrid()
    # Madrid moved to summer time on 2025-03-30; 2ad from 31 Mar is midnight of 29 Mar (CET).
    now = ms("2025-03-31 12:00", zone)
    assert parse_date("2ad", now_ms=now, tz=zone) == ms("2025-03-29", zone)
    assert parse_date("now() @ 1d", now_ms=now, tz=zone) == ms("2025-03-31", zone)


# --- robustness ---------------------------------------------------------------------------------


@given(st.text(max_size=60))
def test_random_text_only_raises_validation_error(text: str) -> None:
    try:
        result = parse_date(text, now_ms=PLATFORM_NOW)
    except ValidationError as exc:
        assert exc.devo_code in {405, 406}
    else:
        assert isinstance(result, int)


# Pieces of the expression grammar, so random joins reach deep into the parser.
PIECES = (
    *("now()", "today()", "day()", "month()", "1h", "1d", "1M", "31d", "0s", "99999y", "2"),
    *("*", "-", "+", "@", "|<", "^", "<<", ">>", "(", ")", " "),
)


@given(
    st.lists(st.sampled_from(PIECES), max_size=12).map("".join),
    st.sampled_from(["from", "to"]),
)
def test_random_expressions_only_raise_validation_error(text: str, field: str) -> None:
    try:
        parse_date(text, now_ms=PLATFORM_NOW, base_ms=PLATFORM_NOW, field=field)
    except ValidationError as exc:
        assert exc.devo_code in {405, 406}
