"""Domains, credentials and saved queries in the metadata database."""

from __future__ import annotations

import hashlib
import re
import stat
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linqd.clock import SimulatedClock
from linqd.domains import (
    Credentials,
    Domain,
    DomainStore,
    TokenKind,
    glob_matches,
    secure_permissions,
    validate_table_globs,
)
from linqd.errors import Conflict, NotFound, ValidationError
from linqd.meta import MetaStore
from together import together

T0 = 1_700_000_000_000


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T0)


@pytest.fixture
def domains(meta: MetaStore, clock: SimulatedClock) -> DomainStore:
    return DomainStore(meta, clock)


@pytest.fixture
def checked(tmp_path: Path, clock: SimulatedClock) -> Iterator[DomainStore]:
    """A store on SQLite only, for what is refused before any statement runs."""
    meta = MetaStore(tmp_path / "meta.sqlite")
    yield DomainStore(meta, clock)
    meta.close()


def is_token(value: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9]{32}", value) is not None


# -- domains -------------------------------------------------------------------------------------


def test_create_domain_hands_out_a_full_credential_set(domains: DomainStore) -> None:
    creds = domains.create_domain("acme")
    assert creds.domain == "acme"
    assert re.fullmatch(r"[0-9a-f]{32}", creds.api_key)
    assert len(creds.api_secret) >= 32
    tokens = [creds.token, creds.stand_alone_token, creds.ingest_token]
    assert all(is_token(t) for t in tokens)
    assert len({creds.api_key, creds.api_secret, *tokens}) == 5

    assert domains.api_secret_for_key(creds.api_key) == ("acme", creds.api_secret)
    assert domains.domain_secret("acme") == creds.api_secret
    kinds = {t: info.kind for t in tokens if (info := domains.token_info(t)) is not None}
    assert kinds == {
        creds.token: TokenKind.API,
        creds.stand_alone_token: TokenKind.ALERTS,
        creds.ingest_token: TokenKind.INGEST,
    }
    info = domains.token_info(creds.token)
    assert info is not None
    assert (info.domain, info.tables, info.created_ms) == ("acme", ("*.**",), T0)


def test_credentials_repr_hides_secrets(domains: DomainStore) -> None:
    creds = domains.create_domain("acme")
    text = repr(creds) + str(creds)
    for secret in (creds.api_secret, creds.token, creds.stand_alone_token, creds.ingest_token):
        assert secret not in text
    assert "acme" in text


def test_create_domain_twice_conflicts(domains: DomainStore) -> None:
    domains.create_domain("acme")
    with pytest.raises(Conflict):
        domains.create_domain("acme")


@pytest.mark.parametrize(
    "name", ["", "a" * 65, "has space", "a/b", "acme\n", "ünïcode", "a;drop", "a*"]
)
def test_invalid_domain_names(checked: DomainStore, name: str) -> None:
    with pytest.raises(ValidationError):
        checked.create_domain(name)
    with pytest.raises(ValidationError):
        checked.ensure_domain(name)


@pytest.mark.parametrize("name", ["self", "a", "A-b_c.d@e", "x" * 64, "user@example.com"])
def test_valid_domain_names(domains: DomainStore, name: str) -> None:
    assert domains.create_domain(name).domain == name


def test_ensure_domain_creates_once(domains: DomainStore) -> None:
    first = domains.ensure_domain("self")
    assert isinstance(first, Credentials)
    assert domains.ensure_domain("self") is None
    assert domains.api_secret_for_key(first.api_key) == ("self", first.api_secret)


def test_list_domains(domains: DomainStore, clock: SimulatedClock) -> None:
    domains.create_domain("zeta")
    clock.advance(1000)
    domains.create_domain("alpha")
    assert domains.list_domains() == [Domain("alpha", T0 + 1000), Domain("zeta", T0)]


def test_lists_are_in_code_point_order_on_every_backend(domains: DomainStore) -> None:
    # A PostgreSQL locale's collation would put "a" before "B" and ignore "_"; SQLite compares
    # bytes. Both list as Python sorts.
    names = ["b", "B", "_x", "a", "A-1"]
    for name in names:
        domains.create_domain(name)
    for name in names:
        domains.add_saved_query("a", name, f"from {name}.x")
    assert [d.name for d in domains.list_domains()] == sorted(names)
    assert [name for name, _ in domains.list_saved_queries("a")] == sorted(names)


