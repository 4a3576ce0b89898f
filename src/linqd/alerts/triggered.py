"""Triggered alerts in the metadata database (their Alert objects: ``alert_json.py``; the
engine's follow-ups of each: ``followups.py``).

One row per firing. ``(domain, digest)`` is unique, so a firing the alert engine produces twice
(a retry, a restart) is stored once: ``insert`` answers ``None`` for the second one.

Choices where Devo documents nothing:

- ``list`` orders by the alert date (then id) when no ``orderby`` is given. The Devo names of
  columns linqd does not have (``srcPort``, ``srcIp`` ... ``engine``) are always null, so ordering
  by them is ordering by the tie-breaker, the id. ``create`` is the creation date.
- ``statuses`` covers the alerts whose alert date is at or after ``from``, closed ones included.
"""

from __future__ import annotations

import builtins  # the method ``list`` hides the builtin in the class body
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from ..clock import Clock
from ..errors import NotFound, ValidationError
from ..meta import MetaStore
from .model import CLOSED_STATUSES, AlertStatus, TriggeredAlert

# Devo's ``orderby`` names and the column each sorts by; names of fields linqd does
# not have (srcPort ... engine) sort by id. Only these fixed strings ever reach the SQL text.
ORDER_BY_NAMES: tuple[str, ...] = (
    "id", "domain", "priority", "context", "category", "srcPort", "srcIp", "srcHost", "dstIp",
    "dstPort", "dstHost", "protocol", "username", "application", "engine", "extraData", "status",
    "ack_status_date", "create",
)  # fmt: skip
_COLUMN_OF = {
    "domain": "domain",
    "priority": "priority",
    "context": "context",
    "category": "category",
    "username": "username",
    "extraData": "extra_data",
    "status": "status",
    "ack_status_date": "ack_status_date",
    "create": "create_date",
}
_ORDER_COLUMNS: Mapping[str, str] = {name: _COLUMN_OF.get(name, "id") for name in ORDER_BY_NAMES}
_DEFAULT_ORDER_COLUMN = "alert_date"

# SQLite integers are signed 64-bit; no stored id lies outside this range.
MAX_ALERT_ID = 2**63 - 1

ALERT_COLUMNS = (
    "id, domain, definition_id, digest, alert_date, create_date, update_date, ack_status_date, "
    "status, priority, context, category, subcategory, username, alert_name, message, "
    "description, extra_data"
)
_CLOSED = tuple(sorted(int(status) for status in CLOSED_STATUSES))
_NOT_CLOSED = f" AND status NOT IN ({', '.join('?' for _ in _CLOSED)})"


def extra_data_text(extra: Mapping[str, Any]) -> str:
    """extraData as Devo shows it: JSON text. Values the JSON encoder does not know (dates,
    decimals) become their string form rather than losing the whole firing."""
    return json.dumps(dict(extra), default=str)


def row_to_alert(row: tuple[Any, ...]) -> TriggeredAlert:
    (
        id_,
        domain,
        definition_id,
        digest,
        alert_date,
        create_date,
        update_date,
        ack_status_date,
        status,
        priority,
        context,
        category,
        subcategory,
        username,
        alert_name,
        message,
        description,
        extra_data,
    ) = row
    return TriggeredAlert(
        domain=domain,
        definition_id=definition_id,
        digest=digest,
        alert_date=alert_date,
        priority=float(priority),
        context=context,
        alert_name=alert_name,
        subcategory=subcategory,
        username=username,
        message=message,
        description=description,
        extra_data=json.loads(extra_data),
        status=AlertStatus(status),
        id=id_,
        create_date=create_date,
        update_date=update_date,
        ack_status_date=ack_status_date,
        category=category,
    )


