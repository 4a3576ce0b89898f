"""Devo's Alerts API for alert definitions (Devo's Alerts API page):
``/alerts/v1/alertDefinitions`` and its ``/batch`` and ``/status`` forms, authenticated by
``standAloneToken`` (or a Bearer token).

Decisions where the seed is silent:
- GET without ``size`` returns every definition (``page`` alone is page 0 of one page); the
  list is in creation order.
- The batch endpoints answer 200 with one wrapper per input element, in order; an element that
  fails carries its own ``status`` 400 (or 403) and the error body as its ``entity``, and the
  others are still created or updated. At most ``MAX_BATCH`` elements per request.
- ``PUT /status`` answers ``{"correlationId": cid, "updated": {"<id>": true|false}}``; false for
  an id that is not one of the domain's definitions. ``DELETE`` answers the same shape with
  ``deleted``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..alerts.backtest import backtest, firing_json
from ..alerts.engine import AlertEngine
from ..alerts.model import AlertDefinition, DefinitionInput
from ..alerts.repo import AlertRepository, Page
from ..alerts.validate import check_query, read_definition, read_update, update_id
from ..clock import Clock
from ..config import Settings
from ..domains import DomainStore
from ..errors import LinqdError, ValidationError
from ..linq.analyzer import SchemaLookup
from ..store.base import EventStore
from .auth import Principal
from .body import json_body, read_body
from .errors import alerts_error_body, request_cid
from .gate import Gate

BASE = "/alerts/v1/alertDefinitions"
ENGINE_STATUS = "/alerts/v1/engineStatus"
MAX_MS = 253_402_300_799_999  # 9999-12-31
MAX_BATCH = 1_000
MAX_IDS = 1_000
MAX_PAGE_SIZE = 10_000
ENTITY_CLASS = "com.devo.config.api.model.AlertDefinition"
ERROR_CLASS = "com.devo.config.api.model.ErrorResponse"
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}

Handler = Callable[[Request, Principal, str], Awaitable[Response]]
Work = Callable[[object, Principal], AlertDefinition]


def _flag(value: str | None, name: str, default: bool | None = None) -> bool:
    if value is None and default is not None:
        return default
    if value is None or value.lower() not in ("true", "false"):
        raise ValidationError(f"{name}: must be true or false", field=name)
    return value.lower() == "true"


def _number(value: str | None, name: str, high: int) -> int | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or int(value) > high:
        raise ValidationError(f"{name}: must be an integer from 0 to {high}", field=name)
    return int(value)


def _required_ms(value: str | None, name: str) -> int:
    found = _number(value, name, MAX_MS)
    if found is None:
        raise ValidationError(f"{name}: is required (epoch ms)", field=name)
    return found


def _ids(request: Request) -> list[str]:
    ids = [i.strip() for raw in request.query_params.getlist("alertIds") for i in raw.split(",")]
    ids = [i for i in ids if i]
    if not ids:
        raise ValidationError("alertIds: at least one alert definition id is required", "alertIds")
    if len(ids) > MAX_IDS:
        raise ValidationError(f"alertIds: at most {MAX_IDS} ids per request", "alertIds")
    return list(dict.fromkeys(ids))


def _response_fields() -> dict[str, Any]:
    """The fields both levels of Devo's serialised JAX-RS response carry, all empty."""
    return {
        "mediaType": None,
        "stringHeaders": {},
        "allowedMethods": [],
        "entityTag": None,
        "links": [],
        "date": None,
        "lastModified": None,
        "length": -1,
        "location": None,
        "language": None,
        "headers": {},
    }


