"""The triggered alerts pages in Chromium: filtering, triage of several at once, the detail with
its extraData table, and event content shown as text (the page fixture fails on any dialog)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from linqd.alerts.model import AlertStatus

from ..conftest import fire as fire_alert
from .conftest import T0, LiveConsole, sign_in

M = 60_000
EVIL = "<img src=x onerror=alert(1)><script>alert(2)</script>"


def fire(live: LiveConsole, digest: str, alert_date: int, **changes: Any) -> int:
    return fire_alert(live.alerts.triggered, digest, alert_date, **changes)


def test_filter_and_triage_several_at_once(page: Any, live: LiveConsole) -> None:
    ids = [fire(live, d, T0 - i * M, priority=float(i)) for i, d in enumerate("abcd", start=1)]
    sign_in(page)
    page.get_by_role("link", name="Triggered alerts", exact=True).click()
    page.wait_for_url("**/ui/triggered")  # loaded: htmx listens to the filters
    table = page.get_by_role("table", name="Triggered alerts")
    expect(table.locator("tbody tr")).to_have_count(4)
    page.get_by_label("Minimum priority").select_option("2")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table).not_to_contain_text("Scan a")
    page.get_by_label(f"Select alert {ids[1]}").check()
    page.get_by_label(f"Select alert {ids[2]}").check()
    page.get_by_label("New status").select_option(label="Closed")
    page.get_by_role("button", name="Set status").click()
    expect(page.get_by_role("status")).to_have_text("Set 2 alerts to Closed")
    # Closed alerts leave the open list; the filters stayed as they were.
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("Scan d")
    statuses = [live.alerts.triggered.get("self", i).status for i in ids]
    assert statuses == [
        AlertStatus.UNREAD,
        AlertStatus.CLOSED,
        AlertStatus.CLOSED,
        AlertStatus.UNREAD,
    ]
    page.get_by_label("Status", exact=True).select_option(label="Closed")
    expect(table.locator("tbody tr")).to_have_count(2)


def test_detail_shows_extra_data_as_text(page: Any, live: LiveConsole) -> None:
    alert_id = fire(
        live,
        "x",
        T0 - 5 * M,
        message=f"Scan {EVIL}",
        extra_data={"srcIp": "10.0.0.1", "payload": EVIL, EVIL: "key"},
    )
    sign_in(page)
    page.goto("/ui/triggered")
    table = page.get_by_role("table", name="Triggered alerts")
    expect(table).to_contain_text(f"Scan {EVIL}")
    table.get_by_role("link", name="Port scan").click()
    page.wait_for_url(f"**/ui/triggered/{alert_id}")
    extra = page.get_by_role("table", name="Extra data")
    expect(extra.get_by_role("row", name="srcIp")).to_contain_text("10.0.0.1")
    expect(extra.get_by_role("row", name="payload")).to_contain_text(EVIL)
    expect(extra).to_contain_text(EVIL)
    assert page.locator("img").count() == 0 and page.locator("main script").count() == 0
    page.get_by_label("New status").select_option(label="Watched")
    page.get_by_role("button", name="Set status").click()
    expect(page.get_by_role("status")).to_have_text("Status set to Watched")
    assert live.alerts.triggered.get("self", alert_id).status is AlertStatus.WATCHED


def test_viewer_cannot_triage(page: Any, live: LiveConsole) -> None:
    alert_id = fire(live, "a", T0 - M)
    sign_in(page, "vic")
    page.goto("/ui/triggered")
    expect(page.get_by_role("table", name="Triggered alerts")).to_contain_text("Scan a")
    expect(page.get_by_role("checkbox")).to_have_count(0)
    expect(page.get_by_role("button", name="Set status")).to_have_count(0)
    page.goto(f"/ui/triggered/{alert_id}")
    expect(page.get_by_role("table", name="Extra data")).to_contain_text("10.0.0.1")
    expect(page.get_by_role("button", name="Set status")).to_have_count(0)
