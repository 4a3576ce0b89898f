"""The search page in the browser, found through the controls' accessible names only."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from linqd.ui import live_tail

from .conftest import T0, LiveConsole, sign_in

TABLE = "my.app.web"
XSS = ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>"]


def add_events(live: LiveConsole, messages: list[str | None], *, last_ms: int = T0 - 1000) -> None:
    """One event per message, a second apart, the last one at ``last_ms``."""
    count = len(messages)
    live.append(
        TABLE,
        {"message": messages, "hostname": [f"host{i % 3}" for i in range(count)]},
        eventdates=[last_ms - (count - 1 - i) * 1000 for i in range(count)],
    )


def results(page: Any) -> Any:
    return page.get_by_role("table", name="Results")


def rows(page: Any) -> Any:
    return results(page).locator("tbody tr")


def search(page: Any, query: str) -> None:
    page.get_by_label("Query").fill(query)
    page.get_by_role("button", name="Run", exact=True).click()


def url_params(page: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def test_run_with_ctrl_enter_or_run(page: Any, live: LiveConsole) -> None:
    add_events(live, ["first", None, "third"])
    sign_in(page)
    editor = page.get_by_label("Query")
    editor.fill(f"from {TABLE}")
    editor.press("Control+Enter")
    expect(rows(page)).to_have_count(3)
    expect(results(page).locator("thead th")).to_have_text(["eventdate", "hostname", "message"])
    expect(rows(page).nth(1).locator("td").nth(2)).to_have_text("null")
    expect(rows(page).nth(0).locator("td").nth(0)).to_have_text("2027-01-15 07:59:57.000")
    search(page, f'from {TABLE} where message = "third" select message')
    expect(rows(page)).to_have_count(1)
    expect(results(page).locator("thead th")).to_have_text(["message"])


def test_completion_of_tables_columns_and_functions(page: Any, live: LiveConsole) -> None:
    sign_in(page)
    editor = page.get_by_label("Query")
    options = page.get_by_role("listbox", name="Completions").get_by_role("option")
    editor.fill("from demo.ecom")
    expect(options).to_have_text(["demo.ecommerce.datatable"])
    editor.press("Tab")
    expect(editor).to_have_value("from demo.ecommerce.data")
    editor.press_sequentially(" where stat")
    expect(options.first).to_contain_text("statusCode")
    editor.press("Enter")
    expect(editor).to_have_value("from demo.ecommerce.data where statusCode")
    editor.press_sequentially(" > 0 select upp")
    upper = options.filter(has_text="upper")
    expect(upper).to_contain_text("(str) -> str")
    editor.press("ArrowDown")
    editor.press("ArrowUp")
    editor.press("Enter")
    expect(editor).to_have_value("from demo.ecommerce.data where statusCode > 0 select upper(")
    editor.press_sequentially("uri) as u, len")
    expect(options.first).to_be_visible()
    editor.press("Escape")
    expect(options).to_have_count(0)
    expect(editor).to_have_value(
        "from demo.ecommerce.data where statusCode > 0 select upper(uri) as u, len"
    )


def test_presets_absolute_range_and_time_zone(page: Any, live: LiveConsole) -> None:
    add_events(live, ["two hours ago"], last_ms=T0 - 2 * 3_600_000)
    add_events(live, ["a minute ago"], last_ms=T0 - 60_000)
    sign_in(page)
    page.get_by_label("Query").fill(f"from {TABLE} select eventdate, message")
    page.get_by_role("button", name="Last 5 minutes").click()
    expect(rows(page)).to_have_count(1)
    expect(page.get_by_label("From")).to_have_value("5m")
    expect(page.get_by_label("To")).to_have_value("now")
    page.get_by_role("button", name="Last 24 hours").click()
    expect(rows(page)).to_have_count(2)
    page.get_by_label("From").fill("2027-01-15 05:30:00")
    page.get_by_label("To").fill("2027-01-15 06:30:00")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("two hours ago")
    expect(rows(page).first.locator("td").first).to_have_text("2027-01-15 06:00:00.000")
    # Another zone: the same range read there, the times shown there, the setting kept.
    page.get_by_label("From").fill("1d")
    page.get_by_label("To").fill("now")
    with page.expect_response(re.compile(r".*/ui/search/time-zone$")) as saved:
        page.get_by_label("Time zone").select_option("Asia/Tokyo")
    assert saved.value.status == 204
    expect(rows(page).first.locator("td").first).to_have_text("2027-01-15 15:00:00.000")
    expect(page.get_by_role("img", name="Hits over time")).to_have_attribute(
        "data-time-zone", "Asia/Tokyo"
    )
    user = live.users.get("ana")
    assert user is not None and user.time_zone == "Asia/Tokyo"
    assert url_params(page)["tz"] == "Asia/Tokyo"


def test_histogram_and_a_drag_across_it_narrows_the_range(page: Any, live: LiveConsole) -> None:
    # One event a minute over the last hour.
    live.append(
        TABLE,
        {"message": [f"m{i}" for i in range(60)]},
        eventdates=[T0 - 3_600_000 + i * 60_000 for i in range(60)],
    )
    sign_in(page)
    search(page, f"from {TABLE}")
    expect(rows(page)).to_have_count(60)
    chart = page.get_by_role("img", name="Hits over time")
    expect(chart).to_have_attribute("data-buckets", "120")  # 30 s buckets over the hour
    expect(chart.locator("canvas")).to_have_count(1)
    box = page.locator(".hits .u-over").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.25, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    page.mouse.up()
    from_value = page.get_by_label("From")
    expect(from_value).to_have_value(re.compile(r"2027-01-15 07:1\d:\d\d"))
    expect(page.get_by_label("To")).to_have_value(re.compile(r"2027-01-15 07:[23]\d:\d\d"))
    expect(rows(page)).not_to_have_count(60)
    count = rows(page).count()
    assert 10 <= count <= 20, count
    assert url_params(page)["from"] == from_value.input_value()


def test_load_more_appends_the_next_thousand_rows(page: Any, live: LiveConsole) -> None:
    add_events(live, [f"m{i}" for i in range(2_500)])
    sign_in(page)
    search(page, f"from {TABLE} select eventdate, message")
    expect(rows(page)).to_have_count(1_000)
    more = page.get_by_role("button", name="Load more")
    more.click()
    expect(rows(page)).to_have_count(2_000)
    expect(rows(page).nth(1_999).locator("td").nth(1)).to_have_text("m1999")
    more.click()
    expect(rows(page)).to_have_count(2_500)
    expect(more).to_have_count(0)
    expect(rows(page).last.locator("td").nth(1)).to_have_text("m2499")


def test_a_click_on_a_value_filters_and_the_field_panel(page: Any, live: LiveConsole) -> None:
    add_events(live, ['say "hi"', "beta", 'say "hi"', "gamma", 'say "hi"', "beta"])
    sign_in(page)
    search(page, f"from {TABLE} select eventdate, message limit 100")
    expect(rows(page)).to_have_count(6)
    fields = page.get_by_role("complementary", name="Fields")
    fields.get_by_text("message", exact=True).click()
    top = fields.get_by_role("list", name="Top values of message").get_by_role("listitem")
    expect(top).to_have_text(['say "hi" 3', "beta 2", "gamma 1"])
    results(page).get_by_role("cell", name='say "hi"').first.click()
    editor = page.get_by_label("Query")
    expect(editor).to_have_value(
        f'from {TABLE} select eventdate, message\nwhere message = "say \\"hi\\""\nlimit 100'
    )
    expect(rows(page)).to_have_count(3)


def test_live_tail(page: Any, live: LiveConsole, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_tail, "LIVE_MAX_ROWS", 5)
    add_events(live, ["stored"], last_ms=T0 - 120_000)
    add_events(live, ["filtered out"], last_ms=T0 - 110_000)
    sign_in(page)
    page.get_by_label("Query").fill(f'from {TABLE} where message != "filtered out"')
    page.get_by_label("From").fill("5m")
    page.get_by_label("Live").check()
    expect(rows(page)).to_have_count(1)
    add_events(live, ["new one", "filtered out"], last_ms=T0 - 10_000)
    expect(rows(page)).to_have_count(2)
    expect(rows(page).first).to_contain_text("new one")  # the newest on top
    page.get_by_role("button", name="Pause").click()
    add_events(live, [XSS[0]], last_ms=T0 - 5_000)
    status = page.get_by_role("status")
    expect(status).to_have_text("Live tail paused: 1 new row waiting")
    expect(rows(page)).to_have_count(2)
    page.get_by_role("button", name="Resume").click()
    expect(rows(page)).to_have_count(3)
    expect(rows(page).first).to_contain_text(XSS[0])
    add_events(live, [XSS[1], "past the limit"], last_ms=T0)
    expect(status).to_contain_text("Live tail stopped after 5 rows")
    expect(rows(page)).to_have_count(5)
    expect(rows(page).first).to_contain_text("past the limit")
    expect(page.get_by_label("Live")).not_to_be_checked()
    expect(page.get_by_role("button", name="Pause")).to_be_hidden()
    # Its query thread ended with it.
    for thread in threading.enumerate():
        if thread.name == "query":
            thread.join(5)
            assert not thread.is_alive()


def test_live_tail_can_be_turned_off(page: Any, live: LiveConsole) -> None:
    add_events(live, ["stored"])
    sign_in(page)
    page.get_by_label("Query").fill(f"from {TABLE}")
    page.get_by_label("Live").check()
    expect(rows(page)).to_have_count(1)
    tails = [thread for thread in threading.enumerate() if thread.name == "query"]
    assert len(tails) == 1  # the continuous query, waiting for appends
    page.get_by_label("Live").uncheck()
    expect(page.get_by_role("status")).to_have_text("Live tail stopped")
    # The browser closed its EventSource: the server noticed and ended the query.
    tails[0].join(5)
    assert not tails[0].is_alive()


@pytest.mark.parametrize("label", ["CSV", "TSV", "JSON lines"])
def test_download_the_whole_result(
    page: Any, live: LiveConsole, tmp_path: Path, label: str
) -> None:
    add_events(live, [f'm,"{i}"' for i in range(1_200)])
    sign_in(page)
    search(page, f"from {TABLE} select message")
    expect(rows(page)).to_have_count(1_000)
    formats = page.get_by_label("Format").locator("option")
    expect(formats).to_have_text(["CSV", "TSV", "JSON lines"])
    page.get_by_label("Format").select_option(label=label)
    with page.expect_download() as started:
        page.get_by_role("button", name="Download").click()
    target = tmp_path / "download"
    started.value.save_as(target)
    text = target.read_text()
    if label == "JSON lines":
        assert started.value.suggested_filename.endswith(".jsonl")
        messages = [json.loads(line)["message"] for line in text.splitlines()]
    else:
        delimiter = "," if label == "CSV" else "\t"
        parsed = list(csv.reader(io.StringIO(text), delimiter=delimiter))
        assert parsed[0] == ["message"]
        messages = [row[0] for row in parsed[1:]]
    assert len(messages) == 1_200 and messages[-1] == 'm,"1199"'


def test_an_error_shows_a_caret_under_its_place(page: Any, live: LiveConsole) -> None:
    add_events(live, ["a"])
    sign_in(page)
    search(page, f"from {TABLE}\nwhere message = = 1")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Encountered")
    lines = alert.locator("pre").inner_text().split("\n")
    assert lines[1:3] == ["  where message = = 1", "  " + " " * 16 + "^"]
    search(page, f"from {TABLE}")
    expect(rows(page)).to_have_count(1)
    expect(alert).to_have_count(0)


def test_the_url_shares_the_search_and_back_restores_it(page: Any, live: LiveConsole) -> None:
    add_events(live, ["alpha", "beta", "beta"])
    sign_in(page)
    first = f'from {TABLE} where message = "alpha"'
    second = f'from {TABLE} where message = "beta"'
    search(page, first)
    expect(rows(page)).to_have_count(1)
    expect(page).to_have_url(re.compile(r".*q=from.*alpha.*"))
    search(page, second)
    expect(rows(page)).to_have_count(2)
    expect(page).to_have_url(re.compile(r".*q=from.*beta.*"))
    shared = page.url
    alert_link = page.get_by_role("link", name="Create alert")
    href = urlsplit(alert_link.get_attribute("href"))
    assert href.path == "/ui/alerts/new" and parse_qs(href.query)["query"] == [second]
    page.go_back()
    expect(page).to_have_url(re.compile(r".*alpha.*"))
    expect(page.get_by_label("Query")).to_have_value(first)
    expect(rows(page)).to_have_count(1)
    # Opening a shared URL runs its search.
    other = page.context.new_page()
    other.goto(shared)
    expect(other.get_by_label("Query")).to_have_value(second)
    expect(other.get_by_label("From")).to_have_value("1h")
    expect(rows(other)).to_have_count(2)
    other.close()


def test_history_and_saved_queries(page: Any, live: LiveConsole) -> None:
    add_events(live, ["alpha", "beta"])
    live.domains.add_saved_query("self", "only beta", f'from {TABLE} where message = "beta"')
    sign_in(page)
    search(page, f'from {TABLE} where message = "alpha"')
    expect(rows(page)).to_have_count(1)
    search(page, f"from {TABLE}")
    expect(rows(page)).to_have_count(2)
    page.get_by_role("button", name="History").click()
    history = page.get_by_role("region", name="History")
    entries = history.get_by_role("button", name=re.compile("from"))
    expect(entries).to_have_count(2)
    entries.nth(1).click()
    expect(page.get_by_label("Query")).to_have_value(f'from {TABLE} where message = "alpha"')
    expect(rows(page)).to_have_count(1)
    expect(history).to_have_count(0)
    page.get_by_role("button", name="Saved").click()
    page.get_by_role("region", name="Saved queries").get_by_role(
        "button", name=re.compile("only beta")
    ).click()
    expect(page.get_by_label("Query")).to_have_value(f'from {TABLE} where message = "beta"')
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("beta")


def test_event_content_stays_text(page: Any, live: LiveConsole) -> None:
    add_events(live, XSS)
    sign_in(page)
    search(page, f"from {TABLE}")
    for text in XSS:
        expect(results(page).get_by_role("cell", name=text, exact=True)).to_be_visible()
    fields = page.get_by_role("complementary", name="Fields")
    fields.get_by_text("message", exact=True).click()
    for text in XSS:
        expect(fields.get_by_text(text, exact=True)).to_be_visible()
    expect(page.locator("img")).to_have_count(0)


def test_another_domains_table_is_unknown(page: Any, live: LiveConsole) -> None:
    add_events(live, ["secret"])
    live.append("web.private.logs", {"message": ["hidden"]}, eventdates=[T0 - 1000])
    sign_in(page, "otto")
    search(page, "from web.private.logs")
    expect(page.get_by_role("alert")).to_contain_text("Unknown table")
    expect(page.get_by_text("hidden")).to_have_count(0)
    # my.app.* has a fixed schema: it exists for every domain, empty until it writes there.
    search(page, f"from {TABLE}")
    expect(page.get_by_text("secret")).to_have_count(0)
