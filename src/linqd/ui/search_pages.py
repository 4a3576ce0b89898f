"""The search page: a LINQ editor, a time range and zone, the hits over time, the results with
their field panel, paging, live tail, downloads, history and saved queries.

Running a query reads and changes nothing, so every part of it is a GET that carries the whole
search in its URL (``q``, ``from``, ``to``, ``tz``): the page's own URL is the search, shared by
copying it and restored by Back. The fragments that follow a run (more rows, a column's top
values) carry its range pinned to the instants it resolved to, so "Load more" continues the
same result however much later it is clicked. Only the time-zone setting is a POST.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, partial
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo, available_timezones

import anyio
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..api.errors import request_cid
from ..errors import LinqdError, ValidationError
from ..query.dates import TimeRange, parse_timezone, resolve_range
from .app import PREFIX, Shell, form_of
from .catalogue import catalogue, columns
from .display import column_widths, filterable, local_time, rows_html, table_rows
from .downloads import FORMATS, download, epoch_text, format_of
from .live_tail import LiveTail, failed
from .queries import PAGE_ROWS, Answer, ConsoleQueries, check_text, console_range, local_text
from .search_text import top_values_query, with_filter
from .services import ConsoleServices
from .sessions import Session

DEFAULT_FROM = "1h"
DEFAULT_TO = "now"
PRESETS = (
    ("Last 5 minutes", "5m"),
    ("Last hour", "1h"),
    ("Last 24 hours", "1d"),
    ("Last 7 days", "7d"),
)
_REGIONS = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)


@cache
def zone_names() -> tuple[str, ...]:
    """UTC, then the IANA zones of the regions (no aliases such as ``US/Eastern``)."""
    named = sorted(z for z in available_timezones() if z.startswith(_REGIONS))
    return ("UTC", *named)


@dataclass(frozen=True)
class SearchFields:
    """A search as the page's fields and URL hold it."""

    query: str
    from_text: str
    to_text: str
    zone_name: str

    @classmethod
    def of(cls, params: Mapping[str, str], session: Session) -> SearchFields:
        return cls(
            query=params.get("q", ""),
            from_text=params.get("from", "").strip() or DEFAULT_FROM,
            to_text=params.get("to", "").strip() or DEFAULT_TO,
            zone_name=params.get("tz", "").strip() or session.user.time_zone or "UTC",
        )

    @property
    def zone(self) -> dt.tzinfo:
        return parse_timezone(self.zone_name)

    def params(self) -> dict[str, str]:
        return {"q": self.query, "from": self.from_text, "to": self.to_text, "tz": self.zone_name}

    def page_url(self) -> str:
        return f"{PREFIX}/search?{urlencode(self.params())}"

    def alert_url(self) -> str:
        fields = {"query": self.query, "from": self.from_text, "to": self.to_text}
        return f"{PREFIX}/alerts/new?{urlencode(fields)}"

    def pinned(self, time_range: TimeRange) -> SearchFields:
        """The same search over the instants ``time_range`` resolved to."""
        to_text = "" if time_range.to_ms is None else epoch_text(time_range.to_ms)
        return SearchFields(self.query, epoch_text(time_range.from_ms), to_text, self.zone_name)


@dataclass(frozen=True)
class RowsPage:
    """One page of result rows as cell texts, and the URL of the next page if there is one."""

    rows: list[list[str | None]]
    shown: int  # rows shown so far, this page included
    more_url: str | None


