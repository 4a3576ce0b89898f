"""The Alerts API for alert definitions (seed 004), in-process: every request example of the seed
replayed and its answer compared with the seed's field by field, the validation rules, paging,
domains and restarts."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import AsyncIterator
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
from linqd.linq import types as t
from linqd.lookup_tables import lookup_storage
from linqd.store.catalog import Column, TableSchema

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000_000
DOMAIN = "tutorials"
BASE = "/alerts/v1/alertDefinitions"
DATA = Path(__file__).parent / "data"
EXAMPLES: dict[str, Any] = json.loads((DATA / "alert_examples.json").read_text())
ACTIVITY = "siem.logtrust.web.activity"


@dataclass
class Env:
    client: httpx.AsyncClient
    token: str
    other_token: str
    data_dir: Path
    store_spec: str

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"standAloneToken": token or self.token, "Content-Type": "application/json"}

    async def post(self, body: Any, path: str = BASE, token: str | None = None) -> httpx.Response:
        return await self.client.post(path, content=json.dumps(body), headers=self.headers(token))

    async def put(self, body: Any, path: str = BASE) -> httpx.Response:
        return await self.client.put(path, content=json.dumps(body), headers=self.headers())

    async def get(self, token: str | None = None, **params: Any) -> httpx.Response:
        return await self.client.get(BASE, params=params, headers=self.headers(token))

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = await self.post(body)
        assert answer.status_code == 200, answer.text
        created: dict[str, Any] = answer.json()
        return created


def open_app(
    data_dir: Path, clock: SimulatedClock, store_spec: str
) -> tuple[DataDir, httpx.AsyncClient]:
    data = open_data_dir(data_dir, clock, store=store_spec)
    domains = DomainStore(data.meta, clock)
    app = create_app(Settings(data_dir=data_dir), data.store, domains, clock)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://linqd")
    return data, client


@pytest.fixture
async def env(tmp_path: Path, store_spec: str) -> AsyncIterator[Env]:
    clock = SimulatedClock(NOW)
    data_dir = tmp_path / "data"
    data, client = open_app(data_dir, clock, store_spec)
    hosts = lookup_storage("my.lookuplist.hosts", DOMAIN)
    data.store.ensure_table(TableSchema(hosts, (Column("srcHost", t.STR),)))
    domains = DomainStore(data.meta, clock)
    token = domains.create_domain(DOMAIN).stand_alone_token
    domains.create_token(DOMAIN, kind=TokenKind.ALERTS, name="john.smith@devo.com")
    other = domains.create_domain("elsewhere").stand_alone_token
    try:
        async with client:
            yield Env(client, token, other, data_dir, store_spec)
    finally:
        data.close()


def example(name: str) -> dict[str, Any]:
    found = [e for e in EXAMPLES["create"] if e["name"] == name]
    assert len(found) == 1
    return copy.deepcopy(found[0])


def definition(query: str, trigger: dict[str, Any], name: str = "rule") -> dict[str, Any]:
    return {
        "name": name,
        "subcategory": "tests",
        "alertCorrelationContext": {
            "querySourceCode": query,
            "priority": 5,
            "correlationTrigger": trigger,
        },
    }


def same_shape(seed: Any, ours: Any, path: str = "") -> None:
    """Every field of the seed's object is in ours, with the same JSON type (null matches any
    type: the seed shows unset values as null)."""
    if isinstance(seed, dict):
        assert isinstance(ours, dict), path
        for key, value in seed.items():
            assert key in ours, f"{path}.{key} missing"
            same_shape(value, ours[key], f"{path}.{key}")
    elif isinstance(seed, list):
        assert isinstance(ours, list), path
        if seed and ours:
            same_shape(seed[0], ours[0], f"{path}[0]")
    elif seed is not None:
        assert type(ours) is type(seed), f"{path}: {ours!r} is not like {seed!r}"


def check_definition(ours: dict[str, Any], sent: dict[str, Any]) -> None:
    """An AlertDefinition answer against the seed's example and the request it answers."""
    same_shape(EXAMPLES["create_response"], ours)
    same_shape(EXAMPLES["list_response"][0], ours)
    assert re.fullmatch(r"\d+", ours["id"])
    assert ours["creationDate"] == NOW
    assert ours["name"] == sent["name"]
    assert ours["message"] == sent.get("message", "")
    sub = re.sub(r"[^A-Za-z0-9]", "_", sent["subcategory"])
    assert ours["subcategory"] == f"lib.my.{DOMAIN}.{sub}"
    assert ours["isActive"] is sent.get("isActive", True)
    assert ours["isFavorite"] is False and ours["isAlertChain"] is False
    context = ours["alertCorrelationContext"]
    name_id = re.sub(r"[^A-Za-z0-9]", "_", sent["name"])
    assert context["nameId"] == f"my.alert.{DOMAIN}.{name_id}"
    sent_context = sent["alertCorrelationContext"]
    assert context["querySourceCode"] == sent_context["querySourceCode"]
    assert context["priority"] == sent_context["priority"]
    trigger = context["correlationTrigger"]
    for key, value in sent_context["correlationTrigger"].items():
        assert trigger[key] == value
    # every field of the kind, and the subquery fields, null where unset
    for key in ("externalPeriod", "externalOffset", "internalPeriod", "internalOffset"):
        assert key in trigger
    assert ours["actionPolicyId"] == []


