"""Alert definitions in the metadata database. Every change is one SQLite transaction; a name is
unique per domain regardless of case (``name_key``), and so is the context it names
(``my.alert.<domain>.<normalised name>``), since both identify the definition."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from ..clock import Clock
from ..errors import NotFound, ValidationError
from ..meta import MetaStore
from .model import AlertDefinition, DefinitionInput, normalized

_SELECT = "SELECT id, domain, definition, created_ms, updated_ms FROM alert_definitions"


@dataclass(frozen=True)
class Page:
    """``page``/``size`` of GET /alertDefinitions; both 0-based as in the seed's example."""

    page: int = 0
    size: int | None = None  # None: everything


def _name_key(name: str) -> str:
    return normalized(name).casefold()


def _row(row: tuple[int, str, str, int, int]) -> AlertDefinition:
    id_, domain, text, created, updated = row
    return AlertDefinition.from_stored(id_, domain, text, created, updated)


def _parse_id(alert_id: str) -> int | None:
    # isascii: str.isdigit() is true of "¹" and "٣", which int() refuses or reads as digits.
    digits = alert_id.isascii() and alert_id.isdigit()
    return int(alert_id) if digits and len(alert_id) <= 18 else None


class AlertRepository:
    def __init__(self, meta: MetaStore, clock: Clock) -> None:
        self.meta = meta
        self.clock = clock
        self._listeners: list[Callable[[str], None]] = []

    def on_change(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(domain)`` after every committed change (the alert engine reloads)."""
        self._listeners.append(listener)

    def _changed(self, domain: str) -> None:
        for listener in self._listeners:
            listener(domain)

    def create(self, domain: str, spec: DefinitionInput, owner: str) -> AlertDefinition:
        now = self.clock.now_ms()
        with self.meta.transaction() as conn:
            self._check_unique(conn, domain, spec.name, None)
            category = self._category_id(conn, domain)
            subcategory = self._subcategory_id(conn, domain, normalized(spec.subcategory))
            draft = AlertDefinition("0", domain, category, subcategory, now, now, owner, spec)
            cursor = conn.execute(
                "INSERT INTO alert_definitions(domain, name_key, definition, created_ms, "
                "updated_ms) VALUES (?, ?, ?, ?, ?)",
                (domain, _name_key(spec.name), draft.stored(), now, now),
            )
            definition = replace(draft, id=str(cursor.lastrowid))
        self._changed(domain)
        return definition

    def update(self, domain: str, alert_id: str, spec: DefinitionInput) -> AlertDefinition:
        now = self.clock.now_ms()
        with self.meta.transaction() as conn:
            current = self._get(conn, domain, alert_id)
            updated = replace(current, spec=spec, updated_ms=now)
            conn.execute(
                "UPDATE alert_definitions SET definition = ?, updated_ms = ? WHERE id = ?",
                (updated.stored(), now, int(current.id)),
            )
        self._changed(domain)
        return updated

    def get(self, domain: str, alert_id: str) -> AlertDefinition:
        with self.meta.transaction() as conn:
            return self._get(conn, domain, alert_id)

    def find(self, domain: str, alert_id: str) -> AlertDefinition | None:
        try:
            return self.get(domain, alert_id)
        except NotFound:
            return None

    def listing(
        self,
        domain: str,
        *,
        name_filter: str | None = None,
        id_filter: str | None = None,
        page: Page = Page(),
    ) -> list[AlertDefinition]:
        """The domain's definitions by id (creation order), filtered, then paged."""
        with self.meta.transaction() as conn:
            rows = conn.execute(f"{_SELECT} WHERE domain = ? ORDER BY id", (domain,)).fetchall()
        found = [_row(row) for row in rows]
        if id_filter is not None:
            found = [d for d in found if d.id == id_filter]
        if name_filter:
            needle = name_filter.casefold()
            found = [d for d in found if needle in d.name.casefold()]
        if page.size is None:
            return found
        start = page.page * page.size
        return found[start : start + page.size]

    def every(self) -> list[AlertDefinition]:
        """Every definition of every domain, active or not."""
        with self.meta.transaction() as conn:
            rows = conn.execute(f"{_SELECT} ORDER BY id").fetchall()
        return [_row(r) for r in rows]

    def active(self) -> list[AlertDefinition]:
        """Every active definition of every domain (the alert engine's work list)."""
        with self.meta.transaction() as conn:
            rows = conn.execute(f"{_SELECT} ORDER BY id").fetchall()
        return [d for d in (_row(r) for r in rows) if d.spec.is_active]

    def set_active(self, domain: str, ids: Sequence[str], active: bool) -> dict[str, bool]:
        """{id: updated?}: False for ids that are not this domain's definitions."""
        now = self.clock.now_ms()
        result: dict[str, bool] = {}
        with self.meta.transaction() as conn:
            for alert_id in ids:
                try:
                    current = self._get(conn, domain, alert_id)
                except NotFound:
                    result[alert_id] = False
                    continue
                updated = replace(
                    current, spec=replace(current.spec, is_active=active), updated_ms=now
                )
                conn.execute(
                    "UPDATE alert_definitions SET definition = ?, updated_ms = ? WHERE id = ?",
                    (updated.stored(), now, int(current.id)),
                )
                result[alert_id] = True
        self._changed(domain)
        return result

    def delete(self, domain: str, ids: Iterable[str]) -> dict[str, bool]:
        """{id: deleted?}: False for ids that are not this domain's definitions."""
        result: dict[str, bool] = {}
        with self.meta.transaction() as conn:
            for alert_id in ids:
                number = _parse_id(alert_id)
                deleted = 0
                if number is not None:
                    deleted = conn.execute(
                        "DELETE FROM alert_definitions WHERE id = ? AND domain = ?",
                        (number, domain),
                    ).rowcount
                result[alert_id] = deleted > 0
        self._changed(domain)
        return result

    # -- inside a transaction ---------------------------------------------------------------------

    def _get(self, conn: sqlite3.Connection, domain: str, alert_id: str) -> AlertDefinition:
        number = _parse_id(alert_id)
        row = None
        if number is not None:
            row = conn.execute(
                f"{_SELECT} WHERE id = ? AND domain = ?", (number, domain)
            ).fetchone()
        if row is None:
            raise NotFound(f"Alert definition {alert_id} not found")
        return _row(row)

    def _check_unique(
        self, conn: sqlite3.Connection, domain: str, name: str, own_id: int | None
    ) -> None:
        row = conn.execute(
            "SELECT id FROM alert_definitions WHERE domain = ? AND name_key = ?",
            (domain, _name_key(name)),
        ).fetchone()
        if row is not None and row[0] != own_id:
            raise ValidationError(
                f"name: an alert definition named {name!r} already exists in this domain "
                "(names are unique regardless of case and of non-alphanumeric characters)",
                field="name",
            )

    def _category_id(self, conn: sqlite3.Connection, domain: str) -> str:
        conn.execute("INSERT OR IGNORE INTO alert_categories(domain) VALUES (?)", (domain,))
        row = conn.execute("SELECT id FROM alert_categories WHERE domain = ?", (domain,)).fetchone()
        return str(row[0])

    def _subcategory_id(self, conn: sqlite3.Connection, domain: str, name: str) -> str:
        conn.execute(
            "INSERT OR IGNORE INTO alert_subcategories(domain, name) VALUES (?, ?)",
            (domain, name),
        )
        row = conn.execute(
            "SELECT id FROM alert_subcategories WHERE domain = ? AND name = ?", (domain, name)
        ).fetchone()
        return str(row[0])
