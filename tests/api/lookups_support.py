"""What the Lookups API tests share: the data the guide's queries read and the guide's bodies
(spec/lookups-api.md §3, §7). linqd's ``siem.logtrust.web.activity`` has no ``clientIpAddress``
or ``statusCode``: the guide's static PUT (§3.5) is refused there with a 400 naming the column,
which the guide, printing only the status, passes."""

from __future__ import annotations

from typing import Any

from linqd.store.base import EventStore

NOW = 1_800_000_000_000
MINUTE = 60_000

COLORS_CONFIG: dict[str, Any] = {
    "columns": [
        {"name": "KEY", "type": "INT8"},
        {"name": "COLOR", "type": "STRING"},
        {"name": "HEX", "type": "STRING"},
    ],
    "hasHeader": True,
    "key": {"type": "column", "column": "KEY"},
}
COLORS_CSV = (
    "KEY,COLOR,HEX\n1,Red,d62d20\n2,Green,008744\n3,Blue,0057e7\n4,Yellow,ffa700\n5,White,ffffff\n"
)
REPLACE_CONFIG: dict[str, Any] = {
    "columns": [*COLORS_CONFIG["columns"], {"name": "NEW_INFO", "type": "STRING"}],
    "hasHeader": True,
    "key": {"type": "column", "column": "KEY"},
}
REPLACE_CSV = "KEY,COLOR,HEX,NEW_INFO\n1,Dark Red,aa0000,UpdatedRow1\n6,Orange,ffa500,NewRow6\n"
DELETE_CONFIG: dict[str, Any] = {
    **COLORS_CONFIG,
    "append": True,
    "contribution": {"type": "del"},
}
DELETE_CSV = "KEY,COLOR,HEX\n2,Green,008744\n4,Yellow,ffa700\n"
STATIC_QUERY: dict[str, Any] = {
    "query": "from siem.logtrust.web.navigation select eventdate, userid, domain "
    "where now() - 1h < eventdate limit 10",
    "key": {"type": "column", "column": "userid"},
}
STATIC_PUT: dict[str, Any] = {
    "query": "from siem.logtrust.web.activity select eventdate, clientIpAddress, statusCode "
    "where now() - 30m < eventdate limit 5",
    "key": {"type": "column", "column": "clientIpAddress"},
}
PERIODIC_QUERY: dict[str, Any] = {
    "query": "from siem.logtrust.web.navigation select eventdate, userid group every 5m by userid",
    "key": {"type": "column", "column": "userid"},
}
SLIDING_QUERY: dict[str, Any] = {
    "query": "from siem.logtrust.web.activity select domain, responseTime group every 1m by domain",
    "key": {"type": "column", "column": "domain"},
    "windowSize": "1h",
    "refreshPeriod": "10m",
}


def seed(store: EventStore, now: int = NOW) -> None:
    """A few events of the two tables the guide's queries read, in two domains."""
    store.append(
        "siem.logtrust.web.navigation",
        {"userid": ["ana", "bob", "ana"], "domain": ["self"] * 3},
        client="self",
        eventdates=[now - 10 * MINUTE, now - 8 * MINUTE, now - 2 * MINUTE],
    )
    store.append(
        "siem.logtrust.web.activity",
        {"userid": ["ana", "bob"], "domain": ["self", "self"], "responseTime": [12, 30]},
        client="self",
        eventdates=[now - 20 * MINUTE, now - 3 * MINUTE],
    )
    store.append(
        "siem.logtrust.web.navigation",
        {"userid": ["eve"], "domain": ["other"]},
        client="other",
        eventdates=[now - 4 * MINUTE],
    )