# -- the seed's examples -------------------------------------------------------------------------


def test_the_examples_are_the_seeds() -> None:
    """The fixture holds the seed's request bodies (newer readings): every body of the seed that
    is valid JSON as printed is one of them."""
    seed = (DATA / "seed_004.txt").read_text()
    bodies = re.findall(r"--data '(.*?)'\n", seed, re.S)
    assert len(bodies) >= 10
    known = [*EXAMPLES["create"], *EXAMPLES["update"]]
    known += [EXAMPLES["batch_create"], EXAMPLES["batch_update"]]
    parsed = 0
    for body in bodies:
        try:
            value = json.loads(body)
        except json.JSONDecodeError:
            continue  # the page's diff rendering or its missing commas; the spec has them cleaned
        kinds = [
            v["alertCorrelationContext"]["correlationTrigger"]["kind"]
            for v in (value if isinstance(value, list) else [value])
        ]
        if any(
            k not in ("each", "several", "low", "inactivity", "rolling", "deviation", "gradient")
            for k in kinds
        ):
            continue  # a diff-merged value such as "severallow"
        parsed += 1
        assert value in known
    assert parsed >= 5


@pytest.mark.parametrize("name", [e["name"] for e in EXAMPLES["create"]])
async def test_each_create_example_is_answered_as_the_seed_shows(env: Env, name: str) -> None:
    body = example(name)
    answer = await env.post(body)
    assert answer.status_code == 200, answer.text
    check_definition(answer.json(), body)


async def test_the_list_carries_the_seeds_fields(env: Env) -> None:
    for body in EXAMPLES["create"]:
        await env.create(body)
    answer = await env.get()
    assert answer.status_code == 200
    listed = answer.json()
    assert [d["name"] for d in listed] == [e["name"] for e in EXAMPLES["create"]]
    for ours, sent in zip(listed, EXAMPLES["create"], strict=True):
        check_definition(ours, sent)
    each = listed[0]["alertCorrelationContext"]["correlationTrigger"]
    assert each == EXAMPLES["list_response"][0]["alertCorrelationContext"]["correlationTrigger"]
    ids = [int(d["id"]) for d in listed]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert len({d["subcategoryId"] for d in listed}) == len({d["subcategory"] for d in listed})
    assert len({d["categoryId"] for d in listed}) == 1


async def test_owner_email_is_the_tokens_name(env: Env, tmp_path: Path) -> None:
    clock = SimulatedClock(NOW)
    # A second data directory beside env's: chdb serves one directory per process, and who
    # owns a definition does not depend on the store.
    data = open_data_dir(tmp_path / "owner", clock, store="duckdb")
    try:
        domains = DomainStore(data.meta, clock)
        domains.create_domain(DOMAIN)
        token = domains.create_token(DOMAIN, kind=TokenKind.ALERTS, name="john.smith@devo.com")
        app = create_app(Settings(data_dir=data.path), data.store, domains, clock)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://linqd") as client:
            answer = await client.post(
                BASE, json=example("myAlertEach"), headers={"standAloneToken": token}
            )
    finally:
        data.close()
    owner = answer.json()["alertCorrelationContext"]["ownerEmail"]
    assert owner == "john.smith@devo.com"


async def test_batch_create_answers_the_seeds_wrapper(env: Env) -> None:
    answer = await env.post(EXAMPLES["batch_create"], f"{BASE}/batch")
    assert answer.status_code == 200, answer.text
    items = answer.json()
    assert len(items) == 2
    seed = EXAMPLES["batch_response_item"]
    for item, sent in zip(items, EXAMPLES["batch_create"], strict=True):
        assert set(item) == set(seed)
        assert set(item["context"]) == set(seed["context"])
        same_shape(seed, item)
        assert item["status"] == 200 and item["statusInfo"] == "OK"
        assert item["entity"] == item["context"]["entity"]
        assert item["context"]["entityClass"] == "com.devo.config.api.model.AlertDefinition"
        check_definition(item["entity"], sent)
    names = [d["name"] for d in (await env.get()).json()]
    assert names == ["myAlertEach2", "myAlertEach3"]


