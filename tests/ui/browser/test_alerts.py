"""The alert pages in Chromium: the form (fields by kind, errors beside their fields, Create alert
from search), the backtest preview, and the list's bulk actions; controls found by their names."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from playwright.sync_api import expect

from linqd.alerts.model import DefinitionInput, Trigger, TriggerKind

from .conftest import T0, LiveConsole, sign_in

M = 60_000
TABLE = "my.app.web"
GROUPED = f"from {TABLE} group every 1m by hostname select count() as hits"


def events(live: LiveConsole) -> None:
    """Two bursts of host a within the last hour (each fires a several alert of threshold 2),
    and a little of host b."""
    dates = [T0 - 50 * M + i * 1_000 for i in range(3)] + [T0 - 20 * M + i for i in range(4)]
    dates += [T0 - 40 * M]
    hosts = ["a"] * 7 + ["b"]
    live.append(TABLE, {"hostname": hosts, "message": ["x"] * 8}, eventdates=dates)


def field_of(page: Any, label: str) -> Any:
    return page.get_by_label(label, exact=True)


def error_beside(page: Any, label: str) -> Any:
    """The error box an input names with aria-describedby (the one beside it)."""
    described = field_of(page, label).get_attribute("aria-describedby") or ""
    box = next(i for i in described.split() if i.startswith("error-"))
    return page.locator(f"#{box}")


def test_create_an_alert_with_each_kinds_fields(page: Any, live: LiveConsole) -> None:
    events(live)
    sign_in(page)
    page.get_by_role("link", name="Alerts", exact=True).click()
    page.get_by_role("link", name="Create alert").click()
    page.wait_for_url("**/ui/alerts/new")
    kind = page.get_by_label("Kind", exact=True)
    expect(kind.locator("option")).to_have_text(
        ["each", "several", "low", "inactivity", "rolling", "deviation", "gradient"]
    )
    expected = {
        "each": set(),
        "several": {"Period", "Threshold", "Keys"},
        "low": {"Period", "Threshold"},
        "inactivity": {"Period", "Keys"},
        "rolling": {"Period", "Back period"},
        "deviation": {"Threshold", "Absolute threshold", "Aggregation column"},
        "gradient": {"Threshold", "Absolute threshold", "Aggregation column"},
    }
    labels = [
        "Period",
        "Threshold",
        "Keys",
        "Back period",
        "Absolute threshold",
        "Aggregation column",
    ]
    for name, shown in expected.items():
        kind.select_option(name)
        for label in labels:
            if label in shown:
                expect(field_of(page, label)).to_be_visible()
            else:
                expect(field_of(page, label)).to_be_hidden()
    field_of(page, "Name").fill("Busy host")
    field_of(page, "Subcategory").fill("Web")
    field_of(page, "Query").fill(f"from {TABLE}")
    kind.select_option("several")
    field_of(page, "Period").fill("1m")
    field_of(page, "Threshold").fill("2")
    field_of(page, "Keys").fill("hostname")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r".*/ui/alerts\?saved=\d+$"))
    expect(page.get_by_role("status")).to_have_text("Saved the alert definition Busy host")
    (stored,) = live.alerts.definitions.listing("self")
    assert stored.spec.trigger == Trigger(
        TriggerKind.SEVERAL, period=M, threshold=2, keys=("hostname",)
    )


def test_errors_are_shown_beside_their_fields(page: Any, live: LiveConsole) -> None:
    events(live)
    sign_in(page)
    page.goto("/ui/alerts/new")
    field_of(page, "Query").fill(f"from {TABLE}")
    page.get_by_label("Kind", exact=True).select_option("several")
    field_of(page, "Period").fill("500ms")
    page.get_by_role("button", name="Save").click()
    expect(error_beside(page, "Period")).to_have_text(re.compile(r"must be between 1000 and"))
    expect(error_beside(page, "Name")).to_have_text("must not be empty")
    expect(error_beside(page, "Threshold")).to_have_text(re.compile("is required"))
    expect(field_of(page, "Period")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#form-status")).to_contain_text("4 errors are shown beside their fields")
    # Fixed, they go away; a wrong query is shown beside the query with a caret.
    field_of(page, "Name").fill("Fixed")
    field_of(page, "Subcategory").fill("Web")
    field_of(page, "Period").fill("1m")
    field_of(page, "Threshold").fill("2")
    field_of(page, "Query").fill(f"from {TABLE} where nosuch = 1")
    page.get_by_role("button", name="Save").click()
    expect(error_beside(page, "Query")).to_contain_text("^")
    expect(error_beside(page, "Period")).to_be_empty()
    expect(field_of(page, "Period")).not_to_have_attribute("aria-invalid", "true")
    assert live.alerts.definitions.listing("self") == []


def test_create_alert_from_search_fits_the_query(page: Any, live: LiveConsole) -> None:
    events(live)
    sign_in(page)
    page.goto(f"/ui/alerts/new?query={quote(GROUPED)}&from=2h&to=now")
    expect(field_of(page, "Query")).to_have_value(GROUPED)
    expect(field_of(page, "From")).to_have_value("2h")
    kind = page.get_by_label("Kind", exact=True)
    expect(kind.locator("option")).to_have_text(["each", "deviation", "gradient"])
    kind.select_option("deviation")
    expect(field_of(page, "Aggregation column")).to_be_visible()
    # Editing the query offers the kinds of its new shape.
    field_of(page, "Query").fill(f"from {TABLE}")
    expect(kind.locator("option")).to_have_text(["each", "several", "low", "inactivity", "rolling"])
    expect(field_of(page, "Aggregation column")).to_be_hidden()


def test_backtest_preview(page: Any, live: LiveConsole) -> None:
    events(live)
    sign_in(page)
    page.goto(f"/ui/alerts/new?query={quote(f'from {TABLE}')}")
    page.get_by_label("Kind", exact=True).select_option("several")
    field_of(page, "Period").fill("1m")
    field_of(page, "Threshold").fill("2")
    field_of(page, "Keys").fill("hostname")
    field_of(page, "Message").fill("$hostname: $count <b>events</b>")
    expect(field_of(page, "From")).to_have_value("1d")  # the last 24 hours
    page.get_by_role("button", name="Backtest").click()
    expect(page.get_by_text(re.compile(r"^Would have fired \d+ times?$"))).to_have_text(
        "Would have fired 2 times"
    )
    chart = page.get_by_role("img", name=re.compile("Hits over time"))
    expect(chart).to_have_attribute("data-marker-count", "2")
    expect(chart.locator("canvas")).to_have_count(1)
    table = page.get_by_role("table", name="Firings")
    expect(table.locator("tbody tr")).to_have_count(2)
    first = table.locator("tbody tr").first
    expect(first.locator("td").nth(0)).to_have_text("2027-01-15 07:10:00")
    expect(first.locator("td").nth(1)).to_have_text("a: 3 <b>events</b>")
    expect(first.locator("li")).to_contain_text(["hostname=a", "count=3"])
    # A range over the backtest's limit is told beside To, and nothing else is shown.
    field_of(page, "Period").fill("1s")
    field_of(page, "From").fill("5d")
    page.get_by_role("button", name="Backtest").click()
    expect(error_beside(page, "To")).to_contain_text("per backtest")
    expect(page.get_by_role("table", name="Firings")).to_have_count(0)
    assert live.alerts.definitions.listing("self") == []


def define(live: LiveConsole, name: str, active: bool = True) -> str:
    spec = DefinitionInput(
        name, "Web", f"from {TABLE}", 5, Trigger(TriggerKind.EACH), is_active=active
    )
    return live.alerts.definitions.create("self", spec, "ana").id


def test_bulk_enable_disable_delete(page: Any, live: LiveConsole) -> None:
    events(live)
    for name in ("Alpha", "Beta", "Gamma"):
        define(live, name, active=False)
    sign_in(page)
    page.goto("/ui/alerts")
    table = page.get_by_role("table", name="Alert definitions")
    page.get_by_label("Select Alpha").check()
    page.get_by_label("Select Beta").check()
    page.get_by_role("button", name="Enable", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Enabled 2 alert definitions")
    expect(table.get_by_role("row", name=re.compile("Alpha"))).to_contain_text("Yes")
    expect(table.get_by_role("row", name=re.compile("Gamma"))).to_contain_text("No")
    page.get_by_label("Select all").check()
    page.get_by_role("button", name="Disable", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Disabled 3 alert definitions")
    page.get_by_label("Select Beta").check()
    page.get_by_label("Select Gamma").check()
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Delete 2 alert definitions: Beta, Gamma?")
    page.get_by_role("button", name="Confirm delete").click()
    expect(page.get_by_role("status")).to_have_text("Deleted 2 alert definitions")
    expect(table.locator("tbody tr")).to_have_count(1)
    assert [d.name for d in live.alerts.definitions.listing("self")] == ["Alpha"]
    # The search narrows the list as one types.
    define(live, "Delta")
    page.reload()
    page.get_by_label("Search by name").fill("del")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("Delta")


def test_viewer_has_no_change_controls(page: Any, live: LiveConsole) -> None:
    events(live)
    alert_id = define(live, "Watched")
    sign_in(page, "vic")
    page.goto("/ui/alerts")
    expect(page.get_by_role("table", name="Alert definitions")).to_contain_text("Watched")
    expect(page.get_by_role("link", name="Create alert")).to_have_count(0)
    expect(page.get_by_role("checkbox")).to_have_count(0)
    for name in ("Enable", "Disable", "Delete"):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    page.get_by_role("link", name="Watched").click()
    page.wait_for_url(f"**/ui/alerts/{alert_id}")
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    page.get_by_role("button", name="Backtest").click()
    expect(page.get_by_text(re.compile(r"^Would have fired"))).to_be_visible()
