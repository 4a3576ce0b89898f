"""Request authentication for Devo's APIs (see docs/devo-compatibility.md), as pure functions of
plain values.

Which credential decides, for the Query API:

1. ``x-logtrust-apikey`` present: the HMAC scheme, whatever else the request carries. This is
   devo-sdk's own order (key + secret before token before JWT), so a request carrying several
   credentials is judged by the one its client meant.
2. Else ``Authorization``: ``Bearer <token>``, ``jwt <jwt>`` or a bare ``<token>``.
3. Else 401 with Devo's ``{"code": 401, "message": "Unauthorized"}``.

Every bad credential answers HTTP **401** (``AuthError``), with Devo's numeric codes:
**12** "Invalid signature validation" for anything wrong on the HMAC path (unknown key, bad or
malformed signature, missing or stale timestamp) and **5** "Token invalid or expired" for anything
wrong with a token or JWT (unknown, revoked, of another kind, bad signature, expired). Devo
answers 403 for code 5 only for tokens of another region, which has no counterpart here; a single
status keeps "bad credentials" and "forbidden table" (403, ``ForbiddenError``) apart. Except for a
stale timestamp (a clock problem the client must be able to see), the messages never say which part
failed, so they do not reveal whether a key, token or domain exists.

HMAC freshness: ``x-logtrust-timestamp`` must lie within ``window_ms`` of the server clock, in
either direction (default 5 minutes; ``None`` disables the check). devo-sdk does nothing about
clock skew, so the window is generous. Devo's signature covers neither the method nor the path,
so a captured request could be replayed on another endpoint inside the window; linqd keeps Devo's
scheme and refuses a (key, timestamp, signature) used again later than two seconds after its
first use (``ReplayGuard`` says why not at once: devo-sdk itself repeats them within a second).

The HMAC check comes in two steps so that nothing is read before the headers are judged:
``query_credentials`` settles tokens and JWTs from the headers alone and, for the HMAC scheme,
checks the key, the timestamp and the signature's form, leaving an ``HmacClaim`` whose ``verify``
takes the (size-limited) body.

JWT (Devo documents none of it, so linqd defines it), checked with PyJWT: HS256 only, keyed with
the domain's API secret. The header must say ``"alg": "HS256"`` (``none`` and every other
algorithm are refused, as is any ``crit`` extension). Claims: ``domain`` (or ``sub``) names the
domain and is required; ``exp`` (epoch seconds) is required and may lie at most
``jwt_max_ttl_s`` (24 hours by default) ahead; ``nbf`` is checked when present; both against the
server's clock with ``JWT_LEEWAY_S`` of leeway. ``tables`` (a list of globs) narrows the scope,
default every table. The domain claim is read before the signature is checked only to choose the
key; no other claim is trusted before verification.

Scopes: API key + secret grant every table of the domain; a token grants its globs (any one
matching suffices); see ``linqd.domains.glob_matches`` for the glob rules (``**`` = one or more
levels).

For the audit tables (``audit/connections.py``) every refusal carries a ``Refusal``: the
credential's kind, the precise reason the answer keeps to itself, and the domain and public name
of the credential when it names a known one. A principal carries ``userid``, the credential's
public name: the API key, or the ``fingerprint`` of a token or JWT (never the secret itself).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import jwt as pyjwt

from ..domains import (
    ALL_TABLES,
    DomainStore,
    TokenKind,
    glob_matches,
    token_digest,
    validate_table_globs,
)
from ..errors import (
    INVALID_SIGNATURE,
    ForbiddenError,
    InvalidSignature,
    InvalidToken,
    MissingCredentials,
    Refusal,
    ValidationError,
)
from ..linq.alldata import TableCatalog
from ..linq.analyzer import SchemaLookup
from ..store.catalog import TableSchema

Scheme = Literal["hmac", "bearer", "jwt", "standalone", "ingest", "console"]
# The credential kind of each scheme, as the audit tables name it (``Refusal.kind`` too).
_METHODS: dict[str, str] = {
    "hmac": "hmac",
    "bearer": "token",
    "standalone": "token",
    "ingest": "token",
    "jwt": "jwt",
    "console": "password",
}

_HEX_SIGNATURE = re.compile(r"[0-9A-Fa-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,16}")
# Far above any real credential; refusing early keeps hashing and JSON parsing of junk cheap.
_MAX_KEY_LENGTH = 256
_MAX_TOKEN_LENGTH = 1024
_MAX_JWT_LENGTH = 8192
DEFAULT_JWT_MAX_TTL_S = 86_400
JWT_LEEWAY_S = 5
# Signed requests remembered for the replay check; past this the oldest are forgotten first.
_MAX_REMEMBERED = 200_000


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: one domain, limited to the tables its globs cover."""

    domain: str
    tables: tuple[str, ...]
    scheme: Scheme
    # The credential's label (a token's name), e.g. its owner's e-mail; not part of identity.
    name: str = field(default="", compare=False)
    # What the audit tables name the credential by: the API key, a token's or a JWT's
    # fingerprint, the console user.
    userid: str = field(default="", compare=False)

    def may_read(self, table: str) -> bool:
        return any(glob_matches(pattern, table) for pattern in self.tables)

    @property
    def method(self) -> str:
        """The credential's kind, as the audit tables name it."""
        return _METHODS[self.scheme]

    def scoped(self, schemas: SchemaLookup) -> SchemaLookup:
        """``schemas`` as this principal may use them: a table outside its scope is refused
        (403) the moment a query names it, before any of its columns is looked at, so that
        errors cannot reveal them. A lookup that lists its tables (for ``all.data``) lists only
        those in scope."""
        return ScopedTables(self, schemas)


