"""Golden scenarios for each trigger kind, run by the engine on a simulated clock: events stored
at chosen times, the clock advanced tick by tick, and the stored firings compared with the
hand-worked expectations (DESIGN.md's semantics). Every scenario is also backtested over the
same range, which must give the same firings."""

from __future__ import annotations

from .conftest import TABLE, Scenario, Seen

S = 1_000
M = 60 * S
ACTIVITY = "siem.logtrust.web.activity"
NAVIGATION = "siem.logtrust.web.navigation"


def same_as_backtest(sc: Scenario, end: int) -> None:
    for definition in sc.definitions.every():
        live = [s for s in sc.seen() if s.name == definition.name]
        assert sc.backtest(definition, 0, end - sc.lateness_ms) == live, definition.name


def test_each_fires_per_stored_event(scenario: Scenario) -> None:
    sc = scenario
    sc.define(
        "errors",
        f'from {TABLE} where message -> "error"',
        {"kind": "each"},
        message="$hostname: $message $unknown",
    )
    sc.store(
        TABLE,
        [{"hostname": "h1", "message": "ok"}, {"hostname": "h1", "message": "error 1"}],
        at=1 * S,
    )
    assert sc.run_until(2 * S) == 1  # as soon as it is stored: no period to wait for
    sc.store(TABLE, [{"hostname": "h2", "message": "error 2"}], at=5 * S)
    sc.run_until(10 * S)
    assert sc.seen() == [
        Seen("errors", 1 * S, {"hostname": "h1", "message": "error 1"}),
        Seen("errors", 5 * S, {"hostname": "h2", "message": "error 2"}),
    ]
    assert [a.message for a in sc.alerts()] == ["h1: error 1 $unknown", "h2: error 2 $unknown"]
    same_as_backtest(sc, 10 * S)


def test_each_over_grouped_buckets_fires_when_the_bucket_closes(scenario: Scenario) -> None:
    sc = scenario
    sc.define(
        "per user",
        f"from {ACTIVITY} group every 1m by username select count() as count",
        {"kind": "each"},
    )
    sc.store(ACTIVITY, [{"username": "a"}] * 3, at=10 * S)
    sc.store(ACTIVITY, [{"username": "b"}], at=20 * S)
    sc.store(ACTIVITY, [{"username": "a"}], at=70 * S)
    assert sc.run_until(61 * S) == 0  # the bucket is closed 2 s (lateness) after its end
    assert sc.run_until(62 * S) == 2
    sc.run_until(3 * M)
    assert sc.seen() == [
        Seen("per user", 0, {"username": "a", "count": 3}),
        Seen("per user", 0, {"username": "b", "count": 1}),
        Seen("per user", 1 * M, {"username": "a", "count": 1}),
    ]
    same_as_backtest(sc, 3 * M)


def test_each_with_a_subquery_uses_the_internal_window(scenario: Scenario) -> None:
    sc = scenario
    sc.store(NAVIGATION, [{"userEmail": "ann", "action": "login"}], at=-30 * M)
    sc.define(
        "after login",
        f'from {ACTIVITY} where username in (from {NAVIGATION} where action = "login" '
        "select userEmail) select username",
        {"kind": "each", "externalOffset": 0, "internalPeriod": 3_600_000, "internalOffset": 0},
        select_all=False,
    )
    sc.store(ACTIVITY, [{"username": "ann"}], at=10 * S)
    sc.store(ACTIVITY, [{"username": "bob"}], at=20 * S)
    sc.store(NAVIGATION, [{"userEmail": "bob", "action": "login"}], at=2 * M)
    sc.store(ACTIVITY, [{"username": "bob"}], at=3 * M + 10 * S)
    sc.store(NAVIGATION, [{"userEmail": "cy", "action": "login"}], at=-2 * 3_600_000)
    sc.store(ACTIVITY, [{"username": "cy"}], at=3 * M + 20 * S)  # logged in 2 h before
    sc.run_until(5 * M)
    assert sc.seen() == [
        Seen("after login", 10 * S, {"username": "ann"}),
        Seen("after login", 3 * M + 10 * S, {"username": "bob"}),
    ]
    same_as_backtest(sc, 5 * M)


