"""Triggered alerts in the metadata database: being written."""

from __future__ import annotations

from ..clock import Clock
from ..meta import MetaStore


class TriggeredAlertRepository:
    def __init__(self, meta: MetaStore, clock: Clock) -> None:
        self.meta = meta
        self.clock = clock
