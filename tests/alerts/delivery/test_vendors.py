"""The vendor delivery methods through the dispatcher, each against a real receiver on
127.0.0.1 standing in for the vendor's API: every request checked as the vendor documents it
(method, path, headers, authentication, fields and their types), PagerDuty's retry keeping its
dedup_key, ServiceNow's retry recognising an incident already made, the statuses a vendor calls
final not retried, and secrets kept out of logs and delivery records."""

from __future__ import annotations

import base64
import json
import logging
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import pytest

from linqd.alerts.delivery import (
    DeliveryMethod,
    Dispatcher,
    JiraConfig,
    MethodConfig,
    PagerDutyConfig,
    PushoverConfig,
    ServiceNowConfig,
    SlackConfig,
)
from linqd.alerts.model import TriggeredAlert
from vendor_secrets import (
    APP_TOKEN,
    JIRA_TOKEN,
    ROUTING_KEY,
    SECRETS,
    SLACK_TOKEN,
    SN_PASSWORD,
    USER_KEY,
)

from .conftest import DOMAIN, EXTRA, Receiver, World, definition, settle

ALERT_URL = "http://linqd.test:8080/alerts/v1/alerts/get?id="


def json_body(body: bytes) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(body)
    return found


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def failed_once(world: World, dispatcher: Dispatcher, receiver: Receiver) -> None:
    """The first attempt, which failed, and the retry one back-off step (1 s) later."""
    receiver.wait_for(1)
    settle(dispatcher)
    (first,) = world.deliveries()
    assert (first.status.value, first.attempts) == ("pending", 1)
    world.clock.advance(1_000)
    dispatcher.tick()
    receiver.wait_for(2)
    settle(dispatcher)


def alert_for(world: World, config: MethodConfig, **alert: Any) -> TriggeredAlert:
    """A stored alert, and a policy that delivers to a validated method of ``config``."""
    method: DeliveryMethod = world.method(config)
    world.policy(method)
    return world.alert(definition(), **alert)


def test_slack_posts_text_and_blocks_to_the_webhook(world: World, receiver: Receiver) -> None:
    path = f"/services/T0001/B0002/{SLACK_TOKEN}"
    dispatcher = world.dispatcher()
    extra = {**{f"f{n}": n for n in range(12)}, **EXTRA}
    alert = alert_for(
        world,
        SlackConfig(webhook_url=receiver.url(path)),
        alert_name="N" * 200,
        message="Too many failures for <!channel>",
        extra_data=extra,
    )
    dispatcher.submit(alert, definition())
    (request,) = receiver.wait_for(1)
    settle(dispatcher)
    assert (request.method, request.path) == ("POST", path)
    assert request.headers["content-type"] == "application/json"
    message = json_body(request.body)
    assert set(message) == {"text", "blocks"}
    # Alert data never mentions a channel: mrkdwn's control characters are escaped.
    assert message["text"] == "N" * 200 + ": Too many failures for &lt;!channel&gt;"
    header, body, fields, context = message["blocks"]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert header["text"]["text"] == "N" * 149 + "…"  # at most 150 characters
    assert body == {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": "Too many failures for &lt;!channel&gt;\n\nBrute force &amp; more",
        },
    }
    assert fields["type"] == "section" and len(fields["fields"]) == 10
    assert fields["fields"][0] == {"type": "mrkdwn", "text": "*f0*\n0"}
    assert all(f["type"] == "mrkdwn" and len(f["text"]) <= 2_000 for f in fields["fields"])
    (note,) = context["elements"]
    assert context["type"] == "context" and note["type"] == "mrkdwn"
    assert "Priority 3.0" in note["text"] and "6 more fields" in note["text"]
    assert f"<{ALERT_URL}{alert.id}|The alert in linqd>" in note["text"]
    assert world.deliveries()[0].status.value == "delivered"