def test_several_counts_per_key_and_fires_above_the_threshold(scenario: Scenario) -> None:
    sc = scenario
    sc.define(
        "busy host",
        f"from {TABLE}",
        {"kind": "several", "period": M, "threshold": 2, "keys": ["hostname"]},
        message="$count events from $hostname",
    )
    sc.define("busy", f"from {TABLE}", {"kind": "several", "period": M, "threshold": 2})
    sc.store(TABLE, [{"hostname": "a", "message": "x"}] * 3, at=5 * S)
    sc.store(TABLE, [{"hostname": "b", "message": "x"}] * 2, at=50 * S)
    sc.store(TABLE, [{"hostname": "b", "message": "x"}], at=70 * S)
    sc.run_until(3 * M)
    assert sc.seen() == [
        Seen("busy host", 0, {"hostname": "a", "count": 3}),
        Seen("busy", 0, {"count": 5}),
    ]
    assert sc.alerts()[0].message == "3 events from a"
    same_as_backtest(sc, 3 * M)


def test_low_fires_for_periods_without_events(scenario: Scenario) -> None:
    sc = scenario
    sc.define("heartbeat", f"from {TABLE}", {"kind": "low", "period": M, "threshold": 1})
    sc.store(TABLE, [{"hostname": "a", "message": "beat"}] * 2, at=10 * S)
    sc.store(TABLE, [{"hostname": "a", "message": "beat"}], at=70 * S)
    sc.run_until(3 * M + 2 * S)
    assert sc.seen() == [
        Seen("heartbeat", 1 * M, {"count": 1}),
        Seen("heartbeat", 2 * M, {"count": 0}),  # nothing arrived: the clock closed it
    ]
    same_as_backtest(sc, 3 * M + 2 * S)


def test_inactivity_fires_once_per_silence_and_rearms(scenario: Scenario) -> None:
    sc = scenario
    five = 5 * M
    sc.define(
        "silent host",
        f"from {TABLE}",
        {"kind": "inactivity", "period": five, "keys": ["hostname"]},
        message="$hostname silent since $lastSeen",
    )
    sc.store(
        TABLE,
        [{"hostname": "a", "message": "x"}, {"hostname": "b", "message": "x"}],
        at=[10 * S, 40 * S],
    )
    sc.store(TABLE, [{"hostname": "a", "message": "x"}], at=five + 10 * S)
    # period 2 (10-15 min): nothing; period 3: b is back; period 4: nothing again
    sc.store(TABLE, [{"hostname": "b", "message": "x"}], at=3 * five + 30 * S)
    sc.run_until(5 * five + 2 * S)
    t0 = 1_800_000_000_000
    assert sc.seen() == [
        Seen("silent host", five, {"hostname": "b", "lastSeen": t0 + 40 * S}),
        Seen("silent host", 2 * five, {"hostname": "a", "lastSeen": t0 + five + 10 * S}),
        Seen("silent host", 4 * five, {"hostname": "b", "lastSeen": t0 + 3 * five + 30 * S}),
    ]
    same_as_backtest(sc, 5 * five + 2 * S)


def test_rolling_runs_over_the_back_period_every_period(scenario: Scenario) -> None:
    sc = scenario
    sc.define(
        "recent hosts",
        f"from {TABLE} group by hostname select count() as count",
        {"kind": "rolling", "period": M, "backPeriod": 2 * M},
    )
    sc.store(TABLE, [{"hostname": "a", "message": "x"}], at=10 * S)
    sc.store(TABLE, [{"hostname": "b", "message": "x"}], at=70 * S)
    sc.run_until(3 * M + 2 * S)
    assert sc.seen() == [
        Seen("recent hosts", 1 * M, {"hostname": "a", "count": 1}),
        Seen("recent hosts", 2 * M, {"hostname": "a", "count": 1}),
        Seen("recent hosts", 2 * M, {"hostname": "b", "count": 1}),
        Seen("recent hosts", 3 * M, {"hostname": "b", "count": 1}),
    ]
    same_as_backtest(sc, 3 * M + 2 * S)


