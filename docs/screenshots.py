"""Make the README's console screenshots (docs/console-search.png, docs/console-backtest.png):
demo data in a temporary directory, a linqd server of its own on 127.0.0.1, Debian's Chromium.

    make screenshots    # or: .venv/bin/python docs/screenshots.py
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent / "benchmarks"))

from _console import CHROMIUM_FLAGS  # noqa: E402  (the flags Chromium needs on a closed network)

SEARCH = 'from demo.ecommerce.data where statusCode >= 400 and method = "POST"'
ALERT = "from demo.ecommerce.data where statusCode >= 500"


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="linqd-shots-"))
    linqd = [sys.executable, "-m", "linqd"]
    subprocess.run(
        [*linqd, "demo", "--data-dir", str(folder), "--events", "300000", "--days", "2"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = subprocess.Popen(
        [*linqd, "serve", "--data-dir", str(folder), "--port", "0", "--no-syslog"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        url = server.stdout.readline().decode().split()[2]
        credentials = json.loads((folder / "credentials.json").read_text())
        chromium = os.environ.get("LINQD_CHROMIUM") or shutil.which("chromium") or "chromium"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
            page = browser.new_page(base_url=url, viewport={"width": 1400, "height": 860})
            page.goto("/ui/login")
            page.get_by_label("User").fill(credentials["consoleUser"])
            page.get_by_label("Password").fill(credentials["consolePassword"])
            page.get_by_role("button", name="Sign in").click()
            page.goto("/ui/search?" + urlencode({"q": SEARCH, "from": "1d", "to": "now"}))
            expect(page.get_by_role("table", name="Results")).to_be_visible()
            page.get_by_text("clientIpAddress", exact=True).first.click()  # the field panel
            page.wait_for_timeout(500)  # the top values arrive; only a picture depends on it
            page.screenshot(path=str(DOCS / "console-search.png"))
            page.goto("/ui/alerts/new?" + urlencode({"query": ALERT, "from": "1d"}))
            page.get_by_label("Name", exact=True).fill("Server errors per client")
            page.get_by_label("Kind", exact=True).select_option("several")
            page.get_by_label("Period", exact=True).fill("1h")
            page.get_by_label("Threshold", exact=True).fill("9")
            page.get_by_label("Keys", exact=True).fill("clientIpAddress")
            page.get_by_label("Message", exact=True).fill("$clientIpAddress: $count errors")
            page.get_by_role("button", name="Backtest").click()
            fired = page.get_by_text(re.compile(r"^Would have fired \d+ times?$"))
            expect(fired).to_be_visible(timeout=60_000)
            page.get_by_label("Kind", exact=True).scroll_into_view_if_needed()
            page.mouse.wheel(0, 420)
            page.wait_for_timeout(300)
            page.screenshot(path=str(DOCS / "console-backtest.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