async def test_a_failing_batch_element_does_not_fail_the_others(env: Env) -> None:
    bad = copy.deepcopy(EXAMPLES["batch_create"][0])
    bad["alertCorrelationContext"]["priority"] = 11
    body = [bad, EXAMPLES["batch_create"][1], EXAMPLES["batch_create"][1]]
    items = (await env.post(body, f"{BASE}/batch")).json()
    assert [i["status"] for i in items] == [400, 200, 400]
    assert "priority" in items[0]["entity"]["msg"]
    assert items[0]["entity"]["context"]["field"] == "alertCorrelationContext.priority"
    assert "already exists" in items[2]["entity"]["msg"]
    assert [d["name"] for d in (await env.get()).json()] == ["myAlertEach3"]


async def test_update_examples(env: Env) -> None:
    created = await env.create(
        {**example("myAlertEach"), "name": "Alert_API_each", "subcategory": "alert"}
    )
    first, second = copy.deepcopy(EXAMPLES["update"])
    first["id"] = second["id"] = created["id"]
    env_clock_later = created["creationDate"]
    answer = await env.put(first)
    assert answer.status_code == 200, answer.text
    updated = answer.json()
    check_definition(updated, first)
    assert updated["id"] == created["id"] and updated["creationDate"] == env_clock_later
    answer = await env.put(second)  # each → several, as the seed's second example does
    assert answer.status_code == 200, answer.text
    check_definition(answer.json(), second)
    trigger = answer.json()["alertCorrelationContext"]["correlationTrigger"]
    assert trigger == {
        "kind": "several",
        "period": 300000,
        "threshold": 10000,
        "keys": None,
        "externalPeriod": None,
        "externalOffset": None,
        "internalPeriod": None,
        "internalOffset": None,
    }
    listed = (await env.get()).json()
    assert listed == [answer.json()]


async def test_batch_update_example(env: Env) -> None:
    created = [
        item["entity"]
        for item in (await env.post(EXAMPLES["batch_create"], f"{BASE}/batch")).json()
    ]
    body = copy.deepcopy(EXAMPLES["batch_update"])
    for item, stored in zip(body, created, strict=True):
        item["id"] = stored["id"]
        item["message"] = "changed"
    body.append({**copy.deepcopy(body[0]), "id": "999999"})
    items = (await env.put(body, f"{BASE}/batch")).json()
    assert [i["status"] for i in items] == [200, 200, 404]
    seed = EXAMPLES["batch_response_item"]
    for item in items[:2]:
        assert set(item) == set(seed) and item["entity"]["message"] == "changed"
    assert [d["message"] for d in (await env.get()).json()] == ["changed", "changed"]


async def test_status_example(env: Env) -> None:
    a = await env.create(example("myAlertEach"))
    b = await env.create(example("myAlertLow"))
    path = f"{BASE}/status?alertIds={a['id']}&alertIds={b['id']}&enable=false"
    answer = await env.client.put(path, headers=env.headers())
    assert answer.status_code == 200
    body = answer.json()
    same_shape(EXAMPLES["status_response"], {"updated": {"123456": True, "678900": True}})
    assert body["updated"] == {a["id"]: True, b["id"]: True}
    assert isinstance(body["correlationId"], str)
    assert [d["isActive"] for d in (await env.get()).json()] == [False, False]
    path = f"{BASE}/status?alertIds={a['id']}&alertIds=424242&enable=true"
    assert (await env.client.put(path, headers=env.headers())).json()["updated"] == {
        a["id"]: True,
        "424242": False,
    }
    assert [d["isActive"] for d in (await env.get()).json()] == [True, False]


async def test_delete(env: Env) -> None:
    a = await env.create(example("myAlertEach"))
    b = await env.create(example("myAlertLow"))
    answer = await env.client.delete(
        f"{BASE}?alertIds={a['id']}&alertIds=777", headers=env.headers()
    )
    assert answer.status_code == 200
    assert answer.json()["deleted"] == {a["id"]: True, "777": False}
    assert [d["id"] for d in (await env.get()).json()] == [b["id"]]
    # a deleted id is never given again, and its name is free
    again = await env.create(example("myAlertEach"))
    assert int(again["id"]) > int(b["id"])


# -- listing ---------------------------------------------------------------------------------------


