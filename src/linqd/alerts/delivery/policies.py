"""Sending policies in the metadata database (see docs/devo-compatibility.md), one domain at a time.

Devo documents no API for them; linqd keeps these rules:
- Once a domain has a policy it has exactly one default (a partial unique index enforces it):
  the first policy is the default whatever it asks; making another one the default unsets the
  old one; the default cannot be unset directly, nor deleted while other policies exist (make
  another one the default first).
- A policy lists delivery methods of its own domain; unknown ids are refused. Methods that are
  not validated yet may be listed: they start delivering once validated.
- A definition's ``actionPolicyId`` names policies; ids that do not name one of the domain's
  policies are skipped, and when none is left (or the list is empty) the domain's default
  policy applies. A domain without policies delivers nothing.

A change locks the domain's policies first, so nodes sharing PostgreSQL change one domain's
policies one after the other and the default stays single. Two nodes creating a domain's first
policies at the same instant have nothing to lock: one of them answers 409 (retry it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ...clock import Clock
from ...errors import Conflict, NotFound, ValidationError
from ...meta import MetaStore
from ...meta.schema import alert_flood_state
from ...meta.schema import sending_policies as policies
from .methods import MethodRepository
from .model import PolicyInput, SendingPolicy, policy_from_text, policy_text

_COLUMNS = (
    policies.c.id,
    policies.c.domain,
    policies.c.name,
    policies.c.is_default,
    policies.c.policy,
    policies.c.created_ms,
    policies.c.updated_ms,
)


def parse_policy_id(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) <= 18 else None


def _row(row: Row[*tuple[Any, ...]]) -> SendingPolicy:
    spec = policy_from_text(row.name, bool(row.is_default), row.policy)
    return SendingPolicy(int(row.id), row.domain, spec, int(row.created_ms), int(row.updated_ms))


class PolicyRepository:
    """Every method is one metadata transaction and every query is scoped to one domain."""

    def __init__(self, meta: MetaStore, clock: Clock) -> None:
        self.meta = meta
        self.clock = clock

    def create(self, domain: str, spec: PolicyInput) -> SendingPolicy:
        now = self.clock.now_ms()
        with self.meta.transaction() as conn:
            first = not self._lock(conn, domain)
            self._check_methods(conn, domain, spec.methods)
            spec = replace(spec, is_default=spec.is_default or first)
            if spec.is_default:
                self._unset_default(conn, domain)
            try:
                with conn.begin_nested():
                    policy_id = conn.execute(
                        insert(policies)
                        .values(
                            domain=domain,
                            name=spec.name,
                            is_default=int(spec.is_default),
                            policy=policy_text(spec),
                            created_ms=now,
                            updated_ms=now,
                        )
                        .returning(policies.c.id)
                    ).scalar_one()
            except IntegrityError:
                # Only the one-default index can refuse it: another node made the domain's
                # first policy meanwhile.
                raise Conflict(
                    "Another sending policy of this domain was made the default at the same "
                    "time: try again"
                ) from None
        return SendingPolicy(int(policy_id), domain, spec, now, now)

    def get(self, domain: str, policy_id: str) -> SendingPolicy:
        with self.meta.transaction() as conn:
            return self._fetch(conn, domain, policy_id)

    def listing(self, domain: str) -> list[SendingPolicy]:
        with self.meta.transaction() as conn:
            rows = conn.execute(
                select(*_COLUMNS).where(policies.c.domain == domain).order_by(policies.c.id)
            ).all()
        return [_row(row) for row in rows]

    def update(self, domain: str, policy_id: str, spec: PolicyInput) -> SendingPolicy:
        now = self.clock.now_ms()
        with self.meta.transaction() as conn:
            self._lock(conn, domain)
            current = self._fetch(conn, domain, policy_id)
            if current.spec.is_default and not spec.is_default:
                raise ValidationError(
                    "isDefault: a domain always has one default policy; make another policy "
                    "the default instead",
                    field="isDefault",
                )
            self._check_methods(conn, domain, spec.methods)
            if spec.is_default and not current.spec.is_default:
                self._unset_default(conn, domain)
            conn.execute(
                update(policies)
                .where(policies.c.id == current.id)
                .values(
                    name=spec.name,
                    is_default=int(spec.is_default),
                    policy=policy_text(spec),
                    updated_ms=now,
                )
            )
        return replace(current, spec=spec, updated_ms=now)

    def delete(self, domain: str, policy_id: str) -> None:
        with self.meta.transaction() as conn:
            count = self._lock(conn, domain)
            current = self._fetch(conn, domain, policy_id)
            if current.spec.is_default and count > 1:
                raise Conflict(
                    f"Sending policy {current.id} is the domain's default: make another policy "
                    "the default before deleting it"
                )
            conn.execute(delete(policies).where(policies.c.id == current.id))
            conn.execute(
                delete(alert_flood_state).where(alert_flood_state.c.policy_id == current.id)
            )

    # -- inside a transaction ---------------------------------------------------------------------

    @staticmethod
    def resolve(conn: Connection, domain: str, ids: Sequence[str]) -> list[SendingPolicy]:
        """The policies a definition's ``actionPolicyId`` selects (see the module docstring)."""
        numbers = [n for n in (parse_policy_id(i) for i in ids) if n is not None]
        found: list[SendingPolicy] = []
        if numbers:
            rows = conn.execute(
                select(*_COLUMNS).where(policies.c.domain == domain, policies.c.id.in_(numbers))
            ).all()
            by_id = {int(row.id): _row(row) for row in rows}
            found = [by_id[n] for n in dict.fromkeys(numbers) if n in by_id]
        if found:
            return found
        row = conn.execute(
            select(*_COLUMNS).where(policies.c.domain == domain, policies.c.is_default == 1)
        ).first()
        return [_row(row)] if row is not None else []

    @staticmethod
    def find(conn: Connection, policy_id: int) -> SendingPolicy | None:
        row = conn.execute(select(*_COLUMNS).where(policies.c.id == policy_id)).first()
        return _row(row) if row is not None else None

    @staticmethod
    def _lock(conn: Connection, domain: str) -> int:
        """Lock the domain's policies until the transaction ends; how many there are."""
        locked = conn.execute(
            select(policies.c.id).where(policies.c.domain == domain).with_for_update()
        ).all()
        return len(locked)

    @staticmethod
    def _fetch(conn: Connection, domain: str, policy_id: str) -> SendingPolicy:
        number = parse_policy_id(policy_id)
        row = None
        if number is not None:
            row = conn.execute(
                select(*_COLUMNS).where(policies.c.id == number, policies.c.domain == domain)
            ).first()
        if row is None:
            raise NotFound(f"Sending policy {policy_id[:40]} not found")
        return _row(row)

    @staticmethod
    def _check_methods(conn: Connection, domain: str, ids: Sequence[int]) -> None:
        unknown = MethodRepository.unknown(conn, domain, ids)
        if unknown:
            raise ValidationError(
                f"methods: unknown delivery method ids {', '.join(map(str, unknown))}",
                field="methods",
            )

    @staticmethod
    def _unset_default(conn: Connection, domain: str) -> None:
        conn.execute(
            update(policies)
            .where(policies.c.domain == domain, policies.c.is_default == 1)
            .values(is_default=0)
        )
