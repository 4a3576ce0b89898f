"""low: when a period closes, an alert if its count is at most ``threshold``. The engine closes
periods on the clock, so a period without events is a step with count 0 and fires too."""

from __future__ import annotations

from ..firing import Finding
from ..model import Trigger
from .base import KindState, Shape, Step


def evaluate(
    trigger: Trigger, state: KindState, step: Step, shape: Shape
) -> tuple[list[Finding], KindState]:
    count = sum(int(row["count"]) for row in step.rows)
    if count > (trigger.threshold or 0):
        return [], state
    return [Finding(step.start_ms, {"count": count}, ("low", step.start_ms))], state
