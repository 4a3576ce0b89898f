"""inactivity: at the close of a period, one alert for each key that had events in the period
just before and none in this one; once per silence, re-armed when the key comes back."""

from __future__ import annotations

from typing import Any

import pytest

from linqd.alerts.firing import Finding
from linqd.alerts.kinds import Shape
from linqd.alerts.kinds.base import MAX_KEYS
from linqd.alerts.model import Trigger, TriggerKind

from .conftest import MINUTE, run, step

INACTIVITY = Trigger(TriggerKind.INACTIVITY, period=MINUTE)
T0 = 1_800_000_000_000
T1, T2, T3, T4 = (T0 + n * MINUTE for n in range(1, 5))
HOST = Shape(keys=("host",))


def seen(host: str, at: int) -> dict[str, Any]:
    return {"host": host, "lastSeen": at}


def silent(start: int, host: str, last_seen: int) -> Finding:
    return Finding(start, {"host": host, "lastSeen": last_seen}, ("inactivity", start, host))


# (case, shape, [(step start, rows)], findings per step)
CASES: list[tuple[str, Shape, list[tuple[int, list[dict[str, Any]]]], list[list[Finding]]]] = [
    ("nothing ever seen, nothing silent", HOST, [(T0, []), (T1, [])], [[], []]),
    ("the first period has no period before it", HOST, [(T0, [seen("a", T0 + 5)])], [[]]),
    (
        "a key seen, then not: one alert with when it was last seen",
        HOST,
        [(T0, [seen("a", T0 + 5), seen("b", T0 + 9)]), (T1, [seen("a", T1 + 1)])],
        [[], [silent(T1, "b", T0 + 9)]],
    ),
    (
        "an empty period after events: every key that went quiet",
        HOST,
        [(T0, [seen("a", T0 + 1), seen("b", T0 + 2)]), (T1, [])],
        [[], [silent(T1, "a", T0 + 1), silent(T1, "b", T0 + 2)]],
    ),
    (
        "once per silence, and again after the key came back (re-armed)",
        HOST,
        [
            (T0, [seen("a", T0 + 1)]),
            (T1, []),
            (T2, []),
            (T3, [seen("a", T3 + 4)]),
            (T4, []),
        ],
        [[], [silent(T1, "a", T0 + 1)], [], [], [silent(T4, "a", T3 + 4)]],
    ),
    (
        "a gap between periods forgets the keys: they say nothing of this one",
        HOST,
        [(T0, [seen("a", T0 + 1)]), (T2, [])],
        [[], []],
    ),
    (
        "a key's latest lastSeen of the period is the one reported",
        HOST,
        [(T0, [seen("a", T0 + 30), seen("a", T0 + 10)]), (T1, [])],
        [[], [silent(T1, "a", T0 + 30)]],
    ),
    (
        "without keys, the whole query is one key",
        Shape(),
        [(T0, [{"lastSeen": T0 + 3}]), (T1, [])],
        [[], [Finding(T1, {"lastSeen": T0 + 3}, ("inactivity", T1))]],
    ),
    (
        "several keys, in the trigger's order; values keep their JSON types",
        Shape(keys=("host", "port")),
        [
            (
                T0,
                [
                    {"host": "h", "port": 22, "lastSeen": T0},
                    {"host": "h", "port": 80, "lastSeen": T0},
                ],
            ),
            (T1, [{"host": "h", "port": 80, "lastSeen": T1}]),
        ],
        [[], [Finding(T1, {"host": "h", "port": 22, "lastSeen": T0}, ("inactivity", T1, "h", 22))]],
    ),
]


@pytest.mark.parametrize(
    ("shape", "steps", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_inactivity(
    shape: Shape, steps: list[tuple[int, list[dict[str, Any]]]], expected: list[list[Finding]]
) -> None:
    found, state = run(INACTIVITY, [step(start, *rows) for start, rows in steps], shape)
    assert found == expected
    assert state.capped == 0


def test_keys_beyond_the_limit_are_counted_and_not_remembered() -> None:
    kept = [seen(f"h{i}", T0) for i in range(MAX_KEYS)]
    beyond = [seen("late-1", T0), seen("late-2", T0)]
    # The second period sees every kept key again: only a remembered late key could go silent.
    found, state = run(INACTIVITY, [step(T0, *kept, *beyond), step(T1, *kept)], HOST)
    assert found == [[], []]
    assert state.capped == 2
