"""The alert engine's follow-ups of its stored firings: each firing's row in
``siem.logtrust.alert.info`` and its hand-over to delivery.

They are tracked per definition, not per firing: ``alert_followups.done_id`` is the highest id
of the definition's firings whose follow-ups are done. The engine opens a definition's row in
the transaction that stores its first firings and moves it up once the follow-ups of a batch
are done, so a restart, or the node taking the definition over, finishes exactly the firings
above it. That holds because one node at a time stores a definition's firings (its lease), so
their ids only grow."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import Connection, bindparam, select, update

from ..meta import schema
from ..meta.store import MetaStore, upsert
from .model import TriggeredAlert
from .triggered import ALERT_COLUMNS, row_to_alert

_T = schema.triggered_alerts
_F = schema.alert_followups
_CHUNK = 1_000  # values per statement: both engines cap them


class FollowUps:
    """Which stored firings still need their table row or their hand-over to delivery."""

    def __init__(self, meta: MetaStore) -> None:
        self.meta = meta

    def open_in(self, conn: Connection, alerts: Sequence[TriggeredAlert]) -> None:
        """In the transaction that stores ``alerts``: a row for each of their definitions that
        has none, done up to just below its first new firing."""
        first: dict[str, int] = {}
        for alert in alerts:
            first[alert.definition_id] = min(first.get(alert.definition_id, alert.id), alert.id)
        if first:
            conn.execute(
                upsert(conn, _F, ["definition_id"]),
                [{"definition_id": d, "done_id": id_ - 1} for d, id_ in first.items()],
            )

    def unfinished(self, definition_ids: Collection[str] | None = None) -> list[TriggeredAlert]:
        """The firings whose follow-ups are not known to be done, oldest first; only those of
        ``definition_ids`` when given."""
        query = (
            select(*ALERT_COLUMNS)
            .select_from(_T.join(_F, _F.c.definition_id == _T.c.definition_id))
            .where(_T.c.id > _F.c.done_id)
        )
        if definition_ids is None:
            queries = [query]
        else:
            wanted = sorted(definition_ids)
            queries = [
                query.where(_F.c.definition_id.in_(wanted[start : start + _CHUNK]))
                for start in range(0, len(wanted), _CHUNK)
            ]
        with self.meta.transaction() as conn:
            rows = [row for q in queries for row in conn.execute(q)]
        return sorted((row_to_alert(row) for row in rows), key=lambda alert: alert.id)

    def done(self, alerts: Sequence[TriggeredAlert]) -> None:
        """The follow-ups of ``alerts`` are done: each definition's row moves up to the highest
        of them, never down (a node resuming from a pause may report a batch its successor has
        already finished and gone past)."""
        last: dict[str, int] = {}
        for alert in alerts:
            last[alert.definition_id] = max(last.get(alert.definition_id, alert.id), alert.id)
        if not last:
            return
        statement = (
            update(_F)
            .where(_F.c.definition_id == bindparam("b_definition"))
            .where(_F.c.done_id < bindparam("b_done"))
            .values(done_id=bindparam("b_done"))
        )
        with self.meta.transaction() as conn:
            conn.execute(
                statement, [{"b_definition": d, "b_done": id_} for d, id_ in sorted(last.items())]
            )
