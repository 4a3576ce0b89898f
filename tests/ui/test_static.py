"""The vendored front-end: pinned versions, their licences beside them, nothing from a CDN."""

from __future__ import annotations

import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

STATIC = resources.files("linqd.ui") / "static"
TEMPLATES = resources.files("linqd.ui") / "templates"


def test_htmx_is_a_pinned_2x_and_uplot_is_pinned() -> None:
    htmx = (STATIC / "htmx-2.0.11.min.js").read_text()
    assert 'version:"2.0.11"' in htmx
    assert "(v1.6.32)" in (STATIC / "uPlot-1.6.32.iife.min.js").read_text()[:100]
    assert "Zero-Clause BSD" in (STATIC / "LICENSE-htmx.txt").read_text()
    assert "Leon Sorokin" in (STATIC / "LICENSE-uPlot.txt").read_text()


def test_pages_load_nothing_from_elsewhere_and_run_no_inline_script() -> None:
    for template in _files(TEMPLATES):
        text = template.read_text()
        assert not re.search(r"(src|href)=\"(https?:)?//", text), template.name
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), f"inline script in {template.name}"
        assert not re.search(r"\son[a-z]+=", text), f"inline handler in {template.name}"
        assert "hx-on" not in text, f"hx-on needs eval, which the CSP forbids: {template.name}"


def _files(folder: Traversable) -> list[Traversable]:
    found: list[Traversable] = []
    for entry in folder.iterdir():
        if entry.is_dir():
            found += _files(entry)
        elif entry.name.endswith(".html"):
            found.append(entry)
    return found


def test_the_readme_shows_the_search_page_and_the_backtest_preview() -> None:
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    for picture in ("docs/console-search.png", "docs/console-backtest.png"):
        assert f"]({picture})" in readme
        assert (root / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
