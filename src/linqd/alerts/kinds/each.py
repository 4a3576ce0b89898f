"""each: one alert per result row (per event without grouping; per bucket and keys with
``group every``; per row of the period with a subquery)."""

from __future__ import annotations

from ..firing import Finding
from ..model import Trigger
from .base import KindState, Shape, Step, capped, row_findings


def evaluate(
    trigger: Trigger, state: KindState, step: Step, shape: Shape
) -> tuple[list[Finding], KindState]:
    return capped(row_findings(step.rows, shape, "each"), state)