class SearchPages:
    def __init__(self, shell: Shell, services: ConsoleServices) -> None:
        self.shell = shell
        self.services = services
        self.queries = ConsoleQueries(services)
        self.live_tail = LiveTail(services)
        shell.templates.globals["rows_html"] = rows_html

    # -- the page --------------------------------------------------------------------------------

    async def page(self, request: Request, session: Session) -> Response:
        fields = SearchFields.of(request.query_params, session)
        try:
            parse_timezone(fields.zone_name)
        except ValidationError:  # a shared URL's unknown zone: the page opens in UTC
            fields = SearchFields(fields.query, fields.from_text, fields.to_text, "UTC")
        zones = zone_names()
        return self.shell.render(
            request,
            "search.html",
            session,
            active="Search",
            fields=fields,
            zones=zones if fields.zone_name in zones else (fields.zone_name, *zones),
            presets=PRESETS,
            formats=FORMATS,
            results_url=f"{PREFIX}/search/results?{urlencode(fields.params())}",
        )

    # -- running ---------------------------------------------------------------------------------

    def _range(self, fields: SearchFields) -> TimeRange:
        now = self.services.clock.now_ms()
        return console_range(fields.from_text, fields.to_text, now_ms=now, tz=fields.zone)

    async def results(self, request: Request, session: Session) -> Response:
        """A run: the hits over time, the first page of rows and the field panel."""
        fields = SearchFields.of(request.query_params, session)
        zone = fields.zone
        time_range = self._range(fields)
        answer, hits = await self.queries.page_and_hits(
            session, fields.query, time_range, limit=PAGE_ROWS + 1
        )
        pinned = fields.pinned(time_range)
        page = self._page_of_rows(answer, pinned, zone, offset=0)
        end = time_range.to_ms if time_range.to_ms is not None else time_range.from_ms
        response = self.shell.render(
            request,
            "fragments/search_results.html",
            session,
            headers=_push_url(request, session, fields),
            columns=answer.columns,
            filterable=[filterable(c) for c in answer.columns],
            widths=column_widths([c.name for c in answer.columns], page.rows),
            fields_urls=[
                f"{PREFIX}/search/field?{urlencode({**pinned.params(), 'column': c.name})}"
                for c in answer.columns
            ],
            range_text=f"{local_time(time_range.from_ms, zone)} – {local_time(end, zone)}",
            zone_name=fields.zone_name,
            chart_zone=fields.zone_name if isinstance(zone, ZoneInfo) else "UTC",
            hits=None if hits is None else hits.json(),
            page=page,
        )
        # History is written once the answer is sent: its commit waits for the disk.
        response.background = BackgroundTask(
            anyio.to_thread.run_sync,
            partial(
                self.shell.users.remember,
                session.user.name,
                fields.query,
                fields.from_text,
                fields.to_text,
            ),
        )
        return response

    async def rows(self, request: Request, session: Session) -> Response:
        """The next page of rows ("Load more"), and the button for the one after."""
        fields = SearchFields.of(request.query_params, session)
        offset = _offset(request.query_params.get("offset", "0"))
        time_range = self._range(fields)
        answer = await self.queries.page(
            session, fields.query, time_range, offset=offset, limit=PAGE_ROWS + 1
        )
        return self.shell.render(
            request,
            "fragments/search_more.html",
            session,
            page=self._page_of_rows(answer, fields, fields.zone, offset=offset),
        )

    def _page_of_rows(
        self, answer: Answer, pinned: SearchFields, zone: dt.tzinfo, *, offset: int
    ) -> RowsPage:
        rows = table_rows(answer.table.to_batches(), answer.columns, zone)
        more_url = None
        if len(rows) > PAGE_ROWS:
            rows = rows[:PAGE_ROWS]
            params = {**pinned.params(), "offset": str(offset + PAGE_ROWS)}
            more_url = f"{PREFIX}/search/rows?{urlencode(params)}"
        return RowsPage(rows, offset + len(rows), more_url)

    async def field(self, request: Request, session: Session) -> Response:
        """A column's top values with their counts over the run's range (one query, made when
        its entry in the field panel is opened)."""
        fields = SearchFields.of(request.query_params, session)
        column = request.query_params.get("column", "")
        check_text(fields.query)
        top = await anyio.to_thread.run_sync(top_values_query, fields.query, column)
        answer = await self.queries.page(session, top, self._range(fields))
        values = [
            (row[0], row[1])
            for row in table_rows(answer.table.to_batches(), answer.columns, fields.zone)
        ]
        return self.shell.render(
            request, "fragments/search_field.html", session, column=column, values=values
        )

    async def filter(self, request: Request, session: Session) -> Response:
        """The query with ``where column = "value"`` added (a click on a value)."""
        params = request.query_params
        text = params.get("q", "")
        check_text(text)
        filtered = await anyio.to_thread.run_sync(
            with_filter, text, params.get("column", ""), params.get("value", "")
        )
        return JSONResponse({"query": filtered})

    async def download(self, request: Request, session: Session) -> Response:
        fields = SearchFields.of(request.query_params, session)
        check_text(fields.query)
        chosen = format_of(request.query_params.get("format", "csv"))
        return await download(
            self.services.search,
            session,
            fields.query,
            self._range(fields),
            fields.zone_name,
            chosen,
            cid=request_cid(request),
            now=self.services.clock.now_ms(),
        )

    async def live(self, request: Request, session: Session) -> Response:
        fields = SearchFields.of(request.query_params, session)
        try:
            zone = fields.zone
            now = self.services.clock.now_ms()
            start = resolve_range(local_text(fields.from_text), None, now_ms=now, tz=zone)
        except LinqdError as error:
            return failed(error)
        return await self.live_tail.response(session, fields.query, start.from_ms, zone)

    # -- completion ------------------------------------------------------------------------------

    async def catalogue(self, request: Request, session: Session) -> Response:
        found = await anyio.to_thread.run_sync(catalogue, self.services.store, session.user.domain)
        return JSONResponse(found)

    async def columns(self, request: Request, session: Session) -> Response:
        table = request.query_params.get("table", "")
        found = await anyio.to_thread.run_sync(
            columns, self.services.store, session.user.domain, table
        )
        return JSONResponse(found)

    # -- history, saved queries, settings --------------------------------------------------------

    async def history(self, request: Request, session: Session) -> Response:
        entries = await anyio.to_thread.run_sync(self.shell.users.history, session.user.name)
        zone = SearchFields.of(request.query_params, session).zone
        return self.shell.render(
            request,
            "fragments/search_history.html",
            session,
            entries=[(entry, local_time(entry.at_ms, zone)) for entry in entries],
        )

    async def saved(self, request: Request, session: Session) -> Response:
        saved = await anyio.to_thread.run_sync(
            self.services.domains.list_saved_queries, session.user.domain
        )
        return self.shell.render(request, "fragments/search_saved.html", session, saved=saved)

    async def time_zone(self, request: Request, session: Session) -> Response:
        """The user's time zone, kept for their next visits."""
        zone = (await form_of(request)).get("tz", "").strip()
        await anyio.to_thread.run_sync(self.shell.users.set_time_zone, session.user.name, zone)
        return Response(status_code=204)

    def routes(self) -> list[BaseRoute]:
        page, fragment = self.shell.page, self.shell.fragment
        return [
            Route("/search", page(self.page), methods=["GET"]),
            Route("/search/results", fragment(self.results), methods=["GET"]),
            Route("/search/rows", fragment(self.rows), methods=["GET"]),
            Route("/search/field", fragment(self.field), methods=["GET"]),
            Route("/search/filter", fragment(self.filter), methods=["GET"]),
            Route("/search/download", fragment(self.download), methods=["GET"]),
            Route("/search/live", fragment(self.live), methods=["GET"]),
            Route("/search/catalogue", fragment(self.catalogue), methods=["GET"]),
            Route("/search/columns", fragment(self.columns), methods=["GET"]),
            Route("/search/history", fragment(self.history), methods=["GET"]),
            Route("/search/saved", fragment(self.saved), methods=["GET"]),
            Route(
                "/search/time-zone",
                self.shell.action(self.time_zone, changes=False),
                methods=["POST"],
            ),
        ]


def _offset(text: str) -> int:
    if not text.isdigit() or len(text) > 12:
        raise ValidationError("offset must be a non-negative integer", field="offset")
    return int(text)


def _push_url(request: Request, session: Session, fields: SearchFields) -> dict[str, str]:
    """``HX-Push-Url`` for a run, unless the page already shows that search (a page opened from
    a shared URL runs it without adding a second history entry for it)."""
    current = urlsplit(request.headers.get("hx-current-url", ""))
    if current.path == f"{PREFIX}/search":
        params = {name: values[-1] for name, values in parse_qs(current.query).items()}
        if SearchFields.of(params, session) == fields:
            return {}
    return {"HX-Push-Url": fields.page_url()}
