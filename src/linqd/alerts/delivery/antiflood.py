"""Anti-flooding (see docs/devo-compatibility.md): how many alerts of one definition a sending
policy lets through per period, and the reminder that reports the ones it held back.

Pure: the state goes in and comes out, time is a parameter; the dispatcher persists the state.

Where Devo says only "5 Alerts, during 1h and if repeated a reminder after 1h", linqd decides:

- The unit of counting is (sending policy, alert definition): one noisy rule does not silence
  the others, and each policy applies its own limits.
- Windows are fixed and open with the first alert that arrives when no window is open; they
  are not aligned to the clock, so a burst always gets its ``max_alerts`` deliveries.
- An alert over the limit is not delivered (its status becomes ANTI FLOOD, 700). The first one
  held back schedules one reminder at ``window start + reminder_after_ms`` (validation keeps
  that at or after the window's end). Alerts held back in later windows before the reminder
  goes are added to the same reminder, so there is never more than one pending.
- Mode ``none`` delivers everything but still lets an already scheduled reminder go.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum, StrEnum
from typing import Any

HOUR_MS = 3_600_000


class FloodMode(StrEnum):
    NONE = "none"
    DEFAULT = "default"
    CUSTOM = "custom"


@dataclass(frozen=True)
class AntiFlooding:
    """A policy's anti-flooding settings; ``DEFAULT`` always means Devo's 5 per hour."""

    mode: FloodMode = FloodMode.DEFAULT
    max_alerts: int = 5
    period_ms: int = HOUR_MS
    reminder_after_ms: int = HOUR_MS

    def effective(self) -> AntiFlooding:
        return AntiFlooding() if self.mode is FloodMode.DEFAULT else self

    def to_json(self) -> dict[str, Any]:
        shown = self.effective()
        return {
            "mode": self.mode.value,
            "maxAlerts": shown.max_alerts,
            "periodMs": shown.period_ms,
            "reminderAfterMs": shown.reminder_after_ms,
        }


class Decision(Enum):
    DELIVER = "deliver"
    SUPPRESS = "suppress"


@dataclass(frozen=True)
class FloodState:
    """One (policy, definition)'s counters. ``suppressed`` counts the alerts held back since the
    last reminder, across windows."""

    window_start_ms: int | None = None
    delivered: int = 0  # in the current window
    suppressed: int = 0
    first_suppressed_ms: int | None = None
    last_suppressed_ms: int | None = None
    last_suppressed_id: int = 0
    reminder_due_ms: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "windowStartMs": self.window_start_ms,
            "delivered": self.delivered,
            "suppressed": self.suppressed,
            "firstSuppressedMs": self.first_suppressed_ms,
            "lastSuppressedMs": self.last_suppressed_ms,
            "lastSuppressedId": self.last_suppressed_id,
            "reminderDueMs": self.reminder_due_ms,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> FloodState:
        return FloodState(
            window_start_ms=data.get("windowStartMs"),
            delivered=int(data.get("delivered", 0)),
            suppressed=int(data.get("suppressed", 0)),
            first_suppressed_ms=data.get("firstSuppressedMs"),
            last_suppressed_ms=data.get("lastSuppressedMs"),
            last_suppressed_id=int(data.get("lastSuppressedId", 0)),
            reminder_due_ms=data.get("reminderDueMs"),
        )


@dataclass(frozen=True)
class Reminder:
    """What a reminder reports: ``suppressed`` alerts held back between ``first_ms`` and
    ``last_ms``; ``alert_id`` is the last of them (the reminder is delivered as that alert)."""

    suppressed: int
    alert_id: int
    first_ms: int
    last_ms: int


def decide(
    state: FloodState, now_ms: int, policy: AntiFlooding, alert_id: int = 0
) -> tuple[Decision, FloodState]:
    """Deliver or hold back one alert arriving at ``now_ms``; ``alert_id`` is remembered so the
    reminder can be delivered as the last alert held back."""
    settings = policy.effective()
    if settings.mode is FloodMode.NONE:
        return Decision.DELIVER, state
    start = state.window_start_ms
    if start is None or now_ms >= start + settings.period_ms or now_ms < start:
        state = replace(state, window_start_ms=now_ms, delivered=0)
    if state.delivered < settings.max_alerts:
        return Decision.DELIVER, replace(state, delivered=state.delivered + 1)
    window_start = state.window_start_ms if state.window_start_ms is not None else now_ms
    due = state.reminder_due_ms
    if due is None:
        due = window_start + max(settings.reminder_after_ms, settings.period_ms)
    return Decision.SUPPRESS, replace(
        state,
        suppressed=state.suppressed + 1,
        first_suppressed_ms=(
            state.first_suppressed_ms if state.first_suppressed_ms is not None else now_ms
        ),
        last_suppressed_ms=now_ms,
        last_suppressed_id=alert_id,
        reminder_due_ms=due,
    )


def due_reminder(state: FloodState, now_ms: int) -> tuple[Reminder | None, FloodState]:
    """The reminder to deliver now, if one is due, and the state without it."""
    due = state.reminder_due_ms
    if state.suppressed == 0 or due is None or now_ms < due:
        return None, state
    reminder = Reminder(
        suppressed=state.suppressed,
        alert_id=state.last_suppressed_id,
        first_ms=state.first_suppressed_ms if state.first_suppressed_ms is not None else due,
        last_ms=state.last_suppressed_ms if state.last_suppressed_ms is not None else due,
    )
    return reminder, replace(
        state,
        suppressed=0,
        first_suppressed_ms=None,
        last_suppressed_ms=None,
        last_suppressed_id=0,
        reminder_due_ms=None,
    )
