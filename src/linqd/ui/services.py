"""What the console's pages work with: the same services the APIs use, passed in once."""

from __future__ import annotations

from dataclasses import dataclass

from ..alerts.service import AlertServices
from ..api.jobs import JobsAPI
from ..api.search import SearchAPI
from ..audit.service import Audit
from ..clock import Clock
from ..config import Settings
from ..domains import DomainStore
from ..jobs.runner import JobRunner
from ..store.base import EventStore


@dataclass(frozen=True)
class ConsoleServices:
    settings: Settings
    store: EventStore
    domains: DomainStore
    clock: Clock
    search: SearchAPI
    alerts: AlertServices
    runner: JobRunner | None
    jobs: JobsAPI | None
    audit: Audit | None = None
