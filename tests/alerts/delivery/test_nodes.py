"""Several nodes sharing the metadata (two ``MetaStore`` on one target, threads standing in for
their workers, started together): every due delivery is claimed once, anti-flooding counts a
definition's alerts once whichever node plans them, an alert submitted by two nodes is planned
once, a domain keeps one default policy, and wrong validation codes get no extra tries.

On PostgreSQL this is row locks at work (READ COMMITTED, rows locked or skipped); on SQLite,
where each transaction holds the file's write lock, the same answers must come out."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest

from linqd.alerts.delivery import (
    AntiFlooding,
    DeliveryOutbox,
    Dispatcher,
    FloodMode,
    HttpJsonConfig,
    PolicyInput,
    PolicyRepository,
)
from linqd.alerts.delivery import outbox as rows
from linqd.alerts.delivery.methods import MethodRepository
from linqd.alerts.model import AlertStatus
from linqd.alerts.triggered import TriggeredAlertRepository
from linqd.clock import SimulatedClock
from linqd.errors import Conflict, ValidationError
from linqd.meta import MetaStore

from .conftest import DOMAIN, HOUR, LOCAL, NOW, World, definition

T = TypeVar("T")
WORKERS = 4  # two per node


@pytest.fixture
def nodes(meta_target: str) -> Iterator[tuple[MetaStore, MetaStore]]:
    first, second = MetaStore(meta_target), MetaStore(meta_target)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def together(jobs: list[Callable[[], T]]) -> list[T]:
    """Run ``jobs`` in threads released at once; their results, or the first error raised."""
    start = threading.Barrier(len(jobs))

    def released(job: Callable[[], T]) -> T:
        start.wait()
        return job()

    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = [pool.submit(released, job) for job in jobs]
        return [future.result() for future in futures]


def test_every_due_delivery_is_claimed_exactly_once(nodes: tuple[MetaStore, MetaStore]) -> None:
    with nodes[0].transaction() as conn:
        for number in range(1, 61):
            rows.add(
                conn,
                domain=DOMAIN,
                alert_id=number,
                method_id=number % 7 + 1,
                policy_id=1,
                now_ms=NOW - number,
            )
        rows.add(conn, domain=DOMAIN, alert_id=61, method_id=1, policy_id=1, now_ms=NOW + 1)
    boxes = [DeliveryOutbox(meta) for meta in nodes for _ in range(WORKERS // 2)]

    def drain(box: DeliveryOutbox) -> list[rows.Claim]:
        taken = []
        while (claim := box.claim(NOW, ())) is not None:
            taken.append(claim)
        return taken

    claims = [
        claim for taken in together([lambda b=box: drain(b) for box in boxes]) for claim in taken
    ]
    assert sorted(claim.delivery.alert_id for claim in claims) == list(range(1, 61))
    for claim in claims:
        assert boxes[0].finish(claim, NOW, None, give_up=False, retry_at_ms=NOW)
    listed = DeliveryOutbox(nodes[1]).listing(DOMAIN)
    assert [(d.alert_id, d.status.value, d.attempts) for d in listed] == [
        *((n, "delivered", 1) for n in range(1, 61)),
        (61, "pending", 0),
    ]
    assert [d.next_attempt_ms for d in listed] == [NOW - n for n in range(1, 61)] + [NOW + 1]


def test_anti_flooding_counts_each_alert_once_across_nodes(
    nodes: tuple[MetaStore, MetaStore],
) -> None:
    clock = SimulatedClock(NOW)
    world = World(nodes[0], clock, TriggeredAlertRepository(nodes[0], clock))
    three = AntiFlooding(FloodMode.CUSTOM, max_alerts=3, period_ms=HOUR, reminder_after_ms=HOUR)
    # Never sent: the dispatchers are not started.
    world.policy(world.http("http://127.0.0.1:9/never"), anti_flooding=three)
    alerts = [world.alert(definition()) for _ in range(8)]
    dispatchers = [
        Dispatcher(meta, clock, TriggeredAlertRepository(meta, clock), None, outbound=LOCAL)
        for meta in nodes
    ]

    def submit_all(dispatcher: Dispatcher, backwards: bool) -> list[AlertStatus]:
        order = alerts[::-1] if backwards else alerts
        answers = {a.id: dispatcher.submit(a, definition()) for a in order}
        return [answers[a.id] for a in alerts]

    # Every alert is submitted four times, twice by each node, at the same time.
    answers = together(
        [lambda d=d, b=b: submit_all(d, b) for d in dispatchers for b in (False, True)]
    )
    assert all(answer == answers[0] for answer in answers)
    assert sorted(answers[0]) == [AlertStatus.UNREAD] * 3 + [AlertStatus.ANTI_FLOOD] * 5
    planned = list(zip(alerts, answers[0], strict=True))
    delivered = {a.id for a, status in planned if status is AlertStatus.UNREAD}
    assert {d.alert_id for d in world.deliveries()} == delivered
    assert len(world.deliveries()) == 3
    held = [a for a, status in planned if status is AlertStatus.ANTI_FLOOD]
    assert {world.status(a) for a in held} == {AlertStatus.ANTI_FLOOD}
    with nodes[1].transaction() as conn:
        ((_, _, _, state),) = rows.due_flood_states(conn, NOW + HOUR)
    assert (state.delivered, state.suppressed) == (3, 5)


def test_a_domain_keeps_one_default_policy(nodes: tuple[MetaStore, MetaStore]) -> None:
    clock = SimulatedClock(NOW)
    repos = [PolicyRepository(meta, clock) for meta in nodes for _ in range(3)]

    def create(repo: PolicyRepository, number: int) -> str:
        try:
            repo.create(DOMAIN, PolicyInput(name=f"p{number}"))
        except Conflict:
            return "conflict"  # another node's first policy won: the client tries again
        return "created"

    # The domain's first policies, at once: one of them is its default.
    outcomes = together([lambda r=r, n=n: create(r, n) for n, r in enumerate(repos)])
    listed = repos[0].listing(DOMAIN)
    assert len(listed) == outcomes.count("created") >= 1
    assert [p.spec.is_default for p in listed].count(True) == 1
    # Two nodes each making another policy the default at once: the last one is.
    a, b = (repos[0].create(DOMAIN, PolicyInput(name=name)) for name in ("a", "b"))
    together(
        [
            lambda r=r, p=p: r.update(
                DOMAIN, str(p.id), PolicyInput(name=p.spec.name, is_default=True)
            )
            for r, p in ((repos[0], a), (repos[-1], b))
        ]
    )
    defaults = [p.id for p in repos[1].listing(DOMAIN) if p.spec.is_default]
    assert defaults in ([a.id], [b.id])


def test_wrong_codes_from_two_nodes_get_no_extra_tries(
    nodes: tuple[MetaStore, MetaStore],
) -> None:
    clock = SimulatedClock(NOW)
    world = World(nodes[0], clock, TriggeredAlertRepository(nodes[0], clock))
    method = world.method(HttpJsonConfig(url="http://127.0.0.1:9/never"), validated=False)
    _, code = world.methods.start_validation(DOMAIN, method.id)
    wrong = str((int(code) + 1) % 10**8).zfill(8)
    repos = [MethodRepository(meta, clock) for meta in nodes for _ in range(4)]

    def guess(repo: MethodRepository) -> str:
        with pytest.raises(ValidationError) as refused:
            repo.validate(DOMAIN, method.id, wrong)
        return "wrong" if "does not match" in refused.value.message else "used up"

    answers = together([lambda r=r: guess(r) for r in repos])
    assert sorted(answers) == ["used up"] * 3 + ["wrong"] * 5
    with pytest.raises(ValidationError):
        repos[0].validate(DOMAIN, method.id, code)