async def test_paging_22_definitions_as_the_seed_describes(env: Env) -> None:
    ids = []
    for n in range(22):
        body = definition(f"from {ACTIVITY}", {"kind": "each"}, name=f"alert {n:02d}")
        ids.append((await env.create(body))["id"])
    page = (await env.get(page=2, size=5)).json()
    assert [d["id"] for d in page] == ids[10:15]
    assert [d["id"] for d in (await env.get(page=4, size=5)).json()] == ids[20:22]
    assert (await env.get(page=5, size=5)).json() == []
    assert [d["id"] for d in (await env.get(page=0, size=2)).json()] == ids[:2]
    assert len((await env.get()).json()) == 22


async def test_name_and_id_filters(env: Env) -> None:
    await env.create(definition(f"from {ACTIVITY}", {"kind": "each"}, name="Security breach"))
    other = await env.create(definition(f"from {ACTIVITY}", {"kind": "each"}, name="disk full"))
    await env.create(definition(f"from {ACTIVITY}", {"kind": "each"}, name="SECURITY scan"))
    named = (await env.get(page=0, size=2, nameFilter="security")).json()
    assert [d["name"] for d in named] == ["Security breach", "SECURITY scan"]
    assert [d["name"] for d in (await env.get(idFilter=other["id"])).json()] == ["disk full"]
    assert (await env.get(idFilter="9999")).json() == []


@pytest.mark.parametrize(
    "params",
    [{"page": "-1"}, {"page": "x"}, {"size": "0"}, {"size": "1e3"}, {"idFilter": "abc"}],
)
async def test_bad_list_parameters(env: Env, params: dict[str, str]) -> None:
    answer = await env.get(**params)
    assert answer.status_code == 400
    assert answer.json()["context"]["field"] == next(iter(params))


# -- domains, auth, restarts ---------------------------------------------------------------------


async def test_other_domains_see_nothing(env: Env) -> None:
    created = await env.create(example("myAlertEach"))
    assert (await env.get(token=env.other_token)).json() == []
    answer = await env.client.put(
        f"{BASE}/status?alertIds={created['id']}&enable=false",
        headers=env.headers(env.other_token),
    )
    assert answer.json()["updated"] == {created["id"]: False}
    answer = await env.client.delete(
        f"{BASE}?alertIds={created['id']}", headers=env.headers(env.other_token)
    )
    assert answer.json()["deleted"] == {created["id"]: False}
    update = {**example("myAlertEach"), "id": created["id"]}
    answer = await env.client.put(
        BASE, content=json.dumps(update), headers=env.headers(env.other_token)
    )
    assert answer.status_code == 404
    # the same name is free in another domain
    assert (await env.post(example("myAlertEach"), token=env.other_token)).status_code == 200
    assert (await env.get()).json()[0]["isActive"] is True


@pytest.mark.parametrize(
    "headers",
    [{}, {"standAloneToken": "nope"}, {"Authorization": "Bearer nope"}],
)
async def test_requests_need_an_alerts_token(env: Env, headers: dict[str, str]) -> None:
    for method in ("GET", "POST", "PUT", "DELETE"):
        answer = await env.client.request(method, BASE, headers=headers)
        assert answer.status_code == 401
        body = answer.json()
        assert set(body) >= {"code", "msg", "cid", "context", "messageKey", "language"}


async def test_bearer_header_works_too(env: Env) -> None:
    answer = await env.client.get(BASE, headers={"Authorization": f"Bearer {env.token}"})
    assert answer.status_code == 200


async def test_definitions_survive_a_restart(env: Env, tmp_path: Path) -> None:
    created = [await env.create(body) for body in EXAMPLES["create"]]
    before = (await env.get()).json()
    assert before == created
    # a second app over the same files (the first still open, as in a crash)
    data, client = open_app(env.data_dir, SimulatedClock(NOW + 1), env.store_spec)
    try:
        async with client:
            answer = await client.get(BASE, headers=env.headers())
    finally:
        data.close()
    assert answer.json() == before


# -- validation -----------------------------------------------------------------------------------

EACH_SUB = (
    f'from {ACTIVITY} where username in (from {ACTIVITY} where level = "ERROR" select username)'
)
SUBQUERY_WINDOW = {"externalOffset": 60_000, "internalPeriod": 3_600_000, "internalOffset": 0}


def ratio(external_offset: int, internal_period: int) -> dict[str, Any]:
    return {
        "kind": "each",
        "externalOffset": external_offset,
        "internalPeriod": internal_period,
        "internalOffset": 0,
    }


MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR


