"""several: at the close of a period, one alert per key whose count is over the threshold."""

from __future__ import annotations

from typing import Any

import pytest

from linqd.alerts.firing import Finding
from linqd.alerts.kinds import Shape
from linqd.alerts.kinds.base import MAX_FINDINGS
from linqd.alerts.model import Trigger, TriggerKind

from .conftest import MINUTE, run, step

T0 = 1_800_000_000_000


def several(threshold: int | None) -> Trigger:
    return Trigger(TriggerKind.SEVERAL, period=MINUTE, threshold=threshold)


CASES: list[tuple[str, int | None, tuple[str, ...], list[dict[str, Any]], list[Finding]]] = [
    ("no rows, no alerts", 5, ("user",), [], []),
    ("a count equal to the threshold does not fire", 5, ("user",), [{"user": "a", "count": 5}], []),
    (
        "one over the threshold fires, dated at the period's start",
        5,
        ("user",),
        [{"user": "a", "count": 6}],
        [Finding(T0, {"user": "a", "count": 6}, ("several", T0, "a"))],
    ),
    (
        "each key on its own: only the keys over the threshold",
        2,
        ("user",),
        [{"user": "a", "count": 3}, {"user": "b", "count": 2}, {"user": "c", "count": 9}],
        [
            Finding(T0, {"user": "a", "count": 3}, ("several", T0, "a")),
            Finding(T0, {"user": "c", "count": 9}, ("several", T0, "c")),
        ],
    ),
    (
        "several keys, in the trigger's order; other columns are not the alert's",
        0,
        ("user", "host"),
        [{"host": "h1", "user": "a", "count": 1, "lastSeen": T0 + 7}],
        [Finding(T0, {"user": "a", "host": "h1", "count": 1}, ("several", T0, "a", "h1"))],
    ),
    (
        "no keys: one counter for the period",
        10,
        (),
        [{"count": 11}],
        [Finding(T0, {"count": 11}, ("several", T0))],
    ),
    ("no threshold counts as 0: a count of 0 does not fire", None, (), [{"count": 0}], []),
    (
        "no threshold counts as 0: a count of 1 fires",
        None,
        (),
        [{"count": 1}],
        [Finding(T0, {"count": 1}, ("several", T0))],
    ),
]


@pytest.mark.parametrize(
    ("threshold", "keys", "rows", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_several(
    threshold: int | None,
    keys: tuple[str, ...],
    rows: list[dict[str, Any]],
    expected: list[Finding],
) -> None:
    (found,), state = run(several(threshold), [step(T0, *rows)], Shape(keys=keys))
    assert found == expected
    assert state.capped == 0


def test_the_same_key_in_the_next_period_is_another_alert() -> None:
    rows = {"user": "a", "count": 4}
    found, _ = run(several(3), [step(T0, rows), step(T0 + MINUTE, rows)], Shape(keys=("user",)))
    assert [f.identity for f in found[0] + found[1]] == [
        ("several", T0, "a"),
        ("several", T0 + MINUTE, "a"),
    ]


def test_more_keys_over_the_threshold_than_the_cap_are_counted() -> None:
    rows = [{"user": f"u{i}", "count": 2} for i in range(MAX_FINDINGS + 1)]
    (found,), state = run(several(1), [step(T0, *rows)], Shape(keys=("user",)))
    assert len(found) == 10_000
    assert state.capped == 1
