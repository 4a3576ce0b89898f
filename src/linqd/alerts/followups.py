"""The alert engine's follow-ups of a stored firing, flagged in the metadata database: its row in
``siem.logtrust.alert.info`` and its hand-over to delivery. Each is flagged when done, so a
restart finishes what a crash cut short."""

from __future__ import annotations

from collections.abc import Sequence

from .model import TriggeredAlert
from .triggered import ALERT_COLUMNS, TriggeredAlertRepository, row_to_alert


class FollowUps:
    """The stored firings whose table row or hand-over to delivery is still to do."""

    def __init__(self, repo: TriggeredAlertRepository) -> None:
        self.repo = repo

    def unfinished(self) -> tuple[list[TriggeredAlert], list[TriggeredAlert]]:
        """(alerts not yet in the table, alerts not yet handed to delivery), oldest first."""
        with self.repo.meta.transaction() as conn:
            rows = conn.execute(
                f"SELECT {ALERT_COLUMNS}, in_table, dispatched FROM triggered_alerts "
                "WHERE in_table = 0 OR dispatched = 0 ORDER BY id"
            ).fetchall()
        not_in_table = [row_to_alert(r[:-2]) for r in rows if r[-2] == 0]
        not_dispatched = [row_to_alert(r[:-2]) for r in rows if r[-1] == 0]
        return not_in_table, not_dispatched

    def mark(self, ids: Sequence[int], flag: str) -> None:
        if flag not in ("in_table", "dispatched"):
            raise ValueError(flag)
        with self.repo.meta.transaction() as conn:
            conn.executemany(
                f"UPDATE triggered_alerts SET {flag} = 1 WHERE id = ?", [(i,) for i in ids]
            )
