"""several: per value of ``keys`` (one counter without keys), the events of each period; when
the period closes, an alert for every key whose count exceeds ``threshold``. Rows: the key
columns and ``count`` per key of the period."""

from __future__ import annotations

from ..firing import Finding
from ..model import Trigger
from .base import KindState, Shape, Step, capped, key_of


def evaluate(
    trigger: Trigger, state: KindState, step: Step, shape: Shape
) -> tuple[list[Finding], KindState]:
    threshold = trigger.threshold or 0
    found = []
    for row in step.rows:
        count = int(row["count"])
        if count > threshold:
            key = key_of(row, shape.keys)
            values = {**dict(zip(shape.keys, key, strict=True)), "count": count}
            found.append(Finding(step.start_ms, values, ("several", step.start_ms, *key)))
    return capped(found, state)
