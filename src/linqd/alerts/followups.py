"""The alert engine's follow-ups of a stored firing, flagged in the metadata database: its row in
``siem.logtrust.alert.info`` and its hand-over to delivery. Each is flagged when done, so a
restart finishes what a crash cut short."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select

from ..meta import schema
from .model import TriggeredAlert
from .triggered import ALERT_COLUMNS, TriggeredAlertRepository, row_to_alert

_T = schema.triggered_alerts
_FLAGS = ("in_table", "dispatched")


class FollowUps:
    """The stored firings whose table row or hand-over to delivery is still to do."""

    def __init__(self, repo: TriggeredAlertRepository) -> None:
        self.repo = repo

    def unfinished(self) -> tuple[list[TriggeredAlert], list[TriggeredAlert]]:
        """(alerts not yet in the table, alerts not yet handed to delivery), oldest first."""
        with self.repo.meta.transaction() as conn:
            rows = conn.execute(
                select(*ALERT_COLUMNS, _T.c.in_table, _T.c.dispatched)
                .where(or_(_T.c.in_table == 0, _T.c.dispatched == 0))
                .order_by(_T.c.id)
            ).all()
        not_in_table = [row_to_alert(r[:-2]) for r in rows if r[-2] == 0]
        not_dispatched = [row_to_alert(r[:-2]) for r in rows if r[-1] == 0]
        return not_in_table, not_dispatched

    def mark(self, ids: Sequence[int], *flags: str) -> None:
        """Flag ``ids`` done for each of ``flags``, a thousand rows per statement (every
        update rewrites the row on PostgreSQL: one update for both flags, not two)."""
        if not flags or any(flag not in _FLAGS for flag in flags):
            raise ValueError(flags)
        if not ids:
            return
        with self.repo.meta.transaction() as conn:
            for start in range(0, len(ids), 1_000):
                chunk = list(ids[start : start + 1_000])
                conn.execute(_T.update().where(_T.c.id.in_(chunk)).values(dict.fromkeys(flags, 1)))
