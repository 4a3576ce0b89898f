"""The triggered alerts pages without a browser: filters, triage of several at once through the
repository the API uses, the detail with its extraData table, roles, domains, CSRF and event
content shown as text."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest

from linqd.alerts.model import AlertStatus
from linqd.alerts.triggered import TriggeredAlertRepository

from .conftest import T0, Console
from .conftest import fire as fire_alert

pytestmark = pytest.mark.anyio

M = 60_000
EVIL = "<img src=x onerror=alert(1)><script>alert(2)</script>"


def repo(console: Console) -> TriggeredAlertRepository:
    return TriggeredAlertRepository(console.data.meta, console.clock)


def fire(console: Console, digest: str, alert_date: int, **changes: Any) -> int:
    return fire_alert(repo(console), digest, alert_date, **changes)


def listed(page: str) -> list[str]:
    """The alerts' messages, as the table lists them."""
    table = re.search(r'<table aria-label="Triggered alerts".*?</table>', page, re.S)
    assert table
    return [html.unescape(m) for m in re.findall(r"<td>([^<]*)</td>\s*</tr>", table.group(0))]


async def test_filters(console: Console, analyst: httpx.AsyncClient) -> None:
    fire(console, "a", T0 - 10 * M)
    fire(console, "b", T0 - 20 * M, priority=3.0)
    fire(console, "c", T0 - 30 * M, status=AlertStatus.CLOSED)
    fire(console, "d", T0 - 40 * M, definition_id="13", alert_name="Other")
    fire(console, "e", T0 - 3 * 86_400_000)
    fire(console, "f", T0 - 50 * M, domain="other")
    page = await analyst.get("/ui/triggered")
    assert page.status_code == 200
    # Open ones by default, newest first, the last 7 days.
    assert listed(page.text) == ["Scan a", "Scan b", "Scan d", "Scan e"]
    every = await analyst.get("/ui/triggered/list", params={"status": "all", "from": "1h"})
    assert listed(every.text) == ["Scan a", "Scan b", "Scan c", "Scan d"]
    closed = await analyst.get("/ui/triggered/list", params={"status": "300"})
    assert listed(closed.text) == ["Scan c"]
    important = await analyst.get("/ui/triggered/list", params={"priority": "5"})
    assert listed(important.text) == ["Scan a", "Scan d", "Scan e"]
    one = await analyst.get("/ui/triggered/list", params={"definition": "13"})
    assert listed(one.text) == ["Scan d"]
    dated = await analyst.get(
        "/ui/triggered/list", params={"from": "2027-01-15 07:25:00", "to": "2027-01-15 07:45:00"}
    )
    assert listed(dated.text) == ["Scan b"]
    bad = await analyst.get("/ui/triggered/list", params={"status": "42"})
    assert bad.status_code == 400


async def test_triage_several_at_once(console: Console, analyst: httpx.AsyncClient) -> None:
    ids = [fire(console, d, T0 - i * M) for i, d in enumerate("abc", start=1)]
    answer = await analyst.post(
        "/ui/triggered/status", data={"ids": ids[:2], "new_status": "100", "status": "open"}
    )
    assert answer.status_code == 200 and "Set 2 alerts to Watched" in answer.text
    statuses = [repo(console).get("self", i).status for i in ids]
    assert statuses == [AlertStatus.WATCHED, AlertStatus.WATCHED, AlertStatus.UNREAD]
    closed = await analyst.post(
        "/ui/triggered/status", data={"ids": ids[0], "new_status": "300", "status": "open"}
    )
    assert "Set 1 alert to Closed" in closed.text
    assert listed(closed.text) == ["Scan b", "Scan c"], "closed alerts leave the open list"
    wrong = await analyst.post("/ui/triggered/status", data={"ids": ids[0], "new_status": "9"})
    assert wrong.status_code == 400
    none = await analyst.post("/ui/triggered/status", data={"new_status": "300"})
    assert "Select at least one alert first" in none.text


