"""Alert definitions in the metadata database. Every change is one transaction; a name is
unique per domain regardless of case (``name_key``), and so is the context it names
(``my.alert.<domain>.<normalised name>``), since both identify the definition."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import Connection, Row, Select, select
from sqlalchemy.exc import IntegrityError

from ..clock import Clock
from ..errors import NotFound, ValidationError
from ..meta import MetaStore, insert, schema
from .model import AlertDefinition, DefinitionInput, normalized

_T = schema.alert_definitions
_SELECT: Select[int, str, str, int, int] = select(
    _T.c.id, _T.c.domain, _T.c.definition, _T.c.created_ms, _T.c.updated_ms
)


@dataclass(frozen=True)
class Page:
    """``page``/``size`` of GET /alertDefinitions; both 0-based as in the seed's example."""

    page: int = 0
    size: int | None = None  # None: everything


def _name_key(name: str) -> str:
    return normalized(name).casefold()


def _row(row: Row[int, str, str, int, int]) -> AlertDefinition:
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
            try:
                new_id = conn.execute(
                    _T.insert()
                    .values(
                        domain=domain,
                        name_key=_name_key(spec.name),
                        definition=draft.stored(),
                        created_ms=now,
                        updated_ms=now,
                    )
                    .returning(_T.c.id)
                ).scalar_one()
            except IntegrityError:
                # Another node created the name since _check_unique looked (PostgreSQL);
                # the transaction ends here, so no savepoint is needed to go on.
                raise _name_taken(spec.name) from None
            definition = replace(draft, id=str(new_id))
        self._changed(domain)
        return definition

    def update(self, domain: str, alert_id: str, spec: DefinitionInput) -> AlertDefinition:
        now = self.clock.now_ms()
        with self.meta.transaction() as conn:
            current = self._get(conn, domain, alert_id, for_update=True)
            updated = replace(current, spec=spec, updated_ms=now)
            self._store(conn, updated)
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
            rows = conn.execute(_SELECT.where(_T.c.domain == domain).order_by(_T.c.id)).all()
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
            rows = conn.execute(_SELECT.order_by(_T.c.id)).all()
        return [_row(r) for r in rows]

    def active(self) -> list[AlertDefinition]:
        """Every active definition of every domain (the alert engine's work list)."""
        with self.meta.transaction() as conn:
            rows = conn.execute(_SELECT.order_by(_T.c.id)).all()
        return [d for d in (_row(r) for r in rows) if d.spec.is_active]

    def set_active(self, domain: str, ids: Sequence[str], active: bool) -> dict[str, bool]:
        """{id: updated?}: False for ids that are not this domain's definitions."""
        now = self.clock.now_ms()
        result: dict[str, bool] = {}
        with self.meta.transaction() as conn:
            for alert_id in ids:
                try:
                    current = self._get(conn, domain, alert_id, for_update=True)
                except NotFound:
                    result[alert_id] = False
                    continue
                updated = replace(
                    current, spec=replace(current.spec, is_active=active), updated_ms=now
                )
                self._store(conn, updated)
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
                        _T.delete().where(_T.c.id == number, _T.c.domain == domain)
                    ).rowcount
                result[alert_id] = deleted > 0
        self._changed(domain)
        return result

    # -- inside a transaction ---------------------------------------------------------------------

    @staticmethod
    def _get(
        conn: Connection, domain: str, alert_id: str, *, for_update: bool = False
    ) -> AlertDefinition:
        """``for_update``: the caller rewrites the definition from what it read, so on
        PostgreSQL the row stays locked until it commits (another node's change waits for it
        instead of being lost)."""
        number = _parse_id(alert_id)
        row = None
        if number is not None:
            query = _SELECT.where(_T.c.id == number, _T.c.domain == domain)
            if for_update:
                query = query.with_for_update()
            row = conn.execute(query).one_or_none()
        if row is None:
            raise NotFound(f"Alert definition {alert_id} not found")
        return _row(row)

    @staticmethod
    def _store(conn: Connection, definition: AlertDefinition) -> None:
        conn.execute(
            _T.update()
            .where(_T.c.id == int(definition.id))
            .values(definition=definition.stored(), updated_ms=definition.updated_ms)
        )

    @staticmethod
    def _check_unique(conn: Connection, domain: str, name: str, own_id: int | None) -> None:
        found = conn.execute(
            select(_T.c.id).where(_T.c.domain == domain, _T.c.name_key == _name_key(name))
        ).scalar_one_or_none()
        if found is not None and found != own_id:
            raise _name_taken(name)

    @staticmethod
    def _category_id(conn: Connection, domain: str) -> str:
        table = schema.alert_categories
        conn.execute(
            insert(conn, table)
            .values(domain=domain)
            .on_conflict_do_nothing(index_elements=["domain"])
        )
        found = conn.execute(select(table.c.id).where(table.c.domain == domain)).scalar_one()
        return str(found)

    @staticmethod
    def _subcategory_id(conn: Connection, domain: str, name: str) -> str:
        table = schema.alert_subcategories
        conn.execute(
            insert(conn, table)
            .values(domain=domain, name=name)
            .on_conflict_do_nothing(index_elements=["domain", "name"])
        )
        found = conn.execute(
            select(table.c.id).where(table.c.domain == domain, table.c.name == name)
        ).scalar_one()
        return str(found)


def _name_taken(name: str) -> ValidationError:
    return ValidationError(
        f"name: an alert definition named {name!r} already exists in this domain "
        "(names are unique regardless of case and of non-alphanumeric characters)",
        field="name",
    )
