"""``withSelectAll``: an each alert shows every column of its table unless its definition says
false, when it shows the columns its query selects (all of them without a ``select``); a
counting kind shows its keys and count either way. Checked on the stored triggered alerts and
on the payloads the dispatcher delivers to a real receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_plus

import pytest

from linqd.alerts.delivery import (
    AntiFlooding,
    Dispatcher,
    FloodMode,
    HttpJsonConfig,
    MethodInput,
    MethodRepository,
    MethodType,
    PolicyInput,
    PolicyRepository,
)
from linqd.outbound import OutboundPolicy
from receiver import Receiver, serving

from .conftest import DOMAIN, TABLE, Scenario

S = 1_000
M = 60_000
DISK = f'from {TABLE} where message -> "disk"'


@dataclass(frozen=True)
class Wired:
    """A scenario whose engine hands its alerts to a dispatcher that posts them to a receiver,
    through the sending policy ``policy``."""

    sc: Scenario
    receiver: Receiver
    dispatcher: Dispatcher
    policy: str

    def delivered(self) -> dict[str, dict[str, str]]:
        """The extraData of each delivered alert (values decoded), by the alert's name."""
        assert self.dispatcher.wait_idle(10.0)
        payloads = [json.loads(r.body) for r in self.receiver.received("/hook")]
        return {
            p["alertName"]: {k: unquote_plus(v) for k, v in json.loads(p["extraData"]).items()}
            for p in payloads
        }


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[Wired]:
    sc = Scenario(tmp_path / "data", "duckdb")
    dispatcher = Dispatcher(
        sc.data.meta,
        sc.clock,
        sc.triggered,
        None,
        outbound=OutboundPolicy.parse(allow=["127.0.0.1"]),
    )
    sc.engine.dispatcher = dispatcher
    try:
        with serving() as receiver:
            methods = MethodRepository(sc.data.meta, sc.clock)
            hook = HttpJsonConfig(url=receiver.url("/hook"))
            method = methods.create(DOMAIN, MethodInput("hook", MethodType.HTTPJSON, hook))
            _, code = methods.start_validation(DOMAIN, method.id)
            methods.validate(DOMAIN, method.id, code)
            policy = PolicyRepository(sc.data.meta, sc.clock).create(
                DOMAIN,
                PolicyInput("p", methods=(method.id,), anti_flooding=AntiFlooding(FloodMode.NONE)),
            )
            dispatcher.start()
            yield Wired(sc, receiver, dispatcher, str(policy.id))
    finally:
        dispatcher.close()
        sc.close()


def test_each_shows_every_column_unless_told_otherwise(wired: Wired) -> None:
    sc, policy = wired.sc, wired.policy
    each = {"kind": "each"}
    sc.define("all", f"{DISK} select hostname", each, policies=(policy,))
    sc.define("selected", f"{DISK} select hostname", each, select_all=False, policies=(policy,))
    sc.define(
        "created",
        f"{DISK} select upper(hostname) as host",
        each,
        select_all=False,
        policies=(policy,),
    )
    sc.define("no select", DISK, each, select_all=False, policies=(policy,))
    sc.store(TABLE, [{"hostname": "h1", "message": "disk full"}], at=S)
    sc.run_until(2 * S)
    stored = {seen.name: dict(seen.fields) for seen in sc.seen()}
    assert stored == {
        "all": {"hostname": "h1", "message": "disk full"},
        "selected": {"hostname": "h1"},
        "created": {"host": "H1"},
        "no select": {"hostname": "h1", "message": "disk full"},
    }
    eventdate = "2027-01-15 08:00:01.000"
    assert wired.delivered() == {
        "all": {"hostname": "h1", "message": "disk full", "eventdate": eventdate},
        "selected": {"hostname": "h1", "eventdate": eventdate},
        "created": {"host": "H1", "eventdate": eventdate},
        "no select": {"hostname": "h1", "message": "disk full", "eventdate": eventdate},
    }


def test_a_counting_kind_shows_its_keys_and_count_either_way(wired: Wired) -> None:
    sc, policy = wired.sc, wired.policy
    several = {"kind": "several", "period": M, "threshold": 1, "keys": ["hostname"]}
    query = f"{DISK} select hostname, message"
    sc.define("all", query, several, policies=(policy,))
    sc.define("selected", query, several, select_all=False, policies=(policy,))
    sc.store(TABLE, [{"hostname": "h1", "message": "disk full"}] * 2, at=[S, 2 * S])
    sc.run_until(M + 3 * S)
    assert [(seen.name, seen.at, dict(seen.fields)) for seen in sc.seen()] == [
        ("all", 0, {"hostname": "h1", "count": 2}),
        ("selected", 0, {"hostname": "h1", "count": 2}),
    ]
    fields = {"hostname": "h1", "count": "2", "eventdate": "2027-01-15 08:00:00.000"}
    assert wired.delivered() == {"all": fields, "selected": fields}
