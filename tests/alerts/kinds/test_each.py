"""each: one alert per result row; event rows are told apart by their sequence number, grouped
rows by their bucket and keys."""

from __future__ import annotations

from typing import Any

import pytest

from linqd.alerts.firing import Finding
from linqd.alerts.kinds import KindState, Shape
from linqd.alerts.kinds.base import MAX_FINDINGS
from linqd.alerts.model import Trigger, TriggerKind

from .conftest import SEQ, run, step

EACH = Trigger(TriggerKind.EACH)
T0 = 1_800_000_000_000

CASES: list[tuple[str, Shape, list[dict[str, Any]], list[Finding]]] = [
    ("no rows, no alerts", Shape(), [], []),
    (
        "an event row: identity by sequence number, which the alert's fields do not show",
        Shape(),
        [{"eventdate": T0 + 5, "user": "alice", SEQ: 41}],
        [Finding(T0 + 5, {"eventdate": T0 + 5, "user": "alice"}, ("each", "event", 41))],
    ),
    (
        "two events with equal fields are two alerts",
        Shape(),
        [{"eventdate": T0, "user": "bob", SEQ: 1}, {"eventdate": T0, "user": "bob", SEQ: 2}],
        [
            Finding(T0, {"eventdate": T0, "user": "bob"}, ("each", "event", 1)),
            Finding(T0, {"eventdate": T0, "user": "bob"}, ("each", "event", 2)),
        ],
    ),
    (
        "grouped rows: identity by bucket and key values, in the keys' order",
        Shape(keys=("host", "user")),
        [
            {"eventdate": T0, "user": "u1", "host": "h1", "count": 3},
            {"eventdate": T0, "user": "u2", "host": "h1", "count": 1},
        ],
        [
            Finding(
                T0,
                {"eventdate": T0, "user": "u1", "host": "h1", "count": 3},
                ("each", T0, "h1", "u1"),
            ),
            Finding(
                T0,
                {"eventdate": T0, "user": "u2", "host": "h1", "count": 1},
                ("each", T0, "h1", "u2"),
            ),
        ],
    ),
    (
        "a key the row lacks counts as null",
        Shape(keys=("host",)),
        [{"eventdate": T0, "count": 2}],
        [Finding(T0, {"eventdate": T0, "count": 2}, ("each", T0, None))],
    ),
    (
        "a row without eventdate is dated 0",
        Shape(),
        [{"n": 1}],
        [Finding(0, {"n": 1}, ("each", None))],
    ),
]


@pytest.mark.parametrize(
    ("shape", "rows", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each(shape: Shape, rows: list[dict[str, Any]], expected: list[Finding]) -> None:
    (found,), state = run(EACH, [step(T0, *rows)], shape)
    assert found == expected
    assert state == KindState()


def test_more_rows_than_the_cap_are_counted_not_raised() -> None:
    rows = [{"eventdate": T0, SEQ: i} for i in range(MAX_FINDINGS + 3)]
    (found,), state = run(EACH, [step(T0, *rows)])
    assert len(found) == 10_000
    assert found[-1].identity == ("each", "event", 9_999)
    assert state.capped == 3
