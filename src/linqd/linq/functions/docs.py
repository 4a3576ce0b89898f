"""The function reference, ``docs/linq-functions.md``, rendered from the catalogue.

``linqd docs functions`` prints it (``make docs`` writes the file); a test fails when the file in
the repository differs from what the catalogue renders.
"""

from __future__ import annotations

import re

from . import unique_functions
from .base import FunctionDef
from .refused import REFUSALS

# Section order and titles; a category missing here is listed last under its own name.
CATEGORIES = (
    ("comparison", "Comparison"),
    ("logic", "Logic"),
    ("null", "Null handling"),
    ("membership", "Membership and matching"),
    ("arithmetic", "Arithmetic"),
    ("bitwise", "Bitwise"),
    ("math", "Mathematics"),
    ("conversion", "Conversion"),
    ("strings", "Strings"),
    ("encodings", "Encodings and hashes"),
    ("time", "Date and time"),
    ("json", "JSON"),
    ("network", "Network and web"),
    ("geolocation", "Geolocation"),
    ("collections", "Collections"),
    ("introspection", "Tables and queries"),
    ("aggregation", "Aggregation"),
    ("sketches", "HyperLogLog sketches"),
)

INTRO = """\
Generated from the function catalogue (`src/linqd/linq/functions/`) by `linqd docs functions`
(`make docs`); do not edit it by hand, a test fails when it and the catalogue differ.

A signature reads `(parameter types) -> result type`. `?` marks an optional parameter and `...`
one that repeats; `int`, `num`, `any` and `coll` stand for any integer, any number, any value and
an array or set; `$0` is the type of the first argument and `$num` the common type of the numeric
arguments. A string literal is read as a timestamp, ip4, net4 or re where one is expected.
Aggregation functions are only allowed in the `select` after a `group`."""


REFUSED_INTRO = """\
Functions of Devo's catalogue that need what a self-hosted server does not have. linqd knows their
names: a query calling one is refused with what is missing (`` `reputation' needs Devo's
reputation feed, which this server does not have ``), not with "No function named"."""


def title(category: str) -> str:
    for name, text in CATEGORIES:
        if name == category:
            return text
    return category.capitalize()


def _order(category: str) -> tuple[int, str]:
    names = [name for name, _ in CATEGORIES]
    return (names.index(category) if category in names else len(names), category)


def _anchor(text: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^a-z0-9 -]", "", text.lower()).replace(" ", "-")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _code(text: str) -> str:
    return _cell(f"`{text}`")


def _row(fn: FunctionDef) -> str:
    names = ", ".join(_code(name) for name in fn.names)
    signatures = "<br>".join(_code(s.text()) for s in fn.signatures)
    infix = _code(fn.infix) if fn.infix else ""
    return f"| {names} | {signatures} | {infix} | {_cell(fn.doc)} |"


def render_markdown() -> str:
    functions = unique_functions()
    categories = sorted({fn.category for fn in functions}, key=_order)
    lines = ["# LINQ functions", "", INTRO, ""]
    links = " · ".join(f"[{title(c)}](#{_anchor(title(c))})" for c in categories)
    refused = "[Refused functions](#refused-functions)"
    lines.append(f"{len(functions)} functions: {links} · {refused}.")
    for category in categories:
        lines += ["", f"## {title(category)}", ""]
        lines += ["| Function | Signatures | Infix | Description |", "|---|---|---|---|"]
        lines += [_row(fn) for fn in functions if fn.category == category]
    lines += ["", "## Refused functions", "", REFUSED_INTRO, ""]
    lines += ["| What is missing | Functions | Why |", "|---|---|---|"]
    for refusal in REFUSALS:
        names = ", ".join(_code(name) for name in refusal.names)
        lines.append(f"| {_cell(refusal.needs)} | {names} | {_cell(refusal.why)} |")
    return "\n".join(lines) + "\n"
