"""Domains, their credentials and their saved queries, kept in the metadata database.

Every credential belongs to exactly one domain:

- one **API key + secret** pair per domain (HMAC signing). The secret is also the
  HS256 key of the domain's JWTs, so ``rotate_keys`` invalidates the old pair *and* every JWT
  signed with the old secret.
- any number of **tokens**, each of one ``TokenKind`` and limited to table globs: Query API
  tokens (``Authorization: Bearer``), Alerts API ``standAloneToken``\\s and HTTP ingestion tokens.

How secrets are kept:

- Tokens are stored only as the SHA-256 of their plaintext and looked up by that hash; the
  plaintext is returned once, at creation. Tokens are 190-bit random strings, so an unsalted hash
  cannot be brute-forced and needs no pepper.
- The API secret cannot be hashed: verifying an HMAC needs the key itself. It is stored as is in
  the metadata database, and its only protection is who can read it: the server makes the data
  directory 0700 and ``meta.sqlite`` (with its WAL files) and ``credentials.json`` 0600
  (``secure_permissions``). Anyone who can read the data directory (or, with ``--meta
  postgresql://``, the ``domains`` table) can act as every domain.
- Secret fields never appear in a ``repr`` and nothing here logs.

``create_domain`` hands out the full set (``Credentials``): key + secret, one Query API token for
every table, one ``standAloneToken`` and one ingestion token. Making all three tokens up front
means a fresh server works with every Devo client without a second step; the plaintexts exist
only in the returned value, which the server writes to ``credentials.json``.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Connection, delete, select, update

from .clock import Clock
from .errors import Conflict, NotFound, ValidationError
from .meta import MetaStore, insert, schema

ALL_TABLES: tuple[str, ...] = ("*.**",)

_DOMAIN_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_TOKEN_ALPHABET = string.ascii_letters + string.digits
_TOKEN_LENGTH = 32
# Bounds on what a caller may store; nothing legitimate comes near them.
_MAX_GLOBS = 64
_MAX_GLOB_LENGTH = 256
_MAX_LABEL_LENGTH = 200
_MAX_LINQ_LENGTH = 1_000_000
_PRIVATE_FILES = ("meta.sqlite", "meta.sqlite-wal", "meta.sqlite-shm", "credentials.json")


class TokenKind(StrEnum):
    """Devo's token types are not interchangeable, so each token has one."""

    API = "api"  # Query API: "Authorization: Bearer <token>" or "Authorization: <token>"
    ALERTS = "alerts"  # Alerts API and delivery methods: standAloneToken
    INGEST = "ingest"  # HTTP ingestion: token!<token> in the URL


@dataclass(frozen=True)
class Domain:
    name: str
    created_ms: int


@dataclass(frozen=True)
class Credentials:
    """The plaintext set handed out once, when a domain is created (``credentials.json``)."""

    domain: str
    api_key: str
    api_secret: str = field(repr=False)
    token: str = field(repr=False)
    stand_alone_token: str = field(repr=False)
    ingest_token: str = field(repr=False)


@dataclass(frozen=True)
class TokenInfo:
    domain: str
    kind: TokenKind
    tables: tuple[str, ...]
    name: str
    created_ms: int


# -- pure helpers ---------------------------------------------------------------------------------


def validate_domain_name(name: str) -> str:
    # fullmatch, not match with "$": "$" would also accept a trailing newline.
    if not isinstance(name, str) or not _DOMAIN_NAME.fullmatch(name):
        raise ValidationError(
            f"Invalid domain name {name!r}: 1 to 64 characters among A-Z a-z 0-9 _ . @ -",
            field="domain",
        )
    return name


def validate_table_globs(tables: Sequence[str]) -> tuple[str, ...]:
    """Devo's table patterns: dot-separated levels, each ``*``, ``**`` or a literal name.

    Partial wildcards (``fire*``) are refused rather than guessed at: Devo documents only
    whole-level wildcards. An empty sequence is refused too: a token that can read nothing is
    almost certainly a mistake.
    """
    if isinstance(tables, str):
        # A bare string is a sequence of characters; catching it avoids one glob per letter.
        raise ValidationError("Table patterns must be a list of patterns", field="tables")
    globs = tuple(tables)
    if not globs:
        raise ValidationError("At least one table pattern is required", field="tables")
    if len(globs) > _MAX_GLOBS:
        raise ValidationError(f"At most {_MAX_GLOBS} table patterns", field="tables")
    for glob in globs:
        if not isinstance(glob, str) or not glob or len(glob) > _MAX_GLOB_LENGTH:
            raise ValidationError(f"Invalid table pattern {glob!r}", field="tables")
        for level in glob.split("."):
            bad = (
                not level or ("*" in level and level not in ("*", "**")) or not level.isprintable()
            )
            if bad:
                raise ValidationError(
                    f"Invalid table pattern {glob!r}: each level must be *, ** or a name",
                    field="tables",
                )
    return globs


