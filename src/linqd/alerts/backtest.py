"""Backtest: the firings a definition would have produced over the stored history, computed by
the same program and evaluators as live evaluation, stepping a simulated "now" from ``from``
to ``to`` instead of following the clock."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..errors import ValidationError
from ..store.base import EventStore
from .firing import Firing
from .kinds import EVALUATORS, KindState, Step
from .model import AlertDefinition
from .program import Program, StepKind, compile_program

MAX_STEPS = 200_000  # periods per backtest: a 1 s period over 2 days
MAX_FIRINGS = 10_000


def backtest(
    definition: AlertDefinition, store: EventStore, from_ms: int, to_ms: int
) -> list[Firing]:
    """Firings of ``[from_ms, to_ms)``, in the order live evaluation would raise them."""
    if to_ms <= from_ms:
        raise ValidationError("to: must be after from", field="to")
    schemas = store.schemas_for(definition.domain)
    program = compile_program(definition, schemas, now_ms=to_ms, engine=store.engine)
    if program.steps is StepKind.PERIODS:
        steps = (to_ms - program.first_end(from_ms)) // program.period_ms + 1
        if steps > MAX_STEPS:
            raise ValidationError(
                f"to: the range holds {steps} periods of {program.period_ms} ms; at most "
                f"{MAX_STEPS} per backtest",
                field="to",
            )
    return list(_firings(program, store, from_ms, to_ms))[:MAX_FIRINGS]


def _firings(program: Program, store: EventStore, from_ms: int, to_ms: int) -> list[Firing]:
    evaluate = EVALUATORS[program.kind]
    trigger = program.definition.spec.trigger
    state = KindState()
    found: list[Firing] = []
    if program.steps is StepKind.EVENTS:
        rows = program.rows(store, program.range_select(from_ms, to_ms))
        findings, _ = evaluate(trigger, state, Step(from_ms, to_ms, rows), program.shape)
        return [Firing(program.definition, f) for f in findings]
    end = program.first_end(from_ms)
    while end <= to_ms and len(found) < MAX_FIRINGS:
        step, select = program.period_select(end)
        step = replace(step, rows=program.rows(store, select))
        findings, state = evaluate(trigger, state, step, program.shape)
        found.extend(Firing(program.definition, f) for f in findings)
        end += program.period_ms
    return found


def firing_json(firing: Firing) -> dict[str, Any]:
    return {
        "eventdate": firing.finding.eventdate,
        "message": firing.message(),
        "description": firing.description(),
        "extraData": firing.extra_data(),
        "digest": firing.digest,
    }
