"""The store seam holds: outside the store implementations and the per-engine compilers, no
module imports an engine, catches an engine's exception, holds an engine connection or prints
SQL in an engine's dialect."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "linqd"
ENGINES = ("duckdb", "chdb", "clickhouse_connect")
# Where engines may appear: the stores, the compilers, and ``linq/__init__.py``'s ``render``,
# which prints a compiled query in its compiler's dialect.
INSIDE = ("store/", "linq/compile/", "linq/functions/", "linq/__init__.py")


def _modules() -> list[Path]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if not relative.startswith(INSIDE):
            found.append(path)
    return found


def _violations(path: Path, root: Path = PACKAGE) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
            if node.module and node.module.endswith("store.duckdb"):
                names.append("duckdb")  # the DuckDB store's internals
        else:
            names = []
        found += [f"imports {n}" for n in names if n.split(".")[0] in ENGINES or n == "duckdb"]
        if isinstance(node, ast.Attribute) and node.attr in ("reader", "interrupt"):
            found.append(f"uses .{node.attr} of an engine connection")
        if isinstance(node, ast.keyword) and node.arg == "dialect":
            found.append("prints SQL in a dialect of its own choosing")
    return [f"{path.relative_to(root)}: {v}" for v in found]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_engine_outside_the_seam(path: Path) -> None:
    assert _violations(path) == []


def test_the_check_sees_every_kind_of_leak(tmp_path: Path) -> None:
    module = tmp_path / "leak.py"
    module.write_text(
        "import duckdb\n"
        "from linqd.store.duckdb import quote\n"
        "conn.reader()\n"
        "x.sql(dialect='duckdb')\n"
    )
    assert len(_violations(module, tmp_path)) == 4
