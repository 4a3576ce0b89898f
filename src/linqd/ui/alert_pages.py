"""The alert definitions pages: the domain's definitions (search by name, filters by category and
kind, enable, disable and delete several at once, deletion confirmed in the page), and the form
that creates or edits one, with its backtest preview.

Everything goes through the Alerts API's own code: the form's body is read by the API's readers
and checked by ``check_query`` (``alert_form.py``), definitions are stored by the same
repository, and the preview is the API's backtest (``backtest_preview.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..alerts import backtest as backtesting
from ..alerts.model import AlertDefinition, DefinitionInput
from ..alerts.validate import check_query
from ..errors import LinqdError, NotFound, ValidationError
from ..linq.analyzer import SchemaLookup
from ..query.dates import TimeRange
from .alert_form import (
    KINDS,
    SLOTS,
    SUBQUERY_INPUTS,
    TRIGGER_FIELDS,
    Problem,
    blank_values,
    chosen_kind,
    definition_values,
    fitting_kinds,
    posted_values,
    problems_of,
    read_form,
)
from .app import PREFIX, Shell, form_of, form_values
from .backtest_preview import Preview, run_preview
from .display import LocalTime, count_text
from .queries import ConsoleQueries, console_range, principal_of, time_zone_of
from .services import ConsoleServices
from .sessions import Session

MAX_IDS = 1_000
MAX_FILTER = 256
BULK_OPS = ("enable", "disable", "delete", "delete-confirmed", "cancel")


@dataclass(frozen=True)
class ListFilters:
    name: str = ""
    category: str = ""
    kind: str = ""

    @staticmethod
    def of(fields: Mapping[str, str]) -> ListFilters:
        return ListFilters(
            fields.get("name", "")[:MAX_FILTER],
            fields.get("category", "")[:MAX_FILTER],
            fields.get("kind", "")[:MAX_FILTER],
        )

    @property
    def active(self) -> bool:
        return bool(self.name or self.category or self.kind)

    def keep(self, definition: AlertDefinition) -> bool:
        spec = definition.spec
        return (not self.category or spec.subcategory == self.category) and (
            not self.kind or spec.trigger.kind.value == self.kind
        )


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


class AlertPages:
    def __init__(self, shell: Shell, services: ConsoleServices) -> None:
        self.shell = shell
        self.services = services
        self.repo = services.alerts.definitions
        self.queries = ConsoleQueries(services)

    def routes(self) -> list[BaseRoute]:
        shell = self.shell
        return [
            Route("/alerts", shell.page(self.list_page), methods=["GET"]),
            Route("/alerts/list", shell.fragment(self.list_fragment), methods=["GET"]),
            Route("/alerts/bulk", shell.action(self.bulk), methods=["POST"]),
            Route("/alerts/new", shell.page(self.new_page), methods=["GET"]),
            Route("/alerts/new", shell.action(self.create), methods=["POST"]),
            # Neither changes anything: a viewer may try a definition out.
            Route("/alerts/kinds", shell.action(self.kinds, changes=False), methods=["POST"]),
            Route("/alerts/backtest", shell.action(self.backtest, changes=False), methods=["POST"]),
            Route("/alerts/{id}", shell.page(self.edit_page), methods=["GET"]),
            Route("/alerts/{id}", shell.action(self.update), methods=["POST"]),
        ]

    # -- the list --------------------------------------------------------------------------------

    async def list_page(self, request: Request, session: Session) -> Response:
        filters = ListFilters.of(request.query_params)
        message = ""
        saved = request.query_params.get("saved")
        if saved:
            found = await anyio.to_thread.run_sync(self.repo.find, session.user.domain, saved)
            message = f"Saved the alert definition {found.name}" if found else ""
        context = await self._listing(session, filters, message=message)
        return self.shell.render(request, "alerts/list.html", session, active="Alerts", **context)

    async def list_fragment(self, request: Request, session: Session) -> Response:
        filters = ListFilters.of(request.query_params)
        context = await self._listing(session, filters)
        return self.shell.render(request, "alerts/_definitions.html", session, **context)

    async def bulk(self, request: Request, session: Session) -> Response:
        """Enable, disable or delete the checked definitions; deleting asks first, in the page
        (a browser dialog would be easy to click through)."""
        form = await form_of(request)
        op = form.get("op", "")
        if op not in BULK_OPS:
            raise ValidationError("Unknown action", field="op")
        confirming = op == "delete-confirmed"
        ids = list(dict.fromkeys(await form_values(request, "confirm" if confirming else "ids")))
        domain = session.user.domain
        if len(ids) > MAX_IDS:
            raise ValidationError(f"At most {MAX_IDS} alert definitions at once", field="ids")
        chosen = await anyio.to_thread.run_sync(self._owned, domain, ids)
        noun = count_text(len(ids), "alert definition", "alert definitions")
        message = ""
        confirm: tuple[AlertDefinition, ...] = ()
        selected: list[str] = []  # a finished action leaves nothing checked
        if op != "cancel" and not chosen:
            message = "Select at least one alert definition first"
        elif op in ("enable", "disable"):
            await anyio.to_thread.run_sync(self.repo.set_active, domain, ids, op == "enable")
            message = f"{'Enabled' if op == 'enable' else 'Disabled'} {noun}"
        elif op == "delete":
            confirm, selected = tuple(chosen), ids
        elif confirming:
            await anyio.to_thread.run_sync(self.repo.delete, domain, ids)
            message = f"Deleted {noun}"
        context = await self._listing(
            session, ListFilters.of(form), message=message, confirm=confirm, selected=selected
        )
        if is_htmx(request):
            return self.shell.render(request, "alerts/_definitions.html", session, **context)
        return self.shell.render(request, "alerts/list.html", session, active="Alerts", **context)

    def _owned(self, domain: str, ids: Sequence[str]) -> list[AlertDefinition]:
        """The definitions ``ids`` name, all of ``domain``'s, or ``NotFound``: nothing of
        another domain is changed, nor told apart from what does not exist."""
        found = [self.repo.find(domain, alert_id) for alert_id in ids]
        missing = [alert_id for alert_id, d in zip(ids, found, strict=True) if d is None]
        if missing:
            raise NotFound(f"Alert definition {missing[0][:40]} not found")
        return [d for d in found if d is not None]

    async def _listing(
        self,
        session: Session,
        filters: ListFilters,
        *,
        message: str = "",
        confirm: Sequence[AlertDefinition] = (),
        selected: Sequence[str] = (),
    ) -> dict[str, Any]:
        domain = session.user.domain
        every = await anyio.to_thread.run_sync(lambda: self.repo.listing(domain))
        named = every
        if filters.name:
            needle = filters.name.casefold()
            named = [d for d in every if needle in d.name.casefold()]
        return {
            "definitions": [d for d in named if filters.keep(d)],
            "categories": sorted({d.spec.subcategory for d in every}),
            "kinds": KINDS,
            "filters": filters,
            "message": message,
            "confirm": confirm,
            "confirm_text": count_text(len(confirm), "alert definition", "alert definitions"),
            "selected": set(selected),
            "may_change": session.user.role.may_change,
        }

    # -- the form --------------------------------------------------------------------------------

    async def new_page(self, request: Request, session: Session) -> Response:
        """A new definition; the search page's "Create alert" gives its query and range."""
        params = request.query_params
        values = blank_values(params.get("query", ""), params.get("from", ""), params.get("to", ""))
        return await self._form_page(request, session, values, None)

    async def edit_page(self, request: Request, session: Session) -> Response:
        definition = await self._definition(session, request.path_params["id"])
        return await self._form_page(request, session, definition_values(definition), definition)

    async def create(self, request: Request, session: Session) -> Response:
        values = posted_values(await form_of(request))
        try:
            spec = read_form(values)
            await self._check(session, spec)
            created = await anyio.to_thread.run_sync(
                self.repo.create, session.user.domain, spec, session.user.name
            )
        except LinqdError as error:
            return await self._refused(request, session, values, None, problems_of(error))
        return _saved(request, created)

    async def update(self, request: Request, session: Session) -> Response:
        stored = await self._definition(session, request.path_params["id"])
        values = posted_values(await form_of(request))
        try:
            spec = read_form(values, stored)
            await self._check(session, spec)
            updated = await anyio.to_thread.run_sync(
                self.repo.update, session.user.domain, stored.id, spec
            )
        except LinqdError as error:
            return await self._refused(request, session, values, stored, problems_of(error))
        return _saved(request, updated)

    async def kinds(self, request: Request, session: Session) -> Response:
        """The Kind field again, offering the kinds that fit the query as it now reads."""
        values = posted_values(await form_of(request))
        offered = await self._kinds(session, values["querySourceCode"])
        values["kind"] = chosen_kind(values, offered)
        return self.shell.render(
            request, "alerts/_kind.html", session, values=values, kinds=offered, problems={}
        )

    async def backtest(self, request: Request, session: Session) -> Response:
        """The preview of the form's definition as it stands (not saved) over its From-To."""
        values = posted_values(await form_of(request))
        problems: list[Problem] = []
        spec: DefinitionInput | None = None
        time_range: TimeRange | None = None
        # A definition is tried out before it is named: the name changes no firing.
        unnamed = {
            "name": values["name"] or "Untitled",
            "subcategory": values["subcategory"] or "-",
        }
        try:
            spec = read_form({**values, **unnamed})
        except LinqdError as error:
            problems += problems_of(error)
        try:
            now = self.services.clock.now_ms()
            tz = time_zone_of(session)
            time_range = console_range(values["from"], values["to"], now_ms=now, tz=tz)
        except LinqdError as error:
            problems += problems_of(error)
        preview: Preview | None = None
        if spec is not None and time_range is not None and not problems:
            try:
                await self._check(session, spec)
                preview = await run_preview(self.services, self.queries, session, spec, time_range)
            except LinqdError as error:
                problems += problems_of(error)
        return self.shell.render(
            request,
            "alerts/_backtest.html",
            session,
            preview=preview,
            max_firings=backtesting.MAX_FIRINGS,
            local=LocalTime(time_zone_of(session)),
            **_problem_context(problems),
        )

    async def _form_page(
        self,
        request: Request,
        session: Session,
        values: dict[str, str],
        definition: AlertDefinition | None,
        *,
        problems: Sequence[Problem] = (),
        status_code: int = 200,
    ) -> Response:
        offered = await self._kinds(session, values.get("querySourceCode", ""))
        if definition is not None and definition.spec.trigger.kind.value not in offered:
            offered = (*offered, definition.spec.trigger.kind.value)
        values = {**values, "kind": chosen_kind(values, offered)}
        target = f"{PREFIX}/alerts/{definition.id if definition else 'new'}"
        return self.shell.render(
            request,
            "alerts/form.html",
            session,
            status_code=status_code,
            active="Alerts",
            values=values,
            kinds=offered,
            definition=definition,
            save_url=target,
            trigger_fields=TRIGGER_FIELDS,
            subquery_fields=SUBQUERY_INPUTS,
            may_change=session.user.role.may_change,
            preview=None,
            **_problem_context(problems),
        )

    async def _refused(
        self,
        request: Request,
        session: Session,
        values: dict[str, str],
        stored: AlertDefinition | None,
        problems: Sequence[Problem],
    ) -> Response:
        """The form's errors: beside their fields in place (htmx), else the form again."""
        if is_htmx(request):
            return self.shell.render(
                request, "alerts/_problems.html", session, **_problem_context(problems)
            )
        return await self._form_page(
            request, session, values, stored, problems=problems, status_code=400
        )

    async def _definition(self, session: Session, alert_id: str) -> AlertDefinition:
        return await anyio.to_thread.run_sync(self.repo.get, session.user.domain, alert_id)

    def _scope(self, session: Session) -> tuple[SchemaLookup, Callable[[str], bool]]:
        """The tables the user may name: their domain's, as a token of it would."""
        principal = principal_of(session)
        return principal.scoped(self.services.store.schemas_for(principal.domain)), (
            principal.may_read
        )

    async def _check(self, session: Session, spec: DefinitionInput) -> None:
        schemas, may_read = self._scope(session)
        now = self.services.clock.now_ms()
        engine = self.services.store.engine
        await anyio.to_thread.run_sync(
            lambda: check_query(spec, schemas, now_ms=now, may_read=may_read, engine=engine)
        )

    async def _kinds(self, session: Session, query: str) -> tuple[str, ...]:
        schemas, may_read = self._scope(session)
        now = self.services.clock.now_ms()
        engine = self.services.store.engine
        return await anyio.to_thread.run_sync(
            lambda: fitting_kinds(query, schemas, now_ms=now, may_read=may_read, engine=engine)
        )


def _problem_context(problems: Sequence[Problem]) -> dict[str, Any]:
    by_slot: dict[str, Problem] = {}
    for problem in problems:
        by_slot.setdefault(problem.slot, problem)
    return {"problems": by_slot, "slots": SLOTS}


def _saved(request: Request, definition: AlertDefinition) -> Response:
    target = f"{PREFIX}/alerts?saved={definition.id}"
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)