@dataclass(frozen=True)
class ScopedTables:
    """A schema lookup narrowed to a principal's scope (``Principal.scoped``)."""

    principal: Principal
    schemas: SchemaLookup

    def __call__(self, name: str) -> TableSchema | None:
        if not self.principal.may_read(name):
            raise ForbiddenError(f"Access not allowed for table '{name}'")
        return self.schemas(name)

    def table_names(self) -> list[str]:
        if not isinstance(self.schemas, TableCatalog):
            return []
        return [name for name in self.schemas.table_names() if self.principal.may_read(name)]


# -- helpers shared with clients and tests --------------------------------------------------------


def fingerprint(credential: str) -> str:
    """A public name for a secret credential (a token, a JWT) in the audit tables: 16 hex digits
    of its SHA-256, which tell the uses of one credential apart and reveal nothing of it."""
    return token_digest(credential)[:16]


def hmac_signature(api_key: str, secret: str, body: bytes, timestamp: str) -> str:
    """Devo's ``x-logtrust-sign``: lower-case hex HMAC-SHA256(secret, key + body + timestamp)."""
    message = api_key.encode("utf-8") + body + timestamp.encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def make_jwt(
    domain: str,
    secret: str,
    *,
    now_ms: int,
    ttl_s: int = 3600,
    tables: Sequence[str] = ALL_TABLES,
) -> str:
    """An HS256 JWT for ``domain`` valid for ``ttl_s`` seconds from ``now_ms``."""
    globs = validate_table_globs(tables)
    issued = now_ms // 1000
    claims = {"domain": domain, "iat": issued, "exp": issued + ttl_s, "tables": list(globs)}
    return pyjwt.encode(claims, secret, algorithm="HS256", headers={"typ": "JWT"})


@dataclass(frozen=True)
class HmacClaim:
    """An HMAC-signed request whose headers passed (known key, fresh timestamp, well-formed
    signature): only its body can tell whether the signature is right."""

    domain: str
    api_key: str
    timestamp: str
    sign: str
    secret: str = field(repr=False)

    def verify(self, body: bytes) -> Principal:
        expected = hmac_signature(self.api_key, self.secret, body, self.timestamp)
        # Devo documents lower-case hex; upper case carries the same MAC, so it is accepted too.
        if not hmac.compare_digest(expected, self.sign.lower()):
            raise InvalidSignature().because(self.refusal("wrong signature"))
        return Principal(self.domain, ALL_TABLES, "hmac", userid=self.api_key)

    def refusal(self, reason: str) -> Refusal:
        return Refusal("hmac", reason, self.domain, self.api_key, self.api_key)


class ReplayGuard:
    """Remembers the signed requests seen within the timestamp window, so that a captured
    request cannot be used again later.

    Devo's signature covers the key, the body and the timestamp, and devo-sdk stamps whole
    seconds (``int(time.time()) * 1000``): every bodiless call it makes within one second (list
    the jobs, then stop one) carries the same signature, and so do identical queries. Refusing
    every second use would break Devo's own client, so the same (key, timestamp, signature) is
    accepted again only within ``REUSE_MS`` of its first use (a second, plus network delay), on
    any endpoint; after that it is a replay. A captured request is thus good for two seconds
    instead of the ten minutes of the timestamp window.

    Memory is bounded: entries older than twice the window are dropped as new ones come, and
    past ``max_entries`` the oldest go first (filling it takes the domain's secret).
    """

    REUSE_MS = 2_000

    def __init__(self, window_ms: int, *, max_entries: int = _MAX_REMEMBERED) -> None:
        self._window_ms = window_ms
        self._max = max_entries
        self._seen: OrderedDict[tuple[str, str, str], int] = OrderedDict()
        self._lock = threading.Lock()

    def first_use(self, claim: HmacClaim, now_ms: int) -> None:
        """Record a use of ``claim``; ``InvalidSignature`` when it is a replay."""
        key = (claim.api_key, claim.timestamp, claim.sign.lower())
        with self._lock:
            while self._seen:
                oldest, seen_at = next(iter(self._seen.items()))
                if seen_at >= now_ms - 2 * self._window_ms and len(self._seen) < self._max:
                    break
                del self._seen[oldest]
            first_ms = self._seen.setdefault(key, now_ms)
            if now_ms - first_ms > self.REUSE_MS:
                raise InvalidSignature(f"{INVALID_SIGNATURE}: request already used").because(
                    claim.refusal("replayed request")
                )