def glob_matches(pattern: str, table: str) -> bool:
    """Whether ``table`` is covered by ``pattern``.

    ``*`` matches exactly one level; ``**`` matches **one or more** levels. Devo leaves the
    zero-level case undocumented; one-or-more is the stricter reading, keeps ``firewall.**`` to the
    tables *under* ``firewall``, and still lets ``*.**`` cover every table because a table name has
    at least two levels. Literal levels compare case-sensitively.
    """
    levels = table.split(".")
    if not table or not all(levels):
        return False
    # The set of positions in ``levels`` reachable after the pattern levels consumed so far.
    reachable = {0}
    for part in pattern.split("."):
        following: set[int] = set()
        for at in reachable:
            if part == "**":
                following.update(range(at + 1, len(levels) + 1))
            elif at < len(levels) and part in ("*", levels[at]):
                following.add(at + 1)
        if not following:
            return False
        reachable = following
    return len(levels) in reachable


def token_digest(token: str) -> str:
    """The stored form of a token: SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    """32 alphanumerics, the shape of Devo's ingestion tokens (≈190 bits of entropy)."""
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(_TOKEN_LENGTH))


def new_api_key() -> str:
    return secrets.token_hex(16)


def new_api_secret() -> str:
    # Hex keeps the secret easy to copy and safe in any header, JSON or shell quoting.
    return secrets.token_hex(32)


def secure_permissions(path: Path) -> None:
    """Make the data directory 0700 and the files holding secrets 0600.

    The API secrets are only as safe as these modes (see the module docstring). Symbolic links are
    left alone so a planted link cannot redirect the chmod to another file.
    """
    path.chmod(0o700)
    for name in _PRIVATE_FILES:
        target = path / name
        if target.is_file() and not target.is_symlink():
            target.chmod(0o600)


def _label(value: str, what: str) -> str:
    if not isinstance(value, str) or len(value) > _MAX_LABEL_LENGTH or not value.isprintable():
        raise ValidationError(
            f"Invalid {what}: printable text of at most {_MAX_LABEL_LENGTH} characters", field=what
        )
    return value


# -- the store ------------------------------------------------------------------------------------

_DOMAINS = schema.domains
_TOKENS = schema.tokens
_SAVED = schema.saved_queries


