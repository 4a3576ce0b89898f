"""The console's search page, first load with data aside: bytes transferred, gzip on.

A fresh headless Chromium context signs in, then loads /ui/search with no query (so no data is
fetched) and an empty cache; the figure is the sum of every response's encoded body and headers
(what crossed the wire), against the 150 KB budget. Beside it: the same resources' decoded sizes,
which shows what gzip saves.

    make bench    # or: .venv/bin/python benchmarks/ui_first_load.py
"""

from __future__ import annotations

from typing import Any

from _console import chromium_page, demo_server

BUDGET_KB = 150.0


def main() -> None:
    with demo_server() as server, chromium_page(server) as page:
        # (Playwright cannot take a bound builtin as a handler, hence the lambda.)
        # What the sign-in page left in the cache must not make the figure smaller.
        page.context.new_cdp_session(page).send("Network.clearBrowserCache")
        responses: list[Any] = []
        page.on("response", lambda response: responses.append(response))  # noqa: PLW0108
        page.goto("/ui/search", wait_until="networkidle")
        wire = decoded = 0
        for response in responses:
            sizes = response.request.sizes()
            wire += sizes["responseBodySize"] + sizes["responseHeadersSize"]
            decoded += len(response.body())
    kb = wire / 1024
    print(
        f"search page first load: {kb:.1f} KB over the wire in {len(responses)} responses "
        f"({decoded / 1024:.1f} KB decoded); budget {BUDGET_KB:.0f} KB; "
        f"ratio {kb / BUDGET_KB:.2f} (target <= 1.00)"
    )


if __name__ == "__main__":
    main()