class TriggeredAlertRepository:
    """Every method is one SQLite transaction and every query is scoped to one domain."""

    def __init__(self, meta: MetaStore, clock: Clock) -> None:
        self.meta = meta
        self.clock = clock

    def insert(self, alert: TriggeredAlert) -> TriggeredAlert | None:
        """Store one firing; ``None`` when its ``(domain, digest)`` is already stored."""
        with self.meta.transaction() as conn:
            return self.insert_in(conn, alert)

    def insert_in(self, conn: sqlite3.Connection, alert: TriggeredAlert) -> TriggeredAlert | None:
        """``insert`` inside the caller's transaction (the engine stores firings and its own
        progress in one)."""
        now = self.clock.now_ms()
        cursor = conn.execute(
            "INSERT INTO triggered_alerts(domain, definition_id, digest, alert_date, "
            "create_date, update_date, ack_status_date, status, priority, context, category, "
            "subcategory, username, alert_name, message, description, extra_data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(domain, digest) DO NOTHING",
            (
                alert.domain,
                alert.definition_id,
                alert.digest,
                alert.alert_date,
                now,
                now,
                alert.ack_status_date,
                int(alert.status),
                float(alert.priority),
                alert.context,
                alert.category,
                alert.subcategory,
                alert.username,
                alert.alert_name,
                alert.message,
                alert.description,
                extra_data_text(alert.extra_data),
            ),
        )
        if cursor.rowcount == 0 or cursor.lastrowid is None:
            return None
        return replace(alert, id=cursor.lastrowid, create_date=now, update_date=now)

    def get(self, domain: str, alert_id: int) -> TriggeredAlert:
        """The alert, or ``NotFound`` (also when the id belongs to another domain)."""
        with self.meta.transaction() as conn:
            return self._get(conn, domain, alert_id)

    def list(
        self,
        domain: str,
        *,
        from_ms: int,
        to_ms: int,
        limit: int,
        offset: int = 0,
        order_by: str | None = None,
        ascending: bool = False,
        show_all: bool = False,
    ) -> builtins.list[TriggeredAlert]:
        """Alerts with ``from_ms <= alert date < to_ms``; closed and false-positive ones only
        with ``show_all``. ``order_by`` is one of ``ORDER_BY_NAMES`` (``None``: alert date)."""
        if order_by is None:
            column = _DEFAULT_ORDER_COLUMN
        elif order_by in _ORDER_COLUMNS:
            column = _ORDER_COLUMNS[order_by]
        else:
            raise ValidationError(f"Unknown orderby value {order_by[:64]!r}", field="orderby")
        if limit < 0:
            raise ValidationError("limit must not be negative", field="limit")
        if offset < 0:
            raise ValidationError("offset must not be negative", field="offset")
        direction = "ASC" if ascending else "DESC"
        sql = (
            f"SELECT {ALERT_COLUMNS} FROM triggered_alerts "
            "WHERE domain = ? AND alert_date >= ? AND alert_date < ?"
            + ("" if show_all else _NOT_CLOSED)
            + f" ORDER BY {column} {direction}, id {direction} LIMIT ? OFFSET ?"
        )
        params: list[Any] = [domain, from_ms, to_ms]
        if not show_all:
            params += _CLOSED
        params += [limit, offset]
        with self.meta.transaction() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [row_to_alert(row) for row in rows]

    def update_status(self, domain: str, alert_id: int, status: AlertStatus) -> TriggeredAlert:
        """Set the status (and the update and acknowledgement dates); ``NotFound`` if unknown."""
        now = self.clock.now_ms()
        with self.meta.transaction() as conn:
            alert = self._get(conn, domain, alert_id)
            conn.execute(
                "UPDATE triggered_alerts SET status = ?, update_date = ?, ack_status_date = ? "
                "WHERE domain = ? AND id = ?",
                (int(status), now, now, domain, alert.id),
            )
        return replace(alert, status=AlertStatus(status), update_date=now, ack_status_date=now)

    def update_status_list(
        self, domain: str, ids: Iterable[int], status: AlertStatus
    ) -> tuple[builtins.list[int], builtins.list[int]]:
        """(updated, not updated): each id once, in the order given. Ids unknown in ``domain``
        are not updated; the others are, in one transaction."""
        wanted = list(dict.fromkeys(ids))
        storable = [alert_id for alert_id in wanted if 0 < alert_id <= MAX_ALERT_ID]
        # The ids travel as one bound JSON parameter: no limit on the number of SQL variables.
        id_list = json.dumps(storable)
        now = self.clock.now_ms()
        with self.meta.transaction() as conn:
            found = {
                int(row[0])
                for row in conn.execute(
                    "SELECT id FROM triggered_alerts "
                    "WHERE domain = ? AND id IN (SELECT value FROM json_each(?))",
                    (domain, id_list),
                )
            }
            conn.execute(
                "UPDATE triggered_alerts SET status = ?, update_date = ?, ack_status_date = ? "
                "WHERE domain = ? AND id IN (SELECT value FROM json_each(?))",
                (int(status), now, now, domain, id_list),
            )
        updated = [alert_id for alert_id in wanted if alert_id in found]
        not_updated = [alert_id for alert_id in wanted if alert_id not in found]
        return updated, not_updated

    def statuses(self, domain: str, from_ms: int) -> dict[int, int]:
        """Alert id -> status for the alerts dated at or after ``from_ms``."""
        with self.meta.transaction() as conn:
            rows = conn.execute(
                "SELECT id, status FROM triggered_alerts "
                "WHERE domain = ? AND alert_date >= ? ORDER BY id",
                (domain, from_ms),
            ).fetchall()
        return {int(id_): int(status) for id_, status in rows}

    @staticmethod
    def _get(conn: sqlite3.Connection, domain: str, alert_id: int) -> TriggeredAlert:
        row = None
        if 0 < alert_id <= MAX_ALERT_ID:
            row = conn.execute(
                f"SELECT {ALERT_COLUMNS} FROM triggered_alerts WHERE domain = ? AND id = ?",
                (domain, alert_id),
            ).fetchone()
        if row is None:
            raise NotFound(f"Alert {alert_id} not found")
        return row_to_alert(row)


# -- the API objects ------------------------------------------------------------------------------
