"""The search page without a browser: its fragments, paging, field panel, filters, downloads,
live tail, errors, history, saved queries, time zone and domain confinement."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linqd.alerts.service import AlertServices
from linqd.api.gate import Gate
from linqd.api.search import SearchAPI, StreamedAnswer
from linqd.config import Settings
from linqd.linq import types as t
from linqd.linq.ir import ResultColumn
from linqd.linq.lexer import tokenize
from linqd.linq.tokens import T
from linqd.ui import live_tail
from linqd.ui.display import cell_text
from linqd.ui.live_tail import LiveTail
from linqd.ui.search_text import identifier, string_literal, top_values_query, with_filter
from linqd.ui.services import ConsoleServices
from linqd.ui.sessions import Session
from linqd.ui.users import HISTORY_SIZE

from .conftest import T0, Console

pytestmark = pytest.mark.anyio

TABLE = "my.app.web"
HOUR_AGO = "2027-01-15 07:00:00"
AT_T0 = "2027-01-15 08:00:00"
XSS = ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>"]


def add_events(console: Console, messages: list[str | None], *, table: str = TABLE) -> None:
    """One event per message, a second apart, the last one a second before T0."""
    count = len(messages)
    console.data.store.append(
        table,
        {"message": messages, "hostname": [f"host{i % 3}" for i in range(count)]},
        client="self",
        eventdates=[T0 - (count - i) * 1000 for i in range(count)],
    )


def search_params(query: str, **more: str) -> dict[str, str]:
    return {"q": query, "from": HOUR_AGO, "to": AT_T0, "tz": "UTC", **more}


async def results(client: httpx.AsyncClient, query: str, **more: str) -> httpx.Response:
    return await client.get("/ui/search/results", params=search_params(query, **more))


def body_rows(fragment: str) -> list[list[str]]:
    """The cells of each row of the results table (as text)."""
    body = fragment.split('<tbody id="rows" role="rowgroup">', 1)[1].split("</tbody>", 1)[0]
    return [
        [html.unescape(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def header(fragment: str) -> list[str]:
    head = fragment.split('<thead role="rowgroup">', 1)[1].split("</thead>", 1)[0]
    return [html.unescape(name) for name in re.findall(r"<th[^>]*>(.*?)</th>", head)]


def attribute_url(fragment: str, pattern: str) -> str:
    found = re.search(pattern, fragment)
    assert found, f"no {pattern} in the fragment"
    return html.unescape(found.group(1))


# -- the page and its URL --------------------------------------------------------------------------


async def test_the_page_has_every_control_by_its_name(analyst: httpx.AsyncClient) -> None:
    page = (await analyst.get("/ui/search")).text
    for label in ("Query", "From", "To", "Time zone", "Format"):
        assert re.search(rf'<label for="[a-z]+">{label}</label>', page), label
    assert re.search(r"<input type=\"checkbox\" id=\"live\"> Live</label>", page)
    assert '<button type="submit" class="primary">Run</button>' in page
    assert ">Download</button>" in page and ">Create alert</a>" in page
    formats = re.findall(r'<option value="(\w+)">([^<]+)</option>', page)
    assert formats == [("csv", "CSV"), ("tsv", "TSV"), ("jsonl", "JSON lines")]
    assert "<option selected>UTC</option>" in page
    assert "/static/search.js" in page and "<script>" not in page and "style=" not in page
    # No search in the URL: nothing runs.
    assert 'hx-trigger="load"' not in page


async def test_a_shared_url_fills_the_fields_and_runs(analyst: httpx.AsyncClient) -> None:
    query = 'from my.app.web where message = "a & b"'
    wanted = {"q": query, "from": "2h", "to": "now()-5m", "tz": "Europe/Madrid"}
    page = (await analyst.get("/ui/search", params=wanted)).text
    editor = page.split('aria-describedby="query-help">', 1)[1].split("</textarea>")[0]
    assert html.unescape(editor) == query
    assert 'id="from" name="from" value="2h"' in page
    assert 'id="to" name="to" value="now()-5m"' in page
    assert "<option selected>Europe/Madrid</option>" in page
    url = attribute_url(page, r'hx-get="([^"]+)" hx-trigger="load"')
    assert urlsplit(url).path == "/ui/search/results"
    assert {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()} == wanted
    alert = attribute_url(page, r'id="create-alert" href="([^"]+)"')
    assert parse_qs(urlsplit(alert).query) == {
        "query": [query],
        "from": ["2h"],
        "to": ["now()-5m"],
    }
    assert urlsplit(alert).path == "/ui/alerts/new"


async def test_a_run_pushes_its_url_unless_the_page_shows_it(
    console: Console, analyst: httpx.AsyncClient
) -> None:
    add_events(console, ["a"])
    query = f"from {TABLE}"
    answer = await results(analyst, query)
    pushed = answer.headers["HX-Push-Url"]
    assert urlsplit(pushed).path == "/ui/search"
    assert parse_qs(urlsplit(pushed).query) == {k: [v] for k, v in search_params(query).items()}
    again = await analyst.get(
        "/ui/search/results",
        params=search_params(query),
        headers={"HX-Current-URL": f"http://linqd{pushed}"},
    )
    assert again.status_code == 200 and "HX-Push-Url" not in again.headers


async def test_a_page_with_a_wrong_zone_opens_in_utc(analyst: httpx.AsyncClient) -> None:
    page = await analyst.get("/ui/search", params={"q": "from x", "tz": "Mars/Base"})
    assert page.status_code == 200 and "<option selected>UTC</option>" in page.text


# -- results ---------------------------------------------------------------------------------------


async def test_results_show_the_columns_in_order_one_row_per_row(
    console: Console, analyst: httpx.AsyncClient
) -> None:
    add_events(console, ["first", None, "third"])
    query = f"from {TABLE} select eventdate, message, hostname, length(message) as size"
    fragment = (await results(analyst, query)).text
    assert header(fragment) == ["eventdate", "message", "hostname", "size"]
    rows = body_rows(fragment)
    assert [row[1:] for row in rows] == [
        ["first", "host0", "5"],
        ["null", "host1", "null"],
        ["third", "host2", "5"],
    ]
    assert rows[0][0] == "2027-01-15 07:59:57.000"
    assert '<td role="cell" class="null">null</td>' in fragment
    # String values can be clicked to filter on them (their header says so); numbers and
    # dates cannot.
    headers = re.findall(r"<th ([^>]*)>([^<]+)</th>", fragment)
    assert [name for marks, name in headers if "data-filter" in marks] == ["message", "hostname"]
    assert "Load more" not in fragment
    assert "3 rows" in fragment


async def test_dates_are_shown_in_the_chosen_zone(
    console: Console, analyst: httpx.AsyncClient
) -> None:
    add_events(console, ["a"])
    relative = {"from": "1h", "to": "now", "tz": "Asia/Tokyo"}
    fragment = (await results(analyst, f"from {TABLE}", **relative)).text
    # 07:59:59 UTC is 16:59:59 in Tokyo, and the range reads in Tokyo's time too.
    assert body_rows(fragment)[0][0] == "2027-01-15 16:59:59.000"
    assert "2027-01-15 16:00:00 – 2027-01-15 17:00:00" in fragment
    hits = json.loads(html.unescape(attribute_url(fragment, r"data-hits='([^']+)'")))
    assert sum(hits["y"]) == 1 and hits["from"] == T0 - 3_600_000 and hits["to"] == T0
    assert 'data-time-zone="Asia/Tokyo"' in fragment


async def test_the_histogram_counts_the_rows_per_bucket(
    console: Console, analyst: httpx.AsyncClient
) -> None:
    add_events(console, ["x"] * 90)
    fragment = (await results(analyst, f"from {TABLE}")).text
    assert 'role="img" aria-label="Hits over time"' in fragment
    hits = json.loads(html.unescape(attribute_url(fragment, r"data-hits='([^']+)'")))
    assert sum(hits["y"]) == 90 and len(hits["x"]) == len(hits["y"]) <= 120
    grouped = (await results(analyst, f"from {TABLE} group by hostname select count() as n")).text
    assert 'aria-label="Hits over time"' not in grouped  # no time axis, no histogram


async def test_load_more_pages_through_the_same_range(
    console: Console, analyst: httpx.AsyncClient
) -> None:
    add_events(console, [f"m{i}" for i in range(2_500)])
    first = (await results(analyst, f"from {TABLE}")).text
    seen = [row[2] for row in body_rows(first)]
    assert len(seen) == 1_000
    more = attribute_url(first, r'<button type="button" hx-get="([^"]+)" hx-target="#rows"')
    # Later clicks read the same instants, whatever the clock says by then.
    console.clock.advance(600_000)
    for expected in (1_000, 500):
        page = (await analyst.get(more)).text
        rows = body_rows(f'<tbody id="rows" role="rowgroup">{page}</tbody>')
        assert len(rows) == expected
        seen += [row[2] for row in rows]
        assert '<div id="more" hx-swap-oob="true">' in page
        if expected == 1_000:
            more = attribute_url(page, r'<button type="button" hx-get="([^"]+)"')
        else:
            assert "Load more" not in page
    assert seen == [f"m{i}" for i in range(2_500)]


async def test_an_error_shows_its_message_and_a_caret(
    console: Console, analyst: httpx.AsyncClient
) -> None:
    add_events(console, ["a"])
    answer = await results(analyst, f"from {TABLE}\nwhere message = = 1")
    assert answer.status_code == 400
    assert 'data-line="2" data-column="17"' in answer.text
    shown = html.unescape(answer.text.split('<pre class="linq-error">', 1)[1].split("</pre>")[0])
    lines = shown.split("\n")
    assert lines[1] == "  where message = = 1"
    assert lines[2] == "  " + " " * 16 + "^"
    empty = await results(analyst, "  ")
    assert empty.status_code == 400 and "Write a query first" in empty.text
    dates = await analyst.get("/ui/search/results", params=search_params("from x", to="soon"))
    assert dates.status_code == 400 and "Date to not valid format" in dates.text


async def test_event_content_is_text(console: Console, analyst: httpx.AsyncClient) -> None:
    add_events(console, XSS)
    query = f"from {TABLE}"
    fragment = (await results(analyst, query)).text
    field_url = attribute_url(fragment, r'<details hx-get="([^"]+message[^"]*)"')
    panel = (await analyst.get(field_url)).text
    history = (await analyst.get("/ui/search/history")).text
    for text in (fragment, panel):
        assert "<img" not in text and "<script" not in text
        for bad in XSS:
            assert html.escape(bad, quote=False) in text
    assert "<img" not in history and "<script" not in history


# -- the field panel and filters -------------------------------------------------------------------


async def test_a_field_shows_its_top_ten_values_with_counts(
    console: Console, analyst: httpx.AsyncClient
) -> None:
    messages: list[str | None] = [f"v{n}" for n in range(12) for _ in range(n + 1)]
    add_events(console, [*messages, None, None])
    fragment = (await results(analyst, f'from {TABLE} where message != "v11"')).text
    # One entry per column, nothing loaded before it is opened.
    assert fragment.count("<details ") == 3 and "Loading…" in fragment
    url = attribute_url(fragment, r'<details hx-get="([^"]+column=message)"')
    panel = (await analyst.get(url)).text
    values = re.findall(
        r'<span class="value[^"]*">([^<]*)</span> <span class="count">(\d+)<', panel
    )
    assert values == [(f"v{n}", str(n + 1)) for n in range(10, 0, -1)]


def test_top_values_query_counts_by_the_column() -> None:
    assert top_values_query("from t where a > 1", "status code") == (
        "from t where a > 1\ngroup by `status code` select count() as count\n"
        "order by count desc limit 10"
    )
    assert "select count() as n\norder by n desc" in top_values_query("from t", "count")
    # The query's own order and limit would pick rows before the counting: left out.
    assert top_values_query("from t where a order by b limit 5 pragma x: 1", "c") == (
        "from t where a pragma x: 1\ngroup by c select count() as count\n"
        "order by count desc limit 10"
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("from t", 'from t\nwhere message = "a"'),
        ("from t where x > 1 // rows", 'from t where x > 1\nwhere message = "a"\n// rows'),
        (
            "from t select upper(message) as message order by message desc limit 5",
            'from t select upper(message) as message\nwhere message = "a"\n'
            "order by message desc limit 5",
        ),
        (
            "from t group by message select count() as n\nlimit 3 offset 1",
            'from t group by message select count() as n\nwhere message = "a"\nlimit 3 offset 1',
        ),
    ],
)
def test_a_filter_goes_after_the_clauses_that_shape_the_result(query: str, expected: str) -> None:
    assert with_filter(query, "message", "a") == expected


@given(st.text(max_size=40))
def test_a_string_literal_reads_back_as_the_value(value: str) -> None:
    tokens = tokenize(string_literal(value))
    assert [t.type for t in tokens] == [T.STRING, T.EOF] and tokens[0].value == value


def test_column_names_are_quoted_when_they_must_be() -> None:
    assert identifier("message") == "message"
    assert identifier("from") == "`from`" and identifier("a.b c") == "`a.b c`"


async def test_a_click_on_a_value_filters_on_it(
    console: Console, analyst: httpx.AsyncClient
) -> None:
    tricky = 'say "hi" \\ <b>'
    add_events(console, [tricky, "other", tricky])
    query = f"from {TABLE} select message, hostname limit 50"
    answer = await analyst.get(
        "/ui/search/filter", params={"q": query, "column": "message", "value": tricky}
    )
    filtered = answer.json()["query"]
    assert filtered == (
        f'from {TABLE} select message, hostname\nwhere message = "say \\"hi\\" \\\\ <b>"\nlimit 50'
    )
    rows = body_rows((await results(analyst, filtered)).text)
    assert [row[0] for row in rows] == [tricky, tricky]


# -- downloads -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chosen", "mode", "extension"),
    [("csv", "csv", "csv"), ("tsv", "tsv", "tsv"), ("jsonl", "json/simple", "jsonl")],
)
async def test_a_download_is_the_query_apis_answer(
    console: Console, analyst: httpx.AsyncClient, chosen: str, mode: str, extension: str
) -> None:
    add_events(console, [f'm,"{i}"\t' for i in range(1_500)] + [None])
    query = f"from {TABLE} select message, hostname"
    answer = await analyst.get(
        "/ui/search/download",
        params={"q": query, "from": "2027-01-15 08:00:00", "to": "2027-01-15 09:00:00"}
        | {"tz": "Europe/Madrid", "format": chosen},
    )
    assert answer.status_code == 200
    disposition = answer.headers["content-disposition"]
    assert re.fullmatch(rf'attachment; filename="linqd-\d{{8}}-\d{{6}}\.{extension}"', disposition)
    token = console.domains.create_token("self")
    body = {
        "query": query,
        "from": "2027-01-15 08:00:00",  # 07:00 UTC in Madrid
        "to": "2027-01-15 09:00:00",
        "mode": {"type": mode},
        "timeZone": "Europe/Madrid",
    }
    async with console.client() as api:
        expected = await api.post(
            "/search/query", json=body, headers={"Authorization": f"Bearer {token}"}
        )
    assert expected.status_code == 200
    assert answer.content == expected.content
    assert answer.headers["content-type"] == expected.headers["content-type"]
    # The whole result, not the page's first thousand rows.
    lines = answer.content.decode().splitlines()
    assert len(lines) == 1_501 + (1 if mode != "json/simple" else 0)


async def test_a_download_of_a_wrong_query_shows_the_error(analyst: httpx.AsyncClient) -> None:
    answer = await analyst.get("/ui/search/download", params=search_params("from", format="csv"))
    assert answer.status_code == 400 and "linq-error" in answer.text
    unknown = await analyst.get("/ui/search/download", params=search_params("from x", format="xls"))
    assert unknown.status_code == 400 and "Format is one of" in unknown.text


# -- live tail -------------------------------------------------------------------------------------


def sse_messages(raw: bytes) -> list[tuple[str, Any]]:
    messages = []
    for block in raw.decode().split("\n\n"):
        event, data = "message", None
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
        if data is not None:
            messages.append((event, data))
    return messages


async def test_live_tail_streams_new_rows_until_its_limit(
    console: Console, analyst: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_tail, "LIVE_MAX_ROWS", 3)
    add_events(console, ["stored", *XSS])
    answer = await analyst.get(
        "/ui/search/live",
        params={"q": f"from {TABLE} select eventdate, message", "from": "1h", "tz": "UTC"},
    )
    assert answer.headers["content-type"].startswith("text/event-stream")
    messages = sse_messages(answer.content)
    assert messages[0] == (
        "columns",
        [{"name": "eventdate", "kind": "timestamp"}, {"name": "message", "kind": "str"}],
    )
    assert messages[1:4] == [
        ("message", ["2027-01-15 07:59:57.000", "stored"]),
        ("message", ["2027-01-15 07:59:58.000", XSS[0]]),
        ("message", ["2027-01-15 07:59:59.000", XSS[1]]),
    ]
    assert messages[4] == ("end", {"rows": 3, "limit": 3})


async def test_live_tail_sends_rows_appended_after_it_started(console: Console) -> None:
    services = services_of(console)
    user = console.users.get("ana")
    assert user is not None
    add_events(console, ["stored"])
    tail = LiveTail(services)
    response = await tail.response(Session(user, ""), f"from {TABLE}", T0 - 60_000, dt.UTC)
    assert isinstance(response, StreamedAnswer)
    events = response.body_iterator
    try:
        assert (await anext(events)).startswith(b"event: columns")
        assert sse_messages(bytes(await anext(events)))[0][1][2] == "stored"
        assert services.search.admission.running("self") == (1, 1)
        add_events(console, ["appended"])
        piece = await anext(events)
        assert sse_messages(bytes(piece)) == [
            ("message", ["2027-01-15 07:59:59.000", "host0", "appended"])
        ]
    finally:
        # What the response does when the browser goes away.
        await events.aclose()  # type: ignore[attr-defined]
        response._finish()
    assert services.search.admission.running("self") == (0, 0)


def services_of(console: Console) -> ConsoleServices:
    settings = Settings(data_dir=console.data.path)
    store, clock = console.data.store, console.clock
    search = SearchAPI(settings, store, console.domains, clock, Gate(console.domains, clock))
    alerts = AlertServices.over(console.data.meta, clock)
    return ConsoleServices(settings, store, console.domains, clock, search, alerts, None, None)


async def test_a_live_tail_of_a_wrong_query_says_why(analyst: httpx.AsyncClient) -> None:
    answer = await analyst.get("/ui/search/live", params={"q": "from", "from": "1h"})
    assert answer.status_code == 200
    ((event, data),) = sse_messages(answer.content)
    assert event == "failed" and "^" in data["message"]


# -- completion ------------------------------------------------------------------------------------


async def test_completion_lists_tables_columns_and_functions(
    console: Console, analyst: httpx.AsyncClient
) -> None:
    add_events(console, ["a"])
    console.data.store.append("their.own.table", {"message": ["x"]}, client="other")
    known = (await analyst.get("/ui/search/catalogue")).json()
    assert TABLE in known["tables"] and "demo.ecommerce.data" in known["tables"]
    assert "their.own.table" not in known["tables"]
    upper = next(f for f in known["functions"] if f["name"] == "upper")
    assert upper["signature"] == "(str) -> str" and upper["doc"]
    columns = (await analyst.get("/ui/search/columns", params={"table": TABLE})).json()
    assert [c["name"] for c in columns["columns"]] == ["eventdate", "hostname", "message"]


# -- another domain --------------------------------------------------------------------------------


async def test_another_domains_table_is_unknown_everywhere(console: Console) -> None:
    # A family without a fixed schema: my.app.* tables exist for every domain (below).
    table = "web.app.theirs"
    add_events(console, ["secret of self"], table=table)
    async with console.signed_in("otto") as otto:
        query = f"from {table}"
        answers = [
            await results(otto, query),
            await otto.get("/ui/search/rows", params=search_params(query, offset="0")),
            await otto.get("/ui/search/field", params=search_params(query, column="message")),
            await otto.get("/ui/search/download", params=search_params(query, format="csv")),
            await otto.get("/ui/search/columns", params={"table": table}),
        ]
        for answer in answers:
            assert answer.status_code in (400, 404), answer.text
            assert "secret" not in answer.text and "Unknown table" in answer.text
        live = await otto.get("/ui/search/live", params={"q": query, "from": "1h"})
        assert "secret" not in live.text and "Unknown table" in live.text
        catalogue = (await otto.get("/ui/search/catalogue")).json()
        assert table not in catalogue["tables"]


async def test_another_domains_my_app_table_reads_as_an_empty_one(console: Console) -> None:
    add_events(console, ["secret of self"])
    async with console.signed_in("otto") as otto:
        answer = await results(otto, f"from {TABLE}")
        assert answer.status_code == 200 and "secret" not in answer.text
        assert body_rows(answer.text) == []
        columns = (await otto.get("/ui/search/columns", params={"table": TABLE})).json()
        assert [c["name"] for c in columns["columns"]] == ["eventdate", "hostname", "message"]
        # Readable, but listed only for the domains that wrote it.
        assert TABLE not in (await otto.get("/ui/search/catalogue")).json()["tables"]


# -- history, saved queries, time zone -------------------------------------------------------------


async def test_history_keeps_the_last_fifty_runs(
    console: Console, analyst: httpx.AsyncClient
) -> None:
    add_events(console, ["a"])
    for n in range(HISTORY_SIZE + 5):
        assert (await results(analyst, f'from {TABLE} where message != "{n}"')).status_code == 200
    listed = (await analyst.get("/ui/search/history")).text
    queries = [html.unescape(q) for q in re.findall(r'data-query="([^"]*)"', listed)]
    assert len(queries) == HISTORY_SIZE
    assert queries[0] == f'from {TABLE} where message != "{HISTORY_SIZE + 4}"'
    assert queries[-1] == f'from {TABLE} where message != "5"'
    assert f'data-from="{HOUR_AGO}" data-to="{AT_T0}"' in listed
    async with console.signed_in("vic") as other_user:
        assert "data-query" not in (await other_user.get("/ui/search/history")).text


async def test_saved_queries_of_the_domain(console: Console, analyst: httpx.AsyncClient) -> None:
    console.domains.add_saved_query("self", "errors", 'from t where level = "error"')
    console.domains.add_saved_query("other", "theirs", "from secret.table")
    listed = (await analyst.get("/ui/search/saved")).text
    assert 'data-query="from t where level = &#34;error&#34;"' in listed
    assert "<strong>errors</strong>" in listed and "theirs" not in listed


async def test_the_time_zone_is_a_setting_of_the_user(
    console: Console, analyst: httpx.AsyncClient
) -> None:
    token = analyst.headers.pop("X-CSRF-Token")
    refused = await analyst.post("/ui/search/time-zone", data={"tz": "Asia/Tokyo"})
    assert refused.status_code == 403
    analyst.headers["X-CSRF-Token"] = token
    saved = await analyst.post("/ui/search/time-zone", data={"tz": "Asia/Tokyo"})
    assert saved.status_code == 204
    user = console.users.get("ana")
    assert user is not None and user.time_zone == "Asia/Tokyo"
    page = (await analyst.get("/ui/search")).text
    assert "<option selected>Asia/Tokyo</option>" in page
    wrong = await analyst.post("/ui/search/time-zone", data={"tz": "Mars/Base"})
    assert wrong.status_code == 400
    add_events(console, ["a"])
    # The user's zone is the page's when the URL names none.
    shown = await analyst.get("/ui/search/results", params={"q": f"from {TABLE}"})
    assert body_rows(shown.text)[0][0] == "2027-01-15 16:59:59.000"


async def test_fragments_need_a_session(console: Console) -> None:
    async with console.client() as client:
        for path in ("results", "rows", "field", "download", "live", "catalogue", "history"):
            answer = await client.get(f"/ui/search/{path}?{urlencode(search_params('from x'))}")
            assert answer.status_code == 401 and answer.headers["HX-Redirect"] == "/ui/login"


def test_a_map_cell_is_its_json_object() -> None:
    """Arrow hands a map over as (key, value) pairs; the console shows the API's object."""
    bag = ResultColumn("codes", t.map_of(t.INT8, t.INT8))
    assert cell_text([(200, 3), (404, 1)], bag, dt.UTC) == '{"200": 3, "404": 1}'
    addresses = ResultColumn("by_ip", t.map_of(t.IP4, t.STR))
    assert cell_text([(2130706433, "é")], addresses, dt.UTC) == '{"127.0.0.1": "é"}'
