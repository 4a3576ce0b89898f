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
import threading
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Row, delete, select, update

from ..clock import Clock
from ..errors import Conflict, NotFound, ValidationError
from ..meta import MetaStore, insert, schema
from ..query.dates import parse_timezone

ADMIN_USER = "admin"
HISTORY_SIZE = 50
MAX_PASSWORD_BYTES = 1_024
MAX_QUERY_BYTES = 100_000
_USER_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")

_DOMAINS = schema.domains
_USERS = schema.console_users
_SESSIONS = schema.console_sessions
_HISTORY = schema.console_history
_USER_COLUMNS = select(_USERS.c.name, _USERS.c.domain, _USERS.c.role, _USERS.c.time_zone)


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
        self._decoy_lock = threading.Lock()
        self._decoy_hash: str | None = None

    def _decoy(self) -> str:
        """Checked when the name is unknown, so that a wrong name costs what a wrong password
        does and the time taken does not tell which names exist. Made at the first sign-in,
        whatever its name (so that one's time tells nothing either), not with every app: a
        hash costs a quarter of a second."""
        with self._decoy_lock:
            if self._decoy_hash is None:
                self._decoy_hash = self._hasher.hash(new_password())
            return self._decoy_hash

    def create(
        self, name: str, domain: str, role: Role = Role.ANALYST, password: str | None = None
    ) -> str:
        """Create the user; returns the password (the one given, or a new random one)."""
        validate_user_name(name)
        plaintext = new_password() if password is None else password
        _check_password(plaintext)
        hashed = self._hasher.hash(plaintext)
        with self._meta.transaction() as conn:
            known = conn.execute(select(_DOMAINS.c.name).where(_DOMAINS.c.name == domain)).first()
            if known is None:
                raise NotFound(f"Unknown domain `{domain}`")
            # ON CONFLICT rather than a caught IntegrityError: on PostgreSQL an error aborts
            # the transaction, and only the name's key means "exists".
            created = conn.execute(
                insert(conn, _USERS)
                .values(
                    name=name,
                    domain=domain,
                    role=role.value,
                    password_hash=hashed,
                    created_ms=self._clock.now_ms(),
                )
                .on_conflict_do_nothing(index_elements=["name"])
                .returning(_USERS.c.name)
            ).scalar_one_or_none()
        if created is None:
            raise Conflict(f"The user `{name}` already exists")
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
            row = conn.execute(_USER_COLUMNS.where(_USERS.c.name == name)).one_or_none()
        return None if row is None else _user(row)

    def all(self) -> list[User]:
        """Every user, by name in code-point order (Python's sort: a PostgreSQL locale's
        collation would order names differently from SQLite)."""
        with self._meta.transaction() as conn:
            rows = conn.execute(_USER_COLUMNS).all()
        return sorted((_user(row) for row in rows), key=lambda user: user.name)

    def verify(self, name: str, password: str) -> User | None:
        """The user, if ``password`` is theirs."""
        if len(password.encode()) > MAX_PASSWORD_BYTES:
            return None
        decoy = self._decoy()
        with self._meta.transaction() as conn:
            found = conn.execute(
                select(_USERS.c.password_hash).where(_USERS.c.name == name)
            ).scalar_one_or_none()
        stored = found if found is not None else decoy
        try:
            self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        return self.get(name) if found is not None else None

    def set_password(self, name: str, password: str | None = None) -> str:
        plaintext = new_password() if password is None else password
        _check_password(plaintext)
        hashed = self._hasher.hash(plaintext)
        with self._meta.transaction() as conn:
            done = conn.execute(
                update(_USERS).where(_USERS.c.name == name).values(password_hash=hashed)
            ).rowcount
            # Every session of the user ends with the old password.
            conn.execute(delete(_SESSIONS).where(_SESSIONS.c.user == name))
        if not done:
            raise NotFound(f"Unknown user `{name}`")
        return plaintext

    def set_time_zone(self, name: str, zone: str) -> None:
        if parse_timezone(zone) is None:
            raise ValidationError("Unknown time zone", field="timeZone")
        with self._meta.transaction() as conn:
            conn.execute(update(_USERS).where(_USERS.c.name == name).values(time_zone=zone))

    def delete(self, name: str) -> None:
        """Remove the user with their sessions (the foreign key would also cascade them) and
        their history (no key ties it to the user)."""
        with self._meta.transaction() as conn:
            conn.execute(delete(_SESSIONS).where(_SESSIONS.c.user == name))
            conn.execute(delete(_HISTORY).where(_HISTORY.c.user == name))
            if not conn.execute(delete(_USERS).where(_USERS.c.name == name)).rowcount:
                raise NotFound(f"Unknown user `{name}`")

    # -- query history -------------------------------------------------------------------------

    def remember(self, name: str, query: str, from_text: str, to_text: str) -> None:
        """Add a query to the user's history, keeping the last ``HISTORY_SIZE`` distinct ones."""
        if len(query.encode()) > MAX_QUERY_BYTES:
            return
        with self._meta.transaction() as conn:
            # Two searches of one user on two nodes at once would both remove the old entry
            # and both add a new one: the user's row, locked, makes them take turns.
            conn.execute(
                select(_USERS.c.name).where(_USERS.c.name == name).with_for_update(key_share=True)
            )
            mine = _HISTORY.c.user == name
            conn.execute(delete(_HISTORY).where(mine, _HISTORY.c.query == query))
            conn.execute(
                _HISTORY.insert().values(
                    user=name,
                    query=query,
                    from_text=from_text,
                    to_text=to_text,
                    at_ms=self._clock.now_ms(),
                )
            )
            kept = select(_HISTORY.c.id).where(mine).order_by(_HISTORY.c.id.desc())
            conn.execute(
                delete(_HISTORY).where(mine, _HISTORY.c.id.not_in(kept.limit(HISTORY_SIZE)))
            )

    def history(self, name: str) -> list[HistoryEntry]:
        """The user's history, newest first."""
        with self._meta.transaction() as conn:
            rows = conn.execute(
                select(_HISTORY.c.query, _HISTORY.c.from_text, _HISTORY.c.to_text, _HISTORY.c.at_ms)
                .where(_HISTORY.c.user == name)
                .order_by(_HISTORY.c.id.desc())
            ).all()
        return [
            HistoryEntry(str(row.query), str(row.from_text), str(row.to_text), int(row.at_ms))
            for row in rows
        ]


def _user(row: Row[str, str, str, str]) -> User:
    return User(str(row.name), str(row.domain), Role(row.role), str(row.time_zone))


def _check_password(password: str) -> None:
    if len(password) < 8 or len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ValidationError(
            f"A password is at least 8 characters and at most {MAX_PASSWORD_BYTES} bytes",
            field="password",
        )
