"""The triggered alerts pages: the domain's alerts filtered by status, priority, definition and
date; their triage (one status for several at once) through the repository the triggered-alerts
API uses; and one alert with its extraData as a table.

The repository filters by date and by closed-or-not; the other filters apply to the newest
``READ_CAP`` alerts of the range it gives, and the table shows the first ``SHOWN`` of what
remains (the page says when either cut something off).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..alerts.model import CLOSED_STATUSES, AlertStatus, TriggeredAlert
from ..alerts.triggered import MAX_ALERT_ID
from ..errors import NotFound, ValidationError
from .app import PREFIX, Shell, form_of, form_values
from .display import LocalTime, count_text, value_text
from .queries import console_range, time_zone_of
from .services import ConsoleServices
from .sessions import Session

READ_CAP = 10_000
SHOWN = 500
MAX_IDS = 1_000
DEFAULT_FROM = "7d"
OPEN, ALL = "open", "all"
STATUS_NAMES: Mapping[AlertStatus, str] = {
    AlertStatus.UNREAD: "Unread",
    AlertStatus.UPDATED: "Updated",
    AlertStatus.FALSE_POSITIVE: "False positive",
    AlertStatus.WATCHED: "Watched",
    AlertStatus.CLOSED: "Closed",
    AlertStatus.REMINDER: "Reminder",
    AlertStatus.RECOVERY: "Recovery",
    AlertStatus.ANTI_FLOOD: "Anti-flood",
    AlertStatus.SUPPRESSED: "Suppressed",
}


def status_of(text: str, field: str = "status") -> AlertStatus:
    if not (text.isascii() and text.isdigit()) or int(text) not in {int(s) for s in AlertStatus}:
        raise ValidationError("Choose one of the statuses", field=field)
    return AlertStatus(int(text))


def alert_id_of(text: str) -> int:
    """A path's or a checkbox's alert id; anything else is an alert that does not exist."""
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ALERT_ID:
        raise NotFound(f"Alert {text[:40]} not found")
    return int(text)


@dataclass(frozen=True)
class TriggeredFilters:
    status: str = OPEN  # "open" (not closed nor false positive), "all", or a status code
    priority: str = ""  # the lowest priority shown; "" any
    definition: str = ""  # a definition id; "" any
    from_text: str = DEFAULT_FROM
    to_text: str = "now"

    @staticmethod
    def of(fields: Mapping[str, str]) -> TriggeredFilters:
        found = TriggeredFilters(
            fields.get("status") or OPEN,
            fields.get("priority", ""),
            fields.get("definition", "")[:40],
            fields.get("from") or DEFAULT_FROM,
            fields.get("to") or "now",
        )
        if found.status not in (OPEN, ALL):
            status_of(found.status)
        if found.priority and found.min_priority is None:
            raise ValidationError("Minimum priority: 0 to 10", field="priority")
        return found

    @property
    def min_priority(self) -> int | None:
        text = self.priority
        return int(text) if text.isascii() and text.isdigit() and int(text) <= 10 else None

    def keep(self, alert: TriggeredAlert) -> bool:
        if self.status not in (OPEN, ALL) and int(alert.status) != int(self.status):
            return False
        low = self.min_priority
        if low is not None and alert.priority < low:
            return False
        return not self.definition or alert.definition_id == self.definition


class TriggeredPages:
    def __init__(self, shell: Shell, services: ConsoleServices) -> None:
        self.shell = shell
        self.services = services
        self.repo = services.alerts.triggered

    def routes(self) -> list[BaseRoute]:
        shell = self.shell
        return [
            Route("/triggered", shell.page(self.list_page), methods=["GET"]),
            Route("/triggered/list", shell.fragment(self.list_fragment), methods=["GET"]),
            Route("/triggered/status", shell.action(self.triage), methods=["POST"]),
            Route("/triggered/{id}", shell.page(self.detail), methods=["GET"]),
            Route("/triggered/{id}/status", shell.action(self.set_status), methods=["POST"]),
        ]

    async def list_page(self, request: Request, session: Session) -> Response:
        context = await self._listing(session, TriggeredFilters.of(request.query_params))
        return self.shell.render(
            request, "triggered/list.html", session, active="Triggered alerts", **context
        )

    async def list_fragment(self, request: Request, session: Session) -> Response:
        context = await self._listing(session, TriggeredFilters.of(request.query_params))
        return self.shell.render(request, "triggered/_alerts.html", session, **context)

    async def triage(self, request: Request, session: Session) -> Response:
        """One status for the checked alerts (the API's updateStatusList)."""
        form = await form_of(request)
        filters = TriggeredFilters.of(form)
        ids = [alert_id_of(text) for text in await form_values(request, "ids")]
        if len(ids) > MAX_IDS:
            raise ValidationError(f"At most {MAX_IDS} alerts at once", field="ids")
        if not ids:
            message = "Select at least one alert first"
        else:
            status = status_of(form.get("new_status", ""), "new_status")
            domain = session.user.domain
            updated, missing = await anyio.to_thread.run_sync(
                self.repo.update_status_list, domain, ids, status
            )
            if missing:
                # Another domain's alert is one that does not exist; the others are updated,
                # as the API's updateStatusList does.
                raise NotFound(f"Alert {missing[0]} not found")
            noun = count_text(len(updated), "alert", "alerts")
            message = f"Set {noun} to {STATUS_NAMES[status]}"
        context = await self._listing(session, filters, message=message)
        return self.shell.render(request, "triggered/_alerts.html", session, **context)

    async def detail(self, request: Request, session: Session) -> Response:
        alert_id = alert_id_of(request.path_params["id"])
        alert = await anyio.to_thread.run_sync(self.repo.get, session.user.domain, alert_id)
        definition = await anyio.to_thread.run_sync(
            self.services.alerts.definitions.find, session.user.domain, alert.definition_id
        )
        extra = [(str(key), value_text(value)) for key, value in alert.extra_data.items()]
        return self.shell.render(
            request,
            "triggered/detail.html",
            session,
            active="Triggered alerts",
            alert=alert,
            definition=definition,
            extra=extra,
            statuses=STATUS_NAMES,
            local=LocalTime(time_zone_of(session)),
            may_change=session.user.role.may_change,
            changed=request.query_params.get("changed") == "1",
        )

    async def set_status(self, request: Request, session: Session) -> Response:
        alert_id = alert_id_of(request.path_params["id"])
        status = status_of((await form_of(request)).get("new_status", ""), "new_status")
        await anyio.to_thread.run_sync(
            self.repo.update_status, session.user.domain, alert_id, status
        )
        target = f"{PREFIX}/triggered/{alert_id}?changed=1"
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=200, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    async def _listing(
        self, session: Session, filters: TriggeredFilters, *, message: str = ""
    ) -> dict[str, Any]:
        domain = session.user.domain
        tz = time_zone_of(session)
        now = self.services.clock.now_ms()
        found = console_range(filters.from_text, filters.to_text, now_ms=now, tz=tz)
        # An open range ends now, this very millisecond included.
        to_ms = found.to_ms if found.to_ms is not None else now + 1

        def read() -> list[TriggeredAlert]:
            return self.repo.list(
                domain,
                from_ms=found.from_ms,
                to_ms=to_ms,
                limit=READ_CAP,
                show_all=filters.status != OPEN,
            )

        read_alerts = await anyio.to_thread.run_sync(read)
        kept = [a for a in read_alerts if filters.keep(a)]
        definitions = await anyio.to_thread.run_sync(
            lambda: self.services.alerts.definitions.listing(domain)
        )
        return {
            "alerts": kept[:SHOWN],
            "total": len(kept),
            "read_capped": len(read_alerts) >= READ_CAP,
            "read_cap": READ_CAP,
            "range_from": found.from_ms,
            "range_to": found.to_ms if found.to_ms is not None else now,
            "filters": filters,
            "definitions": definitions,
            "statuses": STATUS_NAMES,
            "closed": {int(s) for s in CLOSED_STATUSES},
            "local": LocalTime(tz),
            "message": message,
            "may_change": session.user.role.may_change,
        }