async def test_detail_with_extra_data_and_status(
    console: Console, analyst: httpx.AsyncClient
) -> None:
    alert_id = fire(
        console, "a", T0 - M, extra_data={"srcIp": "10.0.0.1", "ports": [22, 80], "user": None}
    )
    page = await analyst.get(f"/ui/triggered/{alert_id}")
    assert page.status_code == 200
    table = re.search(r'<table aria-label="Extra data".*?</table>', page.text, re.S)
    assert table
    rows = re.findall(r'<th scope="row">([^<]*)</th><td>([^<]*)</td>', table.group(0))
    assert rows == [("srcIp", "10.0.0.1"), ("ports", "[22, 80]"), ("user", "null")]
    assert "2027-01-15 07:59:00" in page.text
    changed = await analyst.post(f"/ui/triggered/{alert_id}/status", data={"new_status": "2"})
    assert changed.status_code == 303
    assert changed.headers["location"] == f"/ui/triggered/{alert_id}?changed=1"
    assert repo(console).get("self", alert_id).status is AlertStatus.FALSE_POSITIVE
    again = await analyst.get(changed.headers["location"])
    assert "Status set to False positive" in again.text
    assert (await analyst.get("/ui/triggered/999999")).status_code == 404
    assert (await analyst.get("/ui/triggered/abc")).status_code == 404


async def test_event_content_is_text(console: Console, analyst: httpx.AsyncClient) -> None:
    alert_id = fire(console, "x", T0 - M, message=EVIL, alert_name=EVIL, extra_data={EVIL: EVIL})
    for path in ("/ui/triggered", f"/ui/triggered/{alert_id}"):
        page = await analyst.get(path)
        assert EVIL not in page.text
        assert html.escape(EVIL, quote=False) in page.text or html.escape(EVIL) in page.text


async def test_viewer_sees_but_cannot_triage(console: Console) -> None:
    alert_id = fire(console, "a", T0 - M)
    async with console.signed_in("vic") as viewer:
        page = await viewer.get("/ui/triggered")
        assert "Scan a" in page.text and 'name="ids"' not in page.text
        assert "Set status" not in page.text
        detail = await viewer.get(f"/ui/triggered/{alert_id}")
        assert detail.status_code == 200 and "Set status" not in detail.text
        for path, data in [
            ("/ui/triggered/status", {"ids": alert_id, "new_status": "300"}),
            (f"/ui/triggered/{alert_id}/status", {"new_status": "300"}),
        ]:
            assert (await viewer.post(path, data=data)).status_code == 403, path
    assert repo(console).get("self", alert_id).status is AlertStatus.UNREAD


async def test_other_domains_alerts_are_not_found(console: Console) -> None:
    alert_id = fire(console, "a", T0 - M)
    async with console.signed_in("otto") as otto:
        assert (await otto.get(f"/ui/triggered/{alert_id}")).status_code == 404
        triage = await otto.post(
            "/ui/triggered/status", data={"ids": alert_id, "new_status": "300"}
        )
        assert triage.status_code == 404
        one = await otto.post(f"/ui/triggered/{alert_id}/status", data={"new_status": "300"})
        assert one.status_code == 404
        page = await otto.get("/ui/triggered")
        assert "Scan a" not in page.text
    assert repo(console).get("self", alert_id).status is AlertStatus.UNREAD


async def test_triage_needs_the_csrf_token(console: Console, analyst: httpx.AsyncClient) -> None:
    alert_id = fire(console, "a", T0 - M)
    analyst.headers.pop("X-CSRF-Token")
    for path, data in [
        ("/ui/triggered/status", {"ids": alert_id, "new_status": "300"}),
        (f"/ui/triggered/{alert_id}/status", {"new_status": "300"}),
    ]:
        refused = await analyst.post(path, data=data)
        assert refused.status_code == 403 and "CSRF" in refused.text
    assert repo(console).get("self", alert_id).status is AlertStatus.UNREAD
