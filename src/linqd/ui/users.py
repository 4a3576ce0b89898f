"""The console's users: a name, one domain, a role and an argon2 hash of the password.

A user sees only their domain, as a token of that domain for every table would. Roles:

- ``viewer`` reads: searches, alerts, triggered alerts and jobs, and changes nothing of them;
- ``analyst`` may also create, change and delete alert definitions, triage triggered alerts and
  stop, start or remove jobs;
- ``admin`` may do what an analyst does (and is the role of the first user, ``admin``).

Passwords are hashed with argon2id (argon2-cffi's defaults); a plaintext exists only in the value
``create`` returns when it made one up, and nothing here logs.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..clock import Clock
from ..errors import Conflict, NotFound, ValidationError
from ..meta import MetaStore
from ..query.dates import parse_timezone

ADMIN_USER = "admin"
HISTORY_SIZE = 50
MAX_PASSWORD_BYTES = 1_024
MAX_QUERY_BYTES = 100_000
_USER_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


class Role(StrEnum):
    ADMIN = "admin"
    ANALYST = "analyst"
    VIEWER = "viewer"

    @property
    def may_change(self) -> bool:
        """Whether this role may change alerts, triggered alerts and jobs."""
        return self is not Role.VIEWER


@dataclass(frozen=True)
class User:
    name: str
    domain: str
    role: Role
    time_zone: str


@dataclass(frozen=True)
class HistoryEntry:
    query: str
    from_text: str
    to_text: str
    at_ms: int


def validate_user_name(name: str) -> str:
    if not _USER_NAME.fullmatch(name):
        raise ValidationError(
            "A user name is 1 to 64 letters, digits and any of _ . @ -", field="name"
        )
    return name


def new_password() -> str:
    return secrets.token_urlsafe(18)


class ConsoleUsers:
    def __init__(self, meta: MetaStore, clock: Clock) -> None:
        self._meta = meta
        self._clock = clock
        self._hasher = PasswordHasher()
        # Checked when the name is unknown, so that a wrong name costs what a wrong password
        # does and the time taken does not tell which names exist.
        self._decoy = self._hasher.hash(new_password())

    def create(
        self, name: str, domain: str, role: Role = Role.ANALYST, password: str | None = None
    ) -> str:
        """Create the user; returns the password (the one given, or a new random one)."""
        validate_user_name(name)
        plaintext = new_password() if password is None else password
        _check_password(plaintext)
        hashed = self._hasher.hash(plaintext)
        with self._meta.transaction() as conn:
            if conn.execute("SELECT 1 FROM domains WHERE name = ?", (domain,)).fetchone() is None:
                raise NotFound(f"Unknown domain `{domain}`")
            try:
                conn.execute(
                    "INSERT INTO console_users(name, domain, role, password_hash, created_ms)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (name, domain, role.value, hashed, self._clock.now_ms()),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"The user `{name}` already exists") from None
        return plaintext

    def ensure_admin(self, domain: str) -> str | None:
        """Create the user ``admin`` of ``domain`` if there is none; its password, if made."""
        if self.get(ADMIN_USER) is not None:
            return None
        try:
            return self.create(ADMIN_USER, domain, Role.ADMIN)
        except Conflict:  # another process made it first
            return None

    def get(self, name: str) -> User | None:
        with self._meta.transaction() as conn:
            row = conn.execute(
                "SELECT name, domain, role, time_zone FROM console_users WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else User(row[0], row[1], Role(row[2]), row[3])

    def all(self) -> list[User]:
        with self._meta.transaction() as conn:
            rows = conn.execute(
                "SELECT name, domain, role, time_zone FROM console_users ORDER BY name"
            ).fetchall()
        return [User(r[0], r[1], Role(r[2]), r[3]) for r in rows]

    def verify(self, name: str, password: str) -> User | None:
        """The user, if ``password`` is theirs."""
        if len(password.encode()) > MAX_PASSWORD_BYTES:
            return None
        with self._meta.transaction() as conn:
            row = conn.execute(
                "SELECT password_hash FROM console_users WHERE name = ?", (name,)
            ).fetchone()
        stored = row[0] if row is not None else self._decoy
        try:
            self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        return self.get(name) if row is not None else None

    def set_password(self, name: str, password: str | None = None) -> str:
        plaintext = new_password() if password is None else password
        _check_password(plaintext)
        hashed = self._hasher.hash(plaintext)
        with self._meta.transaction() as conn:
            done = conn.execute(
                "UPDATE console_users SET password_hash = ? WHERE name = ?", (hashed, name)
            ).rowcount
            # Every session of the user ends with the old password.
            conn.execute("DELETE FROM console_sessions WHERE user = ?", (name,))
        if not done:
            raise NotFound(f"Unknown user `{name}`")
        return plaintext

    def set_time_zone(self, name: str, zone: str) -> None:
        if parse_timezone(zone) is None:
            raise ValidationError("Unknown time zone", field="timeZone")
        with self._meta.transaction() as conn:
            conn.execute("UPDATE console_users SET time_zone = ? WHERE name = ?", (zone, name))

    def delete(self, name: str) -> None:
        with self._meta.transaction() as conn:
            conn.execute("DELETE FROM console_sessions WHERE user = ?", (name,))
            conn.execute("DELETE FROM console_history WHERE user = ?", (name,))
            if not conn.execute("DELETE FROM console_users WHERE name = ?", (name,)).rowcount:
                raise NotFound(f"Unknown user `{name}`")

    # -- query history -------------------------------------------------------------------------

    def remember(self, name: str, query: str, from_text: str, to_text: str) -> None:
        """Add a query to the user's history, keeping the last ``HISTORY_SIZE`` distinct ones."""
        if len(query.encode()) > MAX_QUERY_BYTES:
            return
        with self._meta.transaction() as conn:
            conn.execute("DELETE FROM console_history WHERE user = ? AND query = ?", (name, query))
            conn.execute(
                "INSERT INTO console_history(user, query, from_text, to_text, at_ms)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, query, from_text, to_text, self._clock.now_ms()),
            )
            conn.execute(
                "DELETE FROM console_history WHERE user = ? AND id NOT IN ("
                " SELECT id FROM console_history WHERE user = ? ORDER BY id DESC LIMIT ?)",
                (name, name, HISTORY_SIZE),
            )

    def history(self, name: str) -> list[HistoryEntry]:
        with self._meta.transaction() as conn:
            rows = conn.execute(
                "SELECT query, from_text, to_text, at_ms FROM console_history"
                " WHERE user = ? ORDER BY id DESC",
                (name,),
            ).fetchall()
        return [HistoryEntry(*row) for row in rows]


def _check_password(password: str) -> None:
    if len(password) < 8 or len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ValidationError(
            f"A password is at least 8 characters and at most {MAX_PASSWORD_BYTES} bytes",
            field="password",
        )
