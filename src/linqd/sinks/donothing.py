"""The ``donothing`` destination: Devo's "only used for tests" type.

The job runs its query and the rows are dropped. Any params are accepted (devo-sdk's job test
sends just ``friendlyName``). The sink still counts what it was given, so a test can see that
the runner delivered every row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .base import DEFAULT_RULES, DestinationRules, RowFormat, Sink, SinkBatch, SinkSpec

if TYPE_CHECKING:
    from . import SinkContext


@dataclass(frozen=True)
class DoNothingParams:
    friendly_name: str | None = None


def validate(params: Mapping[str, Any], rules: DestinationRules = DEFAULT_RULES) -> DoNothingParams:
    """Accept anything: Devo documents no rule for this type, and nothing here is used to
    reach anything (the request body's size bounds the params)."""
    name = params.get("friendlyName")
    return DoNothingParams(friendly_name=name if isinstance(name, str) else None)


class DoNothingSink(Sink):
    def __init__(self, params: DoNothingParams | None = None) -> None:
        self.params = params or DoNothingParams()
        # JSON because it is the cheaper rendering; the rows are never looked at.
        self.spec = SinkSpec(row_format=RowFormat.JSON)
        self.batches = 0
        self.rows = 0

    def send(self, batch: SinkBatch) -> None:
        self.batches += 1
        self.rows += len(batch.lines)

    def __repr__(self) -> str:
        return f"DoNothingSink(batches={self.batches}, rows={self.rows})"


def create(params: DoNothingParams, *, job_id: str, context: SinkContext) -> DoNothingSink:
    return DoNothingSink(params)
