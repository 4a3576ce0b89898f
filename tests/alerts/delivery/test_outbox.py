"""The outbox's claims on SQLite and PostgreSQL: a claimed delivery is nobody else's until its
claim runs out, the attempt's record puts the back-off (or the time it was due) back, and a
record that comes after the claim ran out and another worker took the row changes nothing."""

from __future__ import annotations

from linqd.alerts.delivery import DeliveryOutbox, DeliveryStatus
from linqd.alerts.delivery import outbox as rows
from linqd.meta import MetaStore

from .conftest import DOMAIN, NOW


def add(meta: MetaStore, *due: tuple[int, int]) -> None:
    """Deliveries of alerts 1, 2 ... to the methods given, due at the times given."""
    with meta.transaction() as conn:
        for number, (method_id, due_ms) in enumerate(due, start=1):
            rows.add(
                conn,
                domain=DOMAIN,
                alert_id=number,
                method_id=method_id,
                policy_id=1,
                now_ms=due_ms,
            )


def test_a_claim_holds_a_delivery_until_it_runs_out(meta: MetaStore) -> None:
    add(meta, (1, NOW), (2, NOW + 10), (1, NOW + 5_000))
    box = DeliveryOutbox(meta)
    assert box.claim(NOW - 1, ()) is None
    first = box.claim(NOW, (), claim_ms=1_000)
    assert first is not None
    assert (first.delivery.alert_id, first.delivery.next_attempt_ms) == (1, NOW)
    assert first.until_ms == NOW + 1_000
    (held, _, _) = box.listing(DOMAIN)
    assert (held.status, held.next_attempt_ms) == (DeliveryStatus.PENDING, NOW + 1_000)
    assert box.next_wake_ms() == NOW + 10
    # Alert 2 is due but its method is busy here; alert 1 is held.
    assert box.claim(NOW + 10, {2}) is None
    second = box.claim(NOW + 10, ())
    assert second is not None and second.delivery.alert_id == 2
    assert box.claim(NOW + 999, ()) is None
    # The first claim ran out: the row is due again, for whoever comes.
    again = box.claim(NOW + 1_000, (), claim_ms=1_000)
    assert again is not None and again.delivery.id == first.delivery.id
    assert again.until_ms == NOW + 2_000
    assert not box.finish(first, NOW + 1_500, None, give_up=False, retry_at_ms=NOW)
    assert box.finish(again, NOW + 1_500, "HTTP 500", give_up=False, retry_at_ms=NOW + 9_000)
    assert box.finish(second, NOW + 1_600, None, give_up=False, retry_at_ms=NOW + 9_000)
    retried, delivered, later = box.listing(DOMAIN)
    assert (retried.status, retried.attempts, retried.last_error, retried.next_attempt_ms) == (
        DeliveryStatus.PENDING,
        1,
        "HTTP 500",
        NOW + 9_000,
    )
    assert (delivered.status, delivered.attempts) == (DeliveryStatus.DELIVERED, 1)
    assert (delivered.next_attempt_ms, delivered.delivered_ms) == (NOW + 10, NOW + 1_600)
    # Giving up keeps the time the row was due, as delivering does.
    last = box.claim(NOW + 5_000, ())
    assert last is not None and last.delivery.id == later.id
    assert box.finish(last, NOW + 5_001, "gone", give_up=True, retry_at_ms=NOW + 9_000)
    failed = box.listing(DOMAIN, status=DeliveryStatus.FAILED)
    assert [(d.id, d.attempts, d.last_error, d.next_attempt_ms) for d in failed] == [
        (later.id, 1, "gone", NOW + 5_000)
    ]
    # A finished delivery cannot be recorded twice.
    assert not box.finish(last, NOW + 5_002, None, give_up=False, retry_at_ms=NOW)
    assert box.next_wake_ms() == NOW + 9_000
    assert not box.busy(NOW + 8_999) and box.busy(NOW + 9_000)
