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

A change that depends on what the method's row held (its target, its code and tries) locks
the row first: nodes sharing PostgreSQL change one method one after the other, so concurrent
wrong codes cannot exceed the tries, and a policy being given the method waits for a deletion.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from ...clock import Clock
from ...errors import Conflict, NotFound, ValidationError
from ...meta import MetaStore
from ...meta.schema import delivery_methods as methods
from ...meta.schema import sending_policies
from .model import DeliveryMethod, MethodInput, MethodType, config_from_text, config_text, target

CODE_TTL_MS = 86_400_000
MAX_CODE_TRIES = 5
_COLUMNS = (
    methods.c.id,
    methods.c.domain,
    methods.c.name,
    methods.c.type,
    methods.c.validated,
    methods.c.config,
    methods.c.created_ms,
    methods.c.updated_ms,
)


def new_code() -> str:
    return f"{secrets.randbelow(10**8):08d}"


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def parse_method_id(text: str) -> int:
    """A path id; ``NotFound`` for anything that cannot be a stored id."""
    if not (text.isascii() and text.isdigit() and 0 < len(text) <= 18) or int(text) == 0:
        raise NotFound(f"Delivery method {text[:40]} not found")
    return int(text)


def _row(row: Row[*tuple[Any, ...]]) -> DeliveryMethod:
    method_type = MethodType(row.type)
    spec = MethodInput(
        name=row.name, type=method_type, config=config_from_text(method_type, row.config)
    )
    return DeliveryMethod(
        int(row.id), row.domain, spec, bool(row.validated), int(row.created_ms), int(row.updated_ms)
    )


