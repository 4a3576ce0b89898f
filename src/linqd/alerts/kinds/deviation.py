"""deviation: in each closed bucket, the median m of ``aggregationColumn`` over every key row
of the bucket (the row itself included; the mean of the two middle values for an even count);
an alert for each row whose value v has |v - m| > threshold (absolute) or > threshold% of |m|."""

from __future__ import annotations

from statistics import median

from ..firing import Finding
from ..model import Trigger
from .base import (
    EVENTDATE,
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
    buckets: dict[int, list[tuple[float, dict[str, object]]]] = {}
    for row in step.rows:
        value = number(row.get(column))
        if value is not None:
            bucket = int(row.get(EVENTDATE) or step.start_ms)
            buckets.setdefault(bucket, []).append((value, dict(row)))
    found = []
    threshold = float(trigger.threshold or 0)
    for bucket, entries in sorted(buckets.items()):
        middle = median(v for v, _ in entries)
        for value, row in entries:
            if relative_exceeds(value, middle, threshold, bool(trigger.absolute)):
                identity = ("deviation", bucket, *key_of(row, shape.keys))
                found.append(Finding(bucket, {"median": middle, **fields(row)}, identity))
    return capped(found, state)
