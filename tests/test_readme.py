"""The README shows real LINQ: every ```linq block must compile against the built-in tables, and
the quick start must stay at exactly two set-up commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from linqd.linq import compile_linq
from linqd.store import catalog

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```linq\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_linq_examples() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("linq", BLOCKS)
def test_readme_linq_compiles(linq: str) -> None:
    compiled = compile_linq(linq.strip(), catalog.builtin, now_ms=1_700_000_000_000)
    assert compiled.sql.startswith("SELECT")


def test_quick_start_is_two_commands() -> None:
    text = README.read_text()
    start = text.index("## Quick start")
    block = re.search(r"```sh\n(.*?)```", text[start:], flags=re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert [c for c in commands if c] == ["make run", "make test"]


DOCS = [README, *sorted((README.parent / "docs").glob("*.md"))]


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.name)
def test_links_stay_inside_the_repository(page: Path) -> None:
    """The docs a reader needs live in the repository: every relative link names a file there."""
    root = README.parent.resolve()
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text()):
        if "://" in target:
            continue
        resolved = (page.parent / target).resolve()
        assert resolved.is_relative_to(root), f"{page.name} links outside: {target}"
        assert resolved.exists(), f"{page.name} links to a missing file: {target}"


def test_code_cites_no_file_outside_the_repository() -> None:
    source = README.parent / "src" / "linqd"
    for path in source.rglob("*.py"):
        text = path.read_text()
        for outside in ("../shared", "DESIGN.md", "spec/", "seeds/"):
            assert outside not in text, f"{path.relative_to(source)} cites {outside}"
