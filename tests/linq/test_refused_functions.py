"""Functions of Devo's catalogue that need what linqd does not have (proprietary feeds, captured
packets) are refused by the analyzer with what is missing, never as unknown names; the function
reference lists them. No SQL is built, so no engine runs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from linqd.errors import LinqError, LinqNameError, UnavailableFunctionError
from linqd.linq import Bounds, compile_linq
from linqd.linq.compile import COMPILERS
from linqd.linq.functions import CATALOGUE
from linqd.linq.functions.docs import render_markdown
from linqd.linq.functions.refused import REFUSALS, REFUSED
from linqd.store.catalog import TableSchema

Lookup = Callable[[str], TableSchema | None]
NOW = 1_700_000_000_000
E = "from demo.ecommerce.data"


def refusal_of(text: str, schemas: Lookup, engine: str) -> LinqError:
    with pytest.raises(LinqError) as info:
        compile_linq(text, schemas, now_ms=NOW, bounds=Bounds(0, NOW, "self"), engine=engine)
    return info.value


@pytest.mark.parametrize("engine", tuple(COMPILERS))
@pytest.mark.parametrize(
    ("call", "needs"),
    [
        ("reputation(clientIpAddress)", "Devo's reputation feed"),
        ("reputationscore(clientIpAddress)", "Devo's reputation feed"),
        ("purpose(clientIpAddress)", "Devo's IP purpose feed"),
        ("sbl(clientIpAddress)", "Devo's SBL feed"),
        ("hasip4()", "captured network packets"),
        ("ip4src()", "captured network packets"),
        ("tcpdst()", "captured network packets"),
        ('hlut("assets", "owner", clientIpAddress)', "the history of its lookups"),
        ('hlurjson("assets", clientIpAddress, eventdate)', "the history of its lookups"),
        ("mkboxar(1, 2)", "Devo's definition of a boxed array"),
        ("ustcount(uri)", "a definition from Devo"),
        ("mm2timestamp(clientIpAddress)", "a definition from Devo"),
    ],
)
def test_a_refused_function_says_what_is_missing(
    call: str, needs: str, schemas: Lookup, engine: str
) -> None:
    text = f"{E}\nselect {call} as x"
    error = refusal_of(text, schemas, engine)
    assert isinstance(error, UnavailableFunctionError)
    assert isinstance(error, LinqNameError)  # a name problem: Devo's error code for names
    name = call.partition("(")[0]
    assert error.message == (
        f"`{name}' needs {needs}, which this server does not have at line 2, column 8"
    )
    assert "No function named" not in error.render()
    # The caret is under the call.
    _, line, caret = error.render().split("\n")
    assert line[caret.index("^") : len(caret)] == call


def test_a_refused_function_is_refused_before_its_arguments_are_typed(schemas: Lookup) -> None:
    # The reason is the answer even when the arguments are wrong too.
    error = refusal_of(f'{E} where reputation("x", 1, true) = "bad"', schemas, "duckdb")
    assert isinstance(error, UnavailableFunctionError)


def test_an_unknown_function_is_still_unknown(schemas: Lookup) -> None:
    error = refusal_of(f"{E} select ip10(clientIpAddress) as x", schemas, "duckdb")
    assert not isinstance(error, UnavailableFunctionError)
    assert error.message.startswith("No function named `ip10'")


def test_no_name_is_both_defined_and_refused() -> None:
    assert not set(REFUSED) & set(CATALOGUE)
    assert {"reputation", "reputationscore", "purpose", "sbl", "hasip4", "tcpdst"} <= set(REFUSED)


def test_the_reference_lists_every_refused_function_with_its_reason() -> None:
    text = render_markdown()
    section = text.split("## Refused functions", 1)[1]
    for refusal in REFUSALS:
        row = next(line for line in section.splitlines() if line.startswith(f"| {refusal.needs}"))
        for name in refusal.names:
            assert f"`{name}`" in row
        assert refusal.why in row
