"""The alert definitions pages without a browser: the list, its filters and bulk actions, the
form (fields by kind, errors beside their fields, kinds fitting the query), the backtest preview
against ``backtest()`` called directly, roles, domains and CSRF."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import httpx
import pytest
from markupsafe import escape

from linqd.alerts import backtest as backtesting
from linqd.alerts.model import AlertDefinition, DefinitionInput, Trigger, TriggerKind
from linqd.alerts.repo import AlertRepository
from linqd.alerts.validate import read_definition

from .conftest import T0, Console

pytestmark = pytest.mark.anyio

M = 60_000
TABLE = "my.app.web"
GROUPED = f"from {TABLE} group every 1m by hostname select count() as hits"


def repo(console: Console) -> AlertRepository:
    return AlertRepository(console.data.meta, console.clock)


def define(
    console: Console,
    name: str,
    *,
    kind: TriggerKind = TriggerKind.EACH,
    subcategory: str = "Web",
    query: str = f"from {TABLE}",
    domain: str = "self",
    active: bool = True,
    **trigger: Any,
) -> AlertDefinition:
    spec = DefinitionInput(name, subcategory, query, 5, Trigger(kind, **trigger), is_active=active)
    return repo(console).create(domain, spec, "ana")


@pytest.fixture(autouse=True)
def web_table(console: Console) -> None:
    """The table the definitions read exists: one event three days back, out of every range."""
    web_events(console, ["old"], [T0 - 3 * 86_400_000])


def web_events(console: Console, hosts: list[str], dates: list[int]) -> None:
    console.data.store.append(
        TABLE,
        {"hostname": hosts, "message": [f"m{i}" for i in range(len(hosts))]},
        client="self",
        eventdates=dates,
    )


def form(**values: str) -> dict[str, str]:
    """A filled alert form as the browser posts it (checked checkboxes only)."""
    base = {
        "name": "Too many",
        "subcategory": "Web",
        "querySourceCode": f"from {TABLE}",
        "priority": "5",
        "kind": "each",
        "message": "$hostname sent $count",
        "description": "",
        "isActive": "true",
        "from": "1d",
        "to": "now",
    }
    base.update(values)
    return {k: v for k, v in base.items() if v is not None}


def error_of(page: str, slot: str) -> str:
    """The text shown beside the input ``slot`` (its error box, ``#error-<slot>``)."""
    found = re.search(rf'<div class="field-error" id="error-{slot}"[^>]*>(.*?)</div>', page, re.S)
    assert found, f"no error box for {slot}"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def options_of(page: str, name: str) -> list[str]:
    select = re.search(rf'<select[^>]*name="{name}".*?</select>', page, re.S)
    assert select
    return re.findall(r'<option value="([^"]*)"', select.group(0))


# -- the list --------------------------------------------------------------------------------------


async def test_list_search_and_filters(console: Console, analyst: httpx.AsyncClient) -> None:
    define(console, "Port scan", subcategory="Network")
    define(console, "Slow pages", kind=TriggerKind.LOW, period=M, threshold=3)
    define(console, "Scan again", kind=TriggerKind.SEVERAL, period=M, threshold=2, active=False)
    define(console, "Theirs", domain="other")
    page = await analyst.get("/ui/alerts")
    assert page.status_code == 200
    for name in ("Port scan", "Slow pages", "Scan again"):
        assert name in page.text
    assert "Theirs" not in page.text
    assert 'href="/ui/alerts/new"' in page.text and "Create alert" in page.text
    assert options_of(page.text, "category") == ["", "Network", "Web"]
    by_name = await analyst.get("/ui/alerts/list", params={"name": "SCAN"})
    assert "Port scan" in by_name.text and "Scan again" in by_name.text
    assert "Slow pages" not in by_name.text
    by_both = await analyst.get("/ui/alerts/list", params={"name": "scan", "kind": "several"})
    assert "Scan again" in by_both.text and "Port scan" not in by_both.text
    by_category = await analyst.get("/ui/alerts?category=Network")
    rows = re.findall(r'<a href="/ui/alerts/\d+">([^<]+)</a>', by_category.text)
    assert rows == ["Port scan"]
    empty = await analyst.get("/ui/alerts/list", params={"kind": "gradient"})
    assert "No alert definition matches these filters." in empty.text


async def test_bulk_enable_disable_and_delete_after_confirmation(
    console: Console, analyst: httpx.AsyncClient
) -> None:
    one = define(console, "One", active=False)
    two = define(console, "Two", active=False)
    three = define(console, "Three")
    ids = [one.id, two.id]
    enabled = await analyst.post("/ui/alerts/bulk", data={"op": "enable", "ids": ids})
    assert enabled.status_code == 200 and "Enabled 2 alert definitions" in enabled.text
    assert [repo(console).get("self", i).spec.is_active for i in ids] == [True, True]
    disabled = await analyst.post("/ui/alerts/bulk", data={"op": "disable", "ids": [three.id]})
    assert "Disabled 1 alert definition<" in disabled.text
    assert not repo(console).get("self", three.id).spec.is_active

    asked = await analyst.post("/ui/alerts/bulk", data={"op": "delete", "ids": ids})
    assert "Delete 2 alert definitions" in asked.text and "Confirm delete" in asked.text
    assert len(repo(console).listing("self")) == 3, "nothing is deleted before the confirmation"
    cancelled = await analyst.post("/ui/alerts/bulk", data={"op": "cancel", "confirm": ids})
    assert "Confirm delete" not in cancelled.text
    assert len(repo(console).listing("self")) == 3
    # The confirmation deletes what it named, whatever is checked by then.
    deleted = await analyst.post(
        "/ui/alerts/bulk", data={"op": "delete-confirmed", "confirm": ids, "ids": [three.id]}
    )
    assert "Deleted 2 alert definitions" in deleted.text
    assert [d.name for d in repo(console).listing("self")] == ["Three"]
    nothing = await analyst.post("/ui/alerts/bulk", data={"op": "enable"})
    assert "Select at least one alert definition first" in nothing.text


# -- the form --------------------------------------------------------------------------------------


async def test_create_through_the_form_stores_what_the_api_would(
    console: Console, analyst: httpx.AsyncClient
) -> None:
    posted = form(
        kind="several",
        period="5m",
        threshold="10",
        keys="hostname, message",
        # Fields of another kind are in the form too; the server reads the chosen kind's only.
        backPeriod="1h",
    )
    answer = await analyst.post("/ui/alerts/new", data=posted, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and "HX-Redirect" in answer.headers, answer.text
    (stored,) = repo(console).listing("self")
    assert answer.headers["HX-Redirect"] == f"/ui/alerts?saved={stored.id}"
    api_body = {
        "name": "Too many",
        "subcategory": "Web",
        "message": "$hostname sent $count",
        "description": "",
        "isActive": True,
        "alertCorrelationContext": {
            "querySourceCode": f"from {TABLE}",
            "priority": 5,
            "correlationTrigger": {
                "kind": "several",
                "period": 300_000,
                "threshold": 10,
                "keys": ["hostname", "message"],
            },
        },
    }
    assert stored.spec == read_definition(api_body)
    assert stored.owner_email == "ana"
    listed = await analyst.get(answer.headers["HX-Redirect"])
    assert "Saved the alert definition Too many" in listed.text
    # Without htmx, a plain form post goes where the list is.
    plain = await analyst.post("/ui/alerts/new", data=form(name="Plain"))
    assert plain.status_code == 303 and plain.headers["location"].startswith("/ui/alerts?saved=")


@pytest.mark.parametrize(
    ("values", "slot", "text"),
    [
        ({"name": ""}, "name", "must not be empty"),
        ({"priority": "11"}, "priority", "must be between 0 and 10 (got 11)"),
        ({"priority": "high"}, "priority", "must be an integer"),
        ({"kind": "several", "period": "500ms", "threshold": "1"}, "period", "between 1000"),
        ({"kind": "several", "period": "5 minutes", "threshold": "1"}, "period", "duration"),
        ({"kind": "several", "period": "1m"}, "threshold", "is required"),
        ({"kind": "inactivity", "period": "10m"}, "keys", "is required"),
        (
            {"kind": "rolling", "period": "1m", "backPeriod": "3h"},
            "backPeriod",
            "backPeriod/period must not exceed 120",
        ),
        (
            {"kind": "several", "querySourceCode": GROUPED, "period": "1m", "threshold": "1"},
            "querySourceCode",
            "a several alert's query must not group",
        ),
        ({"kind": "inactivity", "period": "10m", "keys": "nope"}, "keys", "'nope' is not a column"),
        (
            {
                "kind": "deviation",
                "querySourceCode": GROUPED,
                "threshold": "10",
                "aggregationColumn": "hostname",
            },
            "aggregationColumn",
            "it has: hits",
        ),
        ({"externalOffset": "1m"}, "subquery", "only when the query has a subquery"),
        ({"kind": "bogus"}, "kind", "must be one of each, several, low"),
    ],
)
async def test_errors_are_shown_beside_their_fields(
    analyst: httpx.AsyncClient, values: dict[str, str], slot: str, text: str
) -> None:
    posted = form(**values)
    answer = await analyst.post("/ui/alerts/new", data=posted, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and "HX-Redirect" not in answer.headers
    assert text in error_of(answer.text, slot)
    assert 'hx-swap-oob="true"' in answer.text
    assert "shown beside its field" in answer.text or "shown beside their fields" in answer.text


async def test_every_field_error_at_once_and_linq_errors_with_a_caret(
    analyst: httpx.AsyncClient,
) -> None:
    posted = form(name="", priority="99", kind="low", period="1x")
    answer = await analyst.post("/ui/alerts/new", data=posted, headers={"HX-Request": "true"})
    assert "must not be empty" in error_of(answer.text, "name")
    assert "must be between 0 and 10" in error_of(answer.text, "priority")
    assert "must be a duration" in error_of(answer.text, "period")
    assert "is required" in error_of(answer.text, "threshold")
    assert "4 errors are shown beside their fields" in answer.text
    wrong = form(querySourceCode=f"from {TABLE} where nosuch = 1")
    answer = await analyst.post("/ui/alerts/new", data=wrong, headers={"HX-Request": "true"})
    shown = error_of(answer.text, "querySourceCode")
    assert "nosuch" in shown and "^" in shown
    # Without htmx the whole form comes back, the values kept and the errors in place.
    plain = await analyst.post("/ui/alerts/new", data=form(name="", message="kept <b>"))
    assert plain.status_code == 400
    assert "must not be empty" in error_of(plain.text, "name")
    assert 'value="kept &lt;b&gt;"' in plain.text


async def test_edit_keeps_name_and_changes_the_rest(
    console: Console, analyst: httpx.AsyncClient
) -> None:
    stored = define(
        console, "Edit me", kind=TriggerKind.SEVERAL, period=5 * M, threshold=2, keys=("hostname",)
    )
    page = await analyst.get(f"/ui/alerts/{stored.id}")
    assert page.status_code == 200
    assert re.search(r'name="name" value="Edit me"[^>]*readonly', page.text)
    assert 'name="period" value="5m"' in page.text
    assert 'name="keys" value="hostname"' in page.text
    assert '<option value="several" selected>' in page.text
    changed = form(name="Edit me", kind="low", period="1h", threshold="0", priority="9")
    answer = await analyst.post(
        f"/ui/alerts/{stored.id}", data=changed, headers={"HX-Request": "true"}
    )
    assert answer.headers.get("HX-Redirect") == f"/ui/alerts?saved={stored.id}", answer.text
    spec = repo(console).get("self", stored.id).spec
    assert spec.trigger == Trigger(TriggerKind.LOW, period=3_600_000, threshold=0)
    assert spec.priority == 9
    renamed = form(name="Other name")
    refused = await analyst.post(
        f"/ui/alerts/{stored.id}", data=renamed, headers={"HX-Request": "true"}
    )
    assert "cannot be changed" in error_of(refused.text, "name")


@pytest.mark.parametrize(
    ("query", "kinds"),
    [
        (f"from {TABLE}", ["each", "several", "low", "inactivity", "rolling"]),
        (
            f'from {TABLE} where hostname = "a" select message',
            ["each", "several", "low", "inactivity", "rolling"],
        ),
        (GROUPED, ["each", "deviation", "gradient"]),
        (f"from {TABLE} group every 1m select count() as n", ["each"]),
        (f"from {TABLE} group by hostname select count() as n", ["rolling"]),
        ("", ["each", "several", "low", "inactivity", "rolling", "deviation", "gradient"]),
        (
            "from nowhere.at.all",
            ["each", "several", "low", "inactivity", "rolling", "deviation", "gradient"],
        ),
    ],
)
async def test_create_alert_from_search_offers_the_kinds_that_fit(
    console: Console, analyst: httpx.AsyncClient, query: str, kinds: list[str]
) -> None:
    web_events(console, ["a"], [T0 - M])
    page = await analyst.get("/ui/alerts/new", params={"query": query, "from": "2h", "to": "now"})
    assert page.status_code == 200
    assert options_of(page.text, "kind") == kinds
    assert f">{escape(query)}</textarea>" in page.text
    assert 'name="from" value="2h"' in page.text
    refreshed = await analyst.post("/ui/alerts/kinds", data=form(querySourceCode=query, kind="x"))
    assert options_of(refreshed.text, "kind") == kinds
    assert f'<option value="{kinds[0]}" selected>' in refreshed.text


async def test_fields_of_the_chosen_kind_only_are_shown(analyst: httpx.AsyncClient) -> None:
    page = await analyst.get("/ui/alerts/new", params={"query": GROUPED})
    shown = {
        kinds: "hidden" not in tail
        for kinds, tail in re.findall(r'data-kinds="([^"]+)"([^>]*)>', page.text)
    }
    assert shown == {
        "several low inactivity rolling": False,
        "several low deviation gradient": False,
        "several inactivity": False,
        "rolling": False,
        "deviation gradient": False,
    }
    assert '<option value="each" selected>' in page.text


# -- the backtest preview --------------------------------------------------------------------------


def cell_text(cell: str) -> str:
    """A table cell as text: list items apart, other tags away."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", cell.replace("</li>", " "))).split())


def fired_rows(page: str) -> list[list[str]]:
    table = re.search(r'<table aria-label="Firings".*?</table>', page, re.S)
    if table is None:
        return []
    cells = r"<tr>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>"
    return [[cell_text(c) for c in row] for row in re.findall(cells, table.group(0), re.S)]


async def test_backtest_preview_matches_backtest_called_directly(
    console: Console, analyst: httpx.AsyncClient
) -> None:
    now = T0
    dates = [now - 50 * M + s * 1_000 for s in range(4)] + [now - 20 * M, now - 20 * M + 5_000]
    web_events(console, ["a", "a", "a", "b", "a", "a"], dates)
    posted = form(
        kind="several", period="1m", threshold="1", keys="hostname", **{"from": "1h", "to": "now"}
    )
    answer = await analyst.post("/ui/alerts/backtest", data=posted)
    assert answer.status_code == 200, answer.text
    spec = read_definition(
        {
            "name": "Too many",
            "subcategory": "Web",
            "message": "$hostname sent $count",
            "alertCorrelationContext": {
                "querySourceCode": f"from {TABLE}",
                "priority": 5,
                "correlationTrigger": {
                    "kind": "several",
                    "period": M,
                    "threshold": 1,
                    "keys": ["hostname"],
                },
            },
        }
    )
    draft = AlertDefinition("backtest", "self", "0", "0", now, now, "ana", spec)
    oracle = backtesting.backtest(draft, console.data.store, now - 60 * M, now)
    assert len(oracle) == 2
    assert "Would have fired 2 times" in answer.text
    markers = re.search(r"data-markers='([^']*)'", answer.text)
    assert markers and json.loads(html.unescape(markers.group(1))) == [
        f.finding.eventdate for f in oracle
    ]
    hits = re.search(r"data-hits='([^']*)'", answer.text)
    assert hits
    drawn = json.loads(html.unescape(hits.group(1)))
    assert sum(drawn["y"]) == 6 and drawn["step"] == 30_000
    assert drawn["x"][0] <= now - 60 * M and drawn["x"][-1] + drawn["step"] >= now
    rows = fired_rows(answer.text)
    assert [row[1] for row in rows] == [f.message() for f in oracle] == ["a sent 3", "a sent 2"]
    # Dates in the user's zone (UTC here); extraData as key=value.
    assert rows[0][0] == "2027-01-15 07:10:00"
    assert "hostname=a" in rows[0][2] and "count=3" in rows[0][2]
    # Nothing stored: a preview is not an alert.
    assert repo(console).listing("self") == []


async def test_backtest_of_one_firing_and_of_none(
    console: Console, analyst: httpx.AsyncClient
) -> None:
    web_events(console, ["a", "b"], [T0 - 30 * M, T0 - 29 * M])
    one = await analyst.post(
        "/ui/alerts/backtest", data=form(querySourceCode=f'from {TABLE} where hostname = "b"')
    )
    assert "Would have fired 1 time<" in one.text
    none = await analyst.post(
        "/ui/alerts/backtest", data=form(querySourceCode=f'from {TABLE} where hostname = "z"')
    )
    assert "Would have fired 0 times" in none.text
    assert 'aria-label="Firings"' not in none.text and "data-markers='[]'" in none.text


async def test_backtest_errors_beside_fields_and_limits(
    console: Console, analyst: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = await analyst.post(
        "/ui/alerts/backtest", data=form(kind="low", period="1s", threshold="x", to="yesterday-ish")
    )
    assert "must be an integer" in error_of(bad.text, "threshold")
    assert error_of(bad.text, "to")
    assert "The backtest did not run" in bad.text
    # Over MAX_STEPS periods: told beside To, as the API tells it.
    steps = await analyst.post(
        "/ui/alerts/backtest", data=form(kind="low", period="1s", threshold="0", **{"from": "5d"})
    )
    assert f"at most {backtesting.MAX_STEPS} per backtest" in error_of(steps.text, "to")
    # Capped firings are said to be capped.
    web_events(console, ["a"] * 5, [T0 - 10 * M + i for i in range(5)])
    monkeypatch.setattr(backtesting, "MAX_FIRINGS", 3)
    capped = await analyst.post("/ui/alerts/backtest", data=form())
    assert "Would have fired 3 times" in capped.text
    assert "stopped at its limit of 3 firings" in capped.text


async def test_backtest_with_a_query_without_time_axis(
    console: Console, analyst: httpx.AsyncClient
) -> None:
    web_events(console, ["a", "b"], [T0 - 30 * M, T0 - 29 * M])
    posted = form(
        kind="rolling",
        period="10m",
        backPeriod="1h",
        querySourceCode=f"from {TABLE} group by hostname select count() as n",
    )
    answer = await analyst.post("/ui/alerts/backtest", data=posted)
    assert "Would have fired" in answer.text and "no histogram" in answer.text


# -- who may do what -------------------------------------------------------------------------------


async def test_viewer_sees_but_cannot_change(console: Console) -> None:
    stored = define(console, "Seen")
    async with console.signed_in("vic") as viewer:
        listing = await viewer.get("/ui/alerts")
        assert listing.status_code == 200 and "Seen" in listing.text
        assert "Create alert" not in listing.text and 'name="ids"' not in listing.text
        assert 'value="delete"' not in listing.text
        edit = await viewer.get(f"/ui/alerts/{stored.id}")
        assert edit.status_code == 200 and ">Save<" not in edit.text
        for path, data in [
            ("/ui/alerts/new", form()),
            (f"/ui/alerts/{stored.id}", form(name="Seen")),
            ("/ui/alerts/bulk", {"op": "disable", "ids": stored.id}),
            ("/ui/alerts/bulk", {"op": "delete-confirmed", "confirm": stored.id}),
        ]:
            refused = await viewer.post(path, data=data)
            assert refused.status_code == 403, path
        # Trying a definition out changes nothing: a viewer may.
        tried = await viewer.post("/ui/alerts/backtest", data=form())
        assert tried.status_code == 200 and "Would have fired" in tried.text
    assert repo(console).get("self", stored.id).spec.is_active
    assert len(repo(console).listing("self")) == 1


async def test_other_domains_definitions_are_not_found(console: Console) -> None:
    theirs = define(console, "Self only")
    async with console.signed_in("otto") as otto:
        assert (await otto.get(f"/ui/alerts/{theirs.id}")).status_code == 404
        assert (await otto.post(f"/ui/alerts/{theirs.id}", data=form())).status_code == 404
        for op, field in (("enable", "ids"), ("delete", "ids"), ("delete-confirmed", "confirm")):
            answer = await otto.post("/ui/alerts/bulk", data={"op": op, field: theirs.id})
            assert answer.status_code == 404, op
        listing = await otto.get("/ui/alerts")
        assert "Self only" not in listing.text
    assert repo(console).get("self", theirs.id).spec.is_active


async def test_changes_need_the_csrf_token(console: Console, analyst: httpx.AsyncClient) -> None:
    stored = define(console, "Guarded", active=False)
    token = analyst.headers.pop("X-CSRF-Token")
    for path, data in [
        ("/ui/alerts/new", form()),
        (f"/ui/alerts/{stored.id}", form(name="Guarded")),
        ("/ui/alerts/bulk", {"op": "enable", "ids": stored.id}),
        ("/ui/alerts/backtest", form()),
        ("/ui/alerts/kinds", form()),
    ]:
        refused = await analyst.post(path, data={**data, "csrf": "forged"})
        assert refused.status_code == 403 and "CSRF" in refused.text, path
    assert not repo(console).get("self", stored.id).spec.is_active
    # The plain form's hidden field is a token too.
    accepted = await analyst.post(
        "/ui/alerts/bulk", data={"op": "enable", "ids": stored.id, "csrf": token}
    )
    assert accepted.status_code == 200


async def test_event_content_and_names_are_escaped(
    console: Console, analyst: httpx.AsyncClient
) -> None:
    evil = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    define(console, evil, subcategory=evil)
    listing = await analyst.get("/ui/alerts")
    assert evil not in listing.text and html.escape(evil) in listing.text
    web_events(console, [evil], [T0 - M])
    posted = form(message="$hostname", kind="each")
    answer = await analyst.post("/ui/alerts/backtest", data=posted)
    assert "Would have fired 1 time" in answer.text
    assert evil not in answer.text and html.escape(evil, quote=False) in answer.text
