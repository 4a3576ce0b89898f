"""gradient: each row's value against the same key's value in the last earlier bucket that had
one; no alert for a key without a previous value. The memory (last value per key) crosses
steps as JSON."""

from __future__ import annotations

from typing import Any

import pytest

from linqd.alerts.firing import Finding
from linqd.alerts.kinds import Shape
from linqd.alerts.kinds.base import MAX_KEYS
from linqd.alerts.model import Trigger, TriggerKind

from .conftest import MINUTE, run, step

T0 = 1_800_000_000_000
T1, T2, T3 = (T0 + n * MINUTE for n in range(1, 4))
HOST_VALUE = Shape(keys=("host",), aggregate="value")


def gradient(threshold: int | None, absolute: bool | None = True) -> Trigger:
    return Trigger(
        TriggerKind.GRADIENT, threshold=threshold, absolute=absolute, aggregation_column=("value",)
    )


def row(host: str, value: object, bucket: int) -> dict[str, Any]:
    return {"eventdate": bucket, "host": host, "value": value}


def alert(host: str, value: object, previous: float, bucket: int) -> Finding:
    return Finding(
        bucket,
        {"previous": previous, "eventdate": bucket, "host": host, "value": value},
        ("gradient", bucket, host),
    )


# (case, trigger, [(step start, rows)], findings per step); one bucket per step unless told.
CASES: list[tuple[str, Trigger, list[tuple[int, list[dict[str, Any]]]], list[list[Finding]]]] = [
    ("no rows, no alerts", gradient(5), [(T0, []), (T1, [])], [[], []]),
    (
        "no previous value: no alert, however large the value",
        gradient(5),
        [(T0, [row("a", 1_000_000, T0)])],
        [[]],
    ),
    (
        "10 then 20: 10 away, more than 5",
        gradient(5),
        [(T0, [row("a", 10, T0)]), (T1, [row("a", 20, T1)])],
        [[], [alert("a", 20, 10.0, T1)]],
    ),
    (
        "10 then 15: 5 away is not more than 5",
        gradient(5),
        [(T0, [row("a", 10, T0)]), (T1, [row("a", 15, T1)])],
        [[], []],
    ),
    (
        "a drop counts as much as a rise: 20 then 10",
        gradient(5),
        [(T0, [row("a", 20, T0)]), (T1, [row("a", 10, T1)])],
        [[], [alert("a", 10, 20.0, T1)]],
    ),
    (
        "percent: 10 then 15 is 50 %, not more than 50 %",
        gradient(50, False),
        [(T0, [row("a", 10, T0)]), (T1, [row("a", 15, T1)])],
        [[], []],
    ),
    (
        "percent: 10 then 15 is 50 %, more than 40 %",
        gradient(40, None),
        [(T0, [row("a", 10, T0)]), (T1, [row("a", 15, T1)])],
        [[], [alert("a", 15, 10.0, T1)]],
    ),
    (
        "each key against its own previous value, never another key's",
        gradient(5),
        [(T0, [row("a", 10, T0), row("b", 100, T0)]), (T1, [row("a", 12, T1), row("b", 50, T1)])],
        [[], [alert("b", 50, 100.0, T1)]],
    ),
    (
        "a key absent from a bucket is compared with its last bucket that had it",
        gradient(5),
        [(T0, [row("a", 10, T0)]), (T1, [row("b", 1, T1)]), (T2, [row("a", 30, T2)])],
        [[], [], [alert("a", 30, 10.0, T2)]],
    ),
    (
        "the comparison moves on: 10, 20, 21 alerts once (20 vs 10), not for 21 vs 20",
        gradient(5),
        [(T0, [row("a", 10, T0)]), (T1, [row("a", 20, T1)]), (T2, [row("a", 21, T2)])],
        [[], [alert("a", 20, 10.0, T1)], []],
    ),
    (
        "buckets within one step are taken in time order, whatever the rows' order",
        gradient(5),
        [(T0, [row("a", 50, T1), row("a", 10, T0)])],
        [[alert("a", 50, 10.0, T1)]],
    ),
    (
        "values that are not numbers are skipped and do not replace the previous value",
        gradient(5),
        [
            (T0, [row("a", 10, T0)]),
            (T1, [row("a", "99", T1), row("a", None, T1), row("a", False, T1)]),
            (T2, [row("a", 30, T2)]),
        ],
        [[], [], [alert("a", 30, 10.0, T2)]],
    ),
]


@pytest.mark.parametrize(
    ("trigger", "steps", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_gradient(
    trigger: Trigger, steps: list[tuple[int, list[dict[str, Any]]]], expected: list[list[Finding]]
) -> None:
    found, state = run(trigger, [step(start, *rows) for start, rows in steps], HOST_VALUE)
    assert found == expected
    assert state.capped == 0


def test_keys_beyond_the_limit_are_counted_and_get_no_previous_value() -> None:
    kept = [row(f"h{i}", 1, T0) for i in range(MAX_KEYS)]
    found, state = run(
        gradient(5),
        [step(T0, *kept, row("late", 1, T0)), step(T1, row("late", 100, T1), row("h0", 100, T1))],
        HOST_VALUE,
    )
    assert found == [[], [alert("h0", 100, 1.0, T1)]]
    assert state.capped == 2  # "late" was not remembered in either step
