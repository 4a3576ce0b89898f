"""The alert parts a server runs, bundled so the API and the server share one instance of each
(the engine listens to the definitions repository for changes)."""

from __future__ import annotations

from dataclasses import dataclass

from ..clock import Clock
from ..meta import MetaStore
from .engine import AlertEngine
from .repo import AlertRepository
from .triggered import TriggeredAlertRepository


@dataclass
class AlertServices:
    definitions: AlertRepository
    triggered: TriggeredAlertRepository
    engine: AlertEngine | None = None

    @staticmethod
    def over(meta: MetaStore, clock: Clock) -> AlertServices:
        return AlertServices(AlertRepository(meta, clock), TriggeredAlertRepository(meta, clock))
