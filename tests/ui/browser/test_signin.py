"""Sign-in and sign-out in the browser, through the controls' accessible names."""

from __future__ import annotations

from typing import Any

from .conftest import LiveConsole, sign_in


def test_sign_in_navigate_and_sign_out(page: Any, live: LiveConsole) -> None:
    page.goto("/")
    page.wait_for_url("**/ui/login**")
    page.get_by_label("User").fill("ana")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong user or password"
    sign_in(page)
    for name in ("Search", "Alerts", "Triggered alerts", "Jobs"):
        assert page.get_by_role("link", name=name, exact=True).is_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "linqd_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/ui/login")
    page.goto("/ui/search")
    page.wait_for_url("**/ui/login**")