@pytest.mark.parametrize(
    ("trigger", "ok"),
    [
        ({"kind": "rolling", "period": MINUTE, "backPeriod": 2 * HOUR}, True),
        ({"kind": "rolling", "period": 2 * HOUR, "backPeriod": 5 * DAY}, True),
        ({"kind": "rolling", "period": MINUTE, "backPeriod": 3 * HOUR}, False),
        ({"kind": "rolling", "period": DAY, "backPeriod": 100 * DAY}, True),
    ],
)
async def test_the_seeds_rolling_ratio_examples(
    env: Env, trigger: dict[str, Any], ok: bool
) -> None:
    answer = await env.post(definition(f"from {ACTIVITY} group every -", trigger))
    assert answer.status_code == (200 if ok else 400), answer.text
    if not ok:
        assert "backPeriod/period must not exceed 120" in answer.json()["msg"]


@pytest.mark.parametrize(
    ("trigger", "ok"),
    [
        (ratio(MINUTE, 2 * HOUR), True),
        (ratio(2 * HOUR, 5 * DAY), True),
        (ratio(MINUTE, 3 * HOUR), False),
        (ratio(0, MINUTE), True),  # the seed's own subquery example: no shift, no ratio
        (ratio(DAY, 100 * DAY), True),
    ],
)
async def test_the_seeds_subquery_ratio_examples(
    env: Env, trigger: dict[str, Any], ok: bool
) -> None:
    answer = await env.post(definition(EACH_SUB, trigger))
    assert answer.status_code == (200 if ok else 400), answer.text
    if not ok:
        assert "internalPeriod/externalOffset must not exceed 120" in answer.json()["msg"]


T1 = ACTIVITY
T2 = "siem.logtrust.web.navigation"
T3 = "demo.ecommerce.data"


NESTED = f"from {T2} where srcHost in (from {T3} select clientIpAddress) select srcHost"


@pytest.mark.parametrize(
    ("query", "refusal"),
    [
        # The seed's table of subquery examples, over real tables (x = a column of both).
        (f"from {T1}", "subquery parameters are allowed only when the query has a subquery"),
        (f"from {T1} where srcHost in ({NESTED})", "must not nest subqueries"),
        (
            f"from {T1} where srcHost in (from {T2} where 100 <= eventdate < 200 select srcHost)",
            "must not have a fixed time range",
        ),
        (
            f"from {T1} where srcHost in (from {T2} group every 10m by srcHost select srcHost)",
            "must not group by time",
        ),
        (f"from {T1} where srcHost in (from {T2} select srcHost)", None),
        (f"from {T1} group by srcHost every 10m where srcHost in (from {T2} select srcHost)", None),
    ],
)
async def test_the_seeds_subquery_table(env: Env, query: str, refusal: str | None) -> None:
    answer = await env.post(definition(query, {"kind": "each", **SUBQUERY_WINDOW}))
    assert answer.status_code == (200 if refusal is None else 400), answer.text
    if refusal is not None:
        assert refusal in answer.json()["msg"]
    # the same queries without the subquery parameters
    answer = await env.post(definition(query, {"kind": "each"}, name="bare"))
    assert answer.status_code == (200 if query == f"from {T1}" else 400), answer.text


async def test_an_alert_reads_one_table_not_all_data(env: Env) -> None:
    answer = await env.post(
        definition('from all.data where toktains(message, "x")', {"kind": "each"})
    )
    assert answer.status_code == 400, answer.text
    assert "an alert's query must read one table, not all.data" in answer.json()["msg"]


async def test_subqueries_need_their_parameters_and_no_lookup_tables(env: Env) -> None:
    answer = await env.post(definition(EACH_SUB, {"kind": "each"}))
    assert answer.status_code == 400
    assert answer.json()["context"]["field"] == (
        "alertCorrelationContext.correlationTrigger.externalOffset"
    )
    assert "required when the query has a subquery" in answer.json()["msg"]
    lookup = f"from {T1} where srcHost in (from my.lookuplist.hosts select srcHost)"
    answer = await env.post(definition(lookup, {"kind": "each", **SUBQUERY_WINDOW}))
    assert answer.status_code == 400
    assert "my.lookuplist tables cannot be used in subqueries" in answer.json()["msg"]


def field_of(answer: httpx.Response) -> str:
    assert answer.status_code == 400, answer.text
    field: str = answer.json()["context"]["field"]
    return field


T = "alertCorrelationContext.correlationTrigger"
C = "alertCorrelationContext"
PLAIN = f"from {ACTIVITY}"
GROUPED = f"from {ACTIVITY} group every 5m by domain select count() as count"