def test_two_nodes_creating_one_domain_at_once(meta_target: str, clock: SimulatedClock) -> None:
    """Two stores over one database (two nodes) ensure the same domain together: one makes
    it, the other finds it, neither fails on the key."""
    metas = [MetaStore(meta_target) for _ in range(2)]
    results: list[Credentials | None] = []
    try:

        def ensure(meta: MetaStore) -> None:
            results.append(DomainStore(meta, clock).ensure_domain("shared"))

        errors = together(*(partial(ensure, meta) for meta in metas))
        assert errors == []
        made = [result for result in results if result is not None]
        assert len(results) == 2 and len(made) == 1
        assert DomainStore(metas[0], clock).api_secret_for_key(made[0].api_key) == (
            "shared",
            made[0].api_secret,
        )
        with pytest.raises(Conflict):
            DomainStore(metas[1], clock).create_domain("shared")
    finally:
        for meta in metas:
            meta.close()


def test_unknown_domain_lookups(domains: DomainStore) -> None:
    assert domains.domain_secret("nope") is None
    assert domains.api_secret_for_key("nope") is None
    assert domains.token_info("nope") is None
    with pytest.raises(NotFound):
        domains.create_token("nope")
    with pytest.raises(NotFound):
        domains.rotate_keys("nope")


# -- tokens and keys ------------------------------------------------------------------------------


def test_create_token_with_scope(domains: DomainStore, clock: SimulatedClock) -> None:
    domains.create_domain("acme")
    clock.advance(5)
    token = domains.create_token(
        "acme", kind=TokenKind.ALERTS, tables=["firewall.**", "demo.ecommerce.data"], name="fw"
    )
    assert is_token(token)
    info = domains.token_info(token)
    assert info is not None
    assert info.kind is TokenKind.ALERTS
    assert info.tables == ("firewall.**", "demo.ecommerce.data")
    assert (info.name, info.created_ms) == ("fw", T0 + 5)


def test_token_kind_may_be_given_as_its_value(domains: DomainStore) -> None:
    domains.create_domain("acme")
    info = domains.token_info(domains.create_token("acme", kind=TokenKind("ingest")))
    assert info is not None and info.kind is TokenKind.INGEST


@pytest.mark.parametrize(
    "tables",
    [[], [""], ["fire*"], ["a..b"], [".a"], ["a."], ["a.*b"], ["a.\tb"], ["x" * 300], "*.**"],
)
def test_invalid_globs_are_refused(checked: DomainStore, tables: list[str] | str) -> None:
    checked.create_domain("acme")
    with pytest.raises(ValidationError):
        checked.create_token("acme", tables=tables)


def test_revoke_token(domains: DomainStore) -> None:
    creds = domains.create_domain("acme")
    extra = domains.create_token("acme")
    domains.revoke_token(extra)
    assert domains.token_info(extra) is None
    assert domains.token_info(creds.token) is not None
    with pytest.raises(NotFound):
        domains.revoke_token(extra)


def test_rotation_invalidates_old_key(domains: DomainStore) -> None:
    creds = domains.create_domain("acme")
    key, secret = domains.rotate_keys("acme")
    assert key != creds.api_key and secret != creds.api_secret
    assert domains.api_secret_for_key(creds.api_key) is None
    assert domains.api_secret_for_key(key) == ("acme", secret)
    assert domains.domain_secret("acme") == secret
    # Tokens are independent of the key pair.
    assert domains.token_info(creds.token) is not None


def test_domains_are_isolated(domains: DomainStore) -> None:
    a = domains.create_domain("a")
    b = domains.create_domain("b")
    info_a, info_b = domains.token_info(a.token), domains.token_info(b.token)
    assert info_a is not None and info_a.domain == "a"
    assert info_b is not None and info_b.domain == "b"
    assert domains.api_secret_for_key(b.api_key) == ("b", b.api_secret)
    assert domains.domain_secret("a") != domains.domain_secret("b")


