"""Where each definition's evaluation stands, saved in the metadata database in the same
transaction as the firings it produced: a restart (also ``kill -9``) resumes from there, and
re-evaluating a step that was cut short yields digests that are already stored."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from ..meta import MetaStore
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


class StateRepository:
    def __init__(self, meta: MetaStore) -> None:
        self.meta = meta

    def load(self) -> dict[str, Progress]:
        with self.meta.transaction() as conn:
            rows = conn.execute("SELECT definition_id, state FROM alert_state").fetchall()
        return {str(id_): Progress.from_json(text) for id_, text in rows}

    @staticmethod
    def save_in(
        conn: sqlite3.Connection, definition_id: str, domain: str, progress: Progress, now: int
    ) -> None:
        conn.execute(
            "INSERT INTO alert_state(definition_id, domain, version, state, updated_ms) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(definition_id) DO UPDATE SET "
            "domain = excluded.domain, version = excluded.version, state = excluded.state, "
            "updated_ms = excluded.updated_ms",
            (definition_id, domain, progress.version, progress.to_json(), now),
        )

    def forget(self, keep: set[str]) -> None:
        """Drop the state of definitions that no longer exist."""
        with self.meta.transaction() as conn:
            ids = [r[0] for r in conn.execute("SELECT definition_id FROM alert_state")]
            conn.executemany(
                "DELETE FROM alert_state WHERE definition_id = ?",
                [(i,) for i in ids if i not in keep],
            )
