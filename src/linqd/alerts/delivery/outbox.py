"""The delivery outbox in the metadata database: one row per (alert, method, kind) to send,
the record of which alerts were submitted (so a re-submission changes nothing), and the
anti-flooding state per (policy, definition). Functions taking a connection run inside the
caller's transaction; the others open their own.

Retries are persisted here rather than left to an HTTP retry library: a delivery must survive a
restart, and its attempts, back-off and last error are part of what the API shows."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Sequence
from typing import Any

from ...errors import ValidationError
from ...meta import MetaStore
from ..model import AlertStatus
from .antiflood import FloodState, Reminder
from .model import Delivery, DeliveryKind, DeliveryStatus

MAX_ERROR = 1_000
_COLUMNS = (
    "id, domain, alert_id, method_id, policy_id, kind, status, attempts, last_error, "
    "next_attempt_ms, delivered_ms, suppressed, first_ms, last_ms"
)


def _row(row: Sequence[Any]) -> Delivery:
    (id_, domain, alert, method, policy, kind, status, attempts, error, next_ms, done_ms) = row[:11]
    suppressed, first_ms, last_ms = row[11:]
    return Delivery(
        id=int(id_),
        domain=domain,
        alert_id=int(alert),
        method_id=int(method),
        policy_id=int(policy),
        kind=DeliveryKind(kind),
        status=DeliveryStatus(status),
        attempts=int(attempts),
        last_error=error,
        next_attempt_ms=int(next_ms),
        delivered_ms=done_ms,
        suppressed=int(suppressed),
        first_ms=first_ms,
        last_ms=last_ms,
    )


def _id_list(ids: Collection[int]) -> str:
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


# -- inside the caller's transaction --------------------------------------------------------------


def submitted(conn: sqlite3.Connection, alert_id: int) -> AlertStatus | None:
    row = conn.execute(
        "SELECT status FROM alert_delivery_submissions WHERE alert_id = ?", (alert_id,)
    ).fetchone()
    return AlertStatus(row[0]) if row is not None else None


def record_submission(
    conn: sqlite3.Connection, alert_id: int, domain: str, status: AlertStatus, now_ms: int
) -> None:
    conn.execute(
        "INSERT INTO alert_delivery_submissions(alert_id, domain, status, submitted_ms) "
        "VALUES (?, ?, ?, ?)",
        (alert_id, domain, int(status), now_ms),
    )


def add(
    conn: sqlite3.Connection,
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
        "INSERT INTO alert_deliveries(domain, alert_id, method_id, policy_id, kind, status, "
        "attempts, next_attempt_ms, created_ms, suppressed, first_ms, last_ms) "
        "VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?) "
        "ON CONFLICT(alert_id, method_id, kind) DO NOTHING",
        (
            domain,
            alert_id,
            method_id,
            policy_id,
            kind.value,
            now_ms,
            now_ms,
            reminder.suppressed if reminder else 0,
            reminder.first_ms if reminder else None,
            reminder.last_ms if reminder else None,
        ),
    )


def set_alert_status(
    conn: sqlite3.Connection, domain: str, alert_id: int, status: AlertStatus, now_ms: int
) -> None:
    """In the caller's transaction, unlike ``TriggeredAlertRepository.update_status``. The
    acknowledgement date stays: nobody acknowledged anything."""
    conn.execute(
        "UPDATE triggered_alerts SET status = ?, update_date = ? WHERE domain = ? AND id = ?",
        (int(status), now_ms, domain, alert_id),
    )


def flood_state(conn: sqlite3.Connection, policy_id: int, definition_id: str) -> FloodState:
    row = conn.execute(
        "SELECT state FROM alert_flood_state WHERE policy_id = ? AND definition_id = ?",
        (policy_id, definition_id),
    ).fetchone()
    return FloodState.from_json(json.loads(row[0])) if row is not None else FloodState()


def save_flood_state(
    conn: sqlite3.Connection, policy_id: int, definition_id: str, domain: str, state: FloodState
) -> None:
    due = state.reminder_due_ms if state.suppressed > 0 else None
    conn.execute(
        "INSERT INTO alert_flood_state(policy_id, definition_id, domain, state, reminder_due_ms) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(policy_id, definition_id) DO UPDATE SET "
        "state = excluded.state, reminder_due_ms = excluded.reminder_due_ms",
        (policy_id, definition_id, domain, json.dumps(state.to_json()), due),
    )


def due_flood_states(
    conn: sqlite3.Connection, now_ms: int
) -> list[tuple[int, str, str, FloodState]]:
    """(policy id, definition id, domain, state) whose reminder is due."""
    rows = conn.execute(
        "SELECT policy_id, definition_id, domain, state FROM alert_flood_state "
        "WHERE reminder_due_ms <= ? ORDER BY reminder_due_ms",
        (now_ms,),
    ).fetchall()
    return [
        (int(p), str(d), str(dom), FloodState.from_json(json.loads(s))) for p, d, dom, s in rows
    ]


# -- own transactions -----------------------------------------------------------------------------


class DeliveryOutbox:
    def __init__(self, meta: MetaStore) -> None:
        self.meta = meta

    def next_due(self, now_ms: int, busy_methods: Collection[int]) -> Delivery | None:
        """The oldest due pending delivery whose method has nothing in flight."""
        with self.meta.transaction() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM alert_deliveries WHERE status = 'pending' "
                "AND next_attempt_ms <= ? AND method_id NOT IN (SELECT value FROM json_each(?)) "
                "ORDER BY next_attempt_ms, id LIMIT 1",
                (now_ms, _id_list(busy_methods)),
            ).fetchone()
        return _row(row) if row is not None else None

    def next_wake_ms(self) -> int | None:
        """When the next pending delivery or reminder falls due."""
        with self.meta.transaction() as conn:
            (pending,) = conn.execute(
                "SELECT MIN(next_attempt_ms) FROM alert_deliveries WHERE status = 'pending'"
            ).fetchone()
            (reminder,) = conn.execute(
                "SELECT MIN(reminder_due_ms) FROM alert_flood_state"
            ).fetchone()
        found = [value for value in (pending, reminder) if value is not None]
        return min(found) if found else None

    def finish(
        self,
        delivery: Delivery,
        now_ms: int,
        error: str | None,
        *,
        give_up: bool,
        retry_at_ms: int,
    ) -> None:
        """Record one attempt: delivered (``error`` None), failed for good, or due again."""
        attempts = delivery.attempts + 1
        with self.meta.transaction() as conn:
            if error is None:
                conn.execute(
                    "UPDATE alert_deliveries SET status = 'delivered', attempts = ?, "
                    "delivered_ms = ? WHERE id = ?",
                    (attempts, now_ms, delivery.id),
                )
            elif give_up:
                conn.execute(
                    "UPDATE alert_deliveries SET status = 'failed', attempts = ?, last_error = ? "
                    "WHERE id = ?",
                    (attempts, error[:MAX_ERROR], delivery.id),
                )
            else:
                conn.execute(
                    "UPDATE alert_deliveries SET attempts = ?, last_error = ?, "
                    "next_attempt_ms = ? WHERE id = ?",
                    (attempts, error[:MAX_ERROR], retry_at_ms, delivery.id),
                )

    def busy(self, now_ms: int) -> bool:
        """Whether a pending delivery or a reminder is due."""
        with self.meta.transaction() as conn:
            due = conn.execute(
                "SELECT 1 FROM alert_deliveries WHERE status = 'pending' AND next_attempt_ms <= ? "
                "UNION ALL SELECT 1 FROM alert_flood_state WHERE reminder_due_ms <= ? LIMIT 1",
                (now_ms, now_ms),
            ).fetchone()
        return due is not None

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
        sql = f"SELECT {_COLUMNS} FROM alert_deliveries WHERE domain = ?"
        params: list[object] = [domain]
        if alert_id is not None:
            sql += " AND alert_id = ?"
            params.append(alert_id)
        if status is not None:
            sql += " AND status = ?"
            params.append(status.value)
        params += [limit, offset]
        with self.meta.transaction() as conn:
            rows = conn.execute(sql + " ORDER BY id LIMIT ? OFFSET ?", params).fetchall()
        return [_row(row) for row in rows]