def test_secrets_at_rest(tmp_path: Path, clock: SimulatedClock) -> None:
    """Tokens exist on disk only as SHA-256; the API secret is stored (HMAC needs it)."""
    meta = MetaStore(tmp_path / "meta.sqlite")
    domains = DomainStore(meta, clock)
    creds = domains.create_domain("acme")
    extra = domains.create_token("acme", kind=TokenKind.INGEST)
    meta.close()  # checkpoints the WAL into the main file

    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    for token in (creds.token, creds.stand_alone_token, creds.ingest_token, extra):
        assert token.encode() not in data
        assert hashlib.sha256(token.encode()).hexdigest().encode() in data
    assert creds.api_secret.encode() in data

    meta = MetaStore(tmp_path / "meta.sqlite")
    reopened = DomainStore(meta, clock)
    info = reopened.token_info(extra)
    assert info is not None and info.kind is TokenKind.INGEST
    assert reopened.api_secret_for_key(creds.api_key) == ("acme", creds.api_secret)
    meta.close()


def test_secure_permissions(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    for name in ("meta.sqlite", "meta.sqlite-wal", "credentials.json", "events.duckdb"):
        (data / name).write_text("x")
        (data / name).chmod(0o644)
    secure_permissions(data)

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(data) == 0o700
    assert mode(data / "meta.sqlite") == 0o600
    assert mode(data / "meta.sqlite-wal") == 0o600
    assert mode(data / "credentials.json") == 0o600


# -- saved queries --------------------------------------------------------------------------------


def test_saved_queries(domains: DomainStore) -> None:
    domains.create_domain("a")
    domains.create_domain("b")
    domains.add_saved_query("a", "top", "from demo.ecommerce.data select *")
    domains.add_saved_query("a", "count", "from demo.ecommerce.data group select count()")
    assert domains.saved_query("a", "top") == "from demo.ecommerce.data select *"
    assert domains.saved_query("b", "top") is None
    assert domains.saved_query("a", "missing") is None
    assert [name for name, _ in domains.list_saved_queries("a")] == ["count", "top"]
    assert domains.list_saved_queries("b") == []
    with pytest.raises(Conflict):
        domains.add_saved_query("a", "top", "from x.y")
    domains.add_saved_query("b", "top", "from x.y")  # names are per domain
    assert domains.saved_query("b", "top") == "from x.y"


def test_saved_query_validation(domains: DomainStore) -> None:
    domains.create_domain("a")
    with pytest.raises(NotFound):
        domains.add_saved_query("nope", "q", "from x.y")
    with pytest.raises(ValidationError):
        domains.add_saved_query("a", "", "from x.y")
    with pytest.raises(ValidationError):
        domains.add_saved_query("a", "q", "   ")


# -- globs ----------------------------------------------------------------------------------------

LEVEL = st.from_regex(r"[a-z][a-zA-Z0-9_]{0,7}", fullmatch=True)
TABLE = st.lists(LEVEL, min_size=2, max_size=6).map(".".join)


@given(TABLE)
def test_star_starstar_covers_every_table(table: str) -> None:
    assert glob_matches("*.**", table)
    assert glob_matches("**", table)
    assert glob_matches(table, table)
    validate_table_globs([table])


@given(TABLE, LEVEL)
def test_single_star_is_exactly_one_level(table: str, extra: str) -> None:
    levels = table.split(".")
    assert glob_matches(".".join(["*"] * len(levels)), table)
    assert not glob_matches(".".join(["*"] * (len(levels) + 1)), table)
    assert not glob_matches(".".join(["*"] * (len(levels) - 1)), table)
    # "prefix.**" covers everything strictly below the prefix, never the prefix itself.
    assert glob_matches(f"{table}.**", f"{table}.{extra}")
    assert not glob_matches(f"{table}.**", table)


@pytest.mark.parametrize(
    ("pattern", "table", "expected"),
    [
        ("firewall.*", "firewall.fortinet", True),
        ("firewall.*", "firewall.fortinet.traffic", False),
        ("firewall.**", "firewall.fortinet.traffic.forward", True),
        ("firewall.**", "firewall", False),
        ("firewall.**", "web.firewall.x", False),
        ("*.fortinet.**", "firewall.fortinet.traffic", True),
        ("**.data", "demo.ecommerce.data", True),
        ("**.data", "data", False),
        ("demo.**.data", "demo.ecommerce.data", True),
        ("demo.**.data", "demo.data", False),
        ("demo.ecommerce.data", "demo.ecommerce.data", True),
        ("demo.ecommerce.data", "demo.ecommerce.Data", False),
        ("demo.ecommerce.data", "demo.ecommerce.data.x", False),
        ("*.**", "", False),
        ("*.**", "a..b", False),
    ],
)
def test_glob_examples(pattern: str, table: str, expected: bool) -> None:
    assert glob_matches(pattern, table) is expected
