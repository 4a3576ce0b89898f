"""Three ``linqd serve`` processes on one PostgreSQL and one ClickHouse (the loopback
ClickHouse-HTTP front over chdb: a stand-in for a ClickHouse server, which cannot run here).

A devo-sdk stream goes through all three syslog collectors and acknowledged batches through
their HTTP ``/stream`` endpoints while a node holding two alert definitions and two Kafka jobs
is killed with SIGKILL. Afterwards: every firing a backtest over the stored stream reports is
stored exactly once and reached the webhook, where the only repeats are of an attempt the kill
cut short (told apart by the ``Idempotency-Key`` every delivery carries); each job's topic
holds every stored event exactly once; no acknowledged event is missing. A second test pauses
the owner with SIGSTOP past its lease term and resumes it: it commits nothing after that.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka.admin import NewTopic
from devo.sender import Sender, SenderConfigTCP
from devo.sender.data import DevoSenderException

from clickhouse_front import ClickHouseFront
from linqd.clock import SystemClock
from linqd.cluster.nodes import preferred, shares
from linqd.datadir import open_data_dir
from linqd.meta import MetaStore
from pgserver import PostgresServer
from receiver import Receiver, serving

from .conftest import start_server, stop_server
from .test_alerts_restart import definition as restart_definition
from .test_job_kill import Api, broker_launchers, consumer, read, read_topics

TABLE = "my.app.nodes"
TERM_S = 2.0
SECOND = 1_000
WAIT_S = 90.0
FRONT_USER, FRONT_PASSWORD = "linqd", "nodes-front-pw"
PARTITIONS = 3

DEFINITIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("errors", f'from {TABLE} where message -> "error"', {"kind": "each"}),
    ("warnings", f'from {TABLE} where message -> "warn"', {"kind": "each"}),
    (
        "per host",
        f"from {TABLE} group every 1s by hostname select count() as count",
        {"kind": "each"},
    ),
    (
        "busy",
        f"from {TABLE}",
        {"kind": "several", "period": SECOND, "threshold": 3, "keys": ["hostname"]},
    ),
    ("quiet", f"from {TABLE}", {"kind": "low", "period": SECOND, "threshold": 400}),
    (
        "h0 busy",
        f'from {TABLE} where hostname = "h0"',
        {"kind": "several", "period": SECOND, "threshold": 2},
    ),
]


def definition(name: str, query: str, trigger: dict[str, Any], policy: str) -> dict[str, Any]:
    """The restart test's definition, sent to ``policy``."""
    return {**restart_definition(name, query, trigger), "actionPolicyId": [policy]}


@dataclass
class Node:
    name: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    url: str
    syslog_port: int


