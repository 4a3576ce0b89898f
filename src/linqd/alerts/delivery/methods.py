"""Delivery methods in the metadata database, one domain at a time, with Devo's validation flow
(see docs/devo-compatibility.md): a method is pending (``status`` false) until the code sent to its
target comes back.

Decisions where Devo is silent:
- A validation code is 8 random digits, kept only as its SHA-256, valid for 24 hours and for
  at most 5 wrong tries; asking for a new code replaces the old one.
- Changing where a method delivers (its URL or address) makes it pending again; changing
  anything else (name, headers, credentials, time-out) keeps it validated.
- A method that a sending policy lists cannot be deleted (409): the policy would silently
  deliver to fewer places. Deliveries still pending for a deleted method fail.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import replace

from ...clock import Clock
from ...errors import Conflict, NotFound, ValidationError
from ...meta import MetaStore
from .model import DeliveryMethod, MethodInput, MethodType, config_from_text, config_text, target

CODE_TTL_MS = 86_400_000
MAX_CODE_TRIES = 5
_COLUMNS = "id, domain, name, type, validated, config, created_ms, updated_ms"


def new_code() -> str:
    return f"{secrets.randbelow(10**8):08d}"


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def parse_method_id(text: str) -> int:
    """A path id; ``NotFound`` for anything that cannot be a stored id."""
    if not (text.isascii() and text.isdigit() and 0 < len(text) <= 18) or int(text) == 0:
        raise NotFound(f"Delivery method {text[:40]} not found")
    return int(text)


def _row(row: tuple[int, str, str, str, int, str, int, int]) -> DeliveryMethod:
    id_, domain, name, kind, validated, config, created, updated = row
    method_type = MethodType(kind)
    spec = MethodInput(name=name, type=method_type, config=config_from_text(method_type, config))
    return DeliveryMethod(int(id_), domain, spec, bool(validated), created, updated)


class MethodRepository:
    """Every method is one SQLite transaction and every query is scoped to one domain."""

    def __init__(self, meta: MetaStore, clock: Clock) -> None:
        self.meta = meta
        self.clock = clock

    def create(self, domain: str, spec: MethodInput) -> DeliveryMethod:
        now = self.clock.now_ms()
        with self.meta.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO delivery_methods(domain, name, type, validated, config, created_ms, "
                "updated_ms) VALUES (?, ?, ?, 0, ?, ?, ?)",
                (domain, spec.name, spec.type.value, config_text(spec.config), now, now),
            )
            assert cursor.lastrowid is not None
            return DeliveryMethod(cursor.lastrowid, domain, spec, False, now, now)

    def get(self, domain: str, method_id: int) -> DeliveryMethod:
        with self.meta.transaction() as conn:
            return self.fetch(conn, domain, method_id)

    def listing(self, domain: str, kind: MethodType | None = None) -> list[DeliveryMethod]:
        sql = f"SELECT {_COLUMNS} FROM delivery_methods WHERE domain = ?"
        params: list[object] = [domain]
        if kind is not None:
            sql += " AND type = ?"
            params.append(kind.value)
        with self.meta.transaction() as conn:
            rows = conn.execute(sql + " ORDER BY id", params).fetchall()
        return [_row(row) for row in rows]

    def update(self, domain: str, method_id: int, spec: MethodInput) -> DeliveryMethod:
        now = self.clock.now_ms()
        with self.meta.transaction() as conn:
            current = self.fetch(conn, domain, method_id)
            validated = current.validated and target(current.config) == target(spec.config)
            conn.execute(
                "UPDATE delivery_methods SET name = ?, config = ?, validated = ?, updated_ms = ?"
                + ("" if validated else ", code_sha256 = NULL")
                + " WHERE id = ?",
                (spec.name, config_text(spec.config), int(validated), now, method_id),
            )
        return replace(current, spec=spec, validated=validated, updated_ms=now)

    def delete(self, domain: str, method_id: int) -> None:
        with self.meta.transaction() as conn:
            self.fetch(conn, domain, method_id)
            users = [
                str(row[0])
                for row in conn.execute(
                    "SELECT id FROM sending_policies WHERE domain = ? AND EXISTS "
                    "(SELECT 1 FROM json_each(sending_policies.policy, '$.methods') "
                    "WHERE value = ?) ORDER BY id",
                    (domain, method_id),
                )
            ]
            if users:
                raise Conflict(
                    f"Delivery method {method_id} is used by sending policies "
                    f"{', '.join(users)}: remove it from them first"
                )
            conn.execute("DELETE FROM delivery_methods WHERE id = ?", (method_id,))

    def start_validation(self, domain: str, method_id: int) -> tuple[DeliveryMethod, str]:
        """A fresh code for the method (the caller sends it to the method's target)."""
        code = new_code()
        expires = self.clock.now_ms() + CODE_TTL_MS
        with self.meta.transaction() as conn:
            method = self.fetch(conn, domain, method_id)
            conn.execute(
                "UPDATE delivery_methods SET code_sha256 = ?, code_expires_ms = ?, "
                "code_tries = 0 WHERE id = ?",
                (_digest(code), expires, method_id),
            )
        return method, code

    def validate(self, domain: str, method_id: int, code: str) -> DeliveryMethod:
        """Mark the method validated if ``code`` is its pending code."""
        now = self.clock.now_ms()
        with self.meta.transaction() as conn:
            method = self.fetch(conn, domain, method_id)
            stored, expires, tries = conn.execute(
                "SELECT code_sha256, code_expires_ms, code_tries FROM delivery_methods "
                "WHERE id = ?",
                (method_id,),
            ).fetchone()
            if stored is None or expires is None or now >= expires or tries >= MAX_CODE_TRIES:
                raise ValidationError(
                    "code: no validation code is pending for this method; ask for a new one "
                    "with send-validation-code",
                    field="code",
                )
            if not hmac.compare_digest(stored, _digest(code)):
                # Committed despite the error: the try counts.
                conn.execute(
                    "UPDATE delivery_methods SET code_tries = code_tries + 1 WHERE id = ?",
                    (method_id,),
                )
                wrong = ValidationError("code: does not match the code sent", field="code")
            else:
                conn.execute(
                    "UPDATE delivery_methods SET validated = 1, code_sha256 = NULL, "
                    "updated_ms = ? WHERE id = ?",
                    (now, method_id),
                )
                return replace(method, validated=True, updated_ms=now)
        raise wrong

    # -- inside a transaction ---------------------------------------------------------------------

    @staticmethod
    def fetch(conn: sqlite3.Connection, domain: str, method_id: int) -> DeliveryMethod:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM delivery_methods WHERE id = ? AND domain = ?",
            (method_id, domain),
        ).fetchone()
        if row is None:
            raise NotFound(f"Delivery method {method_id} not found")
        return _row(row)

    @staticmethod
    def find(conn: sqlite3.Connection, method_id: int) -> DeliveryMethod | None:
        """Any domain's method (the workers hold the domain on the delivery row already)."""
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM delivery_methods WHERE id = ?", (method_id,)
        ).fetchone()
        return _row(row) if row is not None else None

    @staticmethod
    def unknown(conn: sqlite3.Connection, domain: str, ids: Sequence[int]) -> list[int]:
        """The ids that are not methods of ``domain``."""
        known = {
            int(row[0])
            for row in conn.execute(
                "SELECT id FROM delivery_methods WHERE domain = ? AND id IN "
                "(SELECT value FROM json_each(?))",
                (domain, "[" + ",".join(str(int(i)) for i in ids) + "]"),
            )
        }
        return [i for i in ids if i not in known]

    @staticmethod
    def validated(conn: sqlite3.Connection, domain: str, ids: Sequence[int]) -> list[int]:
        """The validated ones among ``ids``, in the order given."""
        usable = {
            int(row[0])
            for row in conn.execute(
                "SELECT id FROM delivery_methods WHERE domain = ? AND validated = 1 AND id IN "
                "(SELECT value FROM json_each(?))",
                (domain, "[" + ",".join(str(int(i)) for i in ids) + "]"),
            )
        }
        return [i for i in ids if i in usable]
