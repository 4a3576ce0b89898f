"""rolling: every ``period``, the query over the last ``backPeriod``; one alert per row. The
identity is the check's end and the row's keys, so the same row found by two checks is two
alerts (it is, by Devo's definition: each check reports what it sees)."""

from __future__ import annotations

from ..firing import Finding
from ..model import Trigger
from .base import EVENTDATE, KindState, Shape, Step, capped, fields, key_of


def evaluate(
    trigger: Trigger, state: KindState, step: Step, shape: Shape
) -> tuple[list[Finding], KindState]:
    found = []
    for index, row in enumerate(step.rows):
        # Without keys the row's position tells rows apart (the query's order is fixed).
        key = key_of(row, shape.keys) if shape.keys else (index,)
        values = fields(row)
        values.setdefault(EVENTDATE, step.end_ms)
        found.append(Finding(step.end_ms, values, ("rolling", step.end_ms, *key)))
    return capped(found, state)