def test_deviation_from_the_median_of_an_even_number_of_keys(scenario: Scenario) -> None:
    sc = scenario
    query = f"from {ACTIVITY} group every 1m by username select count() as count"
    trigger = {"kind": "deviation", "aggregationColumn": ["count"]}
    sc.define("relative", query, {**trigger, "threshold": 50, "absolute": False})
    sc.define("absolute", query, {**trigger, "threshold": 5, "absolute": True})
    for user, count in (("a", 1), ("b", 2), ("c", 3), ("d", 10)):
        sc.store(ACTIVITY, [{"username": user}] * count, at=10 * S)
    sc.run_until(1 * M + 2 * S)
    # median of 1, 2, 3, 10 is 2.5; 50 % of it is 1.25
    assert sc.seen() == [
        Seen("relative", 0, {"username": "a", "count": 1, "median": 2.5}),
        Seen("relative", 0, {"username": "d", "count": 10, "median": 2.5}),
        Seen("absolute", 0, {"username": "d", "count": 10, "median": 2.5}),
    ]
    same_as_backtest(sc, 1 * M + 2 * S)


def test_gradient_compares_with_the_last_bucket_that_had_data(scenario: Scenario) -> None:
    sc = scenario
    sc.define(
        "jump",
        f"from {ACTIVITY} group every 1m by username select count() as count",
        {"kind": "gradient", "threshold": 100, "absolute": False, "aggregationColumn": ["count"]},
    )
    sc.store(ACTIVITY, [{"username": "a"}] * 2 + [{"username": "b"}] * 4, at=10 * S)
    # minute 1: nothing for anyone; minute 2: a jumps (2 → 5), b moves a little, c is new
    sc.store(ACTIVITY, [{"username": "a"}] * 5 + [{"username": "b"}] * 5, at=2 * M + 5 * S)
    sc.store(ACTIVITY, [{"username": "c"}] * 50, at=2 * M + 5 * S)
    sc.run_until(3 * M + 2 * S)
    assert sc.seen() == [Seen("jump", 2 * M, {"username": "a", "count": 5, "previous": 2.0})]
    same_as_backtest(sc, 3 * M + 2 * S)


def test_an_external_offset_shifts_the_main_range_back(scenario: Scenario) -> None:
    sc = scenario
    sc.store(NAVIGATION, [{"userEmail": "ann", "action": "login"}], at=-5 * M)
    sc.define(
        "late look",
        f'from {ACTIVITY} where username in (from {NAVIGATION} where action = "login" '
        "select userEmail) select username",
        {"kind": "each", "externalOffset": 2 * M, "internalPeriod": 3_600_000, "internalOffset": 0},
        select_all=False,
    )
    sc.store(ACTIVITY, [{"username": "ann"}], at=10 * S)
    # the minute [0, 1m) is read when the 3rd minute closes: two minutes late, as asked
    assert sc.run_until(3 * M + 1 * S) == 0
    assert sc.run_until(3 * M + 2 * S) == 1
    assert sc.seen() == [Seen("late look", 10 * S, {"username": "ann"})]


def test_several_with_a_subquery(scenario: Scenario) -> None:
    sc = scenario
    sc.store(NAVIGATION, [{"userEmail": "ann", "action": "login"}], at=-30 * M)
    sc.define(
        "busy known users",
        f'from {ACTIVITY} where username in (from {NAVIGATION} where action = "login" '
        "select userEmail)",
        {
            "kind": "several",
            "period": M,
            "threshold": 1,
            "keys": ["username"],
            "externalOffset": 0,
            "internalPeriod": 3_600_000,
            "internalOffset": 0,
        },
    )
    sc.store(ACTIVITY, [{"username": "ann"}] * 2 + [{"username": "bob"}] * 5, at=10 * S)
    sc.run_until(M + 2 * S)
    assert sc.seen() == [Seen("busy known users", 0, {"username": "ann", "count": 2})]
    same_as_backtest(sc, M + 2 * S)


def test_now_in_an_each_rule_is_the_evaluation_time(scenario: Scenario) -> None:
    sc = scenario
    # events dated more than a minute before they are evaluated: (usd)-style late arrivals
    sc.define("stale", f"from {TABLE} where eventdate < now() - 1m", {"kind": "each"})
    sc.run_until(3 * M)
    sc.store(TABLE, [{"hostname": "h", "message": "old"}], at=30 * S)
    sc.store(TABLE, [{"hostname": "h", "message": "new"}], at=3 * M)
    sc.run_until(3 * M + S)
    assert sc.seen() == [Seen("stale", 30 * S, {"hostname": "h", "message": "old"})]
