"""devo-sdk's job calls (get_jobs, get_job, stop_job, start_job, remove_job) against the live
server, as devo-sdk's own test_jobs_cycle runs them."""

from __future__ import annotations

import json

from devo.api import Client, ClientConfig

from .conftest import LiveServer


def test_jobs_cycle(live: LiveServer) -> None:
    api = Client(
        address=f"{live.url}/search/query",
        auth={"key": live.credentials["apiKey"], "secret": live.credentials["apiSecret"]},
        config=ClientConfig(
            response="json/simple/compact",
            stream=False,
            destination={"type": "donothing", "params": {"friendlyName": "devo-sdk-api-test"}},
        ),
        verify=str(live.ca),
        retries=0,
        timeout=30,
    )
    launched = json.loads(
        api.query(
            query="from demo.ecommerce.data select method", dates={"from": "1d", "to": "endday"}
        )
    )
    assert launched["status"] == 0
    job_id = launched["object"]["id"]
    jobs = api.get_jobs()
    assert all("friendlyName" in job for job in jobs["object"])
    assert any(job["id"] == job_id for job in jobs["object"])
    assert api.get_job(job_id)["object"]["id"] == job_id
    assert api.stop_job(job_id)["object"]["status"] in ("STOPPED", "COMPLETED")
    assert api.start_job(job_id)["object"]["status"] in ("RUNNING", "COMPLETED")
    assert api.remove_job(job_id)["object"]["status"] in ("REMOVED", "COMPLETED")
    assert all(job["id"] != job_id for job in api.get_jobs()["object"])
