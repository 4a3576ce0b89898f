"""low: at the close of a period, one alert when its count is at most the threshold; a period
without events is a count of 0."""

from __future__ import annotations

from typing import Any

import pytest

from linqd.alerts.firing import Finding
from linqd.alerts.model import Trigger, TriggerKind

from .conftest import MINUTE, run, step

T0 = 1_800_000_000_000


def low(threshold: int | None) -> Trigger:
    return Trigger(TriggerKind.LOW, period=MINUTE, threshold=threshold)


CASES: list[tuple[str, int | None, list[dict[str, Any]], list[Finding]]] = [
    (
        "a period without events fires with count 0",
        0,
        [],
        [Finding(T0, {"count": 0}, ("low", T0))],
    ),
    (
        "a count equal to the threshold fires",
        3,
        [{"count": 3}],
        [Finding(T0, {"count": 3}, ("low", T0))],
    ),
    ("one over the threshold does not fire", 3, [{"count": 4}], []),
    (
        "the rows' counts are added up: 1 + 2 = 3 is not over 3",
        3,
        [{"count": 1}, {"count": 2}],
        [Finding(T0, {"count": 3}, ("low", T0))],
    ),
    ("the rows' counts are added up: 2 + 2 = 4 is over 3", 3, [{"count": 2}, {"count": 2}], []),
    (
        "no threshold counts as 0: no events fires",
        None,
        [],
        [Finding(T0, {"count": 0}, ("low", T0))],
    ),
    ("no threshold counts as 0: one event does not fire", None, [{"count": 1}], []),
]


@pytest.mark.parametrize(
    ("threshold", "rows", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_low(threshold: int | None, rows: list[dict[str, Any]], expected: list[Finding]) -> None:
    (found,), state = run(low(threshold), [step(T0, *rows)])
    assert found == expected
    assert state.capped == 0


def test_each_quiet_period_is_its_own_alert() -> None:
    found, _ = run(low(0), [step(T0), step(T0 + MINUTE, {"count": 5}), step(T0 + 2 * MINUTE)])
    assert found == [
        [Finding(T0, {"count": 0}, ("low", T0))],
        [],
        [Finding(T0 + 2 * MINUTE, {"count": 0}, ("low", T0 + 2 * MINUTE))],
    ]
