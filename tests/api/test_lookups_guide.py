"""Devo's developer guide for the Lookups API (devo-sdk ``api_lookup_guide.md``), replayed step by
step as spec/lookups-api.md §10 lays it out: plain ``requests`` calls with the guide's headers and
bodies (the multipart upload included) against a real HTTP server on 127.0.0.1, asserting what the
guide needs back at each step, and that each lookup answers in LINQ once its job is ok."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn

from linqd.api.app import create_app
from linqd.clock import SimulatedClock
from linqd.config import Settings
from linqd.datadir import open_data_dir
from linqd.domains import DomainStore
from linqd.jobs.repo import JobRepository
from linqd.jobs.runner import JobRunner

from .lookups_support import (
    COLORS_CONFIG,
    COLORS_CSV,
    DELETE_CONFIG,
    DELETE_CSV,
    NOW,
    PERIODIC_QUERY,
    REPLACE_CONFIG,
    REPLACE_CSV,
    SLIDING_QUERY,
    STATIC_PUT,
    STATIC_QUERY,
    seed,
)

DOMAIN = "self"
CSV_LOOKUP = "my_csv_colors_lookup_20250512101500_k3x9"
STATIC_LOOKUP = "my_static_query_lookup_20250512101500_a1b2"
PERIODIC_LOOKUP = "my_periodic_query_lookup_20250512101500_c3d4"
SLIDING_LOOKUP = "my_sliding_window_lookup_20250512101500_e5f6"


@dataclass(frozen=True)
class Live:
    base_url: str  # ends in /lookup-api, as the guide's
    url: str
    token: str
    runner: JobRunner


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("guide")
    clock = SimulatedClock(NOW)
    data = open_data_dir(folder, clock)
    seed(data.store)
    domains = DomainStore(data.meta, clock)
    creds = domains.create_domain(DOMAIN)
    runner = JobRunner(data.store, JobRepository(data.meta), clock, lambda job: None)
    app = create_app(Settings(data_dir=folder), data.store, domains, clock, runner=runner)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        yield Live(f"{url}/lookup-api", url, creds.token, runner)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        runner.close()
        data.close()


def json_headers(live: Live) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {live.token}",
        "Accept": "application/json",
        "Content-Type": "application/json",
    }


def upload(
    live: Live, method: str, name: str, config: dict[str, Any], csv: str, path: Path
) -> requests.Response:
    """The guide's multipart call: only Authorization; requests sets the content type."""
    path.write_text(csv)
    with path.open("rb") as handle:
        files = {
            "deploy-config": (None, json.dumps(config), "application/json"),
            "csv": (path.name, handle, "text/csv"),
        }
        return requests.request(
            method,
            f"{live.base_url}/lookup/{DOMAIN}/{name}/deploy-csv",
            headers={"Authorization": f"Bearer {live.token}"},
            files=files,
            timeout=30,
        )