# -- entry points ---------------------------------------------------------------------------------


def query_credentials(
    headers: Mapping[str, str],
    *,
    store: DomainStore,
    now_ms: int,
    window_ms: int | None = 300_000,
    jwt_max_ttl_s: int = DEFAULT_JWT_MAX_TTL_S,
) -> Principal | HmacClaim:
    """What the headers of a Query API request prove: a principal, or an HMAC claim still to be
    verified against the body. Raises ``AuthError`` (HTTP 401) as soon as the headers fail."""
    lowered = _lower(headers)
    api_key = lowered.get("x-logtrust-apikey", "").strip()
    if api_key:
        return _hmac_claim(lowered, api_key, store, now_ms, window_ms)
    scheme, credential = _authorization(lowered)
    if scheme == "jwt":
        return _authenticate_jwt(credential, store, now_ms, jwt_max_ttl_s)
    return _token_principal(credential, TokenKind.API, "bearer", store)


def authenticate_query_request(
    headers: Mapping[str, str],
    body: bytes,
    *,
    store: DomainStore,
    now_ms: int,
    window_ms: int | None = 300_000,
    jwt_max_ttl_s: int = DEFAULT_JWT_MAX_TTL_S,
) -> Principal:
    """The principal of a Query API request, or an ``AuthError`` (HTTP 401)."""
    found = query_credentials(
        headers, store=store, now_ms=now_ms, window_ms=window_ms, jwt_max_ttl_s=jwt_max_ttl_s
    )
    return found if isinstance(found, Principal) else found.verify(body)


def authenticate_stand_alone(
    headers: Mapping[str, str], *, store: DomainStore, now_ms: int
) -> Principal:
    """The principal of an Alerts API (or delivery methods API) request.

    ``standAloneToken: <token>`` or ``Authorization: Bearer <token>``, with an ``ALERTS`` token.
    ``now_ms`` is unused today (tokens do not expire) and kept so callers need not change when
    they do.
    """
    del now_ms
    lowered = _lower(headers)
    token = lowered.get("standalonetoken", "").strip()
    if not token:
        scheme, token = _authorization(lowered)
        if scheme == "jwt":
            raise InvalidToken().because(Refusal("jwt", "a JWT is no Alerts API token"))
    return _token_principal(token, TokenKind.ALERTS, "standalone", store)


def authenticate_ingest(token: str, *, store: DomainStore) -> Principal:
    """The principal of an HTTP ingestion request (the token from ``token!<token>`` in the URL)."""
    if not token:
        raise MissingCredentials
    return _token_principal(token, TokenKind.INGEST, "ingest", store)


# -- schemes --------------------------------------------------------------------------------------


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _authorization(headers: Mapping[str, str]) -> tuple[str, str]:
    """("bearer" | "jwt", credential) from ``Authorization``; a bare value is a bearer token."""
    value = headers.get("authorization", "").strip()
    if not value:
        raise MissingCredentials
    parts = value.split(None, 1)
    if len(parts) == 1:
        # A scheme word with nothing after it is an empty credential, not a token named "Bearer".
        if value.lower() in ("bearer", "jwt"):
            raise MissingCredentials
        return "bearer", value
    scheme = parts[0].lower()
    if scheme not in ("bearer", "jwt"):
        # Basic, Digest and the like: no credential linqd understands was sent.
        raise MissingCredentials
    return scheme, parts[1].strip()


