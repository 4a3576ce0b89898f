"""Sending schedules (see docs/devo-compatibility.md): the days of the week and the hours in which
a policy delivers, in the schedule's own time zone. Pure: time is a parameter.

Where Devo is silent, linqd decides:

- ``from`` is inclusive and ``to`` exclusive, both ``HH:MM`` local time; ``from == to`` is the
  whole day.
- ``to < from`` wraps past midnight, and the night belongs to the day it starts: Friday
  22:00-06:00 covers Friday 22:00 to Saturday 06:00, whatever the days list says of Saturday.
- Local time follows the zone's daylight-saving rules (an IANA name, or a fixed offset).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...query.dates import parse_timezone

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Schedule:
    days: frozenset[int]  # 0 = Monday, as datetime.weekday()
    start_minute: int  # minutes after local midnight
    end_minute: int
    timezone: str = "UTC"

    def to_json(self) -> dict[str, Any]:
        return {
            "days": [DAYS[day] for day in sorted(self.days)],
            "from": _clock_text(self.start_minute),
            "to": _clock_text(self.end_minute),
            "timezone": self.timezone,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Schedule:
        """Read back what ``to_json`` wrote (stored policies; already validated)."""
        return Schedule(
            days=frozenset(DAYS.index(day) for day in data["days"]),
            start_minute=parse_clock(data["from"]),
            end_minute=parse_clock(data["to"]),
            timezone=data["timezone"],
        )


def parse_clock(text: str) -> int:
    """``HH:MM`` → minutes after midnight; ``ValueError`` if it is not a time of day."""
    hours, sep, minutes = text.partition(":")
    if sep != ":" or len(hours) != 2 or len(minutes) != 2:
        raise ValueError(text)
    if not (hours.isascii() and hours.isdigit() and minutes.isascii() and minutes.isdigit()):
        raise ValueError(text)
    value = int(hours) * 60 + int(minutes)
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError(text)
    return value


def _clock_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def within(schedule: Schedule | None, now_ms: int) -> bool:
    """Whether a policy with this schedule delivers at ``now_ms`` (no schedule: always)."""
    if schedule is None:
        return True
    local = datetime.fromtimestamp(now_ms / 1000, tz=parse_timezone(schedule.timezone))
    day = local.weekday()
    minute = local.hour * 60 + local.minute
    start, end = schedule.start_minute, schedule.end_minute
    if start == end:
        return day in schedule.days
    if start < end:
        return day in schedule.days and start <= minute < end
    evening = day in schedule.days and minute >= start
    night_after = (day - 1) % 7 in schedule.days and minute < end
    return evening or night_after
