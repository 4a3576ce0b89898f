"""Sign-in, sessions, CSRF and the slowing down of failed sign-ins, without a browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial

import httpx
import pytest
from sqlalchemy import select

from linqd.clock import SimulatedClock
from linqd.domains import DomainStore
from linqd.meta import MetaStore, schema
from linqd.ui.sessions import COOKIE, FREE_ATTEMPTS, SESSION_TTL_MS, Sessions
from linqd.ui.users import ConsoleUsers, Role
from together import together

from .conftest import PASSWORD, T0, Console, csrf_of, sign_in

pytestmark = pytest.mark.anyio


async def test_pages_lead_to_sign_in_and_back(console: Console) -> None:
    async with console.client() as client:
        root = await client.get("/")
        assert root.status_code == 303 and root.headers["location"] == "/ui/"
        page = await client.get("/ui/search?q=from%20x")
        assert page.status_code == 303
        assert page.headers["location"] == "/ui/login?next=%2Fui%2Fsearch%3Fq%3Dfrom%2520x"
        form = await client.get(page.headers["location"])
        assert 'value="/ui/search?q=from%20x"' in form.text
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token
        signed = await client.post(
            "/ui/login",
            data={
                "user": "ana",
                "password": PASSWORD,
                "csrf": token.group(1),
                "next": "/ui/search?q=from%20x",
            },
        )
        assert signed.status_code == 303 and signed.headers["location"] == "/ui/search?q=from%20x"


async def test_post_to_root_stays_the_query_api(console: Console) -> None:
    async with console.client() as client:
        answer = await client.post("/", json={"query": "from my.app.x", "from": 0})
    assert answer.status_code == 401 and "error" in answer.json()


async def test_cookie_flags_and_a_new_session_id_at_each_sign_in(console: Console) -> None:
    async with console.client() as client:
        first = await sign_in(client, "ana", PASSWORD)
        (cookie,) = [c for c in first.headers.get_list("set-cookie") if c.startswith(COOKIE)]
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite=strict", "path=/"} <= flags
        assert "secure" not in flags  # plain HTTP here; see the HTTPS test
        old = client.cookies[COOKIE]
        await sign_in(client, "ana", PASSWORD)
        assert client.cookies[COOKIE] != old
    # The session a client held before signing in again is its own, not promoted.
    async with console.client() as other:
        other.cookies.set(COOKIE, old)
        assert (await other.get("/ui/search")).status_code == 200


async def test_secure_cookie_under_https(console: Console) -> None:
    async with httpx.AsyncClient(transport=console.transport, base_url="https://linqd") as client:
        answer = await sign_in(client, "ana", PASSWORD)
    (cookie,) = [c for c in answer.headers.get_list("set-cookie") if c.startswith(COOKIE)]
    assert "secure" in cookie.lower()


async def test_a_forged_or_ended_session_is_refused(console: Console) -> None:
    async with console.client() as client:
        client.cookies.set(COOKIE, "abc.def")
        assert (await client.get("/ui/search")).status_code == 303
    async with console.signed_in("ana") as client:
        token = client.headers["X-CSRF-Token"]
        cookie = client.cookies[COOKIE]
        assert (await client.post("/ui/logout")).status_code == 303
        client.cookies.set(COOKIE, cookie)
        assert (await client.get("/ui/search")).status_code == 303
        fragment = await client.post("/ui/logout", headers={"X-CSRF-Token": token})
        assert fragment.status_code == 401 and fragment.headers["hx-redirect"] == "/ui/login"


async def test_state_changes_need_the_csrf_token(console: Console) -> None:
    async with console.signed_in("ana") as client:
        token = client.headers.pop("X-CSRF-Token")
        refused = await client.post("/ui/logout")
        assert refused.status_code == 403
        other = token[:-1] + ("1" if token.endswith("0") else "0")
        wrong = await client.post("/ui/logout", headers={"X-CSRF-Token": other})
        assert wrong.status_code == 403
        assert (await client.get("/ui/search")).status_code == 200  # still signed in
        form = await client.post("/ui/logout", data={"csrf": token})
        assert form.status_code == 303


async def test_sign_in_needs_its_form_token(console: Console) -> None:
    async with console.client() as client:
        answer = await client.post("/ui/login", data={"user": "ana", "password": PASSWORD})
    assert answer.status_code == 403 and COOKIE not in answer.headers.get("set-cookie", "")


async def test_failed_sign_ins_are_slowed_down(console: Console) -> None:
    async with console.client() as client:
        for _ in range(FREE_ATTEMPTS):
            assert (await sign_in(client, "ana", "wrong password")).status_code == 401
        assert (await sign_in(client, "ana", "wrong password")).status_code == 401
        # Now even the right password must wait...
        held = await sign_in(client, "ana", PASSWORD)
        assert held.status_code == 429 and "try again in 1 s" in held.text
        console.clock.advance(1_000)
        # ...until the delay has passed; a further failure doubles it.
        assert (await sign_in(client, "ana", "wrong password")).status_code == 401
        console.clock.advance(1_000)
        assert (await sign_in(client, "ana", PASSWORD)).status_code == 429
        console.clock.advance(1_000)
        assert (await sign_in(client, "ana", PASSWORD)).status_code == 303
        # Another user is not held up by ana's failures.
        assert (await sign_in(client, "vic", PASSWORD)).status_code == 303


async def test_unknown_user_and_wrong_password_look_alike(console: Console) -> None:
    async with console.client() as client:
        unknown = await sign_in(client, "nobody", PASSWORD)
        wrong = await sign_in(client, "ana", "not the password")
    assert unknown.status_code == wrong.status_code == 401
    assert "Wrong user or password" in unknown.text and "Wrong user or password" in wrong.text


async def test_console_headers(console: Console) -> None:
    async with console.client() as client:
        form = await client.get("/ui/login")
        script = await client.get("/ui/static/htmx-2.0.11.min.js")
    csp = form.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert form.headers["x-frame-options"] == "DENY"
    assert script.status_code == 200 and script.headers["content-encoding"] == "gzip"


async def test_the_page_shows_who_is_signed_in(console: Console) -> None:
    async with console.signed_in("vic") as client:
        page = await client.get("/ui/search")
    assert "vic · self · viewer" in page.text
    assert csrf_of(page.text) == client.headers["X-CSRF-Token"]


async def test_static_files_are_cached_by_version(console: Console) -> None:
    async with console.client() as client:
        vendored = await client.get("/ui/static/uPlot-1.6.32.iife.min.js")
        own = await client.get("/ui/static/console.js")
        again = await client.get(
            "/ui/static/console.js", headers={"if-none-match": own.headers["etag"]}
        )
        page = await client.get("/ui/login")
    assert vendored.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert own.headers["cache-control"] == "no-cache" and again.status_code == 304
    assert page.headers["cache-control"] == "no-store"


# -- the sessions' rows, on SQLite and PostgreSQL -----------------------------------------------


@pytest.fixture
def meta(meta_target: str) -> Iterator[MetaStore]:
    """A metadata store with the domain ``self`` and its analyst ``ana``."""
    store = MetaStore(meta_target)
    DomainStore(store, SimulatedClock()).create_domain("self")
    ConsoleUsers(store, SimulatedClock()).create("ana", "self", Role.ANALYST, PASSWORD)
    yield store
    store.close()


def session_rows(meta: MetaStore) -> list[str]:
    with meta.transaction() as conn:
        return list(conn.execute(select(schema.console_sessions.c.user)).scalars())


def test_sessions_expire_end_and_end_with_the_password(meta: MetaStore) -> None:
    clock = SimulatedClock(T0)
    users = ConsoleUsers(meta, clock)
    sessions = Sessions(meta, users, clock)
    ana = users.get("ana")
    assert ana is not None
    cookie = sessions.start(ana)
    found = sessions.find(cookie)
    assert found is not None and found.user == ana and found.csrf and found.audit_id
    clock.advance(SESSION_TTL_MS)
    assert sessions.find(cookie) is None
    # The next sign-in clears what expired; ending a session removes its row at once.
    second = sessions.start(ana)
    assert session_rows(meta) == ["ana"]
    sessions.end(second)
    assert session_rows(meta) == [] and sessions.find(second) is None
    third = sessions.start(ana)
    users.set_password("ana")
    assert sessions.find(third) is None and session_rows(meta) == []


@pytest.mark.usefixtures("meta")
def test_nodes_share_one_cookie_key(meta_target: str) -> None:
    """Nodes starting together on one database make one signing key: a cookie signed by one
    is good on the other. A user removed before the sign-in ends gets no session."""
    clock = SimulatedClock(T0)
    metas = [MetaStore(meta_target) for _ in range(2)]
    made: list[Sessions] = []
    try:
        # Each node's users first (an argon2 hash): the key is what the nodes race on.
        nodes = [(node, ConsoleUsers(node, clock)) for node in metas]

        def open_node(node: MetaStore, users: ConsoleUsers) -> None:
            made.append(Sessions(node, users, clock))

        errors = together(*(partial(open_node, *pair) for pair in nodes))
        assert errors == []
        assert len(made) == 2
        first, second = made
        users = nodes[0][1]
        ana = users.get("ana")
        assert ana is not None
        found = second.find(first.start(ana))
        assert found is not None and found.user == ana
        users.delete("ana")
        assert first.find(first.start(ana)) is None
    finally:
        for node in metas:
            node.close()
