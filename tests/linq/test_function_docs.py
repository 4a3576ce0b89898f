"""`docs/linq-functions.md` is generated from the function catalogue: it must not drift."""

from __future__ import annotations

from pathlib import Path

from linqd.linq.functions import unique_functions
from linqd.linq.functions.docs import CATEGORIES, render_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "linq-functions.md"


def test_function_reference_matches_the_catalogue() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_markdown(), (
        "docs/linq-functions.md is out of date: run `make docs`"
    )


def test_every_category_has_a_section_title() -> None:
    known = {name for name, _ in CATEGORIES}
    assert {fn.category for fn in unique_functions()} <= known


def test_every_function_and_signature_is_listed() -> None:
    text = render_markdown()
    for fn in unique_functions():
        for name in fn.names:
            assert f"`{name}`" in text
        for signature in fn.signatures:
            assert signature.text().replace("|", "\\|") in text


def test_table_rows_have_four_cells() -> None:
    rows = [line for line in render_markdown().splitlines() if line.startswith("| `")]
    assert len(rows) == len(unique_functions())
    for row in rows:
        cells = row.replace("\\|", "").strip("|").split("|")
        assert len(cells) == 4, row