def trig(kind: str, **params: Any) -> dict[str, Any]:
    return {"kind": kind, **params}


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("no kind", trig("each") | {"kind": None}, f"{T}.kind"),
    ("unknown kind", trig("sometimes"), f"{T}.kind"),
    ("several without period", trig("several", threshold=3), f"{T}.period"),
    ("several period too short", trig("several", period=999, threshold=3), f"{T}.period"),
    ("several period too long", trig("several", period=8_640_000_001, threshold=3), f"{T}.period"),
    ("several threshold 0", trig("several", period=60_000, threshold=0), f"{T}.threshold"),
    ("several threshold text", trig("several", period=60_000, threshold="3"), f"{T}.threshold"),
    ("several period float", trig("several", period=60_000.5, threshold=3), f"{T}.period"),
    (
        "several keys eventdate",
        trig("several", period=1000, threshold=1, keys=["eventdate"]),
        f"{T}.keys",
    ),
    ("several unknown key", trig("several", period=1000, threshold=1, keys=["nope"]), f"{T}.keys"),
    ("low negative threshold", trig("low", period=1000, threshold=-1), f"{T}.threshold"),
    ("low without threshold", trig("low", period=1000), f"{T}.threshold"),
    (
        "inactivity period < 5 min",
        trig("inactivity", period=299_999, keys=["username"]),
        f"{T}.period",
    ),
    (
        "inactivity period > 30 d",
        trig("inactivity", period=30 * DAY + 1, keys=["username"]),
        f"{T}.period",
    ),
    ("inactivity without keys", trig("inactivity", period=HOUR), f"{T}.keys"),
    ("inactivity empty keys", trig("inactivity", period=HOUR, keys=[]), f"{T}.keys"),
    ("inactivity eventdate key", trig("inactivity", period=HOUR, keys=["eventdate"]), f"{T}.keys"),
    ("inactivity unknown key", trig("inactivity", period=HOUR, keys=["nope"]), f"{T}.keys"),
    ("rolling period < 60 s", trig("rolling", period=59_999, backPeriod=HOUR), f"{T}.period"),
    ("rolling without backPeriod", trig("rolling", period=HOUR), f"{T}.backPeriod"),
    ("subquery params without subquery", trig("each", **SUBQUERY_WINDOW), T),
    ("internalPeriod < 1 min", trig("each", internalPeriod=59_999), f"{T}.internalPeriod"),
    ("externalOffset > 100 d", trig("each", externalOffset=8_640_000_001), f"{T}.externalOffset"),
    ("negative internalOffset", trig("each", internalOffset=-1), f"{T}.internalOffset"),
]


@pytest.mark.parametrize(("why", "trigger", "field"), INVALID, ids=[i[0] for i in INVALID])
async def test_trigger_rules(env: Env, why: str, trigger: dict[str, Any], field: str) -> None:
    query = f"from {ACTIVITY} group every -" if trigger.get("kind") == "rolling" else PLAIN
    answer = await env.post(definition(query, trigger))
    assert field_of(answer) == field
    body = answer.json()
    assert body["msg"].startswith(field)
    assert body["status"] == 400 and body["code"] == 400


DEVIATION_INVALID: list[tuple[str, str, dict[str, Any], str]] = [
    ("negative threshold", GROUPED, {"threshold": -1}, f"{T}.threshold"),
    ("float threshold", GROUPED, {"threshold": 1.5}, f"{T}.threshold"),
    ("absolute text", GROUPED, {"absolute": "yes"}, f"{T}.absolute"),
    ("no absolute", GROUPED, {"absolute": None}, f"{T}.absolute"),
    ("two columns", GROUPED, {"aggregationColumn": ["count", "count"]}, f"{T}.aggregationColumn"),
    ("not an aggregation", GROUPED, {"aggregationColumn": ["domain"]}, f"{T}.aggregationColumn"),
    (
        "no time grouping",
        f"from {ACTIVITY} group by domain select count() as count",
        {},
        f"{C}.querySourceCode",
    ),
    (
        "no key",
        f"from {ACTIVITY} group every 5m select count() as count",
        {},
        f"{C}.querySourceCode",
    ),
]


@pytest.mark.parametrize("kind", ["deviation", "gradient"])
@pytest.mark.parametrize(
    ("why", "query", "change", "field"), DEVIATION_INVALID, ids=[i[0] for i in DEVIATION_INVALID]
)
async def test_deviation_and_gradient_rules(
    env: Env, kind: str, why: str, query: str, change: dict[str, Any], field: str
) -> None:
    trigger = {"kind": kind, "threshold": 40, "absolute": True, "aggregationColumn": ["count"]}
    trigger = {k: v for k, v in (trigger | change).items() if v is not None}
    assert field_of(await env.post(definition(query, trigger))) == field


