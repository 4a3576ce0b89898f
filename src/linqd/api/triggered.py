"""The triggered-alerts API (``/alerts/v1/alerts/...``): being written."""

from __future__ import annotations

from starlette.routing import Route

from ..alerts.triggered import TriggeredAlertRepository
from ..clock import Clock
from ..domains import DomainStore


class TriggeredAlertsAPI:
    def __init__(self, repo: TriggeredAlertRepository, domains: DomainStore, clock: Clock) -> None:
        self.repo = repo
        self.domains = domains
        self.clock = clock


def triggered_routes(api: TriggeredAlertsAPI) -> list[Route]:
    return []
