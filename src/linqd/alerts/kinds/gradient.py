"""gradient: as deviation, but each row's value v is compared with the same key's value in the
previous bucket that had data for that key; no alert for a key seen for the first time.
Memory: the last value per key (at most ``MAX_KEYS``)."""

from __future__ import annotations

import json

from ..firing import Finding
from ..model import Trigger
from .base import (
    EVENTDATE,
    MAX_KEYS,
    KindState,
    Shape,
    Step,
    capped,
    fields,
    key_of,
    number,
    relative_exceeds,
)


def evaluate(
    trigger: Trigger, state: KindState, step: Step, shape: Shape
) -> tuple[list[Finding], KindState]:
    column = shape.aggregate or ""
    last: dict[str, float] = dict(state.memory.get("last", {}))
    threshold = float(trigger.threshold or 0)
    dropped = 0
    found = []
    rows = sorted(step.rows, key=lambda r: int(r.get(EVENTDATE) or step.start_ms))
    for row in rows:
        value = number(row.get(column))
        if value is None:
            continue
        key = key_of(row, shape.keys)
        encoded = json.dumps(key, default=str)
        previous = last.get(encoded)
        bucket = int(row.get(EVENTDATE) or step.start_ms)
        if previous is not None and relative_exceeds(
            value, previous, threshold, bool(trigger.absolute)
        ):
            values = {"previous": previous, **fields(row)}
            found.append(Finding(bucket, values, ("gradient", bucket, *key)))
        if encoded in last or len(last) < MAX_KEYS:
            last[encoded] = value
        else:
            dropped += 1
    return capped(found, KindState({"last": last}, state.capped + dropped))
