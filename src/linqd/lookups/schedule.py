"""When a lookup built from a query runs and over which time range.

A schedule starts at ``startDate`` (default: the deployment's time) and has a slot every
``refreshPeriod``. A run at clock time ``now`` serves the latest slot ``T <= now``; missed
slots (a server that was down) collapse into that one run, and the next run is due at
``T + refreshPeriod``. A ``startDate`` in the future makes the lookup wait for it (it stays
"Creating" until then).

- static query: once, over everything stored up to now (``[0, now]``): the query's own
  ``where`` narrows it, as the guide's ``where now() - 1h < eventdate`` does;
- periodic query: each run covers ``[previous slot, T)`` (the first run
  ``[T - refreshPeriod, T)``), so no event is missed or read twice however runs are spaced;
  its rows are upserted by key (Devo's dynamic lookups overwrite by key);
- sliding window: each run covers ``[T - windowSize, T)`` and replaces the lookup's content:
  rows whose data left the window disappear.
"""

from __future__ import annotations

from dataclasses import dataclass

from .recipe import LookupKind, Recipe


@dataclass(frozen=True)
class Run:
    slot_ms: int  # the slot served (the query's now())
    from_ms: int
    to_ms: int  # exclusive


def first_due(recipe: Recipe, created_ms: int) -> int:
    if recipe.kind.scheduled and recipe.start_ms is not None:
        return recipe.start_ms
    return created_ms


def slot(recipe: Recipe, created_ms: int, now_ms: int) -> int:
    """The latest slot at or before ``now_ms``."""
    start = first_due(recipe, created_ms)
    period = recipe.refresh_ms
    if not recipe.kind.scheduled or period is None or now_ms < start:
        return now_ms
    return start + (now_ms - start) // period * period


def run_at(recipe: Recipe, created_ms: int, now_ms: int, previous_slot: int | None) -> Run:
    """The run due at ``now_ms`` (``previous_slot``: the slot the last run served)."""
    at = slot(recipe, created_ms, now_ms)
    if recipe.kind is LookupKind.SLIDING:
        assert recipe.window_ms is not None
        return Run(at, at - recipe.window_ms, at)
    if recipe.kind is LookupKind.PERIODIC:
        assert recipe.refresh_ms is not None
        begin = previous_slot if previous_slot is not None else at - recipe.refresh_ms
        return Run(at, begin, at)
    return Run(at, 0, now_ms + 1)


def next_due(recipe: Recipe, served_slot: int) -> int | None:
    if not recipe.kind.scheduled or recipe.refresh_ms is None:
        return None
    return served_slot + recipe.refresh_ms
