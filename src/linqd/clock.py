"""Time as a dependency: the server uses ``SystemClock``; tests use a ``SimulatedClock``
that they move by hand."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


@dataclass
class SimulatedClock:
    """A clock that moves only when told to; ``now`` is epoch milliseconds."""

    now: int = 1_700_000_000_000

    def now_ms(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms
