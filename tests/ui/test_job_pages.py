"""The query jobs page without a browser: the domain's jobs and their progress, stop, start and
remove through the Query API's code, roles, domains and CSRF."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from linqd.api.app import create_app
from linqd.config import Settings
from linqd.jobs.model import Job, JobStatus
from linqd.jobs.repo import JobRepository
from linqd.jobs.runner import JobRunner
from linqd.server import sink_factory
from linqd.sinks import destination_rules
from linqd.sinks.email import SmtpSettings

from .conftest import T0, Console

pytestmark = pytest.mark.anyio


@pytest.fixture
def runner(console: Console) -> Iterator[JobRunner]:
    """The console with a job runner (the plain fixture's app has none)."""
    settings = Settings(data_dir=console.data.path)
    runner = JobRunner(
        console.data.store,
        JobRepository(console.data.meta),
        console.clock,
        sink_factory(SmtpSettings(), console.clock, destination_rules(settings)),
        idle_wait_s=0.05,
    )
    app = create_app(settings, console.data.store, console.domains, console.clock, runner=runner)
    console.transport = httpx.ASGITransport(app=app)
    try:
        yield runner
    finally:
        runner.close()


def job(
    runner: JobRunner,
    name: str,
    *,
    domain: str = "self",
    status: JobStatus = JobStatus.STOPPED,
    run: bool = False,
) -> Job:
    """A donothing job, stored with some progress; ``run`` starts its worker."""
    made = Job(
        id=str(uuid.uuid4()),
        domain=domain,
        type="donothing",
        friendly_name=name,
        query="from my.app.web select message",
        from_ms=T0 - 3_600_000,
        to_ms=None,
        params={},
        status=status,
        cid="cid",
        created_ms=T0 - 60_000,
        events_generated=12,
        events_sent=10,
        last_datetime=T0 - 30_000,
    )
    runner.repo.create(made)
    if run:
        runner.run(made)
    return made


def rows(page: str) -> list[list[str]]:
    table = re.search(r'<table aria-label="Jobs".*?</table>', page, re.S)
    assert table
    found = []
    for row in re.findall(r"<tr>(.*?)</tr>", table.group(0), re.S)[1:]:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        found.append([html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return found


async def test_list_shows_status_and_progress(console: Console, runner: JobRunner) -> None:
    job(runner, "nightly <export>")
    job(runner, "theirs", domain="other")
    async with console.signed_in("ana") as client:
        page = await client.get("/ui/jobs")
    assert page.status_code == 200
    ((name, kind, status, generated, sent, last, created, query, actions),) = rows(page.text)
    assert (name, kind, status, generated, sent) == (
        "nightly <export>",
        "donothing",
        "STOPPED",
        "12",
        "10",
    )
    assert last == "2027-01-15 07:59:30" and created == "2027-01-15 07:59:00"
    assert query == "from my.app.web select message"
    assert actions.split() == ["Start", "Remove"]
    assert "nightly &lt;export&gt;" in page.text


async def test_stop_start_remove(console: Console, runner: JobRunner) -> None:
    console.data.store.append("my.app.web", {"message": ["x"]}, client="self", eventdates=[T0])
    running = job(runner, "live", status=JobStatus.RUNNING, run=True)
    async with console.signed_in("ana") as client:
        stopped = await client.post(f"/ui/jobs/{running.id}/stop")
        assert stopped.status_code == 200 and "Stopped the job live" in stopped.text
        assert runner.repo.get("self", running.id).status is JobStatus.STOPPED
        again = await client.post(f"/ui/jobs/{running.id}/stop")
        assert again.status_code == 400 and "non running" in again.text
        started = await client.post(f"/ui/jobs/{running.id}/start")
        assert "Started the job live" in started.text
        assert runner.repo.get("self", running.id).status is JobStatus.RUNNING
        assert 'hx-trigger="every 10s"' in started.text, "a running job's list refreshes"
        removed = await client.post(f"/ui/jobs/{running.id}/remove")
        assert "Removed the job live" in removed.text and rows(removed.text) == [
            ["No query jobs. A query sent with a destination becomes one."]
        ]
        assert runner.repo.get("self", running.id).status is JobStatus.REMOVED
        gone = await client.post(f"/ui/jobs/{running.id}/start")
        assert gone.status_code == 404
        unknown = await client.post(f"/ui/jobs/{running.id}/explode")
        assert unknown.status_code == 404


async def test_viewer_sees_but_cannot_change(console: Console, runner: JobRunner) -> None:
    stopped = job(runner, "watched")
    async with console.signed_in("vic") as viewer:
        page = await viewer.get("/ui/jobs")
        assert "watched" in page.text and ">Start<" not in page.text
        assert ">Remove<" not in page.text
        for action in ("start", "stop", "remove"):
            refused = await viewer.post(f"/ui/jobs/{stopped.id}/{action}")
            assert refused.status_code == 403, action
    assert runner.repo.get("self", stopped.id).status is JobStatus.STOPPED


async def test_other_domains_jobs_are_not_found(console: Console, runner: JobRunner) -> None:
    theirs = job(runner, "self only")
    async with console.signed_in("otto") as otto:
        page = await otto.get("/ui/jobs")
        assert "self only" not in page.text
        for action in ("start", "stop", "remove"):
            answer = await otto.post(f"/ui/jobs/{theirs.id}/{action}")
            assert answer.status_code == 404, action
    assert runner.repo.get("self", theirs.id).status is JobStatus.STOPPED


async def test_changes_need_the_csrf_token(console: Console, runner: JobRunner) -> None:
    stopped = job(runner, "guarded")
    async with console.signed_in("ana") as client:
        client.headers.pop("X-CSRF-Token")
        refused = await client.post(f"/ui/jobs/{stopped.id}/remove", data={"csrf": "x"})
        assert refused.status_code == 403 and "CSRF" in refused.text
    assert runner.repo.get("self", stopped.id).status is JobStatus.STOPPED


async def test_without_a_runner_the_page_says_so(analyst: httpx.AsyncClient) -> None:
    page = await analyst.get("/ui/jobs")
    assert page.status_code == 200 and "Query jobs are not enabled" in page.text
    assert (await analyst.post("/ui/jobs/x/stop")).status_code == 404
