"""rolling: every period, the query over the last backPeriod; one alert per row, identified by
the check's end and the row's keys (or its position when there are none)."""

from __future__ import annotations

from typing import Any

import pytest

from linqd.alerts.firing import Finding
from linqd.alerts.kinds import Shape
from linqd.alerts.model import Trigger, TriggerKind

from .conftest import MINUTE, SEQ, run, step

ROLLING = Trigger(TriggerKind.ROLLING, period=MINUTE, back_period=5 * MINUTE)
T0 = 1_800_000_000_000
END = T0 + MINUTE  # the check's end: the step's end

CASES: list[tuple[str, Shape, list[dict[str, Any]], list[Finding]]] = [
    ("no rows, no alerts", Shape(), [], []),
    (
        "without keys: dated at the check's end, told apart by position",
        Shape(),
        [{"user": "a", "count": 3}, {"user": "a", "count": 3}],
        [
            Finding(END, {"user": "a", "count": 3, "eventdate": END}, ("rolling", END, 0)),
            Finding(END, {"user": "a", "count": 3, "eventdate": END}, ("rolling", END, 1)),
        ],
    ),
    (
        "a row's own eventdate stays in its fields; the alert is still the check's",
        Shape(),
        [{"eventdate": T0 - 4 * MINUTE, "n": 1}],
        [Finding(END, {"eventdate": T0 - 4 * MINUTE, "n": 1}, ("rolling", END, 0))],
    ),
    (
        "with keys: identified by the key values",
        Shape(keys=("host",)),
        [{"host": "h2", "count": 7}, {"host": "h1", "count": 1}],
        [
            Finding(END, {"host": "h2", "count": 7, "eventdate": END}, ("rolling", END, "h2")),
            Finding(END, {"host": "h1", "count": 1, "eventdate": END}, ("rolling", END, "h1")),
        ],
    ),
    (
        "an event row's sequence number is not one of the alert's fields",
        Shape(),
        [{"eventdate": T0, "user": "a", SEQ: 9}],
        [Finding(END, {"eventdate": T0, "user": "a"}, ("rolling", END, 0))],
    ),
]


@pytest.mark.parametrize(
    ("shape", "rows", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rolling(shape: Shape, rows: list[dict[str, Any]], expected: list[Finding]) -> None:
    (found,), state = run(ROLLING, [step(T0, *rows)], shape)
    assert found == expected
    assert state.capped == 0


def test_the_same_row_seen_by_two_checks_is_two_alerts() -> None:
    row = {"host": "h1", "count": 2}
    found, _ = run(ROLLING, [step(T0, row), step(T0 + MINUTE, row)], Shape(keys=("host",)))
    assert [f.identity for f in found[0] + found[1]] == [
        ("rolling", END, "h1"),
        ("rolling", END + MINUTE, "h1"),
    ]
