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