def batch_item(status: int, entity: Mapping[str, Any]) -> dict[str, Any]:
    """One element of a batch answer: Devo's serialised JAX-RS response (Devo's Alerts API page)."""
    entity_class = ENTITY_CLASS if status == 200 else ERROR_CLASS
    context = {
        **_response_fields(),
        "configuration": None,
        "entity": entity,
        "entityType": entity_class,
        "entityAnnotations": [],
        "entityStream": {"committed": False, "closed": False},
        "lengthLong": -1,
        "responseCookies": {},
        "committed": False,
        "requestCookies": {},
        "acceptableMediaTypes": [
            {
                "type": "*",
                "subtype": "*",
                "parameters": {},
                "quality": 1000,
                "wildcardType": True,
                "wildcardSubtype": True,
            }
        ],
        "acceptableLanguages": ["*"],
        "entityClass": entity_class,
    }
    return {
        **_response_fields(),
        "context": context,
        "status": status,
        "entity": entity,
        "cookies": {},
        "statusInfo": _REASONS.get(status, "Error"),
        "metadata": {},
    }


class AlertDefinitionsAPI:
    def __init__(
        self,
        settings: Settings,
        repo: AlertRepository,
        store: EventStore,
        domains: DomainStore,
        clock: Clock,
        *,
        engine: AlertEngine | None = None,
        gate: Gate | None = None,
    ) -> None:
        self.settings = settings
        self.repo = repo
        self.store = store
        self.domains = domains
        self.clock = clock
        self.engine = engine
        self.gate = gate or Gate(domains, clock)

    def routes(self) -> list[Route]:
        return [
            Route(BASE, self._wrap(self.list_definitions), methods=["GET"]),
            Route(BASE, self._wrap(self.create), methods=["POST"]),
            Route(BASE, self._wrap(self.update), methods=["PUT"]),
            Route(BASE, self._wrap(self.delete), methods=["DELETE"]),
            Route(f"{BASE}/batch", self._wrap(self.create_batch), methods=["POST"]),
            Route(f"{BASE}/batch", self._wrap(self.update_batch), methods=["PUT"]),
            Route(f"{BASE}/status", self._wrap(self.status), methods=["PUT"]),
            Route(f"{BASE}/backtest", self._wrap(self.backtest), methods=["POST"]),
            Route(ENGINE_STATUS, self._wrap(self.engine_status), methods=["GET"]),
        ]

    def _wrap(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            principal = await self.gate.stand_alone(request)
            return await handler(request, principal, request_cid(request))

        return endpoint

    def _schemas(self, principal: Principal) -> SchemaLookup:
        """The tables the caller may name: its domain's, within its scope."""
        return principal.scoped(self.store.schemas_for(principal.domain))

    async def _json(self, request: Request) -> object:
        return json_body(await read_body(request, self.settings.max_body_bytes))

    # -- handlers ---------------------------------------------------------------------------------

    async def list_definitions(self, request: Request, principal: Principal, cid: str) -> Response:
        params = request.query_params
        page = _number(params.get("page"), "page", 1_000_000) or 0
        size = _number(params.get("size"), "size", MAX_PAGE_SIZE)
        if size == 0:
            raise ValidationError("size: must be at least 1", field="size")
        id_filter = params.get("idFilter")
        if id_filter is not None and not (id_filter.isascii() and id_filter.isdigit()):
            raise ValidationError("idFilter: must be an alert definition id", field="idFilter")
        name_filter = params.get("nameFilter")
        if name_filter is not None and len(name_filter) > 256:
            raise ValidationError("nameFilter: at most 256 characters", field="nameFilter")
        found = await anyio.to_thread.run_sync(
            lambda: self.repo.listing(
                principal.domain,
                name_filter=name_filter,
                id_filter=id_filter,
                page=Page(page, size),
            )
        )
        return JSONResponse([d.to_json() for d in found])

    async def create(self, request: Request, principal: Principal, cid: str) -> Response:
        return await self._one(request, principal, self._create_one)

    async def create_batch(self, request: Request, principal: Principal, cid: str) -> Response:
        return await self._many(request, principal, cid, self._create_one)

    async def update(self, request: Request, principal: Principal, cid: str) -> Response:
        return await self._one(request, principal, self._update_one)

    async def update_batch(self, request: Request, principal: Principal, cid: str) -> Response:
        return await self._many(request, principal, cid, self._update_one)

    async def _one(self, request: Request, principal: Principal, work: Work) -> Response:
        body = await self._json(request)
        done = await anyio.to_thread.run_sync(lambda: work(body, principal))
        return JSONResponse(done.to_json())

    async def _many(self, request: Request, principal: Principal, cid: str, work: Work) -> Response:
        items = self._batch(await self._json(request))
        answers = await anyio.to_thread.run_sync(lambda: self._each(items, work, principal, cid))
        return JSONResponse(answers)

    async def status(self, request: Request, principal: Principal, cid: str) -> Response:
        ids = _ids(request)
        enable = _flag(request.query_params.get("enable"), "enable")
        updated = await anyio.to_thread.run_sync(
            lambda: self.repo.set_active(principal.domain, ids, enable)
        )
        return JSONResponse({"correlationId": cid, "updated": updated})

    async def delete(self, request: Request, principal: Principal, cid: str) -> Response:
        ids = _ids(request)
        deleted = await anyio.to_thread.run_sync(lambda: self.repo.delete(principal.domain, ids))
        return JSONResponse({"correlationId": cid, "deleted": deleted})

    async def backtest(self, request: Request, principal: Principal, cid: str) -> Response:
        """The firings a definition (a POST body) would have raised over ``[from, to)``."""
        params = request.query_params
        from_ms, to_ms = (_required_ms(params.get(name), name) for name in ("from", "to"))
        body = await self._json(request)

        def run() -> list[dict[str, Any]]:
            spec = read_definition(body)
            now = self.clock.now_ms()
            check_query(
                spec,
                self._schemas(principal),
                now_ms=now,
                may_read=principal.may_read,
                engine=self.store.engine,
            )
            draft = AlertDefinition(
                "backtest", principal.domain, "0", "0", now, now, principal.name, spec
            )
            return [firing_json(f) for f in backtest(draft, self.store, from_ms, to_ms)]

        return JSONResponse(await anyio.to_thread.run_sync(run))

    async def engine_status(self, request: Request, principal: Principal, cid: str) -> Response:
        """Where the engine stands with each active definition of the domain: its next period,
        its event position, firings so far, keys dropped at the memory cap, the last error."""
        engine = self.engine
        listed = [] if engine is None else engine.status(principal.domain)
        return JSONResponse({"running": engine is not None, "definitions": listed})

    # -- one definition ---------------------------------------------------------------------------

    def _create_one(self, body: object, principal: Principal) -> AlertDefinition:
        spec = read_definition(body)
        self._check(spec, principal)
        return self.repo.create(principal.domain, spec, principal.name)

    def _update_one(self, body: object, principal: Principal) -> AlertDefinition:
        raw_id = update_id(body)
        stored = self.repo.get(principal.domain, raw_id)
        spec = read_update(body, stored.spec, principal.domain)
        self._check(spec, principal)
        return self.repo.update(principal.domain, raw_id, spec)

    def _check(self, spec: DefinitionInput, principal: Principal) -> None:
        check_query(
            spec,
            self._schemas(principal),
            now_ms=self.clock.now_ms(),
            may_read=principal.may_read,
            engine=self.store.engine,
        )

    def _batch(self, body: object) -> list[object]:
        if not isinstance(body, list):
            raise ValidationError("body: must be a JSON array of alert definitions", "body")
        if not body:
            raise ValidationError("body: the array is empty", field="body")
        if len(body) > MAX_BATCH:
            raise ValidationError(f"body: at most {MAX_BATCH} definitions per batch", "body")
        return body

    def _each(
        self,
        items: list[object],
        work: Work,
        principal: Principal,
        cid: str,
    ) -> list[dict[str, Any]]:
        """Each element on its own: a failure is that element's answer, not the request's."""
        answers = []
        for item in items:
            try:
                answers.append(batch_item(200, work(item, principal).to_json()))
            except LinqdError as error:
                status, body = alerts_error_body(error, cid=cid, now_ms=self.clock.now_ms())
                answers.append(batch_item(status, body))
        return answers
