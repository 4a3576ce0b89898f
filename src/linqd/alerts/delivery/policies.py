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
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace

from ...clock import Clock
from ...errors import Conflict, NotFound, ValidationError
from ...meta import MetaStore
from .methods import MethodRepository
from .model import PolicyInput, SendingPolicy, policy_from_text, policy_text

_COLUMNS = "id, domain, name, is_default, policy, created_ms, updated_ms"


def parse_policy_id(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) <= 18 else None


def _row(row: tuple[int, str, str, int, str, int, int]) -> SendingPolicy:
    id_, domain, name, is_default, text, created, updated = row
    spec = policy_from_text(name, bool(is_default), text)
    return SendingPolicy(int(id_), domain, spec, created, updated)


class PolicyRepository:
    """Every method is one SQLite transaction and every query is scoped to one domain."""

    def __init__(self, meta: MetaStore, clock: Clock) -> None:
        self.meta = meta
        self.clock = clock

    def create(self, domain: str, spec: PolicyInput) -> SendingPolicy:
        now = self.clock.now_ms()
        with self.meta.transaction() as conn:
            self._check_methods(conn, domain, spec.methods)
            first = conn.execute(
                "SELECT 1 FROM sending_policies WHERE domain = ? LIMIT 1", (domain,)
            ).fetchone()
            spec = replace(spec, is_default=spec.is_default or first is None)
            if spec.is_default:
                self._unset_default(conn, domain)
            cursor = conn.execute(
                "INSERT INTO sending_policies(domain, name, is_default, policy, created_ms, "
                "updated_ms) VALUES (?, ?, ?, ?, ?, ?)",
                (domain, spec.name, int(spec.is_default), policy_text(spec), now, now),
            )
            assert cursor.lastrowid is not None
            return SendingPolicy(cursor.lastrowid, domain, spec, now, now)

    def get(self, domain: str, policy_id: str) -> SendingPolicy:
        with self.meta.transaction() as conn:
            return self._fetch(conn, domain, policy_id)

    def listing(self, domain: str) -> list[SendingPolicy]:
        with self.meta.transaction() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM sending_policies WHERE domain = ? ORDER BY id", (domain,)
            ).fetchall()
        return [_row(row) for row in rows]

    def update(self, domain: str, policy_id: str, spec: PolicyInput) -> SendingPolicy:
        now = self.clock.now_ms()
        with self.meta.transaction() as conn:
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
                "UPDATE sending_policies SET name = ?, is_default = ?, policy = ?, updated_ms = ? "
                "WHERE id = ?",
                (spec.name, int(spec.is_default), policy_text(spec), now, current.id),
            )
        return replace(current, spec=spec, updated_ms=now)

    def delete(self, domain: str, policy_id: str) -> None:
        with self.meta.transaction() as conn:
            current = self._fetch(conn, domain, policy_id)
            (count,) = conn.execute(
                "SELECT COUNT(*) FROM sending_policies WHERE domain = ?", (domain,)
            ).fetchone()
            if current.spec.is_default and count > 1:
                raise Conflict(
                    f"Sending policy {current.id} is the domain's default: make another policy "
                    "the default before deleting it"
                )
            conn.execute("DELETE FROM sending_policies WHERE id = ?", (current.id,))
            conn.execute("DELETE FROM alert_flood_state WHERE policy_id = ?", (current.id,))

    # -- inside a transaction ---------------------------------------------------------------------

    @staticmethod
    def resolve(conn: sqlite3.Connection, domain: str, ids: Sequence[str]) -> list[SendingPolicy]:
        """The policies a definition's ``actionPolicyId`` selects (see the module docstring)."""
        numbers = [n for n in (parse_policy_id(i) for i in ids) if n is not None]
        found: list[SendingPolicy] = []
        if numbers:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM sending_policies WHERE domain = ? AND id IN "
                "(SELECT value FROM json_each(?))",
                (domain, "[" + ",".join(str(n) for n in numbers) + "]"),
            ).fetchall()
            by_id = {int(row[0]): _row(row) for row in rows}
            found = [by_id[n] for n in dict.fromkeys(numbers) if n in by_id]
        if found:
            return found
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM sending_policies WHERE domain = ? AND is_default = 1",
            (domain,),
        ).fetchone()
        return [_row(row)] if row is not None else []

    @staticmethod
    def find(conn: sqlite3.Connection, policy_id: int) -> SendingPolicy | None:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM sending_policies WHERE id = ?", (policy_id,)
        ).fetchone()
        return _row(row) if row is not None else None

    @staticmethod
    def _fetch(conn: sqlite3.Connection, domain: str, policy_id: str) -> SendingPolicy:
        number = parse_policy_id(policy_id)
        row = None
        if number is not None:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM sending_policies WHERE id = ? AND domain = ?",
                (number, domain),
            ).fetchone()
        if row is None:
            raise NotFound(f"Sending policy {policy_id[:40]} not found")
        return _row(row)

    @staticmethod
    def _check_methods(conn: sqlite3.Connection, domain: str, ids: Sequence[int]) -> None:
        unknown = MethodRepository.unknown(conn, domain, ids)
        if unknown:
            raise ValidationError(
                f"methods: unknown delivery method ids {', '.join(map(str, unknown))}",
                field="methods",
            )

    @staticmethod
    def _unset_default(conn: sqlite3.Connection, domain: str) -> None:
        conn.execute(
            "UPDATE sending_policies SET is_default = 0 WHERE domain = ? AND is_default = 1",
            (domain,),
        )
