"""Triggered alerts in the metadata store, on SQLite and on PostgreSQL: exactly-once by digest,
domain isolation, the list filters and orders, status updates, and the Alert objects of the
API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from linqd.alerts.alert_json import alert_json
from linqd.alerts.model import AlertStatus, TriggeredAlert
from linqd.alerts.state import Progress, StateRepository
from linqd.alerts.triggered import ORDER_BY_NAMES, TriggeredAlertRepository
from linqd.clock import SimulatedClock
from linqd.errors import NotFound, ValidationError
from linqd.meta import MetaStore, schema

NOW = 1_800_000_000_000
HOUR = 3_600_000


def firing(digest: str, alert_date: int, domain: str = "self", **changes: Any) -> TriggeredAlert:
    values: dict[str, Any] = {
        "domain": domain,
        "definition_id": "7",
        "digest": digest,
        "alert_date": alert_date,
        "priority": 5.0,
        "context": f"my.alert.{domain}.Login_failures",
        "alert_name": "Login failures",
        "subcategory": f"lib.my.{domain}.Security",
        "username": "ops@example.com",
        "message": "Too many failures for $user",
        "description": "Brute force",
        "extra_data": {"user": "alice", "count": 12, "eventdate": "2027-01-15 08:00:00.000"},
    }
    values.update(changes)
    return TriggeredAlert(**values)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(NOW)


@pytest.fixture
def repo(meta: MetaStore, clock: SimulatedClock) -> TriggeredAlertRepository:
    return TriggeredAlertRepository(meta, clock)


def stored(repo: TriggeredAlertRepository, alert: TriggeredAlert) -> TriggeredAlert:
    result = repo.insert(alert)
    assert result is not None
    return result


def ids(alerts: list[TriggeredAlert]) -> list[int]:
    return [alert.id for alert in alerts]


def test_insert_assigns_id_and_dates_and_round_trips(
    repo: TriggeredAlertRepository, clock: SimulatedClock
) -> None:
    first = stored(repo, firing("d1", NOW - HOUR))
    clock.advance(1000)
    second = stored(repo, firing("d2", NOW - HOUR))
    assert first.id > 0 and second.id > first.id
    assert first.create_date == first.update_date == NOW
    assert second.create_date == NOW + 1000
    assert first.status is AlertStatus.UNREAD and first.ack_status_date is None
    assert repo.get("self", first.id) == first
    assert repo.get("self", first.id).extra_data == firing("x", 0).extra_data


def test_extra_data_is_stored_as_json_text(repo: TriggeredAlertRepository, meta: MetaStore) -> None:
    alert = stored(repo, firing("d1", NOW))
    table = schema.triggered_alerts
    with meta.transaction() as conn:
        text = conn.execute(select(table.c.extra_data).where(table.c.id == alert.id)).scalar_one()
    assert json.loads(text) == {
        "user": "alice",
        "count": 12,
        "eventdate": "2027-01-15 08:00:00.000",
    }


def test_duplicate_digest_is_stored_once_also_after_reopening(
    repo: TriggeredAlertRepository, meta_target: str, clock: SimulatedClock
) -> None:
    original = stored(repo, firing("same", NOW))
    assert repo.insert(firing("same", NOW + 5, priority=10.0)) is None
    reopened = MetaStore(meta_target)
    try:
        again = TriggeredAlertRepository(reopened, clock)
        assert again.insert(firing("same", NOW)) is None
        window = again.list("self", from_ms=0, to_ms=NOW + HOUR, limit=10)
        assert ids(window) == [original.id]
        assert window[0].priority == 5.0
    finally:
        reopened.close()


def test_domains_are_isolated(repo: TriggeredAlertRepository) -> None:
    mine = stored(repo, firing("same", NOW))
    theirs = stored(repo, firing("same", NOW, domain="other"))
    assert theirs.id != mine.id
    with pytest.raises(NotFound):
        repo.get("other", mine.id)
    assert ids(repo.list("other", from_ms=0, to_ms=NOW + 1, limit=10)) == [theirs.id]
    with pytest.raises(NotFound):
        repo.update_status("other", mine.id, AlertStatus.CLOSED)
    assert repo.get("self", mine.id).status is AlertStatus.UNREAD
    assert repo.update_status_list("other", [mine.id], AlertStatus.CLOSED) == ([], [mine.id])
    assert repo.statuses("other", 0) == {theirs.id: 0}


def test_get_unknown_ids(repo: TriggeredAlertRepository) -> None:
    for alert_id in (1, 0, -3, 2**70):
        with pytest.raises(NotFound):
            repo.get("self", alert_id)


def test_list_window_is_half_open(repo: TriggeredAlertRepository) -> None:
    before = stored(repo, firing("a", NOW - 1))
    start = stored(repo, firing("b", NOW))
    inside = stored(repo, firing("c", NOW + HOUR - 1))
    stored(repo, firing("d", NOW + HOUR))
    found = repo.list("self", from_ms=NOW, to_ms=NOW + HOUR, limit=10, ascending=True)
    assert ids(found) == [start.id, inside.id]
    assert before.id not in ids(found)
    assert repo.list("self", from_ms=NOW, to_ms=NOW, limit=10) == []


def test_list_hides_closed_and_false_positives_unless_show_all(
    repo: TriggeredAlertRepository,
) -> None:
    alerts = {
        status: stored(repo, firing(f"s{int(status)}", NOW, status=status))
        for status in AlertStatus
    }
    shown = repo.list("self", from_ms=0, to_ms=NOW + 1, limit=100)
    hidden = {alerts[AlertStatus.CLOSED].id, alerts[AlertStatus.FALSE_POSITIVE].id}
    assert set(ids(shown)) == {alert.id for alert in alerts.values()} - hidden
    everything = repo.list("self", from_ms=0, to_ms=NOW + 1, limit=100, show_all=True)
    assert len(everything) == len(AlertStatus)


def test_list_default_order_is_alert_date_newest_first(repo: TriggeredAlertRepository) -> None:
    late = stored(repo, firing("late", NOW))
    early = stored(repo, firing("early", NOW - HOUR))
    tie = stored(repo, firing("tie", NOW))
    newest_first = repo.list("self", from_ms=0, to_ms=NOW + 1, limit=10)
    assert ids(newest_first) == [tie.id, late.id, early.id]
    oldest_first = repo.list("self", from_ms=0, to_ms=NOW + 1, limit=10, ascending=True)
    assert ids(oldest_first) == [early.id, late.id, tie.id]


def test_list_orders_by_devo_names_both_ways_with_id_ties(
    repo: TriggeredAlertRepository,
) -> None:
    low = stored(repo, firing("a", NOW, priority=3.0))
    high = stored(repo, firing("b", NOW, priority=10.0))
    low_again = stored(repo, firing("c", NOW, priority=3.0))

    def order(name: str, ascending: bool) -> list[int]:
        found = repo.list(
            "self", from_ms=0, to_ms=NOW + 1, limit=10, order_by=name, ascending=ascending
        )
        return ids(found)

    assert order("priority", True) == [low.id, low_again.id, high.id]
    assert order("priority", False) == [high.id, low_again.id, low.id]
    assert order("id", True) == [low.id, high.id, low_again.id]
    # Columns linqd does not have are null everywhere: the tie-breaker decides.
    assert order("srcPort", True) == [low.id, high.id, low_again.id]
    assert order("engine", False) == [low_again.id, high.id, low.id]
    for name in ORDER_BY_NAMES:
        assert sorted(order(name, True)) == sorted([low.id, high.id, low_again.id])


def test_list_orders_by_status_and_create(
    repo: TriggeredAlertRepository, clock: SimulatedClock
) -> None:
    first = stored(repo, firing("a", NOW))
    clock.advance(10)
    second = stored(repo, firing("b", NOW))
    repo.update_status("self", first.id, AlertStatus.WATCHED)

    def order(name: str) -> list[int]:
        return ids(repo.list("self", from_ms=0, to_ms=NOW + 1, limit=10, order_by=name))

    assert order("status") == [first.id, second.id]
    assert order("create") == [second.id, first.id]
    assert order("ack_status_date") == [first.id, second.id]
    # Never acknowledged first when ascending, as SQLite sorts nulls, on PostgreSQL too.
    ascending = repo.list(
        "self", from_ms=0, to_ms=NOW + 1, limit=10, order_by="ack_status_date", ascending=True
    )
    assert ids(ascending) == [second.id, first.id]


def test_list_paging(repo: TriggeredAlertRepository) -> None:
    made = [stored(repo, firing(f"p{i}", NOW + i)) for i in range(5)]
    page = repo.list("self", from_ms=0, to_ms=NOW + 10, limit=2, offset=1, ascending=True)
    assert ids(page) == [made[1].id, made[2].id]
    tail = repo.list("self", from_ms=0, to_ms=NOW + 10, limit=2, offset=4, ascending=True)
    assert ids(tail) == [made[4].id]
    assert repo.list("self", from_ms=0, to_ms=NOW + 10, limit=2, offset=9) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"order_by": "eventdate"}, "orderby"),
        ({"order_by": "id; DROP TABLE triggered_alerts"}, "orderby"),
        ({"limit": -1}, "limit"),
        ({"offset": -1}, "offset"),
    ],
)
def test_list_refuses_bad_arguments(
    repo: TriggeredAlertRepository, changes: dict[str, Any], field: str
) -> None:
    arguments: dict[str, Any] = {"from_ms": 0, "to_ms": NOW, "limit": 10, **changes}
    with pytest.raises(ValidationError) as raised:
        repo.list("self", **arguments)
    assert raised.value.field == field


def test_update_status_sets_dates(repo: TriggeredAlertRepository, clock: SimulatedClock) -> None:
    alert = stored(repo, firing("a", NOW))
    clock.advance(5000)
    updated = repo.update_status("self", alert.id, AlertStatus.CLOSED)
    assert updated.status is AlertStatus.CLOSED
    assert updated.update_date == updated.ack_status_date == NOW + 5000
    assert updated.create_date == NOW
    assert repo.get("self", alert.id) == updated
    with pytest.raises(NotFound):
        repo.update_status("self", alert.id + 100, AlertStatus.CLOSED)


def test_update_status_list_reports_unknown_ids(
    repo: TriggeredAlertRepository, clock: SimulatedClock
) -> None:
    one = stored(repo, firing("a", NOW))
    two = stored(repo, firing("b", NOW))
    foreign = stored(repo, firing("c", NOW, domain="other"))
    clock.advance(7)
    updated, not_updated = repo.update_status_list(
        "self", [two.id, 999, one.id, two.id, foreign.id, -1, 2**70], AlertStatus.WATCHED
    )
    assert updated == [two.id, one.id]
    assert not_updated == [999, foreign.id, -1, 2**70]
    for alert_id in (one.id, two.id):
        alert = repo.get("self", alert_id)
        assert alert.status is AlertStatus.WATCHED and alert.ack_status_date == NOW + 7
    assert repo.get("other", foreign.id).status is AlertStatus.UNREAD
    assert repo.update_status_list("self", [], AlertStatus.CLOSED) == ([], [])


def test_statuses_since(repo: TriggeredAlertRepository) -> None:
    stored(repo, firing("old", NOW - 2 * HOUR))
    recent = stored(repo, firing("recent", NOW - HOUR))
    closed = stored(repo, firing("closed", NOW, status=AlertStatus.CLOSED))
    assert repo.statuses("self", NOW - HOUR) == {recent.id: 0, closed.id: 300}
    assert repo.statuses("self", NOW + 1) == {}


def test_alert_json_has_every_field_with_its_type(repo: TriggeredAlertRepository) -> None:
    alert = stored(repo, firing("a", NOW - HOUR, extra_data={"alertType": "Detection", "n": 3}))
    plain = alert_json(alert)
    assert plain["id"] == alert.id and isinstance(plain["priority"], float)
    for name in ("srcPort", "srcIp", "srcHost", "dstIp", "dstPort", "dstHost", "protocol"):
        assert plain[name] is None
    assert plain["application"] is None and plain["engine"] is None
    assert plain["username"] == plain["alertOwner"] == "ops@example.com"
    assert json.loads(plain["extraData"]) == {"alertType": "Detection", "n": 3}
    assert plain["fullExtraData"] == plain["extraData"]
    assert plain["alertDate"] == NOW - HOUR and plain["createDate"] == plain["updateDate"] == NOW
    assert plain["status"] == 0 and plain["ack_status_date"] is None
    assert plain["scaled"] is False and plain["shouldSend"] is True
    assert plain["digest"] == plain["uniquedigest"] == "a"
    assert plain["contexto"] == {
        "id": 7,
        "name": "Login failures",
        "category": {"name": "my"},
        "subCategory": {"name": "lib.my.self.Security"},
    }
    assert plain["contextLabel"] == "Login failures"
    assert plain["alertLabel"] == "Too many failures for $user"
    assert plain["postAlertAction"] is None and plain["contextSubscription"] is None
    assert "tags" not in plain
    extended = alert_json(alert, extended=True)
    assert {k: v for k, v in extended.items() if k in plain} == plain
    assert extended["alertType"] == "Detection" and extended["alertMitreTactics"] is None
    assert extended["allExtraDataFields"] == {"alertType": "Detection", "n": "3"}
    assert extended["alertDefinition"]["id"] == "7"
    assert extended["alertDefinition"]["alertCorrelationContext"]["nameId"] == alert.context
    assert extended["tags"] == extended["entities"] == extended["commentsList"] == []


def test_a_stored_digest_leaves_the_callers_transaction_usable(
    repo: TriggeredAlertRepository, meta: MetaStore
) -> None:
    """The engine stores firings and progress in one transaction; a digest already stored
    (a repeated step) must not abort it, which an error would on PostgreSQL."""
    original = stored(repo, firing("same", NOW))
    with meta.transaction() as conn:
        assert repo.insert_in(conn, firing("same", NOW)) is None
        fresh = repo.insert_in(conn, firing("new", NOW))
        StateRepository(meta).save_in(conn, "7", "self", Progress(1, seq=3), NOW)
    assert fresh is not None
    assert ids(repo.list("self", from_ms=0, to_ms=NOW + 1, limit=10)) == [fresh.id, original.id]
    assert StateRepository(meta).load() == {"7": Progress(1, seq=3)}


def test_update_status_list_of_more_ids_than_one_statement_takes(
    repo: TriggeredAlertRepository,
) -> None:
    one = stored(repo, firing("a", NOW))
    two = stored(repo, firing("b", NOW))
    unknown = list(range(two.id + 1, two.id + 2_500))
    updated, not_updated = repo.update_status_list(
        "self", [one.id, *unknown, two.id], AlertStatus.CLOSED
    )
    assert updated == [one.id, two.id] and not_updated == unknown
    assert repo.statuses("self", 0) == {one.id: 300, two.id: 300}
