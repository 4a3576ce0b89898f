"""Each domain's lookups in the metadata database: name, kind, state, definition and current
job, in creation order (the order the list shows, oldest first).

The rows themselves live in the event store (``my.lookuplist.<name>``, per domain: see
``lookup_tables``); a lookup uploaded over syslog has no row here until the API first meets it,
and is then adopted (``LookupKind.SYSLOG``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, delete, func, select, update

from ..errors import Conflict, ValidationError
from ..meta import MetaStore, insert, schema
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


_LOOKUPS = schema.lookups
_ROWS = select(
    _LOOKUPS.c.id,
    _LOOKUPS.c.domain,
    _LOOKUPS.c.name,
    _LOOKUPS.c.kind,
    _LOOKUPS.c.state,
    _LOOKUPS.c.definition,
    _LOOKUPS.c.job_id,
    _LOOKUPS.c.created_ms,
    _LOOKUPS.c.updated_ms,
)


def _record(row: Row[Any, Any, Any, Any, Any, Any, Any, Any, Any]) -> LookupRecord:
    return LookupRecord(
        domain=str(row.domain),
        name=str(row.name),
        kind=LookupKind(row.kind),
        state=LookupState(row.state),
        recipe=Recipe.from_json(json.loads(row.definition)),
        job_id=row.job_id,
        created_ms=int(row.created_ms),
        updated_ms=int(row.updated_ms),
        order=int(row.id),
    )


def _named(domain: str, name: str) -> ColumnElement[bool]:
    """The row of ``name`` in any case (``name_key`` is the case-folded name)."""
    return and_(_LOOKUPS.c.domain == domain, _LOOKUPS.c.name_key == name.lower())


class LookupRegistry:
    def __init__(self, meta: MetaStore) -> None:
        self._meta = meta

    def get(self, domain: str, name: str) -> LookupRecord | None:
        """The lookup of exactly this name (names are case-sensitive)."""
        with self._meta.transaction() as conn:
            row = conn.execute(_ROWS.where(_named(domain, name))).one_or_none()
        found = None if row is None else _record(row)
        return found if found is not None and found.name == name else None

    def clash(self, domain: str, name: str) -> str | None:
        """The existing name that differs from ``name`` only in case, if any."""
        with self._meta.transaction() as conn:
            existing = conn.execute(
                select(_LOOKUPS.c.name).where(_named(domain, name))
            ).scalar_one_or_none()
        return str(existing) if existing is not None and existing != name else None

    def count(self, domain: str) -> int:
        with self._meta.transaction() as conn:
            return _count(conn, domain)

    def page(self, domain: str, after: int, limit: int) -> list[LookupRecord]:
        """Up to ``limit`` lookups created after the one of order ``after``, oldest first."""
        with self._meta.transaction() as conn:
            rows = conn.execute(
                _ROWS.where(_LOOKUPS.c.domain == domain, _LOOKUPS.c.id > after)
                .order_by(_LOOKUPS.c.id)
                .limit(limit)
            ).all()
        return [_record(row) for row in rows]

    def insert(self, record: LookupRecord, *, max_per_domain: int | None = None) -> LookupRecord:
        """Add a lookup; ``Conflict`` if the name is taken (in any case), ``max_per_domain``
        checked in the same transaction."""
        with self._meta.transaction() as conn:
            if max_per_domain is not None:
                # Counting then inserting would let two nodes each take the last place: the
                # domain's row, locked, makes them take turns (SQLite has one writer anyway).
                # NO KEY UPDATE: inserts whose foreign keys name the domain do not wait on it.
                conn.execute(
                    select(schema.domains.c.name)
                    .where(schema.domains.c.name == record.domain)
                    .with_for_update(key_share=True)
                )
                if _count(conn, record.domain) >= max_per_domain:
                    raise ValidationError(
                        f"A domain may hold at most {max_per_domain} lookups; delete one first",
                        field="name",
                    )
            # ON CONFLICT rather than a caught IntegrityError: on PostgreSQL an error would
            # abort the caller's transaction.
            order = conn.execute(
                insert(conn, _LOOKUPS)
                .values(
                    domain=record.domain,
                    name=record.name,
                    name_key=record.name.lower(),
                    kind=record.kind.value,
                    state=record.state.value,
                    definition=json.dumps(record.recipe.to_json()),
                    job_id=record.job_id,
                    created_ms=record.created_ms,
                    updated_ms=record.updated_ms,
                )
                .on_conflict_do_nothing(index_elements=["domain", "name_key"])
                .returning(_LOOKUPS.c.id)
            ).scalar_one_or_none()
        if order is None:
            raise Conflict(f"A lookup named `{record.name}` already exists")
        return replace(record, order=int(order))

    def save(self, record: LookupRecord) -> None:
        with self._meta.transaction() as conn:
            conn.execute(
                update(_LOOKUPS)
                .where(_named(record.domain, record.name))
                .values(
                    kind=record.kind.value,
                    state=record.state.value,
                    definition=json.dumps(record.recipe.to_json()),
                    job_id=record.job_id,
                    updated_ms=record.updated_ms,
                )
            )

    def set_state(self, domain: str, name: str, state: LookupState, at_ms: int) -> None:
        with self._meta.transaction() as conn:
            conn.execute(
                update(_LOOKUPS)
                .where(_named(domain, name))
                .values(state=state.value, updated_ms=at_ms)
            )

    def remove(self, domain: str, name: str) -> None:
        with self._meta.transaction() as conn:
            conn.execute(delete(_LOOKUPS).where(_named(domain, name)))


def _count(conn: Connection, domain: str) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(_LOOKUPS).where(_LOOKUPS.c.domain == domain)
        ).scalar_one()
    )
