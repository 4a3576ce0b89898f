"""What every evaluator shares: its input (a ``Step``), its bounded memory (``KindState``) and
the shape of the rows the definition's query gives.

An evaluator is a pure function ``(trigger, state, step, shape) -> (findings, state)``: no
clock, no I/O. The engine decides when a step happens (a period closing, new events stored),
runs the query for it and hands the rows over; backtests hand over the same steps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..firing import Finding
from ..model import Trigger

EVENTDATE = "eventdate"
SEQ = "__seq"  # the store's sequence number of an event row (hidden from the alert's fields)
MAX_KEYS = 100_000  # values remembered per definition (inactivity, gradient)
MAX_FINDINGS = 10_000  # alerts per definition and step; the rest are counted, not raised

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Step:
    """One evaluation: the rows of ``[start_ms, end_ms)`` (a closed period, or the time span of
    newly stored events)."""

    start_ms: int
    end_ms: int
    rows: Sequence[Row]


@dataclass(frozen=True)
class Shape:
    """What the rows hold: ``keys`` identify a row within its step (grouping keys, or the
    trigger's keys); ``aggregate`` is the deviation/gradient column."""

    keys: tuple[str, ...] = ()
    aggregate: str | None = None


@dataclass(frozen=True)
class KindState:
    """An evaluator's memory between steps (JSON-friendly), and how often a cap was hit."""

    memory: Mapping[str, Any] = field(default_factory=dict)
    capped: int = 0


class Evaluate(Protocol):
    def __call__(
        self, trigger: Trigger, state: KindState, step: Step, shape: Shape
    ) -> tuple[list[Finding], KindState]: ...


def key_of(row: Row, keys: Sequence[str]) -> tuple[Any, ...]:
    return tuple(row.get(k) for k in keys)


def fields(row: Row) -> dict[str, Any]:
    """A row's values as an alert shows them (without the hidden sequence number)."""
    return {k: v for k, v in row.items() if k != SEQ}


def capped(findings: list[Finding], state: KindState) -> tuple[list[Finding], KindState]:
    """At most ``MAX_FINDINGS`` per step; the overflow is counted in the state."""
    if len(findings) <= MAX_FINDINGS:
        return findings, state
    extra = len(findings) - MAX_FINDINGS
    return findings[:MAX_FINDINGS], KindState(state.memory, state.capped + extra)


def row_findings(rows: Sequence[Row], shape: Shape, tag: str) -> list[Finding]:
    """One finding per row: event rows are identified by their sequence number, grouped rows by
    their bucket (eventdate) and key values."""
    found = []
    for row in rows:
        if SEQ in row:
            identity: tuple[Any, ...] = (tag, "event", row[SEQ])
        else:
            identity = (tag, row.get(EVENTDATE), *key_of(row, shape.keys))
        found.append(Finding(int(row.get(EVENTDATE) or 0), fields(row), identity))
    return found


def relative_exceeds(value: float, reference: float, threshold: float, absolute: bool) -> bool:
    """``|value - reference|`` beyond the threshold: absolute units, or percent of the reference."""
    difference = abs(value - reference)
    if absolute:
        return difference > threshold
    return difference > threshold / 100 * abs(reference)


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