def linq(live: Live, query: str) -> list[dict[str, Any]]:
    response = requests.post(
        f"{live.url}/search/query",
        headers=json_headers(live),
        data=json.dumps(
            {
                "query": query,
                "from": (NOW - 3_600_000) // 1000,
                "to": NOW // 1000,
                "mode": {"type": "json"},
            }
        ),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["object"]
    return rows


def test_the_guide_step_by_step(live: Live, tmp_path: Path) -> None:
    base = live.base_url
    headers = json_headers(live)

    # 1. The domain's lookups: a JSON object with a `lookups` array.
    listed = requests.get(f"{base}/lookup/{DOMAIN}", headers=headers, timeout=30)
    assert listed.status_code == 200
    assert listed.json().get("lookups", []) == []

    # 2. A lookup that does not exist still answers JSON.
    missing = requests.get(f"{base}/lookup/{DOMAIN}/Test_Lookup_Csv", headers=headers, timeout=30)
    assert missing.status_code == 404
    assert missing.json()["msg"] == "Lookup `Test_Lookup_Csv` not found"

    # 3. The CSV lookup (multipart, 5 rows): JSON, and usable in LINQ at once.
    created = upload(live, "POST", CSV_LOOKUP, COLORS_CONFIG, COLORS_CSV, tmp_path / "example.csv")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["type"] == "LookupCreationResponse" and body["code"] == 201
    job = requests.get(
        f"{base}/lookup/{DOMAIN}/{CSV_LOOKUP}/job/{body['id']}", headers=headers, timeout=30
    ).json()
    assert [s["code"] for s in job["jobs"]] == ["create.start", "create.ok"]
    rows = linq(live, f"from my.lookuplist.{CSV_LOOKUP} select KEY, COLOR, HEX")
    assert {(r["KEY"], r["COLOR"], r["HEX"]) for r in rows} == {
        (1, "Red", "d62d20"),
        (2, "Green", "008744"),  # typed STRING: stays text
        (3, "Blue", "0057e7"),
        (4, "Yellow", "ffa700"),
        (5, "White", "ffffff"),
    }

    # 4.1-4.4 The query lookups: the guide prints only the status.
    def deploy(method: str, name: str, path: str, payload: dict[str, Any]) -> requests.Response:
        url = f"{base}/lookup/{DOMAIN}/{name}/{path}"
        return requests.request(method, url, headers=headers, data=json.dumps(payload), timeout=30)

    assert deploy("POST", STATIC_LOOKUP, "deploy-static-query", STATIC_QUERY).status_code == 201
    assert live.runner.run_due() == 1
    users = linq(
        live,
        f'from siem.logtrust.web.navigation select lu("{STATIC_LOOKUP}", "domain", userid) as d',
    )
    assert [r["d"] for r in users] == ["self", "self", "self"]
    # linqd's activity table has no clientIpAddress: a JSON 400, and the lookup stays as it was.
    put = deploy("PUT", STATIC_LOOKUP, "deploy-static-query", STATIC_PUT)
    assert put.status_code == 400
    assert "clientIpAddress" in put.json()["msg"]
    assert (
        deploy("POST", PERIODIC_LOOKUP, "deploy-periodic-query", PERIODIC_QUERY).status_code == 201
    )
    assert (
        deploy("POST", SLIDING_LOOKUP, "deploy-sliding-window-query", SLIDING_QUERY).status_code
        == 201
    )

    # 5.1 The periodic lookup's jobs, listed as soon as the deploy call returned.
    jobs = requests.get(
        f"{base}/lookup/{DOMAIN}/{PERIODIC_LOOKUP}/job", headers=headers, timeout=30
    )
    assert jobs.ok
    ids = jobs.json()["jobs"]
    assert len(ids) == 1 and isinstance(ids[0], str)
    # 5.2 That job's statuses.
    status = requests.get(
        f"{base}/lookup/{DOMAIN}/{PERIODIC_LOOKUP}/job/{ids[0]}", headers=headers, timeout=30
    )
    assert status.ok
    assert status.json()["jobs"][0]["code"] == "create.start"
    assert live.runner.run_due() == 2  # the periodic and the sliding-window creations
    codes = [
        s["code"] for s in requests.get(status.url, headers=headers, timeout=30).json()["jobs"]
    ]
    assert codes == ["create.start", "create.ok"]
    static = linq(live, f"from my.lookuplist.{STATIC_LOOKUP} select userid, domain")
    assert sorted((r["userid"], r["domain"]) for r in static) == [("ana", "self"), ("bob", "self")]
    assert {
        r["userid"] for r in linq(live, f"from my.lookuplist.{PERIODIC_LOOKUP} select userid")
    } == {"ana"}
    # Grouped by domain alone, the sliding window's rows keep its key (and their eventdate).
    assert linq(live, f"from my.lookuplist.{SLIDING_LOOKUP} select domain") == [{"domain": "self"}]

    # 6.1 Full replace: new column, rows 1 and 6 only.
    replaced = upload(
        live, "PUT", CSV_LOOKUP, REPLACE_CONFIG, REPLACE_CSV, tmp_path / "updated_example.csv"
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["type"] == "LookupUpdateResponse"
    rows = linq(live, f"from my.lookuplist.{CSV_LOOKUP} select KEY, COLOR, HEX, NEW_INFO")
    assert sorted((r["KEY"], r["COLOR"], r["NEW_INFO"]) for r in rows) == [
        (1, "Dark Red", "UpdatedRow1"),
        (6, "Orange", "NewRow6"),
    ]
    # 6.2 Deleting keys 2 and 4, gone already, with a three-column configuration: no error.
    deleted_rows = upload(
        live, "PUT", CSV_LOOKUP, DELETE_CONFIG, DELETE_CSV, tmp_path / "keys_to_delete.csv"
    )
    assert deleted_rows.status_code == 200, deleted_rows.text
    assert len(linq(live, f"from my.lookuplist.{CSV_LOOKUP} select KEY")) == 2

    # 7. Deleting the CSV lookup: JSON with the deletion job; the query lookups stay.
    gone = requests.delete(f"{base}/lookup/{DOMAIN}/{CSV_LOOKUP}", headers=headers, timeout=30)
    assert gone.status_code == 200
    assert gone.json()["type"] == "LookupDeletionResponse"
    job = requests.get(
        f"{base}/lookup/{DOMAIN}/{CSV_LOOKUP}/job/{gone.json()['id']}", headers=headers, timeout=30
    ).json()
    assert [s["code"] for s in job["jobs"]] == ["delete.start", "delete.ok"]
    names = [
        e["name"]
        for e in requests.get(f"{base}/lookup/{DOMAIN}", headers=headers, timeout=30).json()[
            "lookups"
        ]
    ]
    assert names == [STATIC_LOOKUP, PERIODIC_LOOKUP, SLIDING_LOOKUP]
