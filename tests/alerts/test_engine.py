"""The engine beyond single scenarios: definitions changing under it, restarts at any point
(nothing missed, nothing twice), the alert table, bounded memory, and failures kept visible."""

from __future__ import annotations

from typing import Any

import pytest

import anystore
from linqd.alerts import engine as engine_module
from linqd.alerts.engine import ALERT_TABLE
from linqd.alerts.kinds.base import MAX_KEYS
from linqd.alerts.model import AlertDefinition, AlertStatus, TriggeredAlert
from linqd.alerts.validate import read_update
from linqd.linq import Bounds, compile_linq
from linqd.store.duckdb import DuckDBStore

from .conftest import STORE_AND_META, T0, TABLE, Scenario, Seen, meta_target_of

S = 1_000
M = 60 * S


def table_rows(sc: Scenario) -> list[tuple[Any, ...]]:
    return anystore.rows(
        sc.data.store,
        f'SELECT alertId, context, digest, extraData FROM "{ALERT_TABLE}" ORDER BY _seq',
    )


def test_each_firing_is_a_row_of_the_alert_table_and_an_api_alert(scenario: Scenario) -> None:
    sc = scenario
    sc.define("errors", f'from {TABLE} where message -> "error"', {"kind": "each"})
    sc.store(TABLE, [{"hostname": "h", "message": "error"}], at=S)
    sc.run_until(2 * S)
    (alert,) = sc.alerts()
    rows = table_rows(sc)
    assert rows == [
        (
            str(alert.id),
            "my.alert.self.errors",
            alert.digest,
            '{"eventdate": "2027-01-15 08:00:01.000", "hostname": "h", "message": "error"}',
        )
    ]
    assert len(alert.digest) == 40 and alert.status is AlertStatus.UNREAD
    # the table is queryable with LINQ like any other
    linq = f"from {ALERT_TABLE} where priority > 4.0 select context, extraData"
    store = sc.data.store
    compiled = compile_linq(
        linq, store.schema, now_ms=T0, bounds=Bounds(client="self"), engine=store.engine
    )
    found = store.fetch(compiled.expression)
    assert [row[-2:] for row in found] == [(rows[0][1], rows[0][3])]


def scripted_run(sc: Scenario, crash_at: list[int]) -> list[Seen]:
    sc.define("errors", f'from {TABLE} where message -> "error"', {"kind": "each"})
    sc.define(
        "busy",
        f"from {TABLE}",
        {"kind": "several", "period": M, "threshold": 1, "keys": ["hostname"]},
    )
    sc.define("quiet", f"from {TABLE}", {"kind": "low", "period": M, "threshold": 0})
    sc.define(
        "silent", f"from {TABLE}", {"kind": "inactivity", "period": 5 * M, "keys": ["hostname"]}
    )
    for minute in range(12):
        if minute % 3 != 2:
            host = f"h{minute % 4}"
            sc.store(
                TABLE, [{"hostname": host, "message": f"error {minute}"}] * 2, at=minute * M + 5 * S
            )
        sc.run_until(minute * M + 30 * S, every=10 * S)
        if minute in crash_at:
            sc.restart()
        sc.run_until((minute + 1) * M, every=10 * S)
    sc.run_until(16 * M, every=10 * S)
    return sc.seen()


@pytest.mark.parametrize(
    ("crash_at", "meta_backend"),
    [
        ([3], "sqlite"),
        ([0, 5, 6], "sqlite"),
        (list(range(12)), "sqlite"),
        ([0, 5, 6], "postgresql"),
    ],
)
def test_a_restart_neither_misses_nor_repeats_a_firing(
    tmp_path: Any, crash_at: list[int], meta_backend: str, request: pytest.FixtureRequest
) -> None:
    calm = Scenario(tmp_path / "calm", meta_target=meta_target_of(meta_backend, request))
    crashing = Scenario(tmp_path / "crashing", meta_target=meta_target_of(meta_backend, request))
    try:
        expected = scripted_run(calm, [])
        assert len(expected) > 20
        assert scripted_run(crashing, crash_at) == expected
        assert len(table_rows(crashing)) == len(expected)
    finally:
        calm.close()
        crashing.close()


def fired_but_not_followed(sc: Scenario, error: Exception) -> None:
    """One firing stored whose follow-ups failed with ``error`` (its table row first)."""
    sc.define("errors", f'from {TABLE} where message -> "error"', {"kind": "each"})
    sc.store(TABLE, [{"hostname": "h", "message": "error"}], at=S)

    def fail(alerts: Any) -> None:
        raise error

    sc.engine._write_rows = fail  # type: ignore[method-assign]
    with pytest.raises(type(error)):
        sc.run_until(2 * S)
    assert len(sc.alerts()) == 1 and table_rows(sc) == []


@STORE_AND_META
def test_a_crash_between_storing_and_the_table_row_is_finished_at_restart(
    scenario: Scenario,
) -> None:
    sc = scenario
    fired_but_not_followed(sc, RuntimeError("killed"))
    sc.restart()  # recover() writes the missing row
    sc.run_until(5 * S)
    assert len(table_rows(sc)) == 1 and len(sc.alerts()) == 1
    sc.restart()  # and never twice
    assert len(table_rows(sc)) == 1