class DomainStore:
    """Domains and credentials over ``MetaStore``; every method is one transaction."""

    def __init__(self, meta: MetaStore, clock: Clock) -> None:
        self._meta = meta
        self._clock = clock

    # domains

    @property
    def meta(self) -> MetaStore:
        """The metadata database the domains live in (other repositories share it)."""
        return self._meta

    def create_domain(self, name: str) -> Credentials:
        """A new domain with a full set of credentials; ``Conflict`` if it exists."""
        validate_domain_name(name)
        with self._meta.transaction() as conn:
            created = self._create(conn, name)
        if created is None:
            raise Conflict(f"Domain `{name}` already exists")
        return created

    def ensure_domain(self, name: str) -> Credentials | None:
        """Create ``name`` if absent and return its fresh credentials; ``None`` if it existed."""
        validate_domain_name(name)
        with self._meta.transaction() as conn:
            return self._create(conn, name)

    def list_domains(self) -> list[Domain]:
        """Every domain, by name in code-point order (Python's sort, not the database's
        collation, which differs between SQLite and a PostgreSQL locale)."""
        with self._meta.transaction() as conn:
            rows = conn.execute(select(_DOMAINS.c.name, _DOMAINS.c.created_ms)).all()
        return sorted(
            (Domain(str(name), int(created)) for name, created in rows), key=lambda d: d.name
        )

    def domain_secret(self, domain: str) -> str | None:
        """The domain's API secret: the HMAC key and the HS256 key of its JWTs."""
        with self._meta.transaction() as conn:
            secret = conn.execute(
                select(_DOMAINS.c.api_secret).where(_DOMAINS.c.name == domain)
            ).scalar_one_or_none()
        return None if secret is None else str(secret)

    # API key and secret

    def rotate_keys(self, domain: str) -> tuple[str, str]:
        """A new (api key, secret); the old pair and every JWT signed with the old secret stop
        working at once."""
        key, secret = new_api_key(), new_api_secret()
        with self._meta.transaction() as conn:
            updated = conn.execute(
                update(_DOMAINS)
                .where(_DOMAINS.c.name == domain)
                .values(api_key=key, api_secret=secret)
            ).rowcount
        if updated == 0:
            raise NotFound(f"Unknown domain `{domain}`")
        return key, secret

    def api_secret_for_key(self, api_key: str) -> tuple[str, str] | None:
        """(domain, secret) for an API key, or ``None``."""
        with self._meta.transaction() as conn:
            row = conn.execute(
                select(_DOMAINS.c.name, _DOMAINS.c.api_secret).where(_DOMAINS.c.api_key == api_key)
            ).one_or_none()
        return None if row is None else (str(row.name), str(row.api_secret))

    # tokens

    def create_token(
        self,
        domain: str,
        *,
        kind: TokenKind = TokenKind.API,
        tables: Sequence[str] = ALL_TABLES,
        name: str = "",
    ) -> str:
        """A new token of ``kind`` limited to ``tables``; the plaintext is returned only here."""
        try:
            kind = TokenKind(kind)
        except ValueError:
            raise ValidationError(f"Unknown token kind {kind!r}", field="kind") from None
        globs = validate_table_globs(tables)
        _label(name, "name")
        with self._meta.transaction() as conn:
            if not self._exists(conn, domain):
                raise NotFound(f"Unknown domain `{domain}`")
            return self._insert_token(conn, domain, kind, globs, name)

    def revoke_token(self, token: str) -> None:
        """Forget a token; ``NotFound`` if no such token exists (so a typo is not silent)."""
        with self._meta.transaction() as conn:
            deleted = conn.execute(
                delete(_TOKENS).where(_TOKENS.c.token_sha256 == token_digest(token))
            ).rowcount
        if deleted == 0:
            raise NotFound("Unknown token")

    def token_info(self, token: str) -> TokenInfo | None:
        # The lookup is by hash, so response timing can reveal at most a prefix of a hash, never
        # of a token; no constant-time comparison is needed on this path.
        with self._meta.transaction() as conn:
            row = conn.execute(
                select(
                    _TOKENS.c.domain,
                    _TOKENS.c.kind,
                    _TOKENS.c.tables,
                    _TOKENS.c.name,
                    _TOKENS.c.created_ms,
                ).where(_TOKENS.c.token_sha256 == token_digest(token))
            ).one_or_none()
        if row is None:
            return None
        return TokenInfo(
            domain=str(row.domain),
            kind=TokenKind(row.kind),
            tables=tuple(str(glob) for glob in json.loads(row.tables)),
            name=str(row.name),
            created_ms=int(row.created_ms),
        )

    # saved queries (Devo's queryId)

    def add_saved_query(self, domain: str, name: str, linq: str) -> None:
        """Save ``linq`` under ``name`` for ``queryId``; ``Conflict`` if the name is taken."""
        if not _label(name, "name").strip():
            raise ValidationError("A saved query needs a name", field="name")
        if not isinstance(linq, str) or not linq.strip() or len(linq) > _MAX_LINQ_LENGTH:
            raise ValidationError("A saved query needs a LINQ text", field="query")
        with self._meta.transaction() as conn:
            if not self._exists(conn, domain):
                raise NotFound(f"Unknown domain `{domain}`")
            # ON CONFLICT rather than a caught IntegrityError: on PostgreSQL an error would
            # abort the transaction, and a foreign key's error is no name clash.
            added = conn.execute(
                insert(conn, _SAVED)
                .values(domain=domain, name=name, linq=linq, created_ms=self._clock.now_ms())
                .on_conflict_do_nothing(index_elements=["domain", "name"])
                .returning(_SAVED.c.name)
            ).scalar_one_or_none()
        if added is None:
            raise Conflict(f"Saved query `{name}` already exists")

    def saved_query(self, domain: str, name: str) -> str | None:
        with self._meta.transaction() as conn:
            linq = conn.execute(
                select(_SAVED.c.linq).where(_SAVED.c.domain == domain, _SAVED.c.name == name)
            ).scalar_one_or_none()
        return None if linq is None else str(linq)

    def list_saved_queries(self, domain: str) -> list[tuple[str, str]]:
        """(name, LINQ) pairs of the domain, by name (code-point order, as ``list_domains``)."""
        with self._meta.transaction() as conn:
            rows = conn.execute(
                select(_SAVED.c.name, _SAVED.c.linq).where(_SAVED.c.domain == domain)
            ).all()
        return sorted((str(name), str(linq)) for name, linq in rows)

    # -- inside a transaction ---------------------------------------------------------------------

    @staticmethod
    def _exists(conn: Connection, domain: str) -> bool:
        found = conn.execute(select(_DOMAINS.c.name).where(_DOMAINS.c.name == domain)).first()
        return found is not None

    def _create(self, conn: Connection, name: str) -> Credentials | None:
        """The new domain's credentials; ``None`` if it exists. One INSERT … ON CONFLICT, so
        two nodes creating the same domain at once cannot both succeed nor fail on the key."""
        key, secret = new_api_key(), new_api_secret()
        created = conn.execute(
            insert(conn, _DOMAINS)
            .values(name=name, created_ms=self._clock.now_ms(), api_key=key, api_secret=secret)
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(_DOMAINS.c.name)
        ).scalar_one_or_none()
        if created is None:
            return None
        return Credentials(
            domain=name,
            api_key=key,
            api_secret=secret,
            token=self._insert_token(conn, name, TokenKind.API, ALL_TABLES, "default"),
            stand_alone_token=self._insert_token(
                conn, name, TokenKind.ALERTS, ALL_TABLES, "default"
            ),
            ingest_token=self._insert_token(conn, name, TokenKind.INGEST, ALL_TABLES, "default"),
        )

    def _insert_token(
        self,
        conn: Connection,
        domain: str,
        kind: TokenKind,
        tables: tuple[str, ...],
        name: str,
    ) -> str:
        token = new_token()
        conn.execute(
            _TOKENS.insert().values(
                token_sha256=token_digest(token),
                domain=domain,
                kind=kind.value,
                tables=json.dumps(list(tables)),
                name=name,
                created_ms=self._clock.now_ms(),
            )
        )
        return token
