"""Console sessions: signed cookies, CSRF tokens and the slowing down of failed sign-ins.

- A session id is 256 random bits, made at each sign-in (a cookie set before sign-in is never
  promoted). The cookie holds ``<id>.<HMAC-SHA256(key, id)>``; the metadata database holds only
  the SHA-256 of the id, so a leaked database opens no session. Sign-out and a new password end
  it.
- The cookie is HttpOnly, SameSite=Strict, ``Path=/``, and Secure when the console is served over
  HTTPS.
- The CSRF token is ``HMAC(key, "csrf:" + id)``: it changes with the session and needs no storage.
  Every state-changing request carries it (the ``X-CSRF-Token`` header htmx adds to every request,
  or a ``csrf`` form field). Sign-in itself is protected by a pre-session cookie and its token.
- Failed sign-ins are counted per user name and per (user, address); past ``FREE_ATTEMPTS`` the
  next try must wait, twice as long after each further failure, up to ``MAX_DELAY_MS``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import BigInteger, Text, delete, literal, select

from ..clock import Clock
from ..meta import MetaStore, insert, schema
from .users import ConsoleUsers, User

COOKIE = "linqd_session"
PRE_COOKIE = "linqd_signin"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
SESSION_TTL_MS = 12 * 3_600_000
FREE_ATTEMPTS = 3
FIRST_DELAY_MS = 1_000
MAX_DELAY_MS = 300_000
_MAX_TRACKED = 10_000
_COOKIE_KEY = "cookies"

_SESSIONS = schema.console_sessions
_KEYS = schema.console_keys
_USERS = schema.console_users


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    # What the audit tables name the session by: a hash of its id with a purpose of its own,
    # neither the cookie nor the digest the metadata database keeps.
    audit_id: str = ""


class Sessions:
    def __init__(self, meta: MetaStore, users: ConsoleUsers, clock: Clock) -> None:
        self._meta = meta
        self._users = users
        self._clock = clock
        self._key = _signing_key(meta)

    # -- cookies -------------------------------------------------------------------------------

    def _sign(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()

    def _unsign(self, cookie: str | None) -> str | None:
        if not cookie or len(cookie) > 200 or "." not in cookie:
            return None
        value, signature = cookie.rsplit(".", 1)
        return value if hmac.compare_digest(self._sign(value), signature) else None

    def start(self, user: User) -> str:
        """A new session of ``user``; returns the cookie's value."""
        session_id = secrets.token_urlsafe(32)
        now = self._clock.now_ms()
        with self._meta.transaction() as conn:
            conn.execute(delete(_SESSIONS).where(_SESSIONS.c.expires_ms <= now))
            # Taken from the user's row, not the name alone: a user removed since they signed
            # in gets a cookie no session stands behind, rather than a foreign key's error.
            conn.execute(
                _SESSIONS.insert().from_select(
                    ["id_sha256", "user", "created_ms", "expires_ms"],
                    select(
                        literal(_digest(session_id), Text),
                        _USERS.c.name,
                        literal(now, BigInteger),
                        literal(now + SESSION_TTL_MS, BigInteger),
                    ).where(_USERS.c.name == user.name),
                )
            )
        return f"{session_id}.{self._sign(session_id)}"

    def find(self, cookie: str | None) -> Session | None:
        session_id = self._unsign(cookie)
        if session_id is None:
            return None
        with self._meta.transaction() as conn:
            name = conn.execute(
                select(_SESSIONS.c.user).where(
                    _SESSIONS.c.id_sha256 == _digest(session_id),
                    _SESSIONS.c.expires_ms > self._clock.now_ms(),
                )
            ).scalar_one_or_none()
        user = None if name is None else self._users.get(name)
        if user is None:
            return None
        return Session(user, self._sign("csrf:" + session_id), _audit_id(session_id))

    def end(self, cookie: str | None) -> None:
        session_id = self._unsign(cookie)
        if session_id is not None:
            with self._meta.transaction() as conn:
                conn.execute(delete(_SESSIONS).where(_SESSIONS.c.id_sha256 == _digest(session_id)))

    # -- sign-in form ----------------------------------------------------------------------------

    def pre_session(self) -> tuple[str, str]:
        """A (cookie value, form token) pair protecting the sign-in form itself."""
        nonce = secrets.token_urlsafe(16)
        return f"{nonce}.{self._sign(nonce)}", self._sign("signin:" + nonce)

    def pre_session_token(self, cookie: str | None) -> str | None:
        """The form token ``cookie`` stands for, if it is one of ours."""
        nonce = self._unsign(cookie)
        return None if nonce is None else self._sign("signin:" + nonce)


class SignInThrottle:
    """How long a sign-in must wait after failures, per user and per (user, address)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        # key -> (failures, not before (ms))
        self._failures: dict[tuple[str, str], tuple[int, int]] = {}

    def wait_ms(self, user: str, address: str) -> int:
        now = self._clock.now_ms()
        waits = [self._failures.get(key, (0, 0))[1] - now for key in _keys(user, address)]
        return max(0, *waits)

    def failed(self, user: str, address: str) -> None:
        now = self._clock.now_ms()
        if len(self._failures) >= _MAX_TRACKED:
            self._forget_expired(now)
        for key in _keys(user, address):
            count = self._failures.get(key, (0, 0))[0] + 1
            # The name alone is slowed down less, so that guessing from many addresses cannot
            # lock the real user out for long.
            free = FREE_ATTEMPTS if key[1] else FREE_ATTEMPTS * 3
            delay = 0 if count <= free else min(MAX_DELAY_MS, FIRST_DELAY_MS << (count - free - 1))
            self._failures[key] = (count, now + delay)

    def succeeded(self, user: str, address: str) -> None:
        for key in _keys(user, address):
            self._failures.pop(key, None)

    def _forget_expired(self, now: int) -> None:
        for key, (_, until) in list(self._failures.items()):
            if until <= now - MAX_DELAY_MS:
                del self._failures[key]
        while len(self._failures) >= _MAX_TRACKED:
            self._failures.pop(next(iter(self._failures)))


def _keys(user: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
    return (user, address), (user, "")


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _audit_id(session_id: str) -> str:
    return hashlib.sha256(f"linqd-audit:{session_id}".encode()).hexdigest()[:32]


def _signing_key(meta: MetaStore) -> bytes:
    """The cookie-signing key, made once and kept in the metadata database with the other
    secrets, so that sessions survive a restart and every node of a cluster shares it.

    Offered with ON CONFLICT DO NOTHING, then read: of nodes starting together on one
    PostgreSQL, the first to commit wins and every other reads its key."""
    with meta.transaction() as conn:
        conn.execute(
            insert(conn, _KEYS)
            .values(name=_COOKIE_KEY, secret=secrets.token_hex(32))
            .on_conflict_do_nothing(index_elements=["name"])
        )
        secret = conn.execute(
            select(_KEYS.c.secret).where(_KEYS.c.name == _COOKIE_KEY)
        ).scalar_one()
    return bytes.fromhex(secret)
