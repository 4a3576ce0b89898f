"""The search page's download: the whole result over the page's range, in CSV, TSV or JSON lines.

Not the rows the page holds but the query run again by the Query API's own code (its modes,
framing, admission and limits), as a Query API client asking for that mode would get it: the
same bytes, with the dates in the page's time zone.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from starlette.responses import Response

from ..api.search import SearchAPI
from ..errors import ValidationError
from ..query.dates import TimeRange
from .queries import principal_of
from .sessions import Session


@dataclass(frozen=True)
class Format:
    label: str
    value: str  # the form's value
    mode: str  # the Query API's mode
    extension: str


FORMATS = (
    Format("CSV", "csv", "csv", "csv"),
    Format("TSV", "tsv", "tsv", "tsv"),
    Format("JSON lines", "jsonl", "json/simple", "jsonl"),
)


def format_of(value: str) -> Format:
    for known in FORMATS:
        if known.value == value:
            return known
    raise ValidationError("Format is one of csv, tsv or jsonl", field="format")


def epoch_text(ms: int) -> str:
    """Epoch seconds with their milliseconds, which the Query API reads as that exact instant
    (a whole number of seconds as ``to`` would cover one more second)."""
    sign = "-" if ms < 0 else ""
    seconds, millis = divmod(abs(ms), 1000)
    return f"{sign}{seconds}.{millis:03d}"


def query_body(text: str, time_range: TimeRange, zone_name: str, chosen: Format) -> bytes:
    """The Query API body asking for what the page shows, in ``chosen``'s mode."""
    if time_range.to_ms is None:
        raise ValidationError("A download needs an end (To)", field="to")
    body = {
        "query": text,
        "from": epoch_text(time_range.from_ms),
        "to": epoch_text(time_range.to_ms),
        "mode": {"type": chosen.mode},
        "timeZone": zone_name,
    }
    return json.dumps(body).encode()


async def download(
    search: SearchAPI,
    session: Session,
    text: str,
    time_range: TimeRange,
    zone_name: str,
    chosen: Format,
    *,
    cid: str,
    now: int,
) -> Response:
    body = query_body(text, time_range, zone_name, chosen)
    response = await search.answer(principal_of(session), body, cid=cid, now=now)
    stamp = dt.datetime.fromtimestamp(now / 1000, dt.UTC).strftime("%Y%m%d-%H%M%S")
    name = f"linqd-{stamp}.{chosen.extension}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