@dataclass
class Cluster:
    tmp: Path
    meta: str
    store: str
    nodes: dict[str, Node] = field(default_factory=dict)

    def start(self, name: str, *extra: str) -> Node:
        data_dir = self.tmp / name
        data_dir.mkdir(exist_ok=True)
        args = ["--meta", self.meta, "--node-id", name, "--lease-term", str(TERM_S)]
        args += ["--outbound-allow", "127.0.0.1", "--alert-lateness", "1"]
        # An attempt the kill cuts short is made again when its claim runs out.
        args += ["--delivery-claim", "5", *extra]
        process, url, ports = start_server(data_dir, None, args, store=self.store)
        node = Node(name, data_dir, process, url, ports["tcp"])
        self.nodes[name] = node
        return node

    def credentials(self) -> dict[str, str]:
        loaded: dict[str, str] = json.loads((self.tmp / "n1" / "credentials.json").read_text())
        return loaded

    def api(self, node: Node) -> httpx.Client:
        token = self.credentials()["standAloneToken"]
        return httpx.Client(base_url=node.url, headers={"standAloneToken": token}, timeout=30)

    def shares(self) -> dict[str, tuple[int, int]]:
        """Each live node's (definitions, jobs), as ``linqd nodes`` counts them."""
        meta = MetaStore(self.meta)
        try:
            return {
                node.node_id: (counts.get("alert", 0), counts.get("job", 0))
                for node, counts in shares(meta, SystemClock().now_ms())
            }
        finally:
            meta.close()

    def printed_shares(self) -> dict[str, tuple[int, int]]:
        """``linqd nodes``: each live node's (definitions, jobs), from its printed table."""
        printed = subprocess.run(
            [
                sys.executable,
                "-m",
                "linqd",
                "nodes",
                "--meta",
                self.meta,
                "--data-dir",
                str(self.tmp / "cli"),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows = [[c.strip() for c in line.split("|")] for line in printed.splitlines()[2:]]
        return {row[0]: (int(row[-2]), int(row[-1])) for row in rows if len(row) == 5}

    def stop(self) -> None:
        for node in self.nodes.values():
            if node.process.poll() is None:
                os.kill(node.process.pid, signal.SIGCONT)
                stop_server(node.process)


@pytest.fixture
def cluster(
    tmp_path: Path, postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Cluster]:
    front = ClickHouseFront(tmp_path / "front", user=FRONT_USER, password=FRONT_PASSWORD)
    monkeypatch.setenv("LINQD_CLICKHOUSE_PASSWORD", FRONT_PASSWORD)
    store = f"clickhouse://{FRONT_USER}@127.0.0.1:{front.port}/default"
    meta = postgres.fresh_url()
    # The table exists before the definitions name it: one old event, written as a writer
    # of the shared sequence.
    seed = open_data_dir(tmp_path / "seed", SystemClock(), store=store, meta=meta, writer_id="seed")
    try:
        seed.store.append(
            TABLE,
            {"hostname": ["seed"], "message": ["seed"]},
            client="self",
            eventdates=[SystemClock().now_ms() - 86_400_000],
        )
    finally:
        seed.close()
    made = Cluster(tmp_path, meta, store)
    try:
        yield made
    finally:
        made.stop()
        front.close()


class Stream:
    """devo-sdk's Sender to one node's collector, in a thread, until told to stop or the node
    goes away (then it reconnects to the next live node, as a load balancer would send it)."""

    def __init__(self, ports: list[int], label: str) -> None:
        self.ports = ports
        self.label = label
        self.sent = 0
        self.last = ""  # the last event sent, to a live node's collector
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        sender: Sender | None = None
        while not self.stop.is_set():
            try:
                if sender is None:
                    sender = Sender(SenderConfigTCP(address=("127.0.0.1", self.ports[0])))
                n = self.sent
                word = "error" if n % 7 == 0 else "warn" if n % 11 == 0 else "fine"
                message = f"{word} {self.label}-{n}"
                sender.send(tag=TABLE, msg=message, hostname=f"h{n % 3}")
                self.last = message
                self.sent += 1
                if n % 20 == 0:
                    time.sleep(0.05)  # about 400 events a second per stream
            except (OSError, DevoSenderException):
                sender = None
                self.ports = self.ports[1:] + self.ports[:1]
                time.sleep(0.05)


def acknowledged_batches(cluster: Cluster, nodes: list[Node], rounds: int, label: str) -> set[str]:
    """Batches posted to ``/stream`` round-robin; the events of each 200 answer."""
    token = cluster.credentials()["ingestToken"]
    acked: set[str] = set()
    with httpx.Client(timeout=30) as client:
        for r in range(rounds):
            node = nodes[r % len(nodes)]
            events = [f"acked {label}-{node.name}-{r}-{i}" for i in range(20)]
            try:
                answer = client.post(
                    f"{node.url}/stream/self/token!{token}/acked/{TABLE}",
                    content="\n".join(events).encode(),
                )
            except httpx.HTTPError:
                continue
            if answer.status_code == 200:
                acked.update(events)
    return acked


def owners(client: httpx.Client) -> dict[str, str]:
    status = client.get("/alerts/v1/engineStatus").json()["definitions"]
    return {d["id"]: d["owner"] for d in status}


def stored_messages(cluster: Cluster) -> Counter[str]:
    data = open_data_dir(
        cluster.tmp / "reader", SystemClock(), store=cluster.store, meta=cluster.meta
    )
    try:
        table = data.store.read_after(TABLE, 0, limit=1_000_000)
        return Counter(str(m) for m in table.column("message").to_pylist())
    finally:
        data.close()


def key(name: str, eventdate: int, extra: dict[str, Any]) -> str:
    return json.dumps([name, eventdate, extra], sort_keys=True)


def test_three_nodes_a_sigkill_mid_stream_loses_and_repeats_nothing(cluster: Cluster) -> None:
    brokers = broker_launchers()
    scratch = cluster.tmp / "tansu"
    scratch.mkdir()
    with serving() as receiver, brokers.running_kafka(scratch) as broker:
        nodes = [cluster.start(name) for name in ("n1", "n2", "n3")]
        with cluster.api(nodes[0]) as client:
            policy = _policy(client, receiver)
            created = [
                client.post("/alerts/v1/alertDefinitions", json=definition(*d, policy)).json()
                for d in DEFINITIONS
            ]
            # Jobs until one node runs two of them (at most four, among three nodes):
            # rendezvous hashing of their random ids decides.
            jobs: dict[str, str] = {}  # job id: topic
            admin = broker.admin()
            start_ms = SystemClock().now_ms()
            signed = Api(nodes[0].url, nodes[0].data_dir)
            while (
                max(
                    Counter(preferred(f"job:{j}", list(cluster.nodes)) for j in jobs).values(),
                    default=0,
                )
                < 2
            ):
                topic = f"nodes-{uuid.uuid4().hex[:8]}"
                admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(30)
                jobs[signed.launch(_job_body(broker.bootstrap_servers, topic, start_ms))] = topic
            signed.close()
            _wait(lambda: len(set(owners(client).values()) - {None}) == 3, "three owners")
        ports = [node.syslog_port for node in nodes]
        streams = [Stream(ports[k:] + ports[:k], f"s{k}") for k in range(3)]
        for stream in streams:
            stream.thread.start()
        acked = acknowledged_batches(cluster, nodes, 15, "before")
        _wait(lambda: min(s.sent for s in streams) >= 300, "the streams to start")
        # The node running two jobs, which holds two definitions too (ids 1-6 spread 2-2-2
        # over n1-n3).
        _wait(lambda: sum(n for _, n in cluster.shares().values()) == len(jobs), "the jobs' owners")
        held = cluster.printed_shares()
        assert held == cluster.shares() and len(held) == 3, held
        victim = cluster.nodes[next(n for n, (_, running) in held.items() if running == 2)]
        assert held[victim.name][0] >= 2, held
        victim.process.kill()  # SIGKILL: no shutdown path runs
        victim.process.wait()
        alive = [n for n in nodes if n is not victim]
        acked |= acknowledged_batches(cluster, alive, 15, "after")
        _wait(lambda: min(s.sent for s in streams) >= 900, "the streams to go on")
        for stream in streams:
            stream.stop.set()
            stream.thread.join()
        _wait_stored(cluster, streams)
        end = (SystemClock().now_ms() // SECOND - 1) * SECOND
        top = committed_top(cluster)
        with cluster.api(alive[0]) as client:
            _wait(lambda: set(owners(client).values()) <= {a.name for a in alive}, "take-over")
            _wait_caught_up(client, end + SECOND, top)
            expected: Counter[str] = Counter()
            for (name, query, trigger), made in zip(DEFINITIONS, created, strict=True):
                fired = client.post(
                    "/alerts/v1/alertDefinitions/backtest",
                    params={"from": made["creationDate"], "to": end},
                    json=definition(name, query, trigger, policy),
                ).json()
                expected.update(key(name, f["eventdate"], f["extraData"]) for f in fired)
            listed = client.get(
                "/alerts/v1/alerts/list",
                params={"from": 0, "to": 2**41, "limit": 10_000, "offset": 0, "showAll": "true"},
            ).json()
            by_context = {c["alertCorrelationContext"]["nameId"]: c["name"] for c in created}
            live: Counter[str] = Counter(
                key(by_context[a["context"]], a["alertDate"], json.loads(a["extraData"]))
                for a in listed
                if a["alertDate"] < end
            )
            digests = {a["digest"] for a in listed}
        assert sum(expected.values()) > 30
        assert live == expected
        # Every stored firing reached the webhook; a digest twice only for an attempt the kill
        # cut short (none can be repeated otherwise: one delivery per firing and method).
        deliveries = _wait_deliveries(receiver, digests)
        repeated = [d for d, n in deliveries.items() if n > 1]
        assert len(repeated) <= 1, repeated
        stored = stored_messages(cluster)
        assert max(stored.values()) == 1
        assert acked <= set(stored), sorted(acked - set(stored))[:5]
        in_range = Counter({m: n for m, n in stored.items() if m != "seed"})
        # Any node answers for a job, whichever runs it.
        signed = Api(alive[-1].url, nodes[0].data_dir)
        try:
            for job in jobs:
                _wait(
                    lambda job=job: int(signed.job(job)["eventsSent"]) >= sum(in_range.values()),
                    f"job {job} to forward every event",
                )
                stopped = signed.client.get(
                    f"{signed.url}/search/job/stop/{job}", headers=signed._headers(b"")
                )
                assert stopped.status_code == 200, stopped.text
        finally:
            signed.close()
        reader = consumer(broker.bootstrap_servers, *jobs.values())
        try:
            values = read_topics(reader, topics=len(jobs))
        finally:
            reader.close()
        for topic in jobs.values():
            forwarded = Counter(json.loads(v)["message"] for t, v in values if t == topic)
            assert forwarded == in_range, topic


def _policy(client: httpx.Client, receiver: Receiver) -> str:
    hook = client.post(
        "/delco/methods",
        json={"name": "hook", "type": "httpjson", "config": {"url": receiver.url("/hook")}},
    ).json()
    client.post(f"/delco/methods/{hook['id']}/send-validation-code").raise_for_status()
    code = json.loads(receiver.wait_for(1, "/hook")[0].body)["code"]
    client.post(f"/delco/methods/{hook['id']}/validate", json={"code": code}).raise_for_status()
    made = client.post(
        "/alerts/v1/sendingPolicies",
        json={"name": "nodes", "methods": [hook["id"]], "antiFlooding": {"mode": "none"}},
    ).json()
    return str(made["id"])


def _job_body(bootstrap: str, topic: str, start_ms: int) -> dict[str, Any]:
    return {
        "query": f"from {TABLE} select message",
        "from": start_ms // 1000,
        "destination": {
            "type": "kafka",
            "params": {"bootstrap.servers": bootstrap, "topic": topic, "key": "message"},
        },
    }


def _wait(condition: Any, what: Any) -> None:
    """Poll ``condition`` (another process's state); ``what`` (or its call) names it."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {WAIT_S:.0f} s for {what() if callable(what) else what}")
        time.sleep(0.1)


def _wait_stored(cluster: Cluster, streams: list[Stream]) -> None:
    """Until each stream's last event is stored: a collector stores a connection's events in
    order, so everything a live node took from it before is stored too."""
    _wait(
        lambda: all(s.last in stored_messages(cluster) for s in streams),
        "the streams' last events to be stored",
    )


def committed_top(cluster: Cluster) -> int:
    """The shared watermark now: every event stored so far is at or below it."""
    data = open_data_dir(
        cluster.tmp / "reader", SystemClock(), store=cluster.store, meta=cluster.meta
    )
    try:
        return data.store.last_seq
    finally:
        data.close()


def _wait_caught_up(client: httpx.Client, until_ms: int, top: int) -> None:
    """Period definitions have closed the periods up to ``until_ms``, event definitions have
    read up to ``top``."""

    def lagging() -> list[dict[str, Any]]:
        status = client.get("/alerts/v1/engineStatus").json()["definitions"]
        return [
            d
            for d in status
            if (d["nextPeriodEnd"] or 0) <= until_ms and (d["sequence"] or 0) < top
        ] or ([] if status else [{}])

    _wait(lambda: not lagging(), lambda: f"the engines to catch up: {lagging()}")


def _wait_deliveries(receiver: Receiver, digests: set[str]) -> Counter[str]:
    def delivered() -> Counter[str]:
        return Counter(
            r.headers.get("idempotency-key", "")
            for r in receiver.received("/hook")
            if "idempotency-key" in r.headers
        )

    _wait(
        lambda: digests <= set(delivered()),
        lambda: f"every firing at the webhook: {len(digests - set(delivered()))} missing",
    )
    return delivered()


def test_a_node_paused_past_its_lease_commits_nothing_when_it_resumes(cluster: Cluster) -> None:
    """SIGSTOP on the node that holds a definition and a Kafka job, past its lease term;
    another node takes both over while events keep coming; SIGCONT. The resumed node's first
    moves find its leases gone (its checkpoint and progress are fenced, its worker sends
    nothing more): the topic holds every event once and the firings equal the backtest."""
    brokers = broker_launchers()
    scratch = cluster.tmp / "tansu"
    scratch.mkdir()
    with serving() as receiver, brokers.running_kafka(scratch) as broker:
        nodes = [cluster.start(name) for name in ("n1", "n2")]
        with cluster.api(nodes[0]) as client:
            policy = _policy(client, receiver)
            name, query, trigger = DEFINITIONS[0]
            made = client.post(
                "/alerts/v1/alertDefinitions", json=definition(name, query, trigger, policy)
            ).json()
            _wait(lambda: owners(client).get(made["id"]) is not None, "an owner")
            owner = cluster.nodes[owners(client)[made["id"]]]
            # A job the same node runs: rendezvous hashing of its random id decides; jobs
            # that would run elsewhere are removed, and their topics never read.
            signed = Api(nodes[0].url, nodes[0].data_dir)
            for _ in range(20):
                topic = f"paused-{uuid.uuid4().hex[:8]}"
                admin = broker.admin()  # held until the topic exists
                admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(30)
                start_ms = SystemClock().now_ms()
                job = signed.launch(_job_body(broker.bootstrap_servers, topic, start_ms))
                if preferred(f"job:{job}", ["n1", "n2"]) == owner.name:
                    break
                signed.client.get(
                    f"{signed.url}/search/job/remove/{job}", headers=signed._headers(b"")
                ).raise_for_status()
            signed.close()
        _wait(lambda: cluster.shares().get(owner.name, (0, 0))[1] == 1, "the job on the owner")
        other = next(n for n in nodes if n is not owner)
        stream = Stream([other.syslog_port], "p")
        stream.thread.start()
        _wait(lambda: stream.sent >= 300, "the stream")
        os.kill(owner.process.pid, signal.SIGSTOP)
        with cluster.api(other) as client:
            _wait(lambda: owners(client).get(made["id"]) == other.name, "the take-over")
        _wait(lambda: cluster.shares().get(other.name, (0, 0))[1] == 1, "the job's take-over")
        paused_at = stream.sent
        _wait(lambda: stream.sent >= paused_at + 300, "events while paused")
        os.kill(owner.process.pid, signal.SIGCONT)
        _wait(lambda: stream.sent >= paused_at + 600, "events after the resume")
        stream.stop.set()
        stream.thread.join()
        _wait_stored(cluster, [stream])
        end = (SystemClock().now_ms() // SECOND - 1) * SECOND
        top = committed_top(cluster)
        with cluster.api(other) as client:
            _wait_caught_up(client, end + SECOND, top)
            fired = client.post(
                "/alerts/v1/alertDefinitions/backtest",
                params={"from": made["creationDate"], "to": end},
                json=definition(name, query, trigger, policy),
            ).json()
            listed = client.get(
                "/alerts/v1/alerts/list",
                params={"from": 0, "to": 2**41, "limit": 10_000, "offset": 0, "showAll": "true"},
            ).json()
        expected = Counter(key(name, f["eventdate"], f["extraData"]) for f in fired)
        live = Counter(
            key(name, a["alertDate"], json.loads(a["extraData"]))
            for a in listed
            if a["alertDate"] < end
        )
        assert sum(expected.values()) > 10
        assert live == expected
        stored = stored_messages(cluster)
        in_range = Counter({m: n for m, n in stored.items() if m != "seed"})
        signed = Api(other.url, nodes[0].data_dir)
        try:
            _wait(
                lambda: int(signed.job(job)["eventsSent"]) >= sum(in_range.values()),
                "the job to forward every event",
            )
        finally:
            signed.close()
        reader = consumer(broker.bootstrap_servers, topic)
        try:
            forwarded = Counter(json.loads(v)["message"] for v in read(reader))
        finally:
            reader.close()
        assert forwarded == in_range
    log = (owner.data_dir / "server.log").read_text()
    assert "moved to another node" in log or "this node's lease ran out" in log, log[-3000:]


def owners_of(cluster: Cluster, node: Node) -> dict[str, str]:
    with cluster.api(node) as client:
        return owners(client)
