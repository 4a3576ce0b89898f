"""The dispatcher's planning: which policies and methods an alert goes to, anti-flooding and
schedules end to end, idempotent submission, restarts, and e-mail delivery."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from linqd.alerts.delivery import (
    AntiFlooding,
    DeliveryStatus,
    EmailConfig,
    FloodMode,
    HttpJsonConfig,
    MethodInput,
    Schedule,
)
from linqd.alerts.delivery.schedule import parse_clock
from linqd.alerts.model import AlertStatus
from linqd.errors import ValidationError
from linqd.sinks.email import SmtpSettings

from .conftest import DOMAIN, HOUR, NOW, Collector, Receiver, World, definition, settle

MINUTE = 60_000
# Planning is the metadata's work: every test here runs on SQLite and PostgreSQL.
pytestmark = pytest.mark.usefixtures("meta_target")


def ids(receiver: Receiver, path: str) -> list[str]:
    return [json.loads(r.body)["id"] for r in receiver.received(path)]


def test_default_policy_when_the_definition_names_none(world: World, receiver: Receiver) -> None:
    main = world.http(receiver.url("/main"))
    other = world.http(receiver.url("/other"))
    world.policy(main)  # the first policy is the default
    named = world.policy(other)
    dispatcher = world.dispatcher()
    plain = world.alert(definition())
    chosen = world.alert(definition(str(named.id)))
    unknown = world.alert(definition("999999"))  # names no policy: the default applies
    dispatcher.submit(plain, definition())
    dispatcher.submit(chosen, definition(str(named.id)))
    dispatcher.submit(unknown, definition("999999"))
    settle(dispatcher)
    assert ids(receiver, "/main") == [str(plain.id), str(unknown.id)]
    assert ids(receiver, "/other") == [str(chosen.id)]


def test_no_policy_no_delivery(world: World, receiver: Receiver) -> None:
    world.http(receiver.url("/hook"))
    dispatcher = world.dispatcher()
    alert = world.alert(definition())
    assert dispatcher.submit(alert, definition()) is AlertStatus.UNREAD
    settle(dispatcher)
    assert world.deliveries() == [] and receiver.received() == []


def test_unvalidated_methods_are_not_used(world: World, receiver: Receiver) -> None:
    good = world.http(receiver.url("/good"))
    pending = world.method(HttpJsonConfig(url=receiver.url("/x")), validated=False)
    world.policy(good, pending)
    only_pending = world.policy(pending)
    dispatcher = world.dispatcher()
    first = world.alert(definition())
    second = world.alert(definition(str(only_pending.id)))
    dispatcher.submit(first, definition())
    assert dispatcher.submit(second, definition(str(only_pending.id))) is AlertStatus.UNREAD
    settle(dispatcher)
    assert [(d.alert_id, d.method_id) for d in world.deliveries()] == [(first.id, good.id)]
    assert [r.path for r in receiver.received()] == ["/good"]


def test_submit_is_idempotent(world: World, receiver: Receiver) -> None:
    world.policy(world.http(receiver.url("/a")), world.http(receiver.url("/b")))
    dispatcher = world.dispatcher()
    alert = world.alert(definition())
    assert dispatcher.submit(alert, definition()) is AlertStatus.UNREAD
    settle(dispatcher)
    assert dispatcher.submit(alert, definition()) is AlertStatus.UNREAD
    settle(dispatcher)
    assert len(world.deliveries()) == 2
    assert sorted(r.path for r in receiver.received()) == ["/a", "/b"]


def test_submit_refuses_unstored_alerts(world: World) -> None:
    dispatcher = world.dispatcher(start=False)
    alert = world.alert(definition())
    with pytest.raises(ValidationError):
        dispatcher.submit(replace(alert, id=0), definition())


def test_anti_flooding_end_to_end(world: World, receiver: Receiver) -> None:
    world.policy(world.http(receiver.url("/hook")), anti_flooding=AntiFlooding())
    dispatcher = world.dispatcher()
    alerts = []
    statuses = []
    for _ in range(7):
        alert = world.alert(definition())
        alerts.append(alert)
        statuses.append(dispatcher.submit(alert, definition()))
        world.clock.advance(MINUTE)
    assert statuses == [AlertStatus.UNREAD] * 5 + [AlertStatus.ANTI_FLOOD] * 2
    # Re-submitting a held-back alert neither counts it again nor changes its answer.
    assert dispatcher.submit(alerts[6], definition()) is AlertStatus.ANTI_FLOOD
    settle(dispatcher)
    assert ids(receiver, "/hook") == [str(a.id) for a in alerts[:5]]
    assert [world.status(a) for a in alerts[5:]] == [AlertStatus.ANTI_FLOOD] * 2
    # Another definition has its own count.
    other = world.alert(definition(name="Other rule", id_="8"))
    assert dispatcher.submit(other, definition(name="Other rule", id_="8")) is AlertStatus.UNREAD
    settle(dispatcher)
    assert len(receiver.received()) == 6
    # The hour after the first alert: one reminder, as the last alert held back. (The workers
    # also look for due reminders on their own, so who creates it is not asserted.)
    world.clock.now = NOW + HOUR - 1
    dispatcher.tick()
    settle(dispatcher)
    assert len(receiver.received()) == 6
    world.clock.now = NOW + HOUR
    dispatcher.tick()
    settle(dispatcher)
    reminder = json.loads(receiver.received("/hook")[-1].body)
    assert reminder["id"] == str(alerts[6].id)
    assert reminder["status"] == "500"
    assert reminder["suppressedCount"] == "2"
    assert reminder["message"].startswith("Reminder: anti-flooding held back 2 alert(s)")
    assert world.status(alerts[6]) is AlertStatus.REMINDER
    assert world.status(alerts[5]) is AlertStatus.ANTI_FLOOD
    kinds = [(d.alert_id, d.kind.value) for d in world.deliveries()][-1]
    assert kinds == (alerts[6].id, "reminder")
    # Once only.
    world.clock.advance(10 * HOUR)
    assert dispatcher.tick() == 0
    settle(dispatcher)
    assert len(receiver.received()) == 7


def test_reminders_go_out_without_anyone_calling_tick(world: World, receiver: Receiver) -> None:
    custom = AntiFlooding(
        FloodMode.CUSTOM, max_alerts=1, period_ms=MINUTE, reminder_after_ms=MINUTE
    )
    world.policy(world.http(receiver.url("/hook")), anti_flooding=custom)
    dispatcher = world.dispatcher(poll_s=0.05)
    for _ in range(3):
        dispatcher.submit(world.alert(definition()), definition())
    world.clock.advance(MINUTE)
    # The workers' own timed wake-up finds the due reminder.
    requests = receiver.wait_for(2)
    assert json.loads(requests[-1].body)["suppressedCount"] == "2"


def test_outside_the_schedule_is_suppressed(world: World, receiver: Receiver) -> None:
    # NOW is Friday 08:00 UTC; the policy works Friday 09:00-17:00 in Madrid (08:00-16:00 UTC).
    office = Schedule(frozenset({4}), parse_clock("09:00"), parse_clock("17:00"), "Europe/Madrid")
    world.policy(world.http(receiver.url("/hook")), schedule=office)
    dispatcher = world.dispatcher()
    early = world.alert(definition())
    world.clock.now = NOW - 1
    assert dispatcher.submit(early, definition()) is AlertStatus.SUPPRESSED
    assert world.status(early) is AlertStatus.SUPPRESSED
    world.clock.now = NOW
    on_time = world.alert(definition())
    assert dispatcher.submit(on_time, definition()) is AlertStatus.UNREAD
    settle(dispatcher)
    assert ids(receiver, "/hook") == [str(on_time.id)]


def test_restart_delivers_what_was_pending(world: World, receiver: Receiver) -> None:
    world.policy(world.http(receiver.behave("/hook", fail=1)))
    first = world.dispatcher()
    failed_once = world.alert(definition())
    first.submit(failed_once, definition())
    receiver.wait_for(1)
    settle(first)
    first.close()
    never_started = world.dispatcher(start=False)
    queued = world.alert(definition())
    never_started.submit(queued, definition())
    never_started.close()
    assert len(receiver.received()) == 1
    second = world.dispatcher()
    settle(second)  # the queued one goes at once; the failed one is due in a second
    assert ids(receiver, "/hook") == [str(failed_once.id), str(queued.id)]
    world.clock.advance(1_000)
    second.tick()
    settle(second)
    assert ids(receiver, "/hook")[-1] == str(failed_once.id)
    delivered = world.deliveries(status=DeliveryStatus.DELIVERED)
    assert sorted((d.alert_id, d.attempts) for d in delivered) == [
        (failed_once.id, 2),
        (queued.id, 1),
    ]


def test_email_delivery(world: World, smtp: tuple[Collector, SmtpSettings]) -> None:
    collector, settings = smtp
    world.smtp = settings
    world.policy(world.method(EmailConfig(email="oncall@example.com"), name="mail"))
    dispatcher = world.dispatcher()
    alert = world.alert(definition())
    dispatcher.submit(alert, definition())
    (message,) = collector.wait_for(1)
    settle(dispatcher)
    assert message["Subject"] == "Login failures"
    assert message["To"] == "oncall@example.com"
    assert message["From"] == "alerts@example.com"
    body = message.get_content()
    assert "Too many failures for alice" in body
    assert "Brute force & more" in body
    assert "user: alice smith" in body and "eventdate: 2027-01-15 08:00:00.000" in body
    assert [d.status.value for d in world.deliveries()] == ["delivered"]


def test_email_without_a_mail_server_fails_at_once(world: World) -> None:
    world.policy(world.method(EmailConfig(email="oncall@example.com"), name="mail"))
    dispatcher = world.dispatcher()
    dispatcher.submit(world.alert(definition()), definition())
    settle(dispatcher)
    (failed,) = world.deliveries()
    assert (failed.status.value, failed.attempts) == ("failed", 1)
    assert failed.last_error == "e-mail delivery is not configured on this server"
    assert failed.domain == DOMAIN


def test_a_method_moved_before_sending_fails_its_deliveries(
    world: World, receiver: Receiver
) -> None:
    method = world.http(receiver.url("/old"))
    world.policy(method)
    dispatcher = world.dispatcher(start=False)
    dispatcher.submit(world.alert(definition()), definition())
    moved = MethodInput(method.spec.name, method.type, HttpJsonConfig(url=receiver.url("/new")))
    assert world.methods.update(DOMAIN, method.id, moved).validated is False
    dispatcher.start()
    settle(dispatcher)
    (failed,) = world.deliveries()
    assert (failed.status.value, failed.last_error) == (
        "failed",
        "the delivery method is pending validation",
    )
    assert receiver.received() == []