def test_pagerduty_retry_keeps_the_dedup_key(
    world: World, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = receiver.behave("/v2/enqueue", status=202, fail=1, answer=b'{"status":"success"}')
    dispatcher = world.dispatcher()
    alert = alert_for(world, PagerDutyConfig(routing_key=ROUTING_KEY, events_url=url))
    dispatcher.submit(alert, definition())
    failed_once(world, dispatcher, receiver)  # a 500 is retried
    (done,) = world.deliveries()
    assert (done.status.value, done.attempts) == ("delivered", 2)
    events = [json_body(r.body) for r in receiver.received("/v2/enqueue")]
    assert events[0] == events[1]  # one alert: the same dedup_key, one incident
    event = events[0]
    assert all(r.headers["content-type"] == "application/json" for r in receiver.received())
    assert "authorization" not in receiver.received()[0].headers  # the key is in the body
    assert event["routing_key"] == ROUTING_KEY
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == alert.digest and len(event["dedup_key"]) <= 255
    payload = event["payload"]
    assert payload["summary"] == "Login failures: Too many failures for alice"
    assert payload["source"] == f"my.alert.{DOMAIN}.Login_failures"
    assert payload["severity"] == "warning"  # priority 3
    assert datetime.fromisoformat(payload["timestamp"]).timestamp() * 1000 == alert.create_date
    assert payload["custom_details"]["extraData"] == {
        "user": "alice smith",
        "count": "12",
        "eventdate": "2027-01-15 08:00:00.000",
        "x": "null",
    }
    assert payload["custom_details"]["description"] == "Brute force & more"
    assert event["client"] == "linqd" and event["client_url"] == f"{ALERT_URL}{alert.id}"
    assert event["links"] == [{"href": f"{ALERT_URL}{alert.id}", "text": "The alert in linqd"}]
    assert ROUTING_KEY not in caplog.text
    assert ROUTING_KEY not in json.dumps([d.to_json() for d in world.deliveries()])


def test_jira_creates_an_issue_with_basic_credentials(world: World, receiver: Receiver) -> None:
    receiver.behave("/jira/rest/api/2/issue", status=201, answer=b'{"id":"1","key":"OPS-1"}')
    config = JiraConfig(
        url=receiver.url("/jira/"),
        username="ops@example.com",
        api_token=JIRA_TOKEN,
        project_key="OPS",
        issue_type="Bug",
        labels=("linqd", "brute-force"),
        priority="High",
    )
    dispatcher = world.dispatcher()
    alert = alert_for(world, config, message="Too many\nfailures {noformat} for alice")
    dispatcher.submit(alert, definition())
    (request,) = receiver.wait_for(1)
    settle(dispatcher)
    assert (request.method, request.path) == ("POST", "/jira/rest/api/2/issue")
    assert request.headers["authorization"] == basic("ops@example.com", JIRA_TOKEN)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    fields = json_body(request.body)["fields"]
    assert fields["project"] == {"key": "OPS"}
    assert fields["issuetype"] == {"name": "Bug"}
    assert fields["labels"] == ["linqd", "brute-force"]
    assert fields["priority"] == {"name": "High"}
    assert fields["summary"] == "Login failures: Too many failures {noformat} for alice"
    description = fields["description"]
    assert isinstance(description, str)
    fields_block = description.split("*Alert fields*\n{noformat}\n")[1].split("\n{noformat}")[0]
    assert fields_block.splitlines() == [
        "user: alice smith",
        "count: 12",
        "eventdate: 2027-01-15 08:00:00.000",
        "x: null",
    ]
    assert "Brute force & more" in description and alert.digest in description
    assert f"[The alert in linqd|{ALERT_URL}{alert.id}]" in description
    assert world.deliveries()[0].status.value == "delivered"


@pytest.mark.parametrize("made", [True, False])
def test_servicenow_retry_looks_for_the_incident_first(
    world: World, receiver: Receiver, made: bool
) -> None:
    incidents = "/sn/api/now/table/incident"
    receiver.behave(incidents, "POST", status=201, fail=1, answer=b'{"result":{"sys_id":"1"}}')
    found = b'{"result":[{"sys_id":"1"}]}' if made else b'{"result":[]}'
    receiver.behave(incidents, "GET", answer=found)
    config = ServiceNowConfig(
        url=receiver.url("/sn"),
        username="linqd",
        password=SN_PASSWORD,
        caller_id="ops.bot",
        assignment_group="SOC",
    )
    dispatcher = world.dispatcher()
    alert = alert_for(world, config)
    dispatcher.submit(alert, definition())
    failed_once(world, dispatcher, receiver)
    (done,) = world.deliveries()
    assert (done.status.value, done.attempts) == ("delivered", 2)
    requests = receiver.received(incidents)
    # The first create's answer was lost (a 500): the retry asks whether it went through.
    assert [r.method for r in requests] == (["POST", "GET"] if made else ["POST", "GET", "POST"])
    assert parse_qs(requests[1].query) == {
        "sysparm_query": [f"correlation_id={alert.digest}"],
        "sysparm_fields": ["sys_id"],
        "sysparm_limit": ["1"],
    }
    for request in requests:
        assert request.headers["authorization"] == basic("linqd", SN_PASSWORD)
        assert request.headers["accept"] == "application/json"
    assert requests[0].headers["content-type"] == "application/json"
    incident = json_body(requests[0].body)
    assert incident == {
        "short_description": "Login failures: Too many failures for alice",
        "description": incident["description"],
        "urgency": "3",  # priority 3
        "impact": "3",
        "correlation_id": alert.digest,
        "correlation_display": "linqd",
        "caller_id": "ops.bot",
        "assignment_group": "SOC",
    }
    assert "user: alice smith" in incident["description"]
    assert f"{ALERT_URL}{alert.id}" in incident["description"]


def test_pushover_posts_a_form(world: World, receiver: Receiver) -> None:
    url = receiver.behave("/po/1/messages.json", answer=b'{"status":1,"request":"r"}')
    config = PushoverConfig(
        user_key=USER_KEY,
        app_token=APP_TOKEN,
        api_url=receiver.url("/po"),
        priority=2,
        device="phone,tablet",
        sound="siren",
    )
    dispatcher = world.dispatcher()
    alert = alert_for(world, config)
    dispatcher.submit(alert, definition())
    (request,) = receiver.wait_for(1)
    settle(dispatcher)
    assert url.endswith(request.path) and request.method == "POST"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = parse_qs(request.body.decode("ascii"))
    assert form == {
        "token": [APP_TOKEN],
        "user": [USER_KEY],
        "message": [
            "Too many failures for alice\nBrute force & more\nuser: alice smith\ncount: 12\n"
            "eventdate: 2027-01-15 08:00:00.000\nx: null"
        ],
        "title": ["Login failures"],
        "priority": ["2"],
        "retry": ["60"],  # an emergency repeats every minute for an hour at most
        "expire": ["3600"],
        "timestamp": [str(alert.create_date // 1000)],
        "url": [f"{ALERT_URL}{alert.id}"],
        "url_title": ["The alert in linqd"],
        "device": ["phone,tablet"],
        "sound": ["siren"],
    }


@pytest.mark.parametrize(
    ("status", "outcome"), [(400, "failed"), (401, "failed"), (429, "pending"), (503, "pending")]
)
def test_what_the_vendor_calls_final_is_not_retried(
    world: World,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
    status: int,
    outcome: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.behave("/po/1/messages.json", fail=-1, fail_status=status)
    config = PushoverConfig(user_key=USER_KEY, app_token=APP_TOKEN, api_url=receiver.url("/po"))
    dispatcher = world.dispatcher()
    dispatcher.submit(alert_for(world, config), definition())
    receiver.wait_for(1)
    settle(dispatcher)
    (delivery,) = world.deliveries()
    assert (delivery.status.value, delivery.attempts) == (outcome, 1)
    assert delivery.last_error is not None and f"HTTP {status}" in delivery.last_error
    assert USER_KEY not in caplog.text and APP_TOKEN not in caplog.text


def test_a_webhook_token_never_reaches_an_error(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hook = SlackConfig(webhook_url=f"http://127.0.0.1:9/services/T/B/{SLACK_TOKEN}")
    dispatcher = world.dispatcher(max_attempts=1)
    dispatcher.submit(alert_for(world, hook), definition())
    settle(dispatcher)
    (failed,) = world.deliveries()
    assert failed.status.value == "failed" and failed.last_error is not None
    assert "127.0.0.1:9" in failed.last_error
    assert all(secret not in caplog.text for secret in SECRETS)
    assert SLACK_TOKEN not in failed.last_error
