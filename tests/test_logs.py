"""Log lines never carry ingest tokens or query strings."""

from __future__ import annotations

import logging

import pytest

from linqd.logs import RedactTargets, redact_target


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
