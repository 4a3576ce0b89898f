"""Log lines never carry ingest tokens or query strings."""

from __future__ import annotations

import logging

import pytest

from linqd.logs import RedactTargets, redact_link, redact_target, redact_url


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        (
            "/event/self/token!s3cr3t/web01/my.app.x?hello%20world",
            "/event/self/token!***/web01/my.app.x?***",
        ),
        ("/stream/self/token!s3cr3t/h/t", "/stream/self/token!***/h/t"),
        ("/stream/self/token%21s3cr3t/h/t", "/stream/self/token!***/h/t"),
        ("/search/query", "/search/query"),
        ("/alerts/v1/alerts/list?token=abc", "/alerts/v1/alerts/list?***"),
        ("/x?", "/x?***"),
    ],
)
def test_redact_target(target: str, shown: str) -> None:
    assert redact_target(target) == shown


def test_the_filter_rewrites_uvicorns_access_record() -> None:
    # uvicorn's access logger: '%s - "%s %s HTTP/%s" %d' with (client, method, target, v, status)
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/event/d/token!abc/h/t?secret-event", "1.1", 204),
        None,
    )
    assert RedactTargets().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /event/d/token!***/h/t?*** HTTP/1.1" 204'


@pytest.mark.parametrize(
    ("path", "query", "shown"),
    [
        ("/event/self/token!s3cr3t/h/t", "user=ana%20pw=x", "/event/self/token!***/h/t?***"),
        ("/stream/self/token!s3cr3t/h/t", "", "/stream/self/token!***/h/t"),
        ("/search/query", "", "/search/query"),
        (
            "/alerts/v1/alertDefinitions",
            "standAloneToken=abc&limit=5&apikey=k&x-logtrust-sign=f00&offset=0",
            "/alerts/v1/alertDefinitions?standAloneToken=***&limit=5&apikey=***"
            "&x-logtrust-sign=***&offset=0",
        ),
        (
            "/ui/search",
            "q=from%20x&access_token=t&Password=p&jwt=a.b.c",
            "/ui/search?q=from%20x&access_token=***&Password=***&jwt=***",
        ),
        ("/x", "bare-value&a=1", "/x?***&a=1"),
    ],
)
def test_redact_url_keeps_the_query_but_no_credential(path: str, query: str, shown: str) -> None:
    assert redact_url(path, query) == shown


def test_redact_link_drops_user_and_password() -> None:
    link = "https://bob:hunter2@linqd.example:8443/ui/search?token=t&q=1"
    assert redact_link(link) == "https://linqd.example:8443/ui/search?token=***&q=1"
    assert redact_link("http://[::1]:8080/x") == "http://[::1]:8080/x"
