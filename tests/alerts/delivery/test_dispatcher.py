"""The dispatcher against a real webhook receiver and a real SMTP server: Devo's payload field by
field, retries and giving up, a hanging receiver, idempotent submission, restarts, policy
resolution, anti-flooding, schedules and e-mail."""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import parse_qs

import pytest

from linqd.alerts.delivery import ContentType, DeliveryStatus
from linqd.alerts.model import AlertStatus, TriggeredAlert
from linqd.outbound import OutboundPolicy

from .conftest import DOMAIN, HOUR, NOW, Receiver, World, definition, settle

STRING_FIELDS = (
    *("id", "domain", "priority", "context", "srcIp", "dstIp", "srcPort", "dstPort"),
    *("category", "protocol", "username", "application", "status", "creation_date", "digest"),
    *("scaled", "srcHost", "dstHost", "extraData", "alertName", "message", "description"),
    "alertUrl",
)


# -- the payload -----------------------------------------------------------------------------------


def check_payload(payload: dict[str, Any], alert: TriggeredAlert) -> None:
    for name in STRING_FIELDS:
        assert isinstance(payload[name], str), name
    assert payload["ack_status_date"] is None
    assert payload["id"] == str(alert.id)
    assert payload["domain"] == DOMAIN
    assert payload["priority"] == "3.0"
    assert payload["context"] == f"my.alert.{DOMAIN}.Login_failures"
    assert payload["category"] == "my"
    assert payload["username"] == "ops@example.com"
    assert payload["status"] == "0"
    assert payload["creation_date"] == "Fri Jan 15 08:00:00 UTC 2027"
    assert re.fullmatch(
        r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d UTC \d{4}", payload["creation_date"]
    )
    assert payload["digest"] == alert.digest
    assert payload["scaled"] == "false"
    for empty in ("srcIp", "dstIp", "srcPort", "dstPort", "protocol", "application"):
        assert payload[empty] == ""
    assert json.loads(payload["extraData"]) == {
        "user": "alice+smith",
        "count": "12",
        "eventdate": "2027-01-15+08%3A00%3A00.000",
        "x": "null",
    }
    assert payload["alertName"] == "Login failures"
    assert payload["message"] == "Too many failures for alice"
    assert payload["description"] == "Brute force & more"
    assert payload["alertUrl"] == f"http://linqd.test:8080/alerts/v1/alerts/get?id={alert.id}"


@pytest.mark.usefixtures("meta_target")
def test_json_payload_and_custom_headers(world: World, receiver: Receiver) -> None:
    method = world.http(receiver.url("/hook"), headers=(("X-Team", "blue"), ("X-Token", "t0k")))
    world.policy(method)
    dispatcher = world.dispatcher()
    alert = world.alert(definition())
    assert dispatcher.submit(alert, definition()) is AlertStatus.UNREAD
    (request,) = receiver.wait_for(1)
    settle(dispatcher)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-team"] == "blue"
    assert request.headers["x-token"] == "t0k"
    check_payload(json.loads(request.body), alert)
    (delivery,) = world.deliveries()
    assert delivery.to_json() == {
        "id": delivery.id,
        "alertId": alert.id,
        "methodId": method.id,
        "kind": "alert",
        "status": "delivered",
        "attempts": 1,
        "lastError": None,
        "nextAttemptMs": NOW,
        "deliveredMs": NOW,
    }


def test_legacy_form_payload(world: World, receiver: Receiver) -> None:
    world.policy(world.http(receiver.url("/form"), content_type=ContentType.FORM))
    dispatcher = world.dispatcher()
    alert = world.alert(definition())
    dispatcher.submit(alert, definition())
    (request,) = receiver.wait_for(1)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.body.startswith(b"json=")
    form = parse_qs(request.body.decode("ascii"), strict_parsing=True)
    assert list(form) == ["json"]
    check_payload(json.loads(form["json"][0]), alert)


