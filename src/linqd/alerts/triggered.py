"""Triggered alerts in the metadata database (their Alert objects: ``alert_json.py``; the
engine's follow-ups of each: ``followups.py``).

One row per firing. ``(domain, digest)`` is unique, so a firing the alert engine produces twice
(a retry, a restart) is stored once: ``insert`` answers ``None`` for the second one.

Choices where Devo documents nothing:

- ``list`` orders by the alert date (then id) when no ``orderby`` is given. The Devo names of
  columns linqd does not have (``srcPort``, ``srcIp`` ... ``engine``) are always null, so ordering
  by them is ordering by the tie-breaker, the id. ``create`` is the creation date. Alerts never
  acknowledged (no ``ack_status_date``) come first in ascending order and last in descending
  order, on SQLite and on PostgreSQL alike.
- ``statuses`` covers the alerts whose alert date is at or after ``from``, closed ones included.
"""

from __future__ import annotations

import builtins  # the method ``list`` hides the builtin in the class body
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Column, Connection, select

from ..clock import Clock
from ..errors import NotFound, ValidationError
from ..meta import MetaStore, insert_new, schema
from .model import CLOSED_STATUSES, AlertStatus, TriggeredAlert

# Devo's ``orderby`` names and the column each sorts by; names of fields linqd does
# not have (srcPort ... engine) sort by id.
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

# Ids are signed 64-bit on both engines; no stored id lies outside this range.
MAX_ALERT_ID = 2**63 - 1
# Ids per statement of a status update: both engines limit the bound values of one statement
# (SQLite 32,766, PostgreSQL 65,535), a request body may hold many more.
_IDS_PER_STATEMENT = 1_000

_T = schema.triggered_alerts
# The columns ``row_to_alert`` reads, in its order.
ALERT_COLUMNS: tuple[Column[Any], ...] = tuple(
    _T.c[name]
    for name in (
        "id", "domain", "definition_id", "digest", "alert_date", "create_date", "update_date",
        "ack_status_date", "status", "priority", "context", "category", "subcategory",
        "username", "alert_name", "message", "description", "extra_data",
    )
)  # fmt: skip
_CLOSED = tuple(sorted(int(status) for status in CLOSED_STATUSES))


def extra_data_text(extra: Mapping[str, Any]) -> str:
    """extraData as Devo shows it: JSON text. Values the JSON encoder does not know (dates,
    decimals) become their string form rather than losing the whole firing."""
    return json.dumps(dict(extra), default=str)


