"""The triggered-alerts endpoints of the Alerts API (see docs/devo-compatibility.md), under
``/alerts/v1/alerts/``: ``list``, ``get``, ``updateStatus``, ``updateStatusList``, ``listStatus``.

Every request is authenticated with an ALERTS token (``standAloneToken`` or ``Authorization:
Bearer``) and acts on the token's domain only: another domain's alert is "not found". Every error
answers the Alerts API's one error shape (``api/errors.alerts_error_body``) with
``context.field`` naming the offending parameter. Unknown query parameters are ignored.

Where Devo documents nothing, linqd decides:

- ``list``: ``limit`` (1..10000), ``offset`` (>= 0), ``from`` and ``to`` (epoch ms, >= 0, ``from``
  not after ``to``) are required, as Devo marks them; the window is ``from <= alertDate < to``.
  Without ``orderby`` the alerts come by alert date; ``orderasc`` defaults to false, so the newest
  come first (a console shows the latest alerts first). Booleans are ``true`` or ``false`` (any
  case). Each element is an AlertExtended.
- ``get`` answers the AlertExtended form; ``tags`` and ``annotations`` are accepted (linqd has
  neither: ``tags`` is always empty).
- ``updateStatus`` answers the (plain) Alert with its new status.
- ``updateStatusList``: the body (``text/plain``, at most 1 MiB) is a JSON array of ids (integers
  or digit strings) or ids separated by commas and/or whitespace; an empty list is refused. Known
  ids are updated even when others are not. All updated: 200 ``{"updated": [ids]}``. Otherwise 400
  in the error shape with ``messageKey`` ``alerts.not_updated`` and ``context`` ``{"updated":
  [ids], "notUpdated": [ids]}`` (each id once, in request order).
- ``listStatus``: ``from`` defaults to now - 24 h; the map covers alerts dated at or after it,
  closed ones included, keyed by the id as a string.

A wrong method or path answers 405/404 in the same shape (the app's HTTP error handler).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..alerts.alert_json import alert_json, alerts_json
from ..alerts.model import AlertStatus
from ..alerts.triggered import MAX_ALERT_ID, ORDER_BY_NAMES, TriggeredAlertRepository
from ..clock import Clock
from ..domains import DomainStore
from ..errors import AlertsNotUpdated, ValidationError
from .body import read_body
from .gate import Gate

BASE = "/alerts/v1/alerts"
MAX_LIMIT = 10_000
MAX_BODY_BYTES = 1_048_576
MAX_INT64 = 2**63 - 1
DAY_MS = 86_400_000

_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
_ID = re.compile(r"[0-9]{1,19}")
_SEPARATORS = re.compile(r"[\s,]+")
_STATUS_VALUES = tuple(int(status) for status in AlertStatus)

Query = Mapping[str, str]
Action = Callable[[str, Query, bytes, int], Any]


# -- parameters -----------------------------------------------------------------------------------


def int_param(query: Query, name: str, *, low: int, high: int, default: int | None = None) -> int:
    """An integer query parameter within ``[low, high]``; required when there is no default."""
    raw = query.get(name)
    if raw is None:
        if default is None:
            raise ValidationError(f"Missing required parameter {name}", field=name)
        return default
    # The length cap keeps int() cheap and every accepted value inside SQLite's 64-bit integers.
    if not _INTEGER.fullmatch(raw) or not low <= int(raw) <= high:
        raise ValidationError(
            f"Parameter {name} must be an integer between {low} and {high}", field=name
        )
    return int(raw)


def bool_param(query: Query, name: str, *, default: bool) -> bool:
    raw = query.get(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered not in ("true", "false"):
        raise ValidationError(f"Parameter {name} must be true or false", field=name)
    return lowered == "true"


def status_param(query: Query) -> AlertStatus:
    value = int_param(query, "status", low=0, high=MAX_INT64)
    if value not in _STATUS_VALUES:
        allowed = ", ".join(str(status) for status in _STATUS_VALUES)
        raise ValidationError(f"Parameter status must be one of {allowed}", field="status")
    return AlertStatus(value)


def order_param(query: Query) -> str | None:
    raw = query.get("orderby")
    if raw is not None and raw not in ORDER_BY_NAMES:
        allowed = ", ".join(ORDER_BY_NAMES)
        raise ValidationError(f"Parameter orderby must be one of {allowed}", field="orderby")
    return raw


def parse_ids(body: bytes) -> list[int]:
    """The alert ids of an ``updateStatusList`` body (see the module docstring)."""
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ValidationError("The body must be UTF-8 text", field="body") from None
    if text.startswith("["):
        try:
            items = json.loads(text)
        except (ValueError, RecursionError):
            raise ValidationError("The body is not a JSON array", field="body") from None
        if not isinstance(items, list):
            raise ValidationError("The body is not a JSON array", field="body")
        ids = [_json_id(item) for item in items]
    else:
        ids = [_text_id(token) for token in _SEPARATORS.split(text) if token]
    if not ids:
        raise ValidationError("The body lists no alert ids", field="body")
    return ids


def _json_id(item: object) -> int:
    # bool is an int in Python; true is not alert 1.
    if isinstance(item, int) and not isinstance(item, bool):
        return item
    if isinstance(item, str) and _ID.fullmatch(item):
        return int(item)
    raise ValidationError("The body's array must hold alert ids (integers)", field="body")


def _text_id(token: str) -> int:
    if not _ID.fullmatch(token):
        raise ValidationError(f"Not an alert id: {token[:40]!r}", field="body")
    return int(token)


# -- the API --------------------------------------------------------------------------------------


class TriggeredAlertsAPI:
    def __init__(
        self,
        repo: TriggeredAlertRepository,
        domains: DomainStore,
        clock: Clock,
        gate: Gate | None = None,
    ) -> None:
        self.repo = repo
        self.domains = domains
        self.clock = clock
        self.gate = gate or Gate(domains, clock)

    async def _run(self, request: Request, action: Action, *, with_body: bool = False) -> Response:
        now = self.clock.now_ms()
        principal = await self.gate.stand_alone(request)
        body = await read_body(request, MAX_BODY_BYTES) if with_body else b""
        query = dict(request.query_params)
        # Alert queries wait on SQLite's lock: off the event loop.
        payload = await anyio.to_thread.run_sync(action, principal.domain, query, body, now)
        return JSONResponse(payload)

    # -- actions (run in a worker thread) --------------------------------------------------------

    def _list(self, domain: str, query: Query, body: bytes, now: int) -> Any:
        limit = int_param(query, "limit", low=1, high=MAX_LIMIT)
        offset = int_param(query, "offset", low=0, high=MAX_INT64)
        from_ms = int_param(query, "from", low=0, high=MAX_INT64)
        to_ms = int_param(query, "to", low=0, high=MAX_INT64)
        if from_ms > to_ms:
            raise ValidationError("Parameter from must not be after to", field="from")
        alerts = self.repo.list(
            domain,
            from_ms=from_ms,
            to_ms=to_ms,
            limit=limit,
            offset=offset,
            order_by=order_param(query),
            ascending=bool_param(query, "orderasc", default=False),
            show_all=bool_param(query, "showAll", default=False),
        )
        return alerts_json(alerts)

    def _get(self, domain: str, query: Query, body: bytes, now: int) -> Any:
        alert_id = int_param(query, "id", low=1, high=MAX_ALERT_ID)
        bool_param(query, "tags", default=True)
        bool_param(query, "annotations", default=True)
        return alert_json(self.repo.get(domain, alert_id), extended=True)

    def _update_status(self, domain: str, query: Query, body: bytes, now: int) -> Any:
        alert_id = int_param(query, "id", low=1, high=MAX_ALERT_ID)
        status = status_param(query)
        return alert_json(self.repo.update_status(domain, alert_id, status))

    def _update_status_list(self, domain: str, query: Query, body: bytes, now: int) -> Any:
        status = status_param(query)
        updated, not_updated = self.repo.update_status_list(domain, parse_ids(body), status)
        if not_updated:
            raise AlertsNotUpdated(updated, not_updated)
        return {"updated": updated}

    def _list_status(self, domain: str, query: Query, body: bytes, now: int) -> Any:
        from_ms = int_param(query, "from", low=0, high=MAX_INT64, default=max(0, now - DAY_MS))
        return {str(id_): status for id_, status in self.repo.statuses(domain, from_ms).items()}

    # -- handlers --------------------------------------------------------------------------------

    async def list_alerts(self, request: Request) -> Response:
        return await self._run(request, self._list)

    async def get_alert(self, request: Request) -> Response:
        return await self._run(request, self._get)

    async def update_status(self, request: Request) -> Response:
        return await self._run(request, self._update_status)

    async def update_status_list(self, request: Request) -> Response:
        return await self._run(request, self._update_status_list, with_body=True)

    async def list_status(self, request: Request) -> Response:
        return await self._run(request, self._list_status)


def triggered_routes(api: TriggeredAlertsAPI) -> list[Route]:
    endpoints: list[tuple[str, Callable[[Request], Awaitable[Response]], str]] = [
        ("list", api.list_alerts, "GET"),
        ("get", api.get_alert, "GET"),
        ("updateStatus", api.update_status, "PUT"),
        ("updateStatusList", api.update_status_list, "PUT"),
        ("listStatus", api.list_status, "GET"),
    ]
    return [
        Route(f"{BASE}/{path}", handler, methods=[method]) for path, handler, method in endpoints
    ]
