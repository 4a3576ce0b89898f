"""Request authentication: HMAC, Bearer, bare token, JWT, standAloneToken, ingestion tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from linqd.api.auth import (
    Principal,
    authenticate_ingest,
    authenticate_query_request,
    authenticate_stand_alone,
    hmac_signature,
    make_jwt,
)
from linqd.api.errors import error_body
from linqd.clock import SimulatedClock
from linqd.domains import Credentials, DomainStore, TokenKind
from linqd.errors import (
    AuthError,
    ForbiddenError,
    InvalidSignature,
    InvalidToken,
    MissingCredentials,
)
from linqd.meta import MetaStore

NOW = 1_700_000_000_000
BODY = (
    b'{"from": "1h", "to": null, "mode": {"type": "json/simple/compact"}, "query": '
    b'"from demo.ecommerce.data select * limit 1 pragma comment.id:\\"python-sdk-app\\" '
    b'pragma comment.user:\\"python-sdk-user\\""}'
)


@pytest.fixture
def domains(tmp_path: Path) -> Iterator[DomainStore]:
    meta = MetaStore(tmp_path / "meta.sqlite")
    yield DomainStore(meta, SimulatedClock(NOW))
    meta.close()


@pytest.fixture
def creds(domains: DomainStore) -> Credentials:
    return domains.create_domain("acme")


def signed(
    key: str, secret: str, body: bytes = BODY, timestamp: int = NOW, **extra: str
) -> dict[str, str]:
    ts = str(timestamp)
    return {
        "Content-Type": "application/json",
        "x-logtrust-apikey": key,
        "x-logtrust-timestamp": ts,
        "x-logtrust-sign": hmac_signature(key, secret, body, ts),
        **extra,
    }


def query(
    domains: DomainStore, headers: dict[str, str], body: bytes = BODY, **kw: Any
) -> Principal:
    return authenticate_query_request(headers, body, store=domains, now_ms=NOW, **kw)


def refused(
    domains: DomainStore, headers: dict[str, str], body: bytes = BODY, **kw: Any
) -> tuple[int, dict[str, Any]]:
    """The HTTP status and body linqd answers for a refused request."""
    with pytest.raises(AuthError) as caught:
        query(domains, headers, body, **kw)
    assert not isinstance(caught.value, ForbiddenError)
    return error_body(caught.value, cid="c", now_ms=NOW)


SIGNATURE_ERROR = (401, {"error": {"code": 12, "message": "Invalid signature validation"}})
TOKEN_ERROR = (401, {"error": {"code": 5, "message": "Token invalid or expired"}})
MISSING_ERROR = (401, {"error": {"code": 401, "message": "Unauthorized"}})


# -- HMAC -----------------------------------------------------------------------------------------


def test_spec_test_vectors() -> None:
    assert len(BODY) == 198
    assert (
        hmac_signature("testkey", "testsecret", b"", "1700000000000")
        == "d07f4602ba7c6df8710307e9b5c1f37bd220b44415db3e0e4bd447a74193b189"
    )
    assert (
        hmac_signature("testkey", "testsecret", BODY, "1700000000000")
        == "562358310e9049e942b312b86738b035b0862d571a612fb2c393f5a3a48d2e19"
    )


def test_hmac_accepted(domains: DomainStore, creds: Credentials) -> None:
    principal = query(domains, signed(creds.api_key, creds.api_secret))
    assert principal == Principal("acme", ("*.**",), "hmac")
    assert principal.may_read("siem.logtrust.web.activity")


def test_hmac_empty_body(domains: DomainStore, creds: Credentials) -> None:
    headers = signed(creds.api_key, creds.api_secret, body=b"")
    assert query(domains, headers, body=b"").domain == "acme"


def test_hmac_upper_case_hex_and_header_names(domains: DomainStore, creds: Credentials) -> None:
    headers = {k.upper(): v for k, v in signed(creds.api_key, creds.api_secret).items()}
    headers["X-LOGTRUST-SIGN"] = headers["X-LOGTRUST-SIGN"].upper()
    assert query(domains, headers).scheme == "hmac"


def test_hmac_bad_signature(domains: DomainStore, creds: Credentials) -> None:
    headers = signed(creds.api_key, creds.api_secret)
    headers["x-logtrust-sign"] = "0" * 64
    assert refused(domains, headers) == SIGNATURE_ERROR


def test_hmac_is_over_the_exact_body(domains: DomainStore, creds: Credentials) -> None:
    headers = signed(creds.api_key, creds.api_secret)
    # Same JSON, different bytes: the signature must not survive a re-serialisation.
    assert refused(domains, headers, body=json.dumps(json.loads(BODY)).encode() + b" ")[0] == 401
    assert refused(domains, headers, body=BODY.replace(b"limit 1", b"limit 9"))[0] == 401


def test_hmac_signed_with_the_wrong_secret(domains: DomainStore, creds: Credentials) -> None:
    other = domains.create_domain("other")
    assert refused(domains, signed(creds.api_key, other.api_secret)) == SIGNATURE_ERROR


@pytest.mark.parametrize("key", ["aaa", "0" * 32, "x" * 1000])
def test_hmac_unknown_key(domains: DomainStore, creds: Credentials, key: str) -> None:
    assert refused(domains, signed(key, creds.api_secret)) == SIGNATURE_ERROR


@pytest.mark.parametrize("missing", ["x-logtrust-timestamp", "x-logtrust-sign"])
def test_hmac_missing_header(domains: DomainStore, creds: Credentials, missing: str) -> None:
    headers = signed(creds.api_key, creds.api_secret)
    del headers[missing]
    assert refused(domains, headers) == SIGNATURE_ERROR


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-logtrust-timestamp", "1700000000000.0"),
        ("x-logtrust-timestamp", "-1700000000000"),
        ("x-logtrust-timestamp", "１７００"),  # non-ASCII digits
        ("x-logtrust-sign", "zz" * 32),
        ("x-logtrust-sign", "ab" * 31),
    ],
)
def test_hmac_malformed_headers(
    domains: DomainStore, creds: Credentials, header: str, value: str
) -> None:
    headers = signed(creds.api_key, creds.api_secret)
    headers[header] = value
    assert refused(domains, headers)[1]["error"]["code"] == 12


@pytest.mark.parametrize("offset", [-300_001, 300_001, -86_400_000, 10**12])
def test_hmac_timestamp_outside_window(
    domains: DomainStore, creds: Credentials, offset: int
) -> None:
    headers = signed(creds.api_key, creds.api_secret, timestamp=NOW + offset)
    status, body = refused(domains, headers)
    assert status == 401
    assert body["error"]["code"] == 12
    assert "window" in body["error"]["message"]


@pytest.mark.parametrize("offset", [-300_000, 0, 300_000])
def test_hmac_timestamp_inside_window(
    domains: DomainStore, creds: Credentials, offset: int
) -> None:
    headers = signed(creds.api_key, creds.api_secret, timestamp=NOW + offset)
    assert query(domains, headers).domain == "acme"


def test_hmac_window_is_configurable(domains: DomainStore, creds: Credentials) -> None:
    headers = signed(creds.api_key, creds.api_secret, timestamp=NOW - 2_000)
    assert refused(domains, headers, window_ms=1_000)[0] == 401
    stale = signed(creds.api_key, creds.api_secret, timestamp=NOW - 86_400_000)
    assert query(domains, stale, window_ms=None).domain == "acme"


def test_rotation_invalidates_old_key(domains: DomainStore, creds: Credentials) -> None:
    key, secret = domains.rotate_keys("acme")
    assert refused(domains, signed(creds.api_key, creds.api_secret)) == SIGNATURE_ERROR
    assert refused(domains, signed(key, creds.api_secret)) == SIGNATURE_ERROR
    assert query(domains, signed(key, secret)).domain == "acme"


def test_hmac_wins_over_a_token(domains: DomainStore, creds: Credentials) -> None:
    headers = signed(creds.api_key, creds.api_secret, Authorization=f"Bearer {creds.token}")
    headers["x-logtrust-sign"] = "0" * 64
    assert refused(domains, headers) == SIGNATURE_ERROR


# -- no credentials -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Content-Type": "application/json", "x-logtrust-timestamp": str(NOW)},
        {"Authorization": ""},
        {"Authorization": "   "},
        {"Authorization": "Bearer "},
        {"x-logtrust-apikey": "", "x-logtrust-sign": "0" * 64},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
)
def test_missing_credentials(domains: DomainStore, headers: dict[str, str]) -> None:
    assert refused(domains, headers) == MISSING_ERROR


# -- tokens ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["Bearer {}", "bearer {}", "BEARER  {}", "{}", " {} "])
def test_token_forms(domains: DomainStore, creds: Credentials, form: str) -> None:
    headers = {"Authorization": form.format(creds.token), "x-logtrust-timestamp": "0"}
    assert query(domains, headers) == Principal("acme", ("*.**",), "bearer")


def test_unknown_and_revoked_tokens(domains: DomainStore, creds: Credentials) -> None:
    token = domains.create_token("acme")
    assert query(domains, {"Authorization": f"Bearer {token}"}).domain == "acme"
    domains.revoke_token(token)
    assert refused(domains, {"Authorization": f"Bearer {token}"}) == TOKEN_ERROR
    assert refused(domains, {"Authorization": "Bearer " + "A" * 32}) == TOKEN_ERROR
    assert refused(domains, {"Authorization": "Bearer " + "A" * 5000}) == TOKEN_ERROR


def test_wrong_token_kind(domains: DomainStore, creds: Credentials) -> None:
    for token in (creds.stand_alone_token, creds.ingest_token):
        assert refused(domains, {"Authorization": f"Bearer {token}"}) == TOKEN_ERROR
    with pytest.raises(InvalidToken):
        authenticate_stand_alone({"standAloneToken": creds.token}, store=domains, now_ms=NOW)
    with pytest.raises(InvalidToken):
        authenticate_ingest(creds.stand_alone_token, store=domains)


def test_token_authenticates_as_its_own_domain(domains: DomainStore, creds: Credentials) -> None:
    other = domains.create_domain("other")
    assert query(domains, {"Authorization": f"Bearer {creds.token}"}).domain == "acme"
    assert query(domains, {"Authorization": f"Bearer {other.token}"}).domain == "other"
    alerts = authenticate_stand_alone(
        {"standAloneToken": other.stand_alone_token}, store=domains, now_ms=NOW
    )
    assert alerts.domain == "other"


def test_token_scope(domains: DomainStore, creds: Credentials) -> None:
    token = domains.create_token("acme", tables=["demo.**"])
    principal = query(domains, {"Authorization": token})
    assert principal.tables == ("demo.**",)
    assert principal.may_read("demo.ecommerce.data")
    assert not principal.may_read("siem.logtrust.web.activity")


@pytest.mark.parametrize(
    ("tables", "table", "allowed"),
    [
        (["*.**"], "siem.logtrust.web.activity", True),
        (["*.**"], "demo.ecommerce", True),
        (["**"], "my.app.x", True),
        (["*"], "demo.ecommerce.data", False),
        (["*.*"], "demo.ecommerce", True),
        (["*.*"], "demo.ecommerce.data", False),
        (["firewall.*"], "firewall.fortinet", True),
        (["firewall.*"], "firewall.fortinet.traffic", False),
        (["firewall.**"], "firewall.fortinet.traffic", True),
        (["firewall.**"], "firewall.fortinet.traffic.forward", True),
        (["firewall.**"], "firewalls.fortinet.traffic", False),
        (["demo.ecommerce.data"], "demo.ecommerce.data", True),
        (["demo.ecommerce.data"], "demo.ecommerce.datax", False),
        (["firewall.**", "demo.ecommerce.data"], "demo.ecommerce.data", True),
        (["firewall.**", "demo.ecommerce.data"], "web.apache.access", False),
    ],
)
def test_scopes(
    domains: DomainStore, creds: Credentials, tables: list[str], table: str, allowed: bool
) -> None:
    token = domains.create_token("acme", tables=tables)
    assert query(domains, {"Authorization": f"Bearer {token}"}).may_read(table) is allowed


# -- JWT ------------------------------------------------------------------------------------------


def jwt_of(header: dict[str, Any], claims: dict[str, Any], secret: str) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    signing_input = f"{part(header)}.{part(claims)}"
    mac = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


EXP = NOW // 1000 + 600


def jwt_headers(jwt: str) -> dict[str, str]:
    return {"Authorization": f"jwt {jwt}", "x-logtrust-timestamp": str(NOW)}


def test_jwt_accepted(domains: DomainStore, creds: Credentials) -> None:
    jwt = make_jwt("acme", creds.api_secret, now_ms=NOW)
    assert query(domains, jwt_headers(jwt)) == Principal("acme", ("*.**",), "jwt")


def test_jwt_with_tables_and_sub(domains: DomainStore, creds: Credentials) -> None:
    jwt = make_jwt("acme", creds.api_secret, now_ms=NOW, tables=["demo.**"])
    principal = query(domains, jwt_headers(jwt))
    assert principal.may_read("demo.ecommerce.data")
    assert not principal.may_read("siem.logtrust.web.activity")
    by_sub = jwt_of({"alg": "HS256"}, {"sub": "acme", "exp": EXP}, creds.api_secret)
    assert query(domains, jwt_headers(by_sub)).domain == "acme"


def test_jwt_expiry(domains: DomainStore, creds: Credentials) -> None:
    # Expired by more than the leeway: refused; within it: accepted.
    jwt = make_jwt("acme", creds.api_secret, now_ms=NOW - 3_606_000, ttl_s=3600)
    assert refused(domains, jwt_headers(jwt)) == TOKEN_ERROR
    still = make_jwt("acme", creds.api_secret, now_ms=NOW - 3_604_000, ttl_s=3600)
    assert query(domains, jwt_headers(still)).domain == "acme"
    early = jwt_of(
        {"alg": "HS256"}, {"domain": "acme", "exp": EXP, "nbf": NOW // 1000 + 60}, creds.api_secret
    )
    assert refused(domains, jwt_headers(early)) == TOKEN_ERROR


def test_jwt_needs_an_exp_not_too_far(domains: DomainStore, creds: Credentials) -> None:
    forever = jwt_of({"alg": "HS256"}, {"domain": "acme"}, creds.api_secret)
    assert refused(domains, jwt_headers(forever)) == TOKEN_ERROR
    day = 86_400
    far = make_jwt("acme", creds.api_secret, now_ms=NOW, ttl_s=day + 60)
    assert refused(domains, jwt_headers(far)) == TOKEN_ERROR
    assert query(domains, jwt_headers(far), jwt_max_ttl_s=2 * day).domain == "acme"
    day_long = make_jwt("acme", creds.api_secret, now_ms=NOW, ttl_s=day)
    assert query(domains, jwt_headers(day_long)).domain == "acme"


def test_jwt_bad_signature(domains: DomainStore, creds: Credentials) -> None:
    head, claims, sig = make_jwt("acme", creds.api_secret, now_ms=NOW).split(".")
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    assert refused(domains, jwt_headers(f"{head}.{claims}.{flipped}")) == TOKEN_ERROR
    widened = jwt_of(
        {"alg": "HS256"}, {"domain": "acme", "tables": ["demo.**"], "exp": EXP}, "guess"
    )
    assert refused(domains, jwt_headers(widened)) == TOKEN_ERROR


def test_jwt_with_another_domains_secret(domains: DomainStore, creds: Credentials) -> None:
    other = domains.create_domain("other")
    forged = make_jwt("acme", other.api_secret, now_ms=NOW)
    assert refused(domains, jwt_headers(forged)) == TOKEN_ERROR
    own = make_jwt("other", other.api_secret, now_ms=NOW)
    assert query(domains, jwt_headers(own)).domain == "other"


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "none"},
        {"alg": "None"},
        {"alg": "HS512"},
        {"alg": "RS256"},
        {},
        {"alg": "HS256", "typ": "JWE"},
        {"alg": "HS256", "crit": ["exp"]},
    ],
)
def test_jwt_bad_header(domains: DomainStore, creds: Credentials, header: dict[str, Any]) -> None:
    jwt = jwt_of(header, {"domain": "acme", "exp": EXP}, creds.api_secret)
    assert refused(domains, jwt_headers(jwt)) == TOKEN_ERROR


def test_jwt_alg_none_unsigned(domains: DomainStore, creds: Credentials) -> None:
    claims = {"domain": "acme", "exp": EXP}
    unsigned = jwt_of({"alg": "none"}, claims, creds.api_secret).rsplit(".", 1)[0]
    assert refused(domains, jwt_headers(unsigned + ".")) == TOKEN_ERROR


@pytest.mark.parametrize(
    "claims",
    [
        {},
        {"domain": ""},
        {"domain": 7},
        {"domain": "acme", "sub": "other"},
        {"domain": "nope"},
        {"domain": "acme", "exp": True},
        {"domain": "acme", "exp": "never"},
        {"domain": "acme", "tables": "*.**"},
        {"domain": "acme", "tables": ["fire*"]},
    ],
)
def test_jwt_bad_claims(domains: DomainStore, creds: Credentials, claims: dict[str, Any]) -> None:
    # A valid exp unless the case is about exp: each refusal is for the reason its case names.
    jwt = jwt_of({"alg": "HS256", "typ": "JWT"}, {"exp": EXP, **claims}, creds.api_secret)
    assert refused(domains, jwt_headers(jwt)) == TOKEN_ERROR


@pytest.mark.parametrize(
    "jwt", ["abc", "a.b", "a.b.c.d", "!!.??.**", "e30.W10.AAAA", "x" * 10_000, "e30.e30.%%%"]
)
def test_jwt_malformed(domains: DomainStore, creds: Credentials, jwt: str) -> None:
    assert refused(domains, jwt_headers(jwt)) == TOKEN_ERROR


def test_rotation_invalidates_jwts(domains: DomainStore, creds: Credentials) -> None:
    jwt = make_jwt("acme", creds.api_secret, now_ms=NOW)
    domains.rotate_keys("acme")
    assert refused(domains, jwt_headers(jwt)) == TOKEN_ERROR


# -- standAloneToken and ingestion ----------------------------------------------------------------


@pytest.mark.parametrize(
    "header", ["standAloneToken", "standalonetoken", "STANDALONETOKEN", "Authorization"]
)
def test_stand_alone_forms(domains: DomainStore, creds: Credentials, header: str) -> None:
    value = creds.stand_alone_token
    if header == "Authorization":
        value = f"Bearer {value}"
    principal = authenticate_stand_alone({header: value}, store=domains, now_ms=NOW)
    assert principal == Principal("acme", ("*.**",), "standalone")


def test_stand_alone_refusals(domains: DomainStore, creds: Credentials) -> None:
    with pytest.raises(MissingCredentials):
        authenticate_stand_alone({}, store=domains, now_ms=NOW)
    for headers in (
        {"standAloneToken": "A" * 32},
        {"Authorization": f"Bearer {creds.token}"},
        {"Authorization": f"jwt {make_jwt('acme', creds.api_secret, now_ms=NOW)}"},
    ):
        with pytest.raises(InvalidToken):
            authenticate_stand_alone(headers, store=domains, now_ms=NOW)
    # HMAC is not an Alerts API scheme.
    with pytest.raises(MissingCredentials):
        authenticate_stand_alone(signed(creds.api_key, creds.api_secret), store=domains, now_ms=NOW)


def test_ingest_tokens(domains: DomainStore, creds: Credentials) -> None:
    assert authenticate_ingest(creds.ingest_token, store=domains).domain == "acme"
    scoped = domains.create_token("acme", kind=TokenKind.INGEST, tables=["my.app.**"])
    principal = authenticate_ingest(scoped, store=domains)
    assert principal.scheme == "ingest" and principal.tables == ("my.app.**",)
    with pytest.raises(MissingCredentials):
        authenticate_ingest("", store=domains)
    with pytest.raises(InvalidToken):
        authenticate_ingest(creds.token, store=domains)


def test_error_classes_carry_devo_codes() -> None:
    assert (InvalidSignature().devo_code, InvalidToken().devo_code) == (12, 5)
    assert MissingCredentials().devo_code == 401
    assert all(
        isinstance(e, AuthError) and not isinstance(e, ForbiddenError)
        for e in (InvalidSignature(), InvalidToken(), MissingCredentials())
    )
