"""``compile_linq(select_all=True)`` (an alert's ``withSelectAll``): a query that does not group
shows every column of its table beside the ones it creates, wherever its own ``select``,
``limit`` or subqueries are; a query that groups is compiled as written."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from linqd.linq import compile_linq
from linqd.store.catalog import TableSchema

Lookup = Callable[[str], TableSchema | None]
TABLE = "my.app.web.logs"  # eventdate, hostname, message


def columns(text: str, schemas: Lookup, *, select_all: bool) -> list[str]:
    compiled = compile_linq(text, schemas, now_ms=0, select_all=select_all)
    return [column.name for column in compiled.columns]


ALL = ["eventdate", "hostname", "message"]


@pytest.mark.parametrize(
    ("query", "selected", "with_select_all"),
    [
        ("select hostname", ["hostname"], ALL),
        ("select upper(hostname) as host", ["host"], [*ALL, "host"]),
        ('where message -> "x" select message limit 5', ["message"], ALL),
        (f"where hostname in (from {TABLE} select hostname) select message", ["message"], ALL),
        ("", ALL, ALL),
        ("select *", ALL, ALL),
        (
            "group every 1m by hostname select count() as n",
            ["eventdate", "hostname", "n"],
            ["eventdate", "hostname", "n"],
        ),
        ("select message group by hostname", ["hostname"], ["hostname"]),
    ],
)
def test_select_all_adds_the_tables_columns_to_an_ungrouped_query(
    schemas: Lookup, query: str, selected: list[str], with_select_all: list[str]
) -> None:
    text = f"from {TABLE} {query}"
    assert columns(text, schemas, select_all=False) == selected
    assert columns(text, schemas, select_all=True) == with_select_all
