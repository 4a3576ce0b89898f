"""The ASGI application: every HTTP API of linqd on one port.

``create_app`` takes all its dependencies (settings, stores, clock) so tests build it in-process
around temporary data and a simulated clock.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..alerts.service import AlertServices
from ..audit.activity import ActivityLog
from ..audit.service import Audit
from ..clock import Clock
from ..config import Settings
from ..domains import DomainStore
from ..ingest.pipeline import IngestPipeline
from ..jobs.runner import JobRunner
from ..lookups.service import LookupService
from ..sinks import destination_rules
from ..sinks.email import SmtpSettings
from ..store.base import EventStore
from ..ui.console import console_routes
from ..ui.services import ConsoleServices
from .alerts import AlertDefinitionsAPI
from .delco import DelcoAPI
from .errors import RequestIds, exception_handlers
from .gate import Gate
from .headers import SecurityHeaders
from .ingest import IngestAPI
from .jobs import JobsAPI
from .lookups import LookupsAPI
from .openapi import openapi_document
from .search import SearchAPI
from .triggered import TriggeredAlertsAPI, triggered_routes


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(
    settings: Settings,
    store: EventStore,
    domains: DomainStore,
    clock: Clock,
    pipeline: IngestPipeline | None = None,
    runner: JobRunner | None = None,
    alerts: AlertServices | None = None,
    smtp: SmtpSettings | None = None,
    lookups: LookupService | None = None,
    audit: Audit | None = None,
) -> Starlette:
    gate = Gate(
        domains,
        clock,
        window_ms=settings.auth_window_ms,
        jwt_max_ttl_s=settings.jwt_max_ttl_s,
        max_body_bytes=settings.max_body_bytes,
        connections=audit.connections if audit is not None else None,
    )
    rules = destination_rules(settings)
    jobs = JobsAPI(runner.repo, runner, domains, clock, gate, rules) if runner is not None else None
    search = SearchAPI(settings, store, domains, clock, gate, jobs)
    routes: list[BaseRoute] = [
        Route("/health", health, methods=["GET"]),
        Route("/search/query", search.query, methods=["POST"]),
        # devo-sdk posts to "/" when its address ends in a slash.
        Route("/", search.query, methods=["POST"]),
        Route("/search/table/{table:path}", search.table, methods=["GET"]),
    ]
    if jobs is not None:
        routes += [
            Route("/search/job/stop/{id}", jobs.stop, methods=["GET"]),
            Route("/search/job/start/{id}", jobs.start, methods=["GET"]),
            Route("/search/job/remove/{id}", jobs.remove, methods=["GET", "DELETE"]),
            Route("/search/job/{id}", jobs.get, methods=["GET"]),
            Route("/search/jobs", jobs.list, methods=["GET"]),
            Route("/search/jobs/{type}", jobs.list, methods=["GET"]),
            Route("/search/jobs/{type}/{name}", jobs.list, methods=["GET"]),
        ]
    if runner is not None:
        # Lookup jobs run on the runner: the service registers their kind on it if the
        # caller (the server, before resuming jobs) has not built it already.
        lookups = lookups or LookupService(store, domains.meta, runner, clock)
        routes += LookupsAPI(lookups, gate, clock).routes()
    if pipeline is not None:
        ingest = IngestAPI(pipeline, domains, clock, gate, admin_domain=settings.default_domain)
        target = "{domain}/{token}/{host}/{tag}"
        routes += [
            Route(f"/event/{target}", ingest.event, methods=["GET", "POST", "PUT"]),
            Route(f"/stream/{target}", ingest.stream, methods=["POST"]),
            Route("/metrics", ingest.metrics, methods=["GET"]),
        ]
    document = openapi_document()

    async def openapi(request: Request) -> Response:
        # A description of the API, the same for everyone: served without credentials.
        return JSONResponse(document)

    routes.append(Route("/alerts/v1/openapi.json", openapi, methods=["GET"]))
    alerts = alerts or AlertServices.over(domains.meta, clock)
    definitions_api = AlertDefinitionsAPI(
        settings, alerts.definitions, store, domains, clock, engine=alerts.engine, gate=gate
    )
    routes += definitions_api.routes()
    routes += triggered_routes(TriggeredAlertsAPI(alerts.triggered, domains, clock, gate))
    routes += DelcoAPI(domains, clock, smtp, outbound=rules.outbound, gate=gate).routes()
    services = ConsoleServices(
        settings, store, domains, clock, search, alerts, runner, jobs, audit=audit
    )
    routes += console_routes(services)

    return api_app(routes, clock, audit)


def api_app(routes: Sequence[BaseRoute], clock: Clock, audit: Audit | None = None) -> Starlette:
    """``routes`` behind linqd's one error boundary, request ids, the activity log (with
    ``audit``: every request, whatever its route) and response headers."""
    middleware = [Middleware(RequestIds)]
    if audit is not None:
        middleware.append(Middleware(ActivityLog, audit=audit))
    middleware.append(Middleware(SecurityHeaders))
    return Starlette(
        routes=list(routes), exception_handlers=exception_handlers(clock), middleware=middleware
    )
