"""The delivery outbox in the metadata database: one row per (alert, method, kind) to send,
the record of which alerts were submitted (so a re-submission changes nothing), and the
anti-flooding state per (policy, definition). Functions taking a connection run inside the
caller's transaction; the others open their own.

Retries are persisted here rather than left to an HTTP retry library: a delivery must survive a
restart, and its attempts, back-off and last error are part of what the API shows.

Several workers, on one node or on several sharing PostgreSQL, take due rows from one outbox.
A worker claims a row (``SELECT ... FOR UPDATE SKIP LOCKED`` in the transaction that marks it):
the claim moves the row's ``next_attempt_ms`` to the end of a lease, so no other worker finds
it due until then, and a node that dies mid-attempt leaves a row that falls due again when the
lease ends (at least once). The record of the attempt puts the back-off time there (or, when
the row is done, the time it was due before the claim), and counts only while the row still
carries the lease it was claimed with: after a lease ran out and another worker claimed the row,
the first worker's late answer changes nothing. No column is added for the claim, so a row in
flight shows as pending with ``nextAttemptMs`` at the end of its lease."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, func, or_, select, update

from ...errors import ValidationError
from ...meta import MetaStore, upsert
from ...meta.schema import alert_deliveries as deliveries
from ...meta.schema import alert_delivery_submissions as submissions
from ...meta.schema import alert_flood_state as flood
from ...meta.schema import triggered_alerts
from ..model import AlertStatus
from .antiflood import FloodState, Reminder
from .model import Delivery, DeliveryKind, DeliveryStatus

MAX_ERROR = 1_000
# Longer than any attempt can take: vendors' calls time out after at most 60 s and a ServiceNow
# delivery makes two; an SMTP exchange times out after 30 s.
CLAIM_MS = 300_000
_COLUMNS = (
    deliveries.c.id,
    deliveries.c.domain,
    deliveries.c.alert_id,
    deliveries.c.method_id,
    deliveries.c.policy_id,
    deliveries.c.kind,
    deliveries.c.status,
    deliveries.c.attempts,
    deliveries.c.last_error,
    deliveries.c.next_attempt_ms,
    deliveries.c.delivered_ms,
    deliveries.c.suppressed,
    deliveries.c.first_ms,
    deliveries.c.last_ms,
)
_PENDING = DeliveryStatus.PENDING.value


def _row(row: Row[*tuple[Any, ...]]) -> Delivery:
    return Delivery(
        id=int(row.id),
        domain=row.domain,
        alert_id=int(row.alert_id),
        method_id=int(row.method_id),
        policy_id=int(row.policy_id),
        kind=DeliveryKind(row.kind),
        status=DeliveryStatus(row.status),
        attempts=int(row.attempts),
        last_error=row.last_error,
        next_attempt_ms=int(row.next_attempt_ms),
        delivered_ms=row.delivered_ms,
        suppressed=int(row.suppressed),
        first_ms=row.first_ms,
        last_ms=row.last_ms,
    )


@dataclass(frozen=True)
class Claim:
    """A delivery as a worker took it (``next_attempt_ms`` as it was before the claim), and the
    end of the lease the row carries while the worker holds it."""

    delivery: Delivery
    until_ms: int


# -- inside the caller's transaction --------------------------------------------------------------


def record_submission(
    conn: Connection, alert_id: int, domain: str, status: AlertStatus, now_ms: int
) -> bool:
    """Whether this is the alert's first submission, recorded with ``status``. A second
    submission running at the same time on another node waits here for the first one's
    transaction and finds its row."""
    statement = upsert(conn, submissions, ["alert_id"]).values(
        alert_id=alert_id, domain=domain, status=int(status), submitted_ms=now_ms
    )
    return conn.execute(statement.returning(submissions.c.alert_id)).first() is not None


def submitted(conn: Connection, alert_id: int) -> AlertStatus:
    """The status planning gave an alert already submitted."""
    status = conn.execute(
        select(submissions.c.status).where(submissions.c.alert_id == alert_id)
    ).scalar_one()
    return AlertStatus(status)


def set_submitted(conn: Connection, alert_id: int, status: AlertStatus) -> None:
    conn.execute(
        update(submissions).where(submissions.c.alert_id == alert_id).values(status=int(status))
    )


def add(
    conn: Connection,
    *,
    domain: str,
    alert_id: int,
    method_id: int,
    policy_id: int,
    now_ms: int,
    reminder: Reminder | None = None,
) -> None:
    """A pending delivery, due now; nothing when the (alert, method, kind) is already there."""
    kind = DeliveryKind.REMINDER if reminder is not None else DeliveryKind.ALERT
    conn.execute(
        upsert(conn, deliveries, ["alert_id", "method_id", "kind"]).values(
            domain=domain,
            alert_id=alert_id,
            method_id=method_id,
            policy_id=policy_id,
            kind=kind.value,
            status=_PENDING,
            attempts=0,
            next_attempt_ms=now_ms,
            created_ms=now_ms,
            suppressed=reminder.suppressed if reminder else 0,
            first_ms=reminder.first_ms if reminder else None,
            last_ms=reminder.last_ms if reminder else None,
        )
    )


def set_alert_status(
    conn: Connection, domain: str, alert_id: int, status: AlertStatus, now_ms: int
) -> None:
    """In the caller's transaction, unlike ``TriggeredAlertRepository.update_status``. The
    acknowledgement date stays: nobody acknowledged anything."""
    conn.execute(
        update(triggered_alerts)
        .where(triggered_alerts.c.domain == domain, triggered_alerts.c.id == alert_id)
        .values(status=int(status), update_date=now_ms)
    )


def flood_state(conn: Connection, policy_id: int, definition_id: str, domain: str) -> FloodState:
    """The (policy, definition)'s state, its row locked until the caller's transaction ends (and
    made, empty, if there was none): nodes planning alerts of one definition at the same time
    count them one after the other instead of overwriting each other's count."""
    key = (flood.c.policy_id == policy_id, flood.c.definition_id == definition_id)
    conn.execute(
        upsert(conn, flood, ["policy_id", "definition_id"]).values(
            policy_id=policy_id,
            definition_id=definition_id,
            domain=domain,
            state=json.dumps(FloodState().to_json()),
            reminder_due_ms=None,
        )
    )
    text = conn.execute(select(flood.c.state).where(*key).with_for_update()).scalar_one()
    return FloodState.from_json(json.loads(text))


