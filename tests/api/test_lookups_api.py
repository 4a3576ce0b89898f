"""The Lookups API in-process (httpx.ASGITransport): access and domains, validation and limits
with Devo's error shape, the job statuses, the refresh schedule on the simulated clock and across
a restart, atomic writes, and lookups uploaded over syslog being the same tables."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from linqd.api.app import create_app
from linqd.clock import SimulatedClock
from linqd.config import Settings
from linqd.datadir import DataDir, open_data_dir
from linqd.domains import DomainStore, TokenKind
from linqd.ingest.lookups import LookupAssembler
from linqd.jobs.repo import JobRepository
from linqd.jobs.runner import JobRunner
from linqd.lookups.limits import LookupLimits
from linqd.lookups.service import LookupService

from .lookups_support import COLORS_CONFIG, COLORS_CSV, MINUTE, NOW, PERIODIC_QUERY, seed

pytestmark = pytest.mark.anyio
BASE = "/lookup-api/lookup"
SMALL = LookupLimits(
    max_upload_bytes=4096,
    max_json_bytes=4096,
    max_rows=5,
    max_columns=3,
    max_lookups_per_domain=3,
    max_query_chars=200,
)


@dataclass
class Env:
    client: httpx.AsyncClient
    data: DataDir
    clock: SimulatedClock
    runner: JobRunner
    token: str
    other_token: str

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    async def upload(
        self, method: str, name: str, config: object, csv: str, *, token: str | None = None
    ) -> httpx.Response:
        files = {
            "deploy-config": (None, json.dumps(config), "application/json"),
            "csv": ("data.csv", csv.encode(), "text/csv"),
        }
        url = f"{BASE}/self/{name}/deploy-csv"
        return await self.client.request(method, url, headers=self.auth(token), files=files)

    async def call(
        self, method: str, path: str, body: object = None, token: str | None = None
    ) -> httpx.Response:
        return await self.client.request(
            method, f"{BASE}/{path}", headers=self.auth(token), json=body
        )

    async def linq(self, query: str, token: str | None = None) -> list[dict[str, Any]]:
        body = {
            "query": query,
            "from": (NOW - 86_400_000) // 1000,
            "to": self.clock.now // 1000,
            "mode": {"type": "json"},
        }
        response = await self.client.post("/search/query", headers=self.auth(token), json=body)
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()["object"]
        return rows

    async def statuses(self, name: str, job_id: str) -> list[str]:
        response = await self.call("GET", f"self/{name}/job/{job_id}")
        assert response.status_code == 200, response.text
        return [s["code"] for s in response.json()["jobs"]]


def build(data: DataDir, clock: SimulatedClock, limits: LookupLimits) -> tuple[Any, JobRunner]:
    domains = DomainStore(data.meta, clock)
    runner = JobRunner(data.store, JobRepository(data.meta), clock, lambda job: None)
    service = LookupService(data.store, data.meta, runner, clock, limits)
    app = create_app(
        Settings(data_dir=data.path), data.store, domains, clock, runner=runner, lookups=service
    )
    runner.resume_all()
    return app, runner


@pytest.fixture
def data(tmp_path: Path) -> Iterator[DataDir]:
    data = open_data_dir(tmp_path, SimulatedClock(NOW))
    seed(data.store)
    yield data
    data.close()


async def _env(data: DataDir, limits: LookupLimits) -> AsyncIterator[Env]:
    clock = SimulatedClock(NOW)
    domains = DomainStore(data.meta, clock)
    token = domains.create_domain("self").token
    other = domains.create_domain("other").token
    app, runner = build(data, clock, limits)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://linqd") as client:
        yield Env(client, data, clock, runner, token, other)
    runner.close()


@pytest.fixture
async def env(data: DataDir) -> AsyncIterator[Env]:
    async for made in _env(data, LookupLimits()):
        yield made


@pytest.fixture
async def small(data: DataDir) -> AsyncIterator[Env]:
    async for made in _env(data, SMALL):
        yield made


def assert_error(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == status and body["type"] == "LookupErrorResponse"
    assert isinstance(body["cid"], str) and isinstance(body["timestamp"], int)
    for word in words:
        assert word in body["msg"], body
    return body


# -- access and domains ---------------------------------------------------------------------------


async def test_credentials_and_domains(env: Env) -> None:
    missing = await env.client.get(f"{BASE}/self")
    assert_error(missing, 401, "Unauthorized")
    foreign = await env.call("GET", "other", token=env.token)
    assert_error(foreign, 403, "Access not allowed for domain 'other'")
    assert (await env.upload("POST", "colors", COLORS_CONFIG, COLORS_CSV)).status_code == 201
    # The other domain's own namespace: not there, then its own lookup of the same name.
    assert_error(await env.call("GET", "other/colors", token=env.other_token), 404)
    other = {**COLORS_CONFIG}
    files = {
        "deploy-config": (None, json.dumps(other)),
        "csv": ("c.csv", "KEY,COLOR,HEX\n2,Mine,0\n"),
    }
    made = await env.client.post(
        f"{BASE}/other/colors/deploy-csv", files=files, headers=env.auth(env.other_token)
    )
    assert made.status_code == 201, made.text
    query = 'from siem.logtrust.web.navigation select lu("colors", "COLOR", 2) as c limit 1'
    assert await env.linq(query) == [{"c": "Green"}]
    assert await env.linq(query, token=env.other_token) == [{"c": "Mine"}]


async def test_a_token_scope_must_cover_the_lookup(env: Env) -> None:
    domains = DomainStore(env.data.meta, env.clock)
    scoped = domains.create_token("self", kind=TokenKind.API, tables=["siem.**"], name="t")
    refused = await env.upload("POST", "colors", COLORS_CONFIG, COLORS_CSV, token=scoped)
    assert_error(refused, 403, "Access not allowed for table 'my.lookuplist.colors'")


# -- validation and limits ------------------------------------------------------------------------


async def test_bodies_are_checked(env: Env) -> None:
    typo = {**PERIODIC_QUERY, "refresPeriod": "5m"}
    body = assert_error(
        await env.call("POST", "self/p/deploy-periodic-query", typo), 400, "refresPeriod"
    )
    assert body["context"] == {"field": "refresPeriod"}
    bad_type = {**COLORS_CONFIG, "columns": [{"name": "KEY", "type": "IP6"}]}
    assert_error(await env.upload("POST", "x", bad_type, "KEY\n1\n"), 400, "IP6")
    bad_value = "KEY,COLOR,HEX\n1,Red,a\n2,Green,b\nthree,Blue,c\n"
    assert_error(
        await env.upload("POST", "x", COLORS_CONFIG, bad_value),
        400,
        "Row 3, column `KEY`",
        "three",
        "INT8",
    )
    assert_error(await env.upload("POST", "bad/", COLORS_CONFIG, COLORS_CSV), 404)
    assert_error(await env.upload("POST", "-dash", COLORS_CONFIG, COLORS_CSV), 400, "Lookup name")
    assert_error(await env.call("GET", "self?max_length=1001"), 400, "max_length")
    linq_error = {"query": "from nowhere.at.all select x", "key": {"type": "first-column"}}
    assert_error(await env.call("POST", "self/q/deploy-static-query", linq_error), 400)
    no_key = {
        "query": "from siem.logtrust.web.navigation select userid",
        "key": {"type": "column", "column": "nope"},
    }
    assert_error(await env.call("POST", "self/q/deploy-static-query", no_key), 400, "nope")
    assert (await env.call("GET", "self")).json() == {"lookups": []}  # nothing left behind


async def test_types_are_read_as_declared(env: Env) -> None:
    config = {
        "columns": [
            {"name": "ip", "type": "ip4"},
            {"name": "n", "type": "Int4"},
            {"name": "f", "type": "float"},
            {"name": "b", "type": "BOOLEAN"},
            {"name": "t", "type": "timestamp"},
            {"name": "s", "type": "str"},
        ],
        "key": {"type": "column", "column": "s"},
    }
    csv = "ip,n,f,b,t,s\n10.0.0.1,7,1.5,true,2025-05-12T00:00:00Z,008744\n,,,,,x\n"
    assert (await env.upload("POST", "typed", config, csv)).status_code == 201
    rows = await env.linq("from my.lookuplist.typed select s, ip, n, f, b, t")
    assert rows[0] == {
        "s": "008744",
        "ip": 167772161,
        "n": 7,
        "f": 1.5,
        "b": True,
        "t": 1_747_008_000_000,
    }
    assert rows[1]["s"] == "x" and rows[1]["n"] is None
    meta = (await env.call("GET", "self/typed")).json()
    assert [c["type"] for c in meta["columns"]] == [
        "STRING",
        "IP4",
        "INT4",
        "FLOAT",
        "BOOL",
        "TIMESTAMP",
    ]


async def test_limits(small: Env) -> None:
    env = small
    assert_error(
        await env.upload("POST", "big", COLORS_CONFIG, "KEY,COLOR,HEX\n" + "1,a,b\n" * 800),
        413,
        "4096",
    )
    assert_error(
        await env.upload("POST", "rows", COLORS_CONFIG, "KEY,COLOR,HEX\n" + "1,a,b\n" * 6),
        400,
        "more than 5 rows",
    )
    wide = {**COLORS_CONFIG, "columns": [*COLORS_CONFIG["columns"], {"name": "X", "type": "str"}]}
    assert_error(await env.upload("POST", "wide", wide, "KEY,COLOR,HEX,X\n"), 400, "3 columns")
    long_query = {
        "query": "from siem.logtrust.web.navigation select userid " + " " * 200,
        "key": {"type": "first-column"},
    }
    assert_error(await env.call("POST", "self/q/deploy-static-query", long_query), 400, "200")
    assert_error(await env.call("POST", "self/q/deploy-static-query", {"query": "x" * 5000}), 413)
    assert_error(await env.upload("POST", "n" * 129, COLORS_CONFIG, COLORS_CSV), 400, "128")
    for name in ("a", "b", "c"):
        assert (await env.upload("POST", name, COLORS_CONFIG, COLORS_CSV)).status_code == 201
    assert_error(await env.upload("POST", "d", COLORS_CONFIG, COLORS_CSV), 400, "at most 3")


# -- deployments, jobs, schedules -----------------------------------------------------------------


async def test_csv_updates_are_atomic_and_upsert(env: Env) -> None:
    assert (await env.upload("POST", "colors", COLORS_CONFIG, COLORS_CSV)).status_code == 201
    # Jobs of one millisecond are listed by id, not in creation order: the updates come later.
    env.clock.advance(1)
    assert_error(await env.upload("POST", "colors", COLORS_CONFIG, COLORS_CSV), 409)
    assert_error(await env.upload("PUT", "missing", COLORS_CONFIG, COLORS_CSV), 404)
    # A refused replace leaves every old row: readers never see half of it.
    broken = "KEY,COLOR,HEX\n9,Gray,1\n10,Black\n"
    assert_error(await env.upload("PUT", "colors", COLORS_CONFIG, broken), 400, "2 field(s)")
    assert len(await env.linq("from my.lookuplist.colors select KEY")) == 5
    upsert = {**COLORS_CONFIG, "append": True}
    changed = await env.upload("PUT", "colors", upsert, "KEY,COLOR,HEX\n1,Crimson,x\n7,Teal,y\n")
    assert changed.status_code == 200
    rows = await env.linq("from my.lookuplist.colors select KEY, COLOR")
    assert {(r["KEY"], r["COLOR"]) for r in rows} >= {(1, "Crimson"), (7, "Teal"), (2, "Green")}
    assert len(rows) == 6
    # The JSON-body variant (#12): the configuration's members and the CSV as `csv`.
    inline = {**COLORS_CONFIG, "append": True, "contribution": {"type": "del"}, "csv": "KEY\n7\n"}
    inline["columns"] = [{"name": "KEY", "type": "INT8"}]
    assert (await env.call("PUT", "self/colors/deploy-csv", inline)).status_code == 200
    assert len(await env.linq("from my.lookuplist.colors select KEY")) == 5
    ids = (await env.call("GET", "self/colors/job")).json()["jobs"]
    assert len(ids) == 3  # the refused replace left no job
    assert await env.statuses("colors", ids[-1]) == ["update.start", "update.ok"]
    assert_error(await env.call("GET", "self/colors/job/nope"), 404)


async def test_periodic_refreshes_follow_the_clock_and_survive_a_restart(env: Env) -> None:
    created = await env.call("POST", "self/users/deploy-periodic-query", PERIODIC_QUERY)
    assert created.status_code == 201
    job_id = created.json()["id"]
    assert created.json()["lookupDeployConfig"]["recipe"]["refreshMillis"] == 5 * MINUTE
    assert await env.linq("from siem.logtrust.web.navigation select userid limit 1")
    assert env.runner.run_due() == 1
    # The first run covers [now - 5m, now): ana's event of 2 minutes ago.
    assert await env.linq("from my.lookuplist.users select userid") == [{"userid": "ana"}]
    assert env.runner.run_due() == 0  # nothing due before the next slot
    env.data.store.append(
        "siem.logtrust.web.navigation",
        {"userid": ["carl"]},
        client="self",
        eventdates=[NOW + MINUTE],
    )
    env.clock.advance(5 * MINUTE)
    assert env.runner.run_due() == 1
    users = {r["userid"] for r in await env.linq("from my.lookuplist.users select userid")}
    assert users == {"ana", "carl"}  # upserted by key
    assert await env.statuses("users", job_id) == [
        "create.start",
        "create.ok",
        "refresh.start",
        "refresh.ok",
    ]
    # A restart: the job is resumed from meta.sqlite and its schedule goes on.
    env.runner.close()
    app, runner = build(env.data, env.clock, LookupLimits())
    assert runner.due_ms(job_id) == NOW + 10 * MINUTE
    env.data.store.append(
        "siem.logtrust.web.navigation",
        {"userid": ["dora"]},
        client="self",
        eventdates=[NOW + 7 * MINUTE],
    )
    env.clock.advance(5 * MINUTE)
    assert runner.run_due() == 1
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://linqd"
    ) as client:
        env.client, env.runner = client, runner
        users = {r["userid"] for r in await env.linq("from my.lookuplist.users select userid")}
        assert users == {"ana", "carl", "dora"}
        # Deleting the lookup ends its job: nothing runs any more.
        assert (await env.call("DELETE", "self/users")).status_code == 200
        env.clock.advance(5 * MINUTE)
        assert runner.run_due() == 0
        codes = await env.statuses("users", job_id)
        assert codes[-1] == "refresh.stop"


async def test_sliding_window_and_advanced_config(env: Env) -> None:
    sliding = {
        "query": "from siem.logtrust.web.navigation select userid, domain",
        "key": {"type": "column", "column": "userid"},
        "windowSize": "5m",
        "refreshPeriod": "5m",
    }
    assert (
        await env.call("POST", "self/win/deploy-sliding-window-query", sliding)
    ).status_code == 201
    advanced = {
        "id": {"creator": "self", "name": "adv"},
        "visibility": "creator-only",
        "recipe": {
            "recipeType": "once",
            "source": {
                "query": "from siem.logtrust.web.navigation group by userid "
                "select userid, count() as n, 'add' as type"
            },
            "lookupType": {"type": "normal"},
            "append": False,
            "key": {"type": "column", "column": "userid"},
            "columnFilter": ["userid", "n", "type"],
            "contribution": {"type": "col", "name": "type"},
            "requiresDate": False,
        },
        "notifyStatus": False,
    }
    reply = await env.call("POST", "self/adv/deploy-config", advanced)
    assert reply.status_code == 201
    body = reply.json()
    assert set(body) == {"type", "cid", "code", "context", "id", "msg", "lookupDeployConfig"}
    assert body["msg"].endswith("/lookup/{domain}/{name}/job/{id}")
    assert body["lookupDeployConfig"]["recipe"]["contribution"] == {"type": "col", "name": "type"}
    assert env.runner.run_due() == 2
    assert await env.linq("from my.lookuplist.win select userid") == [{"userid": "ana"}]
    counts = await env.linq("from my.lookuplist.adv select userid, n")
    assert sorted((r["userid"], r["n"]) for r in counts) == [("ana", 2), ("bob", 1)]
    env.clock.advance(10 * MINUTE)  # ana's events leave the window
    assert env.runner.run_due() == 1
    assert await env.linq("from my.lookuplist.win select userid") == []
    listed = (await env.call("GET", "self?max_length=1")).json()
    assert [e["name"] for e in listed["lookups"]] == ["win"]
    rest = (await env.call("GET", f"self?max_length=5&pageToken={listed['nextPageToken']}")).json()
    assert [e["name"] for e in rest["lookups"]] == ["adv"] and "nextPageToken" not in rest


async def test_a_lookup_uploaded_over_syslog_is_the_same_table(env: Env) -> None:
    assembler = LookupAssembler(env.data.store, env.clock)
    headers = '[{"KEY":{"type":"str","key":true}},{"COLOR":{"type":"str"}}]'
    assembler.feed("my.lookup.control.legacy.FULL", f"1.5_legacy|START|{headers}", client="self")
    assembler.feed("my.lookup.data.legacy", "1.5_legacy|a,Red", client="self")
    assembler.feed("my.lookup.control.legacy.FULL", f"1.5_legacy|END|{headers}", client="self")
    listed = (await env.call("GET", "self")).json()["lookups"]
    assert [(e["name"], e["type"]) for e in listed] == [("legacy", "syslog")]
    config = {
        "columns": [{"name": "KEY", "type": "str"}, {"name": "COLOR", "type": "str"}],
        "key": {"type": "column", "column": "KEY"},
        "append": True,
    }
    assert (await env.upload("PUT", "legacy", config, "KEY,COLOR\nb,Blue\n")).status_code == 200
    query = 'from siem.logtrust.web.navigation select lu("legacy", "COLOR", "b") as c limit 1'
    assert await env.linq(query) == [{"c": "Blue"}]
    keyed = "from siem.logtrust.web.navigation where userid in my.lookuplist.users select userid"
    users = {
        **COLORS_CONFIG,
        "columns": [{"name": "id", "type": "str"}],
        "key": {"type": "column", "column": "id"},
    }
    assert (await env.upload("POST", "users", users, "id\nbob\n")).status_code == 201
    assert await env.linq(keyed) == [{"userid": "bob"}]