class MethodRepository:
    """Every method is one metadata transaction and every query is scoped to one domain."""

    def __init__(self, meta: MetaStore, clock: Clock) -> None:
        self.meta = meta
        self.clock = clock

    def create(self, domain: str, spec: MethodInput) -> DeliveryMethod:
        now = self.clock.now_ms()
        with self.meta.transaction() as conn:
            method_id = conn.execute(
                insert(methods)
                .values(
                    domain=domain,
                    name=spec.name,
                    type=spec.type.value,
                    validated=0,
                    config=config_text(spec.config),
                    created_ms=now,
                    updated_ms=now,
                )
                .returning(methods.c.id)
            ).scalar_one()
        return DeliveryMethod(int(method_id), domain, spec, False, now, now)

    def get(self, domain: str, method_id: int) -> DeliveryMethod:
        with self.meta.transaction() as conn:
            return self.fetch(conn, domain, method_id)

    def listing(self, domain: str, kind: MethodType | None = None) -> list[DeliveryMethod]:
        query = select(*_COLUMNS).where(methods.c.domain == domain)
        if kind is not None:
            query = query.where(methods.c.type == kind.value)
        with self.meta.transaction() as conn:
            rows = conn.execute(query.order_by(methods.c.id)).all()
        return [_row(row) for row in rows]

    def update(self, domain: str, method_id: int, spec: MethodInput) -> DeliveryMethod:
        now = self.clock.now_ms()
        with self.meta.transaction() as conn:
            current = self.fetch(conn, domain, method_id, lock=True)
            validated = current.validated and target(current.config) == target(spec.config)
            values: dict[str, Any] = {
                "name": spec.name,
                "config": config_text(spec.config),
                "validated": int(validated),
                "updated_ms": now,
            }
            if not validated:
                values["code_sha256"] = None
            conn.execute(update(methods).where(methods.c.id == method_id).values(**values))
        return replace(current, spec=spec, validated=validated, updated_ms=now)

    def delete(self, domain: str, method_id: int) -> None:
        with self.meta.transaction() as conn:
            self.fetch(conn, domain, method_id, lock=True)
            # Few policies per domain: their method lists are read here rather than searched
            # with each engine's own JSON functions.
            rows = conn.execute(
                select(sending_policies.c.id, sending_policies.c.policy)
                .where(sending_policies.c.domain == domain)
                .order_by(sending_policies.c.id)
            ).all()
            users = [
                str(row.id)
                for row in rows
                if method_id in (int(m) for m in json.loads(row.policy)["methods"])
            ]
            if users:
                raise Conflict(
                    f"Delivery method {method_id} is used by sending policies "
                    f"{', '.join(users)}: remove it from them first"
                )
            conn.execute(delete(methods).where(methods.c.id == method_id))

    def start_validation(self, domain: str, method_id: int) -> tuple[DeliveryMethod, str]:
        """A fresh code for the method (the caller sends it to the method's target)."""
        code = new_code()
        expires = self.clock.now_ms() + CODE_TTL_MS
        with self.meta.transaction() as conn:
            method = self.fetch(conn, domain, method_id, lock=True)
            conn.execute(
                update(methods)
                .where(methods.c.id == method_id)
                .values(code_sha256=_digest(code), code_expires_ms=expires, code_tries=0)
            )
        return method, code

    def validate(self, domain: str, method_id: int, code: str) -> DeliveryMethod:
        """Mark the method validated if ``code`` is its pending code."""
        now = self.clock.now_ms()
        with self.meta.transaction() as conn:
            method = self.fetch(conn, domain, method_id, lock=True)
            pending = conn.execute(
                select(
                    methods.c.code_sha256, methods.c.code_expires_ms, methods.c.code_tries
                ).where(methods.c.id == method_id)
            ).one()
            stored, expires, tries = (
                pending.code_sha256,
                pending.code_expires_ms,
                pending.code_tries,
            )
            if stored is None or expires is None or now >= expires or tries >= MAX_CODE_TRIES:
                raise ValidationError(
                    "code: no validation code is pending for this method; ask for a new one "
                    "with send-validation-code",
                    field="code",
                )
            if not hmac.compare_digest(stored, _digest(code)):
                # Committed despite the error: the try counts.
                conn.execute(
                    update(methods)
                    .where(methods.c.id == method_id)
                    .values(code_tries=methods.c.code_tries + 1)
                )
                wrong = ValidationError("code: does not match the code sent", field="code")
            else:
                conn.execute(
                    update(methods)
                    .where(methods.c.id == method_id)
                    .values(validated=1, code_sha256=None, updated_ms=now)
                )
                return replace(method, validated=True, updated_ms=now)
        raise wrong

    # -- inside a transaction ---------------------------------------------------------------------

    @staticmethod
    def fetch(
        conn: Connection, domain: str, method_id: int, *, lock: bool = False
    ) -> DeliveryMethod:
        """``lock``: the row stays locked until the transaction ends."""
        query = select(*_COLUMNS).where(methods.c.id == method_id, methods.c.domain == domain)
        row = conn.execute(query.with_for_update() if lock else query).first()
        if row is None:
            raise NotFound(f"Delivery method {method_id} not found")
        return _row(row)

    @staticmethod
    def find(conn: Connection, method_id: int) -> DeliveryMethod | None:
        """Any domain's method (the workers hold the domain on the delivery row already)."""
        row = conn.execute(select(*_COLUMNS).where(methods.c.id == method_id)).first()
        return _row(row) if row is not None else None

    @staticmethod
    def unknown(conn: Connection, domain: str, ids: Sequence[int]) -> list[int]:
        """The ids that are not methods of ``domain``. The ones that are stay locked (shared)
        until the transaction ends, so a policy being given them waits for their deletion
        rather than naming a method deleted meanwhile."""
        known = set(
            conn.execute(
                select(methods.c.id)
                .where(methods.c.domain == domain, methods.c.id.in_([int(i) for i in ids]))
                .with_for_update(read=True)
            ).scalars()
        )
        return [i for i in ids if i not in known]

    @staticmethod
    def validated(conn: Connection, domain: str, ids: Sequence[int]) -> list[int]:
        """The validated ones among ``ids``, in the order given."""
        usable = set(
            conn.execute(
                select(methods.c.id).where(
                    methods.c.domain == domain,
                    methods.c.validated == 1,
                    methods.c.id.in_([int(i) for i in ids]),
                )
            ).scalars()
        )
        return [i for i in ids if i in usable]