@STORE_AND_META
def test_a_failed_follow_up_is_finished_by_the_next_pass(scenario: Scenario) -> None:
    # Without it, the next batch's follow-ups would move the definition past the failed one
    # and not even a restart would write its row.
    sc = scenario
    fired_but_not_followed(sc, OSError("no space left on device"))
    del sc.engine._write_rows
    sc.store(TABLE, [{"hostname": "h", "message": "error again"}], at=3 * S)
    sc.run_until(4 * S)
    assert len(table_rows(sc)) == 2 and len(sc.alerts()) == 2
    sc.restart()
    sc.run_until(5 * S)
    assert len(table_rows(sc)) == 2


@STORE_AND_META
def test_a_nul_in_an_event_does_not_keep_its_firing_from_being_stored(
    scenario: Scenario,
) -> None:
    # PostgreSQL's text cannot hold NUL: the message carries U+FFFD instead, on every backend.
    sc = scenario
    sc.define("errors", f'from {TABLE} where message -> "error"', {"kind": "each"}, "$message")
    sc.store(TABLE, [{"hostname": "h", "message": "error\x00here"}], at=S)
    sc.run_until(2 * S)
    (alert,) = sc.alerts()
    assert alert.message == "error\ufffdhere"
    assert alert.extra_data["message"] == "error\x00here"


class Recorder:
    def __init__(self) -> None:
        self.submitted: list[tuple[int, str]] = []

    def submit(self, alert: TriggeredAlert, definition: AlertDefinition) -> AlertStatus:
        self.submitted.append((alert.id, definition.id))
        return AlertStatus.UNREAD


@STORE_AND_META
def test_every_firing_is_handed_to_delivery_once(scenario: Scenario) -> None:
    sc = scenario
    recorder = Recorder()
    sc.engine.dispatcher = recorder
    definition = sc.define("errors", f'from {TABLE} where message -> "error"', {"kind": "each"})
    sc.store(TABLE, [{"hostname": "h", "message": "error"}] * 3, at=S)
    sc.run_until(3 * S)
    assert [d for _, d in recorder.submitted] == [definition.id] * 3
    sc.restart()
    sc.engine.dispatcher = recorder
    sc.run_until(6 * S)
    assert len(recorder.submitted) == 3


@STORE_AND_META
def test_disabling_updating_and_deleting_take_effect_at_once(scenario: Scenario) -> None:
    sc = scenario
    errors = sc.define("errors", f'from {TABLE} where message -> "error"', {"kind": "each"})
    sc.store(TABLE, [{"hostname": "h", "message": "error a"}], at=S)
    sc.run_until(2 * S)
    sc.definitions.set_active("self", [errors.id], False)
    sc.store(TABLE, [{"hostname": "h", "message": "error b"}], at=3 * S)
    sc.run_until(4 * S)
    assert [a.extra_data["message"] for a in sc.alerts()] == ["error a"]
    sc.definitions.set_active("self", [errors.id], True)  # from now on, not what was missed
    sc.store(TABLE, [{"hostname": "h", "message": "error c"}], at=5 * S)
    sc.run_until(6 * S)
    assert [a.extra_data["message"] for a in sc.alerts()] == ["error a", "error c"]
    changed = read_update(
        {
            "id": errors.id,
            "name": "errors",
            "subcategory": "tests",
            "alertCorrelationContext": {
                "querySourceCode": f'from {TABLE} where message -> "fatal"'
            },
        },
        sc.definitions.get("self", errors.id).spec,
        "self",
    )
    sc.definitions.update("self", errors.id, changed)
    sc.store(
        TABLE,
        [{"hostname": "h", "message": "error d"}, {"hostname": "h", "message": "fatal e"}],
        at=7 * S,
    )
    sc.run_until(8 * S)
    assert [a.extra_data["message"] for a in sc.alerts()][-1] == "fatal e"
    sc.definitions.delete("self", [errors.id])
    sc.store(TABLE, [{"hostname": "h", "message": "fatal f"}], at=9 * S)
    sc.run_until(10 * S)
    assert len(sc.alerts()) == 3
    assert sc.engine.status("self") == []


# A table dropped behind the store's back: DuckDB's own SQL does it.
@pytest.mark.parametrize("store_spec", ["duckdb"])
def test_the_status_shows_progress_errors_and_caps(scenario: Scenario) -> None:
    sc = scenario
    assert isinstance(sc.data.store, DuckDBStore)
    sc.store("my.app.gone", [{"hostname": "h", "message": "x"}], at=0)
    gone = sc.define("gone", "from my.app.gone", {"kind": "low", "period": M, "threshold": 0})
    sc.define(
        "hosts", f"from {TABLE}", {"kind": "inactivity", "period": 5 * M, "keys": ["message"]}
    )
    sc.data.store.reader().execute('DROP TABLE "my.app.gone"')
    count = MAX_KEYS + 5
    sc.store(TABLE, [{"hostname": "h", "message": str(i)} for i in range(count)], at=S)
    sc.run_until(5 * M + 2 * S, every=30 * S)
    status = {s["name"]: s for s in sc.engine.status("self")}
    assert status["hosts"]["cappedKeys"] == 5
    assert status["hosts"]["nextPeriodEnd"] == T0 + 10 * M
    assert status["gone"]["error"] and "my.app.gone" in status["gone"]["error"]
    assert status["gone"]["id"] == gone.id and status["gone"]["firings"] == 0