@pytest.mark.parametrize(
    ("kind", "query"),
    [
        ("several", GROUPED),
        ("low", f"from {ACTIVITY} group by domain"),
        ("inactivity", f"from {ACTIVITY} group every -"),
        ("rolling", f"from {ACTIVITY} group every 5m by domain"),
        ("each", f"from {ACTIVITY} group by domain select count() as count"),
    ],
)
async def test_query_shapes_per_kind(env: Env, kind: str, query: str) -> None:
    params = {
        "several": {"period": 60_000, "threshold": 1},
        "low": {"period": 60_000, "threshold": 1},
        "inactivity": {"period": HOUR, "keys": ["domain"]},
        "rolling": {"period": HOUR, "backPeriod": HOUR},
        "each": {},
    }[kind]
    answer = await env.post(definition(query, {"kind": kind, **params}))
    assert field_of(answer) == f"{C}.querySourceCode"


async def test_a_linq_error_names_line_and_column(env: Env) -> None:
    answer = await env.post(
        definition(f"from {ACTIVITY}\n  where nosuchcolumn = 1", {"kind": "each"})
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["context"]["line"] == 2 and body["context"]["column"] == 9
    assert "line 2, column 9" in body["msg"]
    assert (await env.post(definition("from nowhere.at.all", {"kind": "each"}))).status_code == 400


async def test_a_table_outside_the_tokens_scope_is_forbidden(
    tmp_path: Path, store_spec: str
) -> None:
    clock = SimulatedClock(NOW)
    data, client = open_app(tmp_path / "scoped", clock, store_spec)
    try:
        domains = DomainStore(data.meta, clock)
        domains.create_domain(DOMAIN)
        token = domains.create_token(DOMAIN, kind=TokenKind.ALERTS, tables=["demo.**"])
        async with client:
            answer = await client.post(
                BASE, json=example("myAlertEach"), headers={"standAloneToken": token}
            )
    finally:
        data.close()
    assert answer.status_code == 403
    assert ACTIVITY in answer.json()["msg"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": 5}, "name"),
        ({"name": "x" * 257}, "name"),
        ({"subcategory": None}, "subcategory"),
        ({"alertCorrelationContext": None}, C),
        ({"alertCorrelationContext": "text"}, C),
        ({"message": ["a"]}, "message"),
        ({"isActive": "true"}, "isActive"),
        ({"actionPolicyId": "1"}, "actionPolicyId"),
        ({"actionPolicyId": ["x"]}, "actionPolicyId"),
    ],
)
async def test_top_level_fields(env: Env, change: dict[str, Any], field: str) -> None:
    body = {**example("myAlertEach"), **change}
    body = {k: v for k, v in body.items() if v is not None}
    assert field_of(await env.post(body)) == field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"querySourceCode": None}, f"{C}.querySourceCode"),
        ({"querySourceCode": " "}, f"{C}.querySourceCode"),
        ({"priority": None}, f"{C}.priority"),
        ({"priority": 11}, f"{C}.priority"),
        ({"priority": -1}, f"{C}.priority"),
        ({"priority": "5"}, f"{C}.priority"),
        ({"priority": True}, f"{C}.priority"),
        ({"correlationTrigger": None}, f"{C}.correlationTrigger"),
        ({"correlationTrigger": []}, f"{C}.correlationTrigger"),
        ({"timezone": "Mars/Olympus"}, f"{C}.timezone"),
        ({"locale": "en-US"}, f"{C}.locale"),
        ({"locale": "EN_us"}, f"{C}.locale"),
        ({"withSelectAll": 1}, f"{C}.withSelectAll"),
    ],
)
async def test_context_fields(env: Env, change: dict[str, Any], field: str) -> None:
    body = example("myAlertEach")
    context = {**body["alertCorrelationContext"], **change}
    body["alertCorrelationContext"] = {k: v for k, v in context.items() if v is not None}
    assert field_of(await env.post(body)) == field


async def test_defaults_and_accepted_optionals(env: Env) -> None:
    body = example("myAlertEach")
    created = await env.create(body)
    context = created["alertCorrelationContext"]
    assert (context["timezone"], context["locale"], context["withSelectAll"]) == (
        "GMT",
        "en_US",
        True,
    )
    assert created["isActive"] is True
    body = {**example("myAlertEach"), "name": "zoned", "isActive": False, "unknownField": 1}
    body["alertCorrelationContext"] |= {"timezone": "Europe/Madrid", "locale": "es_ES"}
    created = await env.create(body)
    assert created["isActive"] is False
    assert created["alertCorrelationContext"]["timezone"] == "Europe/Madrid"
    assert "unknownField" not in created


async def test_names_are_unique_regardless_of_case(env: Env) -> None:
    await env.create(example("myAlertEach"))
    for name in ("MYALERTEACH", "myalerteach"):
        answer = await env.post({**example("myAlertEach"), "name": name})
        assert field_of(answer) == "name"
        assert "already exists" in answer.json()["msg"]


