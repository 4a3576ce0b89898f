"""deviation: in each bucket, the median of the aggregation column over the bucket's rows; an
alert for each row further from it than the threshold (absolute units, or percent of |median|).

Every expected median below is worked out by hand in the case's name."""

from __future__ import annotations

from typing import Any

import pytest

from linqd.alerts.firing import Finding
from linqd.alerts.kinds import Shape
from linqd.alerts.model import Trigger, TriggerKind

from .conftest import MINUTE, run, step

T0 = 1_800_000_000_000
B1 = T0 + MINUTE
HOST_VALUE = Shape(keys=("host",), aggregate="value")


def deviation(threshold: int | None, absolute: bool | None) -> Trigger:
    return Trigger(
        TriggerKind.DEVIATION, threshold=threshold, absolute=absolute, aggregation_column=("value",)
    )


def row(host: str, value: object, bucket: int = T0) -> dict[str, Any]:
    return {"eventdate": bucket, "host": host, "value": value}


def alert(host: str, value: object, median: float, bucket: int = T0) -> Finding:
    return Finding(
        bucket,
        {"median": median, "eventdate": bucket, "host": host, "value": value},
        ("deviation", bucket, host),
    )


# (case, threshold, absolute, rows, findings)
CASES: list[tuple[str, int | None, bool | None, list[dict[str, Any]], list[Finding]]] = [
    ("no rows, no alerts", 5, True, [], []),
    (
        "odd count: median of 10, 12, 30 is 12; only 30 is more than 5 away",
        5,
        True,
        [row("a", 10), row("b", 12), row("c", 30)],
        [alert("c", 30, 12.0)],
    ),
    (
        "even count: median of 10, 20, 30, 100 is (20 + 30) / 2 = 25; 100 is 75 away",
        70,
        True,
        [row("a", 10), row("b", 20), row("c", 30), row("d", 100)],
        [alert("d", 100, 25.0)],
    ),
    (
        "even count at the boundary: 75 away is not more than 75",
        75,
        True,
        [row("a", 10), row("b", 20), row("c", 30), row("d", 100)],
        [],
    ),
    (
        "a single row is its own median: never an alert",
        0,
        True,
        [row("a", 1_000)],
        [],
    ),
    (
        "percent: median 100; 150 is 50 away, not more than 50 % of 100",
        50,
        False,
        [row("a", 100), row("b", 100), row("c", 150)],
        [],
    ),
    (
        "percent: median 100; 150 is 50 away, more than 49 % of 100",
        49,
        False,
        [row("a", 100), row("b", 100), row("c", 150)],
        [alert("c", 150, 100.0)],
    ),
    (
        "percent is the default: median 100, threshold 49 without `absolute`",
        49,
        None,
        [row("a", 100), row("b", 100), row("c", 150)],
        [alert("c", 150, 100.0)],
    ),
    (
        "percent of a negative median is of its magnitude: median -100; -40 is 60 away",
        50,
        False,
        [row("a", -100), row("b", -100), row("c", -40)],
        [alert("c", -40, -100.0)],
    ),
    (
        "a median of 0 in percent: any difference is more than 0 %",
        10,
        False,
        [row("a", 0), row("b", 0), row("c", 1)],
        [alert("c", 1, 0.0)],
    ),
    (
        "values that are not numbers (text, booleans, null) take no part: median of 4, 6 is 5",
        0,
        True,
        [row("a", 4), row("b", "12"), row("c", True), row("d", None), row("e", 6)],
        [alert("a", 4, 5.0), alert("e", 6, 5.0)],
    ),
    (
        "each bucket has its own median: 1, 1, 9 -> 1 (9 is 8 away); 9, 9, 9 -> 9",
        5,
        True,
        [row("a", 9, B1), row("a", 1), row("b", 1), row("c", 9), row("b", 9, B1), row("c", 9, B1)],
        [alert("c", 9, 1.0)],
    ),
    (
        "buckets come in time order, whatever the rows' order",
        0,
        True,
        [row("a", 1, B1), row("b", 2, B1), row("a", 1), row("b", 3)],
        [alert("a", 1, 2.0), alert("b", 3, 2.0), alert("a", 1, 1.5, B1), alert("b", 2, 1.5, B1)],
    ),
]


@pytest.mark.parametrize(
    ("threshold", "absolute", "rows", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_deviation(
    threshold: int | None,
    absolute: bool | None,
    rows: list[dict[str, Any]],
    expected: list[Finding],
) -> None:
    (found,), state = run(deviation(threshold, absolute), [step(T0, *rows)], HOST_VALUE)
    assert found == expected
    assert state.capped == 0


def test_a_row_without_eventdate_belongs_to_the_step_start() -> None:
    rows = [{"host": "a", "value": 1}, {"host": "b", "value": 1}, {"host": "c", "value": 7}]
    (found,), _ = run(deviation(5, True), [step(T0, *rows)], HOST_VALUE)
    assert found == [Finding(T0, {"median": 1.0, "host": "c", "value": 7}, ("deviation", T0, "c"))]
