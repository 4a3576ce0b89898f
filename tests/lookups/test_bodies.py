"""Request bodies read into recipes: durations, dates, types, keys, and what is refused."""

from __future__ import annotations

import pytest

from linqd.errors import ValidationError
from linqd.lookups.bodies import advanced_recipe, csv_recipe, duration, query_recipe, start_date
from linqd.lookups.limits import DEFAULT_LIMITS
from linqd.lookups.recipe import LookupKind
from linqd.lookups.schedule import run_at

Q = "from siem.logtrust.web.navigation select userid"


def test_durations_and_dates() -> None:
    assert duration("5m", field="f") == 300_000
    assert duration("1h30m", field="f") == 5_400_000
    assert duration("1d", field="f") == 86_400_000
    for bad in ("5", "5 minutes", "0m", "", True):
        with pytest.raises(ValidationError):
            duration(bad, field="f")
    assert start_date("2025-05-12T00:00:00.00Z") == 1_747_008_000_000
    assert start_date("2025-05-12T02:00:00+02:00") == 1_747_008_000_000
    assert start_date(1_747_008_000_000) == start_date("1747008000000") == 1_747_008_000_000


def test_csv_config_types_and_keys() -> None:
    recipe = csv_recipe(
        {
            "columns": [{"name": "K", "type": "int"}, {"name": "V", "type": "String"}],
            "key": {"type": "first-column"},
            "skipPreface": 2,
        },
        DEFAULT_LIMITS,
    )
    assert [c.type.name for c in recipe.columns] == ["int8", "str"]
    assert recipe.key_column is None and recipe.csv is not None and recipe.csv.skip_preface == 2
    refused = [
        ({"columns": [{"name": "K", "type": "MAC"}]}, "MAC"),
        ({"columns": [{"name": "K", "type": "str"}], "key": {"type": "seq"}}, "seq"),
        ({"columns": [{"name": "K", "type": "str"}, {"name": "k", "type": "str"}]}, "twice"),
        ({"columns": [{"name": "eventdate", "type": "str"}]}, "reserved"),
        ({"columns": [{"name": "K", "type": "str"}], "contribution": {"type": "del"}}, "append"),
    ]
    for body, word in refused:
        with pytest.raises(ValidationError, match=word):
            csv_recipe(body, DEFAULT_LIMITS)


def test_query_bodies_and_schedules() -> None:
    periodic = query_recipe(
        {
            "query": Q,
            "key": {"type": "first-column"},
            "refreshPeriod": "10m",
            "startDate": 1_000_000,
        },
        LookupKind.PERIODIC,
        DEFAULT_LIMITS,
    )
    assert periodic.append and periodic.refresh_ms == 600_000
    # Missed slots collapse into the latest one; its range starts at the previous slot.
    run = run_at(periodic, 0, 1_000_000 + 35 * 60_000, 1_000_000 + 10 * 60_000)
    assert (run.slot_ms, run.from_ms, run.to_ms) == (
        1_000_000 + 30 * 60_000,
        1_000_000 + 10 * 60_000,
        1_000_000 + 30 * 60_000,
    )
    with pytest.raises(ValidationError, match="keepHistory"):
        query_recipe(
            {"query": Q, "key": {"type": "first-column"}, "keepHistory": True},
            LookupKind.STATIC,
            DEFAULT_LIMITS,
        )
    with pytest.raises(ValidationError, match="windowSize"):
        query_recipe(
            {"query": Q, "key": {"type": "first-column"}}, LookupKind.SLIDING, DEFAULT_LIMITS
        )
    with pytest.raises(ValidationError, match="refreshMillis"):
        advanced_recipe(
            {"recipe": {"recipeType": "periodic", "source": {"query": Q}}},
            "self",
            "x",
            DEFAULT_LIMITS,
        )
    with pytest.raises(ValidationError, match=r"id\.creator"):
        advanced_recipe(
            {"id": {"creator": "other", "name": "x"}, "recipe": {"source": {"query": Q}}},
            "self",
            "x",
            DEFAULT_LIMITS,
        )
