"""Anti-flooding as a pure function: Devo's default of five alerts per hour, the reminder after
the hour with the number held back, custom limits, and mode none."""

from __future__ import annotations

from linqd.alerts.delivery.antiflood import (
    HOUR_MS,
    AntiFlooding,
    Decision,
    FloodMode,
    FloodState,
    decide,
    due_reminder,
)

T0 = 1_800_000_000_000
MINUTE = 60_000
DEFAULT = AntiFlooding()


def run(
    times: list[int], policy: AntiFlooding = DEFAULT, state: FloodState | None = None
) -> tuple[list[Decision], FloodState]:
    state = state or FloodState()
    decisions = []
    for number, now in enumerate(times, start=1):
        decision, state = decide(state, now, policy, alert_id=number)
        decisions.append(decision)
    return decisions, state


def test_default_lets_five_through_per_hour_then_holds_back() -> None:
    decisions, state = run([T0 + i * MINUTE for i in range(8)])
    assert decisions == [Decision.DELIVER] * 5 + [Decision.SUPPRESS] * 3
    assert state.suppressed == 3
    assert state.last_suppressed_id == 8


def test_reminder_after_the_hour_counts_the_alerts_held_back() -> None:
    _, state = run([T0 + i * MINUTE for i in range(8)])
    # Not during the hour.
    reminder, same = due_reminder(state, T0 + HOUR_MS - 1)
    assert reminder is None and same == state
    reminder, state = due_reminder(state, T0 + HOUR_MS)
    assert reminder is not None
    assert reminder.suppressed == 3
    assert reminder.alert_id == 8
    assert (reminder.first_ms, reminder.last_ms) == (T0 + 5 * MINUTE, T0 + 7 * MINUTE)
    # Once only.
    again, state = due_reminder(state, T0 + 5 * HOUR_MS)
    assert again is None
    assert state.suppressed == 0


def test_no_reminder_when_nothing_was_held_back() -> None:
    _, state = run([T0 + i * MINUTE for i in range(5)])
    assert due_reminder(state, T0 + 10 * HOUR_MS)[0] is None


def test_a_new_hour_opens_with_the_next_alert() -> None:
    times = [T0 + i for i in range(6)] + [T0 + HOUR_MS + i for i in range(6)]
    decisions, state = run(times)
    assert decisions == ([Decision.DELIVER] * 5 + [Decision.SUPPRESS]) * 2
    # Both windows' held-back alerts go in the one reminder, due an hour after the first window.
    assert state.suppressed == 2
    assert state.reminder_due_ms == T0 + HOUR_MS


def test_the_window_opens_at_the_first_alert_not_on_the_clock_hour() -> None:
    start = T0 + 59 * MINUTE
    decisions, _ = run([start + i * MINUTE for i in range(6)])
    assert decisions == [Decision.DELIVER] * 5 + [Decision.SUPPRESS]


def test_custom_limits() -> None:
    custom = AntiFlooding(
        FloodMode.CUSTOM, max_alerts=2, period_ms=10 * MINUTE, reminder_after_ms=30 * MINUTE
    )
    decisions, state = run([T0, T0 + 1, T0 + 2, T0 + 10 * MINUTE, T0 + 10 * MINUTE + 1], custom)
    assert decisions == [
        Decision.DELIVER,
        Decision.DELIVER,
        Decision.SUPPRESS,
        Decision.DELIVER,
        Decision.DELIVER,
    ]
    assert due_reminder(state, T0 + 30 * MINUTE - 1)[0] is None
    reminder, _ = due_reminder(state, T0 + 30 * MINUTE)
    assert reminder is not None and reminder.suppressed == 1 and reminder.alert_id == 3


def test_default_mode_ignores_stored_numbers() -> None:
    odd = AntiFlooding(FloodMode.DEFAULT, max_alerts=1, period_ms=1_000, reminder_after_ms=1_000)
    decisions, _ = run([T0 + i for i in range(6)], odd)
    assert decisions == [Decision.DELIVER] * 5 + [Decision.SUPPRESS]


def test_mode_none_delivers_everything_and_keeps_no_counts() -> None:
    none = AntiFlooding(FloodMode.NONE)
    decisions, state = run([T0 + i for i in range(100)], none)
    assert decisions == [Decision.DELIVER] * 100
    assert state == FloodState()


def test_state_survives_its_json_form() -> None:
    _, state = run([T0 + i * MINUTE for i in range(7)])
    assert FloodState.from_json(state.to_json()) == state
