"""Each domain's lookups in the metadata database: name, kind, state, definition and current
job, in creation order (the order the list shows, oldest first).

The rows themselves live in the event store (``my.lookuplist.<name>``, per domain: see
``lookup_tables``); a lookup uploaded over syslog has no row here until the API first meets it,
and is then adopted (``LookupKind.SYSLOG``)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from ..errors import Conflict, ValidationError
from ..meta import MetaStore
from .recipe import LookupKind, Recipe


class LookupState(Enum):
    """The states of Devo's lookup manager (Manage and edit lookup tables)."""

    CREATING = "Creating"
    UPDATING = "Updating"
    AVAILABLE = "Available"
    DELETING = "Deleting"
    ERROR = "Error"


@dataclass(frozen=True)
class LookupRecord:
    domain: str
    name: str
    kind: LookupKind
    state: LookupState
    recipe: Recipe
    job_id: str | None
    created_ms: int
    updated_ms: int
    order: int = 0  # creation order in the registry


_COLUMNS = "id, domain, name, kind, state, definition, job_id, created_ms, updated_ms"


def _record(row: tuple[Any, ...]) -> LookupRecord:
    order, domain, name, kind, state, definition, job_id, created, updated = row
    return LookupRecord(
        domain=domain,
        name=name,
        kind=LookupKind(kind),
        state=LookupState(state),
        recipe=Recipe.from_json(json.loads(definition)),
        job_id=job_id,
        created_ms=created,
        updated_ms=updated,
        order=order,
    )


class LookupRegistry:
    def __init__(self, meta: MetaStore) -> None:
        self._meta = meta

    def get(self, domain: str, name: str) -> LookupRecord | None:
        """The lookup of exactly this name (names are case-sensitive)."""
        with self._meta.transaction() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM lookups WHERE domain = ? AND name_key = ?",
                (domain, name.lower()),
            ).fetchone()
        found = _record(row) if row else None
        return found if found is not None and found.name == name else None

    def clash(self, domain: str, name: str) -> str | None:
        """The existing name that differs from ``name`` only in case, if any."""
        with self._meta.transaction() as conn:
            row = conn.execute(
                "SELECT name FROM lookups WHERE domain = ? AND name_key = ?",
                (domain, name.lower()),
            ).fetchone()
        return str(row[0]) if row and row[0] != name else None

    def count(self, domain: str) -> int:
        with self._meta.transaction() as conn:
            row = conn.execute("SELECT COUNT(*) FROM lookups WHERE domain = ?", (domain,))
            return int(row.fetchone()[0])

    def page(self, domain: str, after: int, limit: int) -> list[LookupRecord]:
        """Up to ``limit`` lookups created after the one of order ``after``, oldest first."""
        with self._meta.transaction() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM lookups WHERE domain = ? AND id > ? ORDER BY id LIMIT ?",
                (domain, after, limit),
            ).fetchall()
        return [_record(row) for row in rows]

    def insert(self, record: LookupRecord, *, max_per_domain: int | None = None) -> LookupRecord:
        """Add a lookup; ``Conflict`` if the name is taken (in any case), ``max_per_domain``
        checked in the same transaction."""
        with self._meta.transaction() as conn:
            if max_per_domain is not None:
                count = conn.execute(
                    "SELECT COUNT(*) FROM lookups WHERE domain = ?", (record.domain,)
                ).fetchone()[0]
                if count >= max_per_domain:
                    raise ValidationError(
                        f"A domain may hold at most {max_per_domain} lookups; delete one first",
                        field="name",
                    )
            try:
                cursor = conn.execute(
                    "INSERT INTO lookups (domain, name, name_key, kind, state, definition, "
                    "job_id, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.domain,
                        record.name,
                        record.name.lower(),
                        record.kind.value,
                        record.state.value,
                        json.dumps(record.recipe.to_json()),
                        record.job_id,
                        record.created_ms,
                        record.updated_ms,
                    ),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"A lookup named `{record.name}` already exists") from None
        return replace(record, order=int(cursor.lastrowid or 0))

    def save(self, record: LookupRecord) -> None:
        with self._meta.transaction() as conn:
            conn.execute(
                "UPDATE lookups SET kind = ?, state = ?, definition = ?, job_id = ?, "
                "updated_ms = ? WHERE domain = ? AND name_key = ?",
                (
                    record.kind.value,
                    record.state.value,
                    json.dumps(record.recipe.to_json()),
                    record.job_id,
                    record.updated_ms,
                    record.domain,
                    record.name.lower(),
                ),
            )

    def set_state(self, domain: str, name: str, state: LookupState, at_ms: int) -> None:
        with self._meta.transaction() as conn:
            conn.execute(
                "UPDATE lookups SET state = ?, updated_ms = ? WHERE domain = ? AND name_key = ?",
                (state.value, at_ms, domain, name.lower()),
            )

    def remove(self, domain: str, name: str) -> None:
        with self._meta.transaction() as conn:
            conn.execute(
                "DELETE FROM lookups WHERE domain = ? AND name_key = ?", (domain, name.lower())
            )
