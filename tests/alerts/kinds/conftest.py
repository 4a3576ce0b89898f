"""For the evaluator tests: steps as the engine hands them over, and a runner that threads an
evaluator's state through several steps the way the engine stores it (as JSON)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from linqd.alerts.firing import Finding
from linqd.alerts.kinds import EVALUATORS, KindState, Shape, Step
from linqd.alerts.model import Trigger

MINUTE = 60_000
SEQ = "__seq"  # the hidden sequence number of an event row
NO_KEYS = Shape()


def step(start_ms: int, *rows: dict[str, Any], length_ms: int = MINUTE) -> Step:
    return Step(start_ms, start_ms + length_ms, list(rows))


def run(
    trigger: Trigger, steps: Sequence[Step], shape: Shape = NO_KEYS, state: KindState | None = None
) -> tuple[list[list[Finding]], KindState]:
    """Every step's findings, and the state after the last one. Between steps the memory goes
    through JSON, as the engine persists it, so an evaluator that kept something JSON cannot
    carry fails here."""
    evaluate = EVALUATORS[trigger.kind]
    state = state if state is not None else KindState()
    found: list[list[Finding]] = []
    for one in steps:
        findings, state = evaluate(trigger, state, one, shape)
        found.append(findings)
        state = KindState(json.loads(json.dumps(state.memory)), state.capped)
    return found, state
