"""The alert engine in the real server process: definitions created through the Alerts API,
events sent with devo-sdk's Sender, the server killed with SIGKILL in the middle of the stream
and started again. Afterwards every firing a backtest of the stored events finds is stored
exactly once (in the triggered-alerts API and in siem.logtrust.alert.info), and nothing else."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from devo.sender import Sender, SenderConfigTCP
from devo.sender.data import DevoSenderException

import anystore
from linqd.clock import SystemClock
from linqd.datadir import open_data_dir

from .conftest import start_server, stop_server

TABLE = "my.app.killalerts"
SECOND = 1_000
WAIT_S = 60.0

DEFINITIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("errors", f'from {TABLE} where message -> "error"', {"kind": "each"}),
    (
        "busy",
        f"from {TABLE}",
        {"kind": "several", "period": SECOND, "threshold": 3, "keys": ["hostname"]},
    ),
    ("quiet", f"from {TABLE}", {"kind": "low", "period": SECOND, "threshold": 300}),
    (
        "per host",
        f"from {TABLE} group every 1s by hostname select count() as count",
        {"kind": "each"},
    ),
]


def definition(name: str, query: str, trigger: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "subcategory": "kill",
        "message": "$hostname",
        "alertCorrelationContext": {
            "querySourceCode": query,
            "priority": 5,
            "correlationTrigger": trigger,
        },
    }


class Stream:
    """devo-sdk's Sender in a thread, reconnecting while the server is away."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sent = 0
        self.progress = threading.Condition()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        sender: Sender | None = None
        while not self.stop.is_set():
            try:
                if sender is None:
                    sender = Sender(SenderConfigTCP(address=("127.0.0.1", self.port)))
                word = "error" if self.sent % 7 == 0 else "fine"
                sender.send(tag=TABLE, msg=f"{word} {self.sent}", hostname=f"h{self.sent % 3}")
                with self.progress:
                    self.sent += 1
                    self.progress.notify_all()
                if self.sent % 50 == 0:
                    time.sleep(0.05)  # about 1,000 events a second, spread over the periods
            except (OSError, DevoSenderException):  # the server is away: connect again
                sender = None
                time.sleep(0.05)

    def wait_sent(self, count: int) -> None:
        """Until ``count`` events were sent in all (the server being up to take them)."""
        with self.progress:
            assert self.progress.wait_for(lambda: self.sent >= count, WAIT_S), self.sent


def key(name: str, eventdate: int, extra: dict[str, Any]) -> str:
    return json.dumps([name, eventdate, extra], sort_keys=True)


def api(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"standAloneToken": token}, timeout=30)


def wait_caught_up(client: httpx.Client, until_ms: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        status = client.get("/alerts/v1/engineStatus").json()["definitions"]
        periods = [d for d in status if d["steps"] == "periods"]
        if status and all(d["nextPeriodEnd"] > until_ms for d in periods):
            return
        time.sleep(0.2)
    raise AssertionError(f"the engine did not catch up: {status}")


def test_sigkill_mid_stream_loses_and_repeats_no_firing(tmp_path: Path, store_spec: str) -> None:
    data_dir = tmp_path / "data"
    data = open_data_dir(data_dir, SystemClock(), store=store_spec)
    data.store.append(
        TABLE,
        {"hostname": ["seed"], "message": ["seed"]},
        client="self",
        eventdates=[SystemClock().now_ms() - 86_400_000],
    )
    data.close()
    process, url, ports = start_server(data_dir, None, store=store_spec)
    token = json.loads((data_dir / "credentials.json").read_text())["standAloneToken"]
    stream = Stream(ports["tcp"])
    try:
        with api(url, token) as client:
            created = [
                client.post("/alerts/v1/alertDefinitions", json=definition(*d)).json()
                for d in DEFINITIONS
            ]
            stream.thread.start()
            stream.wait_sent(1_500)
            process.kill()  # SIGKILL: no shutdown path runs
            process.wait()
            process, url, ports = start_server(data_dir, None, store=store_spec)
            stream.port = ports["tcp"]  # the sender reconnects to the new collector
        with api(url, token) as client:
            stream.wait_sent(3_000)  # as many again through the restarted server
            stream.stop.set()
            stream.thread.join()
            end = (int(time.time() * 1000) // SECOND - 1) * SECOND
            wait_caught_up(client, end + SECOND)
            listed = client.get(
                "/alerts/v1/alerts/list",
                params={"from": 0, "to": 2**41, "limit": 10_000, "offset": 0, "showAll": "true"},
            ).json()
            by_context = {c["alertCorrelationContext"]["nameId"]: c["name"] for c in created}
            expected: Counter[str] = Counter()
            for (name, query, trigger), made in zip(DEFINITIONS, created, strict=True):
                fired = client.post(
                    "/alerts/v1/alertDefinitions/backtest",
                    params={"from": made["creationDate"], "to": end},
                    json=definition(name, query, trigger),
                ).json()
                expected.update(key(name, f["eventdate"], f["extraData"]) for f in fired)
            live: Counter[str] = Counter(
                key(by_context[a["context"]], a["alertDate"], json.loads(a["extraData"]))
                for a in listed
                if a["alertDate"] < end
            )
    finally:
        stream.stop.set()
        stop_server(process)
    assert stream.sent >= 3_000
    assert sum(expected.values()) > 20
    assert live == expected
    data = open_data_dir(data_dir, SystemClock(), store=store_spec)
    try:
        digests = anystore.rows(
            data.store, 'SELECT digest, count(*) FROM "siem.logtrust.alert.info" GROUP BY digest'
        )
    finally:
        data.close()
    assert digests and all(n == 1 for _, n in digests)
    assert len(digests) == len(listed)
