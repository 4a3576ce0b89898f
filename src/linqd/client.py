"""The CLI's way to a running server: a Query API call with the data directory's credentials,
read as json/simple/compact lines (the metadata line, then one row per line)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from .errors import LinqdError
from .linq.ir import ResultColumn
from .linq.types import parse_type


@dataclass(frozen=True)
class RemoteResult:
    columns: tuple[ResultColumn, ...]
    rows: Iterator[list[Any]]


def tls_verify() -> str | bool:
    """Which CAs to trust: $LINQD_CA_BUNDLE or $REQUESTS_CA_BUNDLE, else the system's."""
    bundle = os.environ.get("LINQD_CA_BUNDLE") or os.environ.get("REQUESTS_CA_BUNDLE")
    return bundle or True


def http_error(error: httpx.HTTPError, url: str) -> LinqdError:
    return LinqdError(f"Cannot reach {url}: {error}")


def remote_query(
    url: str, token: str, linq: str, *, from_: object, to: object, limit: int | None
) -> RemoteResult:
    body: dict[str, Any] = {
        "query": linq,
        "from": from_,
        "to": to,
        "mode": {"type": "json/simple/compact"},
    }
    if limit:
        body["limit"] = limit
    client = httpx.Client(verify=tls_verify(), timeout=httpx.Timeout(10.0, read=300.0))
    request = client.build_request(
        "POST", f"{url}/search/query", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    try:
        response = client.send(request, stream=True)
    except httpx.HTTPError as error:
        client.close()
        raise http_error(error, url) from None
    if response.status_code != 200:
        response.read()
        client.close()
        raise LinqdError(_error_text(response))
    lines = (line for line in response.iter_lines() if line.strip())
    first = next(lines, None)
    if first is None:
        client.close()
        return RemoteResult((), iter(()))
    head = json.loads(first)
    if "e" in head:
        client.close()
        raise LinqdError(str(head["e"][1]))
    columns = tuple(
        ResultColumn(name, parse_type(meta["type"]))
        for name, meta in sorted(head["m"].items(), key=lambda item: item[1]["index"])
    )

    def rows() -> Iterator[list[Any]]:
        try:
            for line in lines:
                item = json.loads(line)
                if "e" in item:
                    raise LinqdError(str(item["e"][1]))
                yield item["d"]
        finally:
            response.close()
            client.close()

    return RemoteResult(columns, rows())


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        items = body.get("object")
        if isinstance(items, list) and items:
            return str(items[-1])
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message"))
        return str(body.get("msg") or error or body)
    return str(body)


def remote_backtest(
    url: str, token: str, definition: object, *, from_ms: int, to_ms: int
) -> list[dict[str, Any]]:
    """The Alerts API's backtest of ``definition`` over ``[from_ms, to_ms)``."""
    try:
        with httpx.Client(verify=tls_verify(), timeout=httpx.Timeout(10.0, read=300.0)) as client:
            response = client.post(
                f"{url}/alerts/v1/alertDefinitions/backtest",
                params={"from": from_ms, "to": to_ms},
                json=definition,
                headers={"standAloneToken": token},
            )
    except httpx.HTTPError as error:
        raise http_error(error, url) from None
    if response.status_code != 200:
        raise LinqdError(_error_text(response))
    fired: list[dict[str, Any]] = response.json()
    return fired