async def test_name_and_subcategory_cannot_change(env: Env) -> None:
    created = await env.create(example("myAlertEach"))
    update = {**example("myAlertEach"), "id": created["id"]}
    assert field_of(await env.put({**update, "name": "renamed"})) == "name"
    assert field_of(await env.put({**update, "subcategory": "other"})) == "subcategory"
    assert field_of(await env.put({k: v for k, v in update.items() if k != "id"})) == "id"
    assert (await env.put({**update, "id": "31337"})).status_code == 404
    # the qualified form of the stored subcategory is the same subcategory
    qualified = {**update, "subcategory": created["subcategory"], "message": "m2"}
    assert (await env.put(qualified)).json()["message"] == "m2"
    # omitted optional fields keep their values; the context may be left out entirely
    partial = {"id": created["id"], "name": created["name"], "subcategory": "alert"}
    answer = await env.put(partial)
    assert answer.status_code == 200, answer.text
    assert answer.json()["message"] == "m2"
    assert answer.json()["alertCorrelationContext"] == created["alertCorrelationContext"]


@pytest.mark.parametrize(
    "content",
    [b"{", b"[1, 2", b"\xff\xfe", b"null", b"[]", b'"text"', b"[" * 100_000 + b"]" * 100_000],
)
async def test_malformed_bodies(env: Env, content: bytes) -> None:
    for method in ("POST", "PUT"):
        answer = await env.client.request(method, BASE, content=content, headers=env.headers())
        assert answer.status_code == 400, answer.text
    answer = await env.client.post(f"{BASE}/batch", content=content, headers=env.headers())
    assert answer.status_code == 400


async def test_oversized_bodies(env: Env) -> None:
    body = {**example("myAlertEach"), "description": "x" * 2_000_000}
    answer = await env.post(body)
    assert answer.status_code == 413
    assert "larger than" in answer.json()["msg"]
    many = [example("myAlertEach")] * 1_001
    answer = await env.post(many, f"{BASE}/batch")
    assert answer.status_code == 400


@pytest.mark.parametrize(
    "query",
    ["", "?alertIds=", "?alertIds=1", "?enable=true", "?alertIds=1&enable=maybe"],
)
async def test_status_parameters(env: Env, query: str) -> None:
    answer = await env.client.put(f"{BASE}/status{query}", headers=env.headers())
    assert answer.status_code == 400
    assert answer.json()["context"]["field"] in ("alertIds", "enable")


async def test_digits_are_ascii_digits(env: Env) -> None:
    """str.isdigit() holds for "¹" and "٣"; as ids and numbers they are refused, not a 500."""
    created = await env.create(example("myAlertEach"))
    for digit in ("\u00b9", "\u0663"):
        update = {**example("myAlertEach"), "id": digit}
        assert (await env.put(update)).status_code == 404
        items = (await env.put([update], f"{BASE}/batch")).json()
        assert [item["status"] for item in items] == [404]
        assert field_of(await env.get(page=digit)) == "page"
        assert field_of(await env.get(idFilter=digit)) == "idFilter"
    assert (await env.get(idFilter=created["id"])).json() == [created]


async def test_delete_needs_ids(env: Env) -> None:
    answer = await env.client.delete(BASE, headers=env.headers())
    assert answer.status_code == 400
    assert answer.json()["context"]["field"] == "alertIds"


async def test_unknown_methods_and_paths_answer_in_the_error_shape(env: Env) -> None:
    answer = await env.client.patch(BASE, headers=env.headers())
    assert answer.status_code == 405
    assert answer.json()["messageKey"] == "http.method_not_allowed"
    answer = await env.client.get("/alerts/v1/nothing", headers=env.headers())
    assert answer.status_code == 404
    assert answer.json()["code"] == 404


async def test_the_readmes_example_is_accepted(env: Env) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("## The Alerts API") :]
    body = json.loads(re.search(r"--data '(.*?)'", section, re.S).group(1))  # type: ignore[union-attr]
    created = await env.create(body)
    assert created["alertCorrelationContext"]["correlationTrigger"]["keys"] == ["clientIpAddress"]
    example_error = re.search(r'`(\{"code": 400, "msg": .*?)`', section, re.S)
    assert example_error is not None
    shown = example_error.group(1)
    bad = copy.deepcopy(body) | {"name": "other"}
    bad["alertCorrelationContext"]["priority"] = 11
    answer = await env.post(bad)
    assert answer.json()["msg"] in shown and answer.json()["context"]["field"] in shown
