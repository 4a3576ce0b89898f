"""The audit tables exist before any activity, on every store: queries answer no rows, the
Query API describes them, and alert definitions may name them."""

from __future__ import annotations

from pathlib import Path

import pytest

from linqd.clock import SimulatedClock
from linqd.datadir import open_data_dir
from linqd.query.dates import TimeRange
from linqd.query.run import run_query

from .conftest import ACTIVITY, CONNECTION, COUNTER, NOW, Env

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("table", [CONNECTION, COUNTER])
def test_the_new_tables_answer_before_any_activity(
    tmp_path: Path, store_spec: str, table: str
) -> None:
    data = open_data_dir(tmp_path, SimulatedClock(NOW), store=store_spec)
    try:
        result = run_query(
            data.store,
            f"from {table} select *",
            time_range=TimeRange(NOW - 86_400_000, NOW),
            client="self",
            now_ms=NOW,
        )
        schema = data.store.schema(table)
        assert schema is not None and schema.builtin
        assert result.to_table().num_rows == 0
        assert [c.name for c in result.columns] == ["eventdate", *schema.column_names]
    finally:
        data.close()


async def test_the_query_api_describes_them(env: Env) -> None:
    bearer = {"Authorization": f"Bearer {env.other.token}"}
    described = await env.client.get(f"/search/table/{COUNTER}", headers=bearer)
    assert described.status_code == 200
    names = [column["fieldName"] for column in described.json()["object"]]
    assert names == ["eventdate", "collector", "engine", "kind", "object", "events", "bytes"]


@pytest.mark.parametrize(
    "linq",
    [
        f'from {CONNECTION} where action = "failed" select srcHost, username, reason',
        f"from {COUNTER} group every 1m by object select sum(events) as events",
        f'from {ACTIVITY} where level = "ERROR" select url, errorInfo',
    ],
)
async def test_an_alert_definition_can_name_them(env: Env, linq: str) -> None:
    definition = {
        "name": f"on {linq.split()[1]}",
        "message": "m",
        "description": "d",
        "subcategory": "audit",
        "alertCorrelationContext": {
            "querySourceCode": linq,
            "priority": 5,
            "correlationTrigger": {"kind": "each"},
        },
    }
    headers = {"standAloneToken": env.creds.stand_alone_token}
    created = await env.client.post("/alerts/v1/alertDefinitions", json=definition, headers=headers)
    assert created.status_code == 200, created.text