def test_rules_on_one_table_are_evaluated_together_and_apart(scenario: Scenario) -> None:
    sc = scenario
    for word in ("disk", "cpu", "memory"):
        sc.define(word, f'from {TABLE} where message -> "{word}"', {"kind": "each"})
    sc.store(TABLE, [{"hostname": "h", "message": m} for m in ("disk full", "cpu hot", "ok")], at=S)
    sc.run_until(2 * S)
    assert sorted((s.name, s.fields["message"]) for s in sc.seen()) == [
        ("cpu", "cpu hot"),
        ("disk", "disk full"),
    ]
    # a rule created later starts from its own position: the others are not evaluated twice
    sc.define("full", f'from {TABLE} where message -> "full"', {"kind": "each"})
    sc.store(TABLE, [{"hostname": "h", "message": "memory full"}], at=3 * S)
    sc.run_until(4 * S)
    assert sorted((s.name, s.fields["message"]) for s in sc.seen()) == [
        ("cpu", "cpu hot"),
        ("disk", "disk full"),
        ("full", "memory full"),
        ("memory", "memory full"),
    ]


def test_a_shared_scan_is_built_once_and_again_after_a_change(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Building a shared scan's SQL costs more than scanning a small window: once per set of
    rules and versions, not once per pass."""
    built: list[int] = []
    original = engine_module.shared_scan_select

    def counting(programs: list[Any], domain: str) -> str:
        built.append(len(programs))
        return original(programs, domain)

    monkeypatch.setattr(engine_module, "shared_scan_select", counting)
    sc = scenario
    for word in ("disk", "cpu"):
        sc.define(word, f'from {TABLE} where message -> "{word}"', {"kind": "each"})
    for second in range(1, 4):
        sc.store(TABLE, [{"hostname": "h", "message": f"disk {second}"}], at=second * S)
        sc.run_until((second + 1) * S)
    assert built == [2]
    sc.define("memory", f'from {TABLE} where message -> "memory"', {"kind": "each"})
    sc.store(TABLE, [{"hostname": "h", "message": "memory low"}], at=5 * S)
    sc.run_until(6 * S)
    assert built == [2, 3]
    assert len([s for s in sc.seen() if s.name == "disk"]) == 3


def test_shared_scans_keep_domains_and_projections_apart(scenario: Scenario) -> None:
    sc = scenario
    for name in ("disk", "cpu"):
        sc.define(name, f'from {TABLE} where message -> "{name}"', {"kind": "each"})
    sc.define(
        "cpu hosts",
        f'from {TABLE} where message -> "cpu" select hostname',
        {"kind": "each"},
        select_all=False,
    )
    theirs = sc.definitions.create(
        "other", sc.definitions.get("self", "1").spec, "them@example.com"
    )
    rows = [{"hostname": "a", "message": "disk full"}, {"hostname": "b", "message": "cpu hot"}]
    sc.store(TABLE, rows, at=S)
    sc.data.store.append(
        TABLE,
        {"hostname": ["c"], "message": ["disk gone"]},
        client="other",
        eventdates=[T0 + S],
    )
    sc.run_until(2 * S)
    assert sorted((s.name, tuple(sorted(s.fields.items()))) for s in sc.seen()) == [
        ("cpu", (("hostname", "b"), ("message", "cpu hot"))),
        ("cpu hosts", (("hostname", "b"),)),
        ("disk", (("hostname", "a"), ("message", "disk full"))),
    ]
    other = sc.triggered.list(
        "other",
        from_ms=0,
        to_ms=2**62,
        limit=10,
        offset=0,
        order_by="id",
        ascending=True,
        show_all=True,
    )
    assert [(a.definition_id, a.extra_data["message"]) for a in other] == [(theirs.id, "disk gone")]


def test_an_each_alert_defined_before_the_first_event_fires_on_it(scenario: Scenario) -> None:
    sc = scenario
    fresh = "my.app.fresh"  # no event yet: the engine prepares its query over a stand-in
    sc.define("errors", f'from {fresh} where message -> "error"', {"kind": "each"})
    assert sc.run_until(S) == 0
    assert sc.data.store.schema(fresh) is None
    rows = [{"hostname": "h", "message": "error one"}, {"hostname": "h", "message": "fine"}]
    sc.store(fresh, rows, at=2 * S)
    assert sc.run_until(3 * S) == 1
    assert [(s.at, s.fields["message"]) for s in sc.seen()] == [(2 * S, "error one")]