def _hmac_claim(
    headers: Mapping[str, str],
    api_key: str,
    store: DomainStore,
    now_ms: int,
    window_ms: int | None,
) -> HmacClaim:
    timestamp = headers.get("x-logtrust-timestamp", "").strip()
    sign = headers.get("x-logtrust-sign", "").strip()
    found = store.api_secret_for_key(api_key) if len(api_key) <= _MAX_KEY_LENGTH else None

    def refusal(reason: str) -> Refusal:
        # The key is named only when it is a real one: an unknown "key" may be a secret pasted
        # into the wrong header.
        if found is None:
            return Refusal("hmac", reason)
        return Refusal("hmac", reason, found[0], api_key, api_key)

    if not _TIMESTAMP.fullmatch(timestamp) or not _HEX_SIGNATURE.fullmatch(sign):
        raise InvalidSignature().because(refusal("malformed timestamp or signature"))
    if window_ms is not None and abs(now_ms - int(timestamp)) > window_ms:
        raise InvalidSignature(
            f"{INVALID_SIGNATURE}: timestamp outside the accepted window"
        ).because(refusal("timestamp outside the accepted window"))
    if found is None:
        raise InvalidSignature().because(refusal("unknown API key"))
    domain, secret = found
    return HmacClaim(domain, api_key, timestamp, sign, secret)


def _token_principal(token: str, kind: TokenKind, scheme: Scheme, store: DomainStore) -> Principal:
    if not token:
        raise MissingCredentials
    if len(token) > _MAX_TOKEN_LENGTH:
        raise InvalidToken().because(Refusal("token", "token too long"))
    userid = fingerprint(token)
    info = store.token_info(token)
    if info is None:
        raise InvalidToken().because(Refusal("token", "unknown token", userid=userid))
    # A token of another kind is refused like an unknown one: Devo's types are not interchangeable.
    if info.kind is not kind:
        reason = f"{info.kind.value} token used where an {kind.value} token is needed"
        raise InvalidToken().because(Refusal("token", reason, info.domain, userid, info.name))
    return Principal(info.domain, info.tables, scheme, info.name, userid=userid)


def _authenticate_jwt(jwt: str, store: DomainStore, now_ms: int, max_ttl_s: int) -> Principal:
    if not jwt:
        raise MissingCredentials
    userid = fingerprint(jwt) if len(jwt) <= _MAX_JWT_LENGTH else ""
    # The domain the JWT names, once it is known to exist: its refusals are audited there.
    named: str | None = None

    def refused(reason: str) -> InvalidToken:
        return InvalidToken().because(Refusal("jwt", reason, named, userid))

    if not userid or jwt.count(".") != 2:
        raise refused("malformed JWT")
    try:
        header = pyjwt.get_unverified_header(jwt)
        typ = header.get("typ", "JWT")
        if "crit" in header or not isinstance(typ, str) or typ.upper() != "JWT":
            raise refused("JWT header refused")
        # Only to choose the key: nothing else of the claims is trusted before verification.
        unverified = pyjwt.decode(jwt, options={"verify_signature": False})
        claimed = _claimed_domain(unverified)
        secret = store.domain_secret(claimed)
        if secret is None:
            raise refused("unknown domain")
        named = claimed
        # exp and nbf are checked below against the server's clock, not the wall clock.
        claims = pyjwt.decode(
            jwt,
            secret,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
        domain = _claimed_domain(claims)
        now_s = now_ms / 1000
        expires = _seconds_claim(claims, "exp")
        if expires is None or now_s >= expires + JWT_LEEWAY_S or expires - now_s > max_ttl_s:
            raise refused("missing, past or too distant exp")
        not_before = _seconds_claim(claims, "nbf")
        if not_before is not None and now_s < not_before - JWT_LEEWAY_S:
            raise refused("not valid yet (nbf)")
        tables = _tables_claim(claims)
    except pyjwt.PyJWTError as error:
        # The exception's class says what failed (bad signature, malformed...), never a value.
        raise refused(f"invalid JWT ({type(error).__name__})") from None
    except InvalidToken as error:
        if error.refusal is None:  # from a claim's own check
            error.because(Refusal("jwt", "invalid claims", named, userid))
        raise
    return Principal(domain, tables, "jwt", userid=userid)


# -- JWT claims -----------------------------------------------------------------------------------


def _claimed_domain(claims: Mapping[str, Any]) -> str:
    domain, subject = claims.get("domain"), claims.get("sub")
    if domain is None:
        domain = subject
    elif subject is not None and subject != domain:
        raise InvalidToken
    if not isinstance(domain, str) or not domain:
        raise InvalidToken
    return domain


def _seconds_claim(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    # bool is an int in Python; "exp": true is malformed, not second 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken
    return float(value)


def _tables_claim(claims: Mapping[str, Any]) -> tuple[str, ...]:
    tables = claims.get("tables")
    if tables is None:
        return ALL_TABLES
    if not isinstance(tables, list):
        raise InvalidToken
    try:
        return validate_table_globs(tables)
    except ValidationError:
        raise InvalidToken from None
