"""inactivity: at the close of each period, an alert for every value of ``keys`` that had events
in the previous period and none in this one: once per silence, since a silent value is not in
"the previous period" of the next close; it re-arms when the value reappears. Rows: the key
columns and ``lastSeen`` (ms) per key of the period. Memory: the previous period's keys."""

from __future__ import annotations

import json
from typing import Any

from ..firing import Finding
from ..model import Trigger
from .base import MAX_KEYS, KindState, Shape, Step, capped, key_of


def _encode(key: tuple[Any, ...]) -> str:
    return json.dumps(key, default=str)


def evaluate(
    trigger: Trigger, state: KindState, step: Step, shape: Shape
) -> tuple[list[Finding], KindState]:
    previous: dict[str, int] = dict(state.memory.get("seen", {}))
    # Keys of a period that is not the one just before this one tell nothing about this one.
    if state.memory.get("end") != step.start_ms:
        previous = {}
    current: dict[str, int] = {}
    dropped = 0
    for row in step.rows:
        key = _encode(key_of(row, shape.keys))
        if len(current) >= MAX_KEYS and key not in current:
            dropped += 1
            continue
        current[key] = max(int(row["lastSeen"]), current.get(key, 0))
    found = []
    for key, last_seen in previous.items():
        if key not in current:
            values = dict(zip(shape.keys, json.loads(key), strict=True))
            values["lastSeen"] = last_seen
            found.append(
                Finding(step.start_ms, values, ("inactivity", step.start_ms, *json.loads(key)))
            )
    memory = {"seen": current, "end": step.end_ms}
    return capped(found, KindState(memory, state.capped + dropped))