def save_flood_state(
    conn: Connection, policy_id: int, definition_id: str, domain: str, state: FloodState
) -> None:
    text = json.dumps(state.to_json())
    due = state.reminder_due_ms if state.suppressed > 0 else None
    conn.execute(
        upsert(conn, flood, ["policy_id", "definition_id"], state=text, reminder_due_ms=due).values(
            policy_id=policy_id,
            definition_id=definition_id,
            domain=domain,
            state=text,
            reminder_due_ms=due,
        )
    )


def due_flood_states(conn: Connection, now_ms: int) -> list[tuple[int, str, str, FloodState]]:
    """(policy id, definition id, domain, state) whose reminder is due, their rows locked; rows
    another worker is reminding of are skipped (that worker clears them)."""
    rows = conn.execute(
        select(flood.c.policy_id, flood.c.definition_id, flood.c.domain, flood.c.state)
        .where(flood.c.reminder_due_ms <= now_ms)
        .order_by(flood.c.reminder_due_ms, flood.c.policy_id, flood.c.definition_id)
        .with_for_update(skip_locked=True)
    ).all()
    return [
        (
            int(row.policy_id),
            row.definition_id,
            row.domain,
            FloodState.from_json(json.loads(row.state)),
        )
        for row in rows
    ]


# -- own transactions -----------------------------------------------------------------------------


