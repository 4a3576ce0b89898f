"""The query jobs page in Chromium: a job's progress, stopped, started and removed, and a viewer
without those controls."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import expect

from linqd.jobs.model import Job, JobStatus

from .conftest import T0, LiveConsole, sign_in


def launch(live: LiveConsole, name: str, to_ms: int | None = None) -> Job:
    """A donothing job over my.app.web (continuous without ``to_ms``), started as the Query API
    starts one."""
    job = Job(
        id=str(uuid.uuid4()),
        domain="self",
        type="donothing",
        friendly_name=name,
        query="from my.app.web select message",
        from_ms=T0 - 3_600_000,
        to_ms=to_ms,
        params={},
        status=JobStatus.CREATED,
        cid="cid",
        created_ms=T0,
    )
    live.runner.repo.create(job)
    live.runner.run(job)
    return job


def test_progress_stop_start_remove(page: Any, live: LiveConsole) -> None:
    live.append("my.app.web", {"message": ["a", "b"]}, eventdates=[T0 - 120_000, T0 - 110_000])
    done = launch(live, "done-job", to_ms=T0 - 60_000)
    assert live.runner.wait(done.id, 10)
    job = launch(live, "export-web")
    sign_in(page)
    page.get_by_role("link", name="Jobs", exact=True).click()
    page.wait_for_url("**/ui/jobs")  # loaded: htmx listens to the buttons
    table = page.get_by_role("table", name="Jobs")
    finished = table.get_by_role("row", name="done-job").locator("td")
    expect(finished).to_have_text(
        [
            "done-job",
            "donothing",
            "COMPLETED",
            "2",
            "2",
            "2027-01-15 07:58:10",
            "2027-01-15 08:00:00",
            "from my.app.web select message",
            "Remove",
        ]
    )
    row = table.get_by_role("row", name="export-web")
    row.get_by_role("button", name="Stop").click()
    expect(page.get_by_role("status")).to_have_text("Stopped the job export-web")
    expect(row).to_contain_text("STOPPED")
    row.get_by_role("button", name="Start").click()
    expect(page.get_by_role("status")).to_have_text("Started the job export-web")
    expect(row).to_contain_text("RUNNING")
    row.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_have_text("Removed the job export-web")
    expect(table.get_by_role("row", name="export-web")).to_have_count(0)
    assert live.runner.repo.get("self", job.id).status is JobStatus.REMOVED


def test_viewer_sees_jobs_without_controls(page: Any, live: LiveConsole) -> None:
    live.append("my.app.web", {"message": ["a"]}, eventdates=[T0 - 120_000])
    launch(live, "watched-job")
    sign_in(page, "vic")
    page.goto("/ui/jobs")
    row = page.get_by_role("table", name="Jobs").get_by_role("row", name="watched-job")
    expect(row).to_be_visible()
    for name in ("Stop", "Start", "Remove"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