def test_digest_credentials_are_sent_and_never_logged(
    world: World, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = receiver.behave("/digest", digest=True, fail=1)
    world.policy(world.http(url, username="bob", password="s3cr3t-pw"))
    dispatcher = world.dispatcher()
    dispatcher.submit(world.alert(definition()), definition())
    (request,) = receiver.wait_for(1)
    assert request.headers["authorization"].startswith('Digest username="bob"')
    assert "s3cr3t-pw" not in request.headers["authorization"]
    settle(dispatcher)  # the first attempt got a 500: a retry is scheduled and logged
    (delivery,) = world.deliveries()
    assert delivery.last_error is not None and "500" in delivery.last_error
    assert "s3cr3t-pw" not in caplog.text and "s3cr3t-pw" not in json.dumps(delivery.to_json())


# -- retries ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("meta_target")
def test_retries_after_failures_then_delivers(world: World, receiver: Receiver) -> None:
    world.policy(world.http(receiver.behave("/flaky", fail=2)))
    dispatcher = world.dispatcher()
    alert = world.alert(definition())
    dispatcher.submit(alert, definition())
    receiver.wait_for(1)
    settle(dispatcher)
    (first,) = world.deliveries()
    assert (first.status.value, first.attempts) == ("pending", 1)
    assert first.last_error is not None and "HTTP 500" in first.last_error
    assert first.next_attempt_ms == NOW + 1_000
    world.clock.advance(999)
    dispatcher.tick()
    settle(dispatcher)
    assert len(receiver.received()) == 1  # not due yet
    world.clock.advance(1)
    dispatcher.tick()
    receiver.wait_for(2)
    settle(dispatcher)
    (second,) = world.deliveries()
    assert (second.attempts, second.next_attempt_ms) == (2, NOW + 1_000 + 5_000)
    world.clock.advance(5_000)
    dispatcher.tick()
    receiver.wait_for(3)
    settle(dispatcher)
    (done,) = world.deliveries()
    assert (done.status.value, done.attempts, done.delivered_ms) == ("delivered", 3, NOW + 6_000)


@pytest.mark.usefixtures("meta_target")
def test_gives_up_after_max_attempts_with_the_last_error(world: World, receiver: Receiver) -> None:
    world.policy(world.http(receiver.behave("/down", fail=-1)))
    dispatcher = world.dispatcher(max_attempts=3)
    dispatcher.submit(world.alert(definition()), definition())
    for attempt in range(1, 4):
        receiver.wait_for(attempt)
        settle(dispatcher)
        world.clock.advance(HOUR)
        dispatcher.tick()
    settle(dispatcher)
    (failed,) = world.deliveries()
    assert (failed.status.value, failed.attempts) == ("failed", 3)
    assert (
        failed.last_error
        == f"127.0.0.1:{receiver.server.server_address[1]} answered HTTP 500 Internal Server Error"
    )
    assert len(receiver.received()) == 3


def test_unreachable_receiver_is_an_error_not_a_crash(world: World) -> None:
    world.policy(world.http("http://127.0.0.1:9/nothing", timeout_ms=2_000))
    dispatcher = world.dispatcher(max_attempts=1)
    dispatcher.submit(world.alert(definition()), definition())
    settle(dispatcher)
    (failed,) = world.deliveries()
    assert failed.status.value == "failed"
    assert failed.last_error is not None and "127.0.0.1:9" in failed.last_error


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
def test_the_default_policy_keeps_webhooks_off_the_local_host(
    world: World, receiver: Receiver, host: str
) -> None:
    """A method stored before the policy (or naming a host that resolves to loopback) fails
    at delivery, permanently, with the refusal; the receiver never hears of it."""
    port = receiver.server.server_address[1]
    world.policy(world.http(f"http://{host}:{port}/hook"))
    dispatcher = world.dispatcher(outbound=OutboundPolicy(), max_attempts=5)
    dispatcher.submit(world.alert(definition()), definition())
    settle(dispatcher)
    (failed,) = world.deliveries()
    assert (failed.status.value, failed.attempts) == ("failed", 1)
    assert failed.last_error is not None
    assert failed.last_error.endswith("is not allowed for outbound connections")
    assert "Address 127.0.0.1" in failed.last_error or "::ffff:127.0.0.1" in failed.last_error
    assert receiver.received() == []


@pytest.mark.usefixtures("meta_target")
def test_a_hanging_receiver_does_not_delay_another_method(world: World, receiver: Receiver) -> None:
    stuck = world.http(receiver.behave("/hang", hang=True), timeout_ms=30_000)
    fine = world.http(receiver.url("/ok"))
    world.policy(stuck, fine)
    dispatcher = world.dispatcher(workers=2)
    first, second = world.alert(definition()), world.alert(definition())
    dispatcher.submit(first, definition())
    assert receiver.hanging.wait(10)
    # submit does no network I/O: it returns while a receiver hangs.
    dispatcher.submit(second, definition())
    # Both alerts reached the other method while the first request still hangs.
    reached = {json.loads(r.body)["id"] for r in receiver.wait_for(2, path="/ok")}
    assert reached == {str(first.id), str(second.id)}
    assert not receiver.release.is_set()
    assert len(receiver.received("/hang")) == 1
    assert not dispatcher.wait_idle(0.1)  # the hanging delivery is still in flight
    receiver.release.set()
    receiver.wait_for(2, path="/hang")
    settle(dispatcher)
    assert len(world.deliveries(status=DeliveryStatus.DELIVERED)) == 4
