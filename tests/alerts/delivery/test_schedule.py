"""Sending schedules as a pure function: days, hours, the wrap past midnight and time zones."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from linqd.alerts.delivery.schedule import Schedule, parse_clock, within

WEEKDAYS = frozenset(range(5))
UTC = ZoneInfo("UTC")


def at(text: str, zone: str = "UTC") -> int:
    """Epoch ms of a local time; 2027-01-04 is a Monday."""
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp() * 1000)


def office(days: frozenset[int] = WEEKDAYS, tz: str = "UTC") -> Schedule:
    return Schedule(days, parse_clock("09:00"), parse_clock("17:30"), tz)


def test_no_schedule_is_always() -> None:
    assert within(None, at("2027-01-09 03:00"))


def test_hours_from_inclusive_to_exclusive() -> None:
    schedule = office()
    assert not within(schedule, at("2027-01-04 08:59"))
    assert within(schedule, at("2027-01-04 09:00"))
    assert within(schedule, at("2027-01-04 17:29"))
    assert not within(schedule, at("2027-01-04 17:30"))


def test_days_of_week() -> None:
    schedule = office()
    assert within(schedule, at("2027-01-08 12:00"))  # Friday
    assert not within(schedule, at("2027-01-09 12:00"))  # Saturday
    assert not within(schedule, at("2027-01-10 12:00"))  # Sunday
    weekend = office(frozenset({5, 6}))
    assert within(weekend, at("2027-01-10 12:00"))


def test_same_from_and_to_is_the_whole_day() -> None:
    schedule = Schedule(frozenset({0}), 0, 0)
    assert within(schedule, at("2027-01-04 00:00"))
    assert within(schedule, at("2027-01-04 23:59"))
    assert not within(schedule, at("2027-01-05 00:00"))


def test_to_before_from_wraps_past_midnight() -> None:
    nights = Schedule(frozenset({4}), parse_clock("22:00"), parse_clock("06:00"))  # Friday night
    assert not within(nights, at("2027-01-08 21:59"))
    assert within(nights, at("2027-01-08 22:00"))
    assert within(nights, at("2027-01-09 05:59"))  # Saturday morning belongs to Friday night
    assert not within(nights, at("2027-01-09 06:00"))
    assert not within(nights, at("2027-01-09 23:00"))  # Saturday night is not listed
    assert not within(nights, at("2027-01-08 03:00"))  # Friday early morning: Thursday's night


def test_hours_are_in_the_schedule_time_zone() -> None:
    madrid = office(tz="Europe/Madrid")
    # 08:30 UTC is 09:30 in Madrid in winter (UTC+1) ...
    assert within(madrid, at("2027-01-04 08:30"))
    assert not within(office(), at("2027-01-04 08:30"))
    # ... and 10:30 in summer (UTC+2); 15:45 UTC is 17:45 there, after hours.
    assert within(madrid, at("2027-07-05 07:30"))
    assert not within(madrid, at("2027-07-05 15:45"))
    # The day is the local day: Monday 00:30 in Tokyo is still Sunday in UTC.
    tokyo = Schedule(frozenset({0}), 0, parse_clock("01:00"), "Asia/Tokyo")
    assert within(tokyo, at("2027-01-04 00:30", "Asia/Tokyo"))
    assert not within(tokyo, at("2027-01-04 00:30"))


def test_fixed_offsets() -> None:
    schedule = office(tz="GMT+2")
    assert within(schedule, at("2027-01-04 07:00"))
    assert not within(schedule, at("2027-01-04 16:00"))


def test_json_round_trip() -> None:
    schedule = Schedule(frozenset({0, 2, 4}), parse_clock("22:15"), parse_clock("06:05"), "UTC")
    assert schedule.to_json() == {
        "days": ["mon", "wed", "fri"],
        "from": "22:15",
        "to": "06:05",
        "timezone": "UTC",
    }
    assert Schedule.from_json(schedule.to_json()) == schedule