def row_to_alert(row: Sequence[Any]) -> TriggeredAlert:
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
    """Every method is one transaction and every query is scoped to one domain."""

    def __init__(self, meta: MetaStore, clock: Clock) -> None:
        self.meta = meta
        self.clock = clock

    def insert(self, alert: TriggeredAlert) -> TriggeredAlert | None:
        """Store one firing; ``None`` when its ``(domain, digest)`` is already stored."""
        with self.meta.transaction() as conn:
            return self.insert_in(conn, alert)

    def insert_in(self, conn: Connection, alert: TriggeredAlert) -> TriggeredAlert | None:
        """``insert`` inside the caller's transaction."""
        stored = self.insert_many_in(conn, [alert])
        return stored[0] if stored else None

    def insert_many_in(
        self, conn: Connection, alerts: Sequence[TriggeredAlert]
    ) -> list[TriggeredAlert]:
        """The alerts newly stored, in the given order, inside the caller's transaction (the
        engine stores firings and its own progress in one), one statement per thousand rows.
        Digests already stored are skipped by ``ON CONFLICT DO NOTHING`` rather than a caught
        error: on PostgreSQL an error would abort the caller's whole transaction."""
        if not alerts:
            return []
        now = self.clock.now_ms()
        fresh: dict[tuple[str, str], TriggeredAlert] = {}
        for alert in alerts:
            fresh.setdefault((alert.domain, alert.digest), alert)
        inserted = insert_new(
            conn,
            _T,
            [_row(alert, now) for alert in fresh.values()],
            ["domain", "digest"],
            [_T.c.domain, _T.c.digest, _T.c.id],
        )
        ids = {(str(row[0]), str(row[1])): int(row[2]) for row in inserted}
        return [
            replace(alert, id=ids[key], create_date=now, update_date=now)
            for key, alert in fresh.items()
            if key in ids
        ]

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
            column = _T.c[_DEFAULT_ORDER_COLUMN]
        elif order_by in _ORDER_COLUMNS:
            column = _T.c[_ORDER_COLUMNS[order_by]]
        else:
            raise ValidationError(f"Unknown orderby value {order_by[:64]!r}", field="orderby")
        if limit < 0:
            raise ValidationError("limit must not be negative", field="limit")
        if offset < 0:
            raise ValidationError("offset must not be negative", field="offset")
        query = select(*ALERT_COLUMNS).where(
            _T.c.domain == domain, _T.c.alert_date >= from_ms, _T.c.alert_date < to_ms
        )
        if not show_all:
            query = query.where(_T.c.status.not_in(_CLOSED))
        first = column.asc() if ascending else column.desc()
        if column.nullable:
            # As SQLite sorts nulls, first ascending and last descending (PostgreSQL's
            # default is the reverse). Only where nulls occur: the clause would keep
            # PostgreSQL from reading the date index backwards.
            first = first.nulls_first() if ascending else first.nulls_last()
        tie = _T.c.id.asc() if ascending else _T.c.id.desc()
        query = query.order_by(first, tie)
        with self.meta.transaction() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).all()
        return [row_to_alert(row) for row in rows]

    def update_status(self, domain: str, alert_id: int, status: AlertStatus) -> TriggeredAlert:
        """Set the status (and the update and acknowledgement dates); ``NotFound`` if unknown."""
        now = self.clock.now_ms()
        row = None
        if 0 < alert_id <= MAX_ALERT_ID:
            # One statement: the answer is the row as this update left it, whatever another
            # node changed just before.
            with self.meta.transaction() as conn:
                row = conn.execute(
                    _T.update()
                    .where(_T.c.domain == domain, _T.c.id == alert_id)
                    .values(status=int(status), update_date=now, ack_status_date=now)
                    .returning(*ALERT_COLUMNS)
                ).one_or_none()
        if row is None:
            raise NotFound(f"Alert {alert_id} not found")
        return row_to_alert(row)

    def update_status_list(
        self, domain: str, ids: Iterable[int], status: AlertStatus
    ) -> tuple[builtins.list[int], builtins.list[int]]:
        """(updated, not updated): each id once, in the order given. Ids unknown in ``domain``
        are not updated; the others are, in one transaction."""
        wanted = list(dict.fromkeys(ids))
        storable = [alert_id for alert_id in wanted if 0 < alert_id <= MAX_ALERT_ID]
        now = self.clock.now_ms()
        found: set[int] = set()
        with self.meta.transaction() as conn:
            for start in range(0, len(storable), _IDS_PER_STATEMENT):
                chunk = storable[start : start + _IDS_PER_STATEMENT]
                found.update(
                    conn.execute(
                        _T.update()
                        .where(_T.c.domain == domain, _T.c.id.in_(chunk))
                        .values(status=int(status), update_date=now, ack_status_date=now)
                        .returning(_T.c.id)
                    ).scalars()
                )
        updated = [alert_id for alert_id in wanted if alert_id in found]
        not_updated = [alert_id for alert_id in wanted if alert_id not in found]
        return updated, not_updated

    def statuses(self, domain: str, from_ms: int) -> dict[int, int]:
        """Alert id -> status for the alerts dated at or after ``from_ms``."""
        with self.meta.transaction() as conn:
            rows = conn.execute(
                select(_T.c.id, _T.c.status)
                .where(_T.c.domain == domain, _T.c.alert_date >= from_ms)
                .order_by(_T.c.id)
            ).all()
        return {int(id_): int(status) for id_, status in rows}

    @staticmethod
    def _get(conn: Connection, domain: str, alert_id: int) -> TriggeredAlert:
        row = None
        if 0 < alert_id <= MAX_ALERT_ID:
            row = conn.execute(
                select(*ALERT_COLUMNS).where(_T.c.domain == domain, _T.c.id == alert_id)
            ).one_or_none()
        if row is None:
            raise NotFound(f"Alert {alert_id} not found")
        return row_to_alert(row)


# -- the API objects ------------------------------------------------------------------------------


def _row(alert: TriggeredAlert, now: int) -> dict[str, Any]:
    return {
        "domain": alert.domain,
        "definition_id": alert.definition_id,
        "digest": alert.digest,
        "alert_date": alert.alert_date,
        "create_date": now,
        "update_date": now,
        "ack_status_date": alert.ack_status_date,
        "status": int(alert.status),
        "priority": float(alert.priority),
        "context": alert.context,
        "category": alert.category,
        "subcategory": alert.subcategory,
        "username": alert.username,
        "alert_name": alert.alert_name,
        "message": alert.message,
        "description": alert.description,
        "extra_data": extra_data_text(alert.extra_data),
    }