class DeliveryOutbox:
    def __init__(self, meta: MetaStore) -> None:
        self.meta = meta

    def claim(
        self, now_ms: int, busy_methods: Collection[int], claim_ms: int = CLAIM_MS
    ) -> Claim | None:
        """Take the oldest due pending delivery whose method has nothing in flight here and that
        no other worker holds, for ``claim_ms``."""
        with self.meta.transaction() as conn:
            row = conn.execute(
                select(*_COLUMNS)
                .where(
                    deliveries.c.status == _PENDING,
                    deliveries.c.next_attempt_ms <= now_ms,
                    deliveries.c.method_id.not_in([int(m) for m in busy_methods]),
                )
                .order_by(deliveries.c.next_attempt_ms, deliveries.c.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            until = now_ms + claim_ms
            conn.execute(
                update(deliveries).where(deliveries.c.id == row.id).values(next_attempt_ms=until)
            )
        return Claim(_row(row), until)

    def next_wake_ms(self) -> int | None:
        """When the next pending delivery or reminder falls due."""
        with self.meta.transaction() as conn:
            pending = conn.execute(
                select(func.min(deliveries.c.next_attempt_ms)).where(
                    deliveries.c.status == _PENDING
                )
            ).scalar_one()
            reminder = conn.execute(select(func.min(flood.c.reminder_due_ms))).scalar_one()
        found = [int(value) for value in (pending, reminder) if value is not None]
        return min(found) if found else None

    def finish(
        self,
        claim: Claim,
        now_ms: int,
        error: str | None,
        *,
        give_up: bool,
        retry_at_ms: int,
    ) -> bool:
        """Record one attempt: delivered (``error`` None), failed for good, or due again at
        ``retry_at_ms``. False, and nothing recorded, when the claim ran out and another worker
        has the row now."""
        delivery = claim.delivery
        values: dict[str, Any] = {"attempts": delivery.attempts + 1}
        if error is None:
            values |= {
                "status": DeliveryStatus.DELIVERED.value,
                "delivered_ms": now_ms,
                "next_attempt_ms": delivery.next_attempt_ms,
            }
        elif give_up:
            values |= {
                "status": DeliveryStatus.FAILED.value,
                "last_error": error[:MAX_ERROR],
                "next_attempt_ms": delivery.next_attempt_ms,
            }
        else:
            values |= {"last_error": error[:MAX_ERROR], "next_attempt_ms": retry_at_ms}
        with self.meta.transaction() as conn:
            result = conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.id == delivery.id,
                    deliveries.c.status == _PENDING,
                    deliveries.c.next_attempt_ms == claim.until_ms,
                )
                .values(**values)
            )
        return result.rowcount == 1

    def busy(self, now_ms: int) -> bool:
        """Whether a pending delivery or a reminder is due."""
        due_delivery = (
            select(deliveries.c.id)
            .where(deliveries.c.status == _PENDING, deliveries.c.next_attempt_ms <= now_ms)
            .exists()
        )
        due_reminder = select(flood.c.policy_id).where(flood.c.reminder_due_ms <= now_ms).exists()
        with self.meta.transaction() as conn:
            return bool(conn.execute(select(or_(due_delivery, due_reminder))).scalar_one())

    def listing(
        self,
        domain: str,
        *,
        alert_id: int | None = None,
        status: DeliveryStatus | None = None,
        limit: int = 1_000,
        offset: int = 0,
    ) -> list[Delivery]:
        if limit < 0 or offset < 0:
            raise ValidationError("limit and offset must not be negative", field="limit")
        query = select(*_COLUMNS).where(deliveries.c.domain == domain)
        if alert_id is not None:
            query = query.where(deliveries.c.alert_id == alert_id)
        if status is not None:
            query = query.where(deliveries.c.status == status.value)
        with self.meta.transaction() as conn:
            rows = conn.execute(query.order_by(deliveries.c.id).limit(limit).offset(offset)).all()
        return [_row(row) for row in rows]
