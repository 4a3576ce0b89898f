"""Where each definition's evaluation stands, saved in the metadata database in the same
transaction as the firings it produced: a restart (also ``kill -9``) resumes from there, and
re-evaluating a step that was cut short yields digests that are already stored."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Executable, bindparam, select

from ..meta import MetaStore, insert, schema
from .kinds import KindState


@dataclass(frozen=True)
class Progress:
    """``version`` is the definition's ``updated_ms``: an edited definition starts afresh.
    ``next_end``: the end of the next period to close (period steps); ``seq``: the last
    sequence number evaluated (event steps)."""

    version: int
    next_end: int | None = None
    seq: int | None = None
    kind: KindState = field(default_factory=KindState)
    firings: int = 0
    last_step_ms: int | None = None
    error: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": self.version,
                "next_end": self.next_end,
                "seq": self.seq,
                "memory": self.kind.memory,
                "capped": self.kind.capped,
                "firings": self.firings,
                "last_step_ms": self.last_step_ms,
                "error": self.error,
            },
            default=str,
        )

    @staticmethod
    def from_json(text: str) -> Progress:
        data = json.loads(text)
        return Progress(
            version=int(data["version"]),
            next_end=data.get("next_end"),
            seq=data.get("seq"),
            kind=KindState(data.get("memory") or {}, int(data.get("capped") or 0)),
            firings=int(data.get("firings") or 0),
            last_step_ms=data.get("last_step_ms"),
            error=data.get("error"),
        )


_T = schema.alert_state


class StateRepository:
    def __init__(self, meta: MetaStore) -> None:
        self.meta = meta
        # Built on first use, when a connection tells the dialect: every pass saves the
        # progress of each definition it moved, and building costs several times running.
        self._upsert: Executable | None = None

    def load(self) -> dict[str, Progress]:
        with self.meta.transaction() as conn:
            rows = conn.execute(select(_T.c.definition_id, _T.c.state)).all()
        return {str(id_): Progress.from_json(text) for id_, text in rows}

    def save_in(
        self, conn: Connection, definition_id: str, domain: str, progress: Progress, now: int
    ) -> None:
        self.save_many_in(conn, [(definition_id, domain, progress)], now)

    def save_many_in(
        self, conn: Connection, saved: Sequence[tuple[str, str, Progress]], now: int
    ) -> None:
        """Each (definition id, domain, progress) in one batch of the caller's transaction."""
        if not saved:
            return
        if self._upsert is None:
            statement = insert(conn, _T)
            changed = ("domain", "version", "state", "updated_ms")
            self._upsert = statement.on_conflict_do_update(
                index_elements=["definition_id"],
                set_={name: statement.excluded[name] for name in changed},
            )
        conn.execute(
            self._upsert,
            [
                {
                    "definition_id": definition_id,
                    "domain": domain,
                    "version": progress.version,
                    "state": progress.to_json(),
                    "updated_ms": now,
                }
                for definition_id, domain, progress in saved
            ],
        )

    def forget(self, keep: set[str]) -> None:
        """Drop the state of definitions that no longer exist."""
        with self.meta.transaction() as conn:
            ids = conn.execute(select(_T.c.definition_id)).scalars().all()
            gone = [{"gone": i} for i in ids if i not in keep]
            if gone:
                conn.execute(_T.delete().where(_T.c.definition_id == bindparam("gone")), gone)
