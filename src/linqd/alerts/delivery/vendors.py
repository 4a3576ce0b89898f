"""Alerts to Slack, PagerDuty, Jira, ServiceNow and Pushover (see docs/devo-compatibility.md):
each vendor's requests as its API documents them, built from a triggered alert, how its answers
are judged, and what a validation code is for each.

What each vendor's documentation says, and what is sent:
- Slack incoming webhooks: a POST of JSON ``text`` (the notification's fallback) and Block Kit
  ``blocks``: a header (plain text, at most 150 characters), sections (mrkdwn, at most 3000;
  at most 10 fields of 2000), a context line. Slack answers 200 ``ok``.
- PagerDuty Events API v2: a POST to ``/v2/enqueue`` of JSON ``routing_key``, ``event_action``,
  ``dedup_key`` (at most 255), ``payload`` (``summary`` at most 1024, ``source``, ``severity``
  among critical, error, warning and info, ``timestamp`` in ISO 8601, ``custom_details``),
  ``client``, ``client_url`` and ``links``. It answers 202; a 400 is not to be retried, 429
  and 5xx are.
- Jira REST API v2: a POST to ``/rest/api/2/issue`` of ``{"fields": {"project": {"key"},
  "summary", "description", "issuetype": {"name"}, "labels", "priority": {"name"}}}`` with
  HTTP Basic credentials (an account's e-mail and API token on Jira Cloud). Version 2 rather
  than 3: its description is text (wiki markup) where version 3 takes Atlassian Document
  Format, and Jira Data Center has version 2 only. It answers 201.
- ServiceNow Table API: a POST to ``/api/now/table/incident`` with HTTP Basic credentials,
  ``Accept: application/json`` and JSON ``short_description`` (at most 160), ``description``,
  ``urgency``, ``impact``, ``correlation_id``, ``correlation_display``, ``caller_id``,
  ``assignment_group``. It answers 201.
- Pushover: a form POST to ``/1/messages.json`` of ``token``, ``user``, ``message`` (at most
  1024), ``title`` (250), ``url`` (512), ``url_title`` (100), ``priority`` (an emergency, 2,
  with ``retry`` 60 s and ``expire`` 1 h), ``timestamp`` (Unix seconds), ``device``,
  ``sound``. A 4xx is not to be retried.

Decisions where the vendors leave a choice:
- A 2xx answer is delivered; 408, 429 and 5xx are retried with the outbox's back-off; any
  other status fails the delivery at once (a 4xx: the vendor refused the request, its
  credentials or its fields, and would refuse it again; a 3xx: redirects are not followed).
- Idempotency: PagerDuty's ``dedup_key`` is the alert's digest, so a retry (or a reminder)
  adds to the same alert and never opens a second incident. A ServiceNow incident carries the
  digest as ``correlation_id`` and a retry first looks for one, so a create whose answer was
  lost is not made twice (a failed look-up does not hold the incident back). Jira has no such
  key: a retry after a lost answer may create a second issue, whose description carries the
  same digest. Slack and Pushover messages are notifications: such a retry may repeat one.
- An alert's priority is PagerDuty's severity (0-2 info, 3-5 warning, 6-7 error, 8-10
  critical) and ServiceNow's urgency and impact (8-10: 1 high, 5-7: 2 medium, 0-4: 3 low)
  unless the method names them. The PagerDuty source is the alert's context unless named.
- Slack text is escaped (``&``, ``<``, ``>``): alert data never mentions a channel or makes a
  link.
- Validation codes: Slack and Pushover get a message with the code; PagerDuty a trigger event
  of severity info with the code in its summary, resolved at once with the same ``dedup_key``,
  so the code shows in the service's alerts without an incident staying open. Jira and
  ServiceNow are APIs where nobody reads a code: read-only calls prove the URL and the
  credentials (Jira's ``/rest/api/2/myself`` and the project, one read of ServiceNow's
  incidents), and the code is then answered to the caller, who validates with it as usual.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from ...errors import DeliveryFailed
from ..model import AlertStatus, TriggeredAlert
from .model import (
    JiraConfig,
    PagerDutyConfig,
    PushoverConfig,
    ServiceNowConfig,
    SlackConfig,
    VendorMethodConfig,
)
from .payload import Payload, field_text, java_date
from .transport import Answer, Call, Transport

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
RETRIED = frozenset({408, 429})  # and every 5xx
MAX_FIELDS = 100  # extraData fields a message lists
MAX_VALUE = 1_000  # characters of one listed value
SLACK_FIELDS = 10  # Block Kit's limit on a section's fields
MAX_DESCRIPTION = 30_000  # Jira's and ServiceNow's text fields hold 32767
MAX_LISTED = 20_000  # of it, the alert's fields
EMERGENCY_RETRY_S = 60
EMERGENCY_EXPIRE_S = 3_600


@dataclass(frozen=True)
class Notice:
    """What a vendor's message says of one alert (or reminder)."""

    alert_id: int
    domain: str
    name: str
    message: str
    description: str
    priority: float
    digest: str
    created_ms: int
    context: str
    fields: tuple[tuple[str, str], ...]  # extraData, values as text
    url: str  # the alert in linqd's Alerts API, or empty
    reminder: bool

    @property
    def title(self) -> str:
        title = self.name or self.message or f"linqd alert {self.alert_id}"
        return f"Reminder: {title}" if self.reminder else title

    @property
    def summary(self) -> str:
        return one_line(f"{self.title}: {self.message}" if self.message else self.title)

    def facts(self) -> str:
        return (
            f"Priority {self.priority}, created {java_date(self.created_ms)}, "
            f"domain {self.domain}, digest {self.digest}"
        )


def notice(alert: TriggeredAlert, payload: Payload) -> Notice:
    """The notice of a delivery whose Devo payload is ``payload`` (a reminder's carries its
    message and status)."""
    return Notice(
        alert_id=alert.id,
        domain=alert.domain,
        name=alert.alert_name,
        message=payload["message"] or "",
        description=alert.description,
        priority=float(alert.priority),
        digest=alert.digest,
        created_ms=alert.create_date or alert.alert_date,
        context=alert.context,
        fields=tuple(
            (str(name), clip(field_text(value), MAX_VALUE))
            for name, value in list(alert.extra_data.items())[:MAX_FIELDS]
        ),
        url=payload["alertUrl"] or "",
        reminder=payload["status"] == str(int(AlertStatus.REMINDER)),
    )


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(text: str) -> str:
    return " ".join(text.split())


def iso_date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def severity(priority: float) -> str:
    """PagerDuty's severity of a Devo priority (0, 3, 5, 7, 10)."""
    if priority >= 8:
        return "critical"
    if priority >= 6:
        return "error"
    return "warning" if priority >= 3 else "info"


def level(priority: float) -> int:
    """ServiceNow's urgency or impact (1 high, 2 medium, 3 low) of a Devo priority."""
    if priority >= 8:
        return 1
    return 2 if priority >= 5 else 3


def judged(answer: Answer, host: str) -> Answer:
    """``answer`` if it is a 2xx; else the failure, permanent unless the vendor asks for a
    retry (408, 429, 5xx)."""
    if 200 <= answer.status < 300:
        return answer
    transient = answer.status in RETRIED or answer.status >= 500
    raise DeliveryFailed(answer.failure(host), permanent=not transient)


def _send(transport: Transport, call: Call) -> Answer:
    return judged(transport.call(call), call.host)


def _json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _text_body(notice: Notice, *, jira: bool) -> str:
    """An issue's or incident's description: the message, the description, the alert's fields
    (verbatim: in Jira's ``{noformat}``) and where the alert is."""
    parts = [text for text in (notice.message, notice.description) if text]
    if notice.fields:
        # Clipped before the block closes, so that the clip of the whole never cuts it open.
        lines = clip("\n".join(f"{name}: {value}" for name, value in notice.fields), MAX_LISTED)
        if jira:
            lines = "*Alert fields*\n{noformat}\n" + lines.replace("{noformat}", "{ noformat}")
            lines += "\n{noformat}"
        parts.append(lines)
    parts.append(notice.facts())
    if notice.url:
        parts.append(f"[The alert in linqd|{notice.url}]" if jira else notice.url)
    return clip("\n\n".join(parts), MAX_DESCRIPTION)


# -- Slack ----------------------------------------------------------------------------------------


def _mrkdwn(text: str) -> str:
    """Text as Slack's mrkdwn shows it (its three control characters escaped)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(notice: Notice) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(notice.title, 150)}}
    ]
    body = "\n\n".join(text for text in (notice.message, notice.description) if text)
    if body:
        text = {"type": "mrkdwn", "text": clip(_mrkdwn(body), 3_000)}
        blocks.append({"type": "section", "text": text})
    if notice.fields:
        shown = [
            {"type": "mrkdwn", "text": clip(f"*{_mrkdwn(name)}*\n{_mrkdwn(value)}", 2_000)}
            for name, value in notice.fields[:SLACK_FIELDS]
        ]
        blocks.append({"type": "section", "fields": shown})
    facts = _mrkdwn(notice.facts())
    if len(notice.fields) > SLACK_FIELDS:
        facts += f"; {len(notice.fields) - SLACK_FIELDS} more fields in the alert"
    if notice.url:
        facts += f" · <{notice.url}|The alert in linqd>"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": facts}]})
    return {"text": clip(_mrkdwn(notice.summary), 3_000), "blocks": blocks}


def _slack(config: SlackConfig, message: Mapping[str, Any]) -> Call:
    return Call("POST", config.webhook_url, _json(message), JSON, timeout_ms=config.timeout_ms)


# -- PagerDuty ------------------------------------------------------------------------------------


def pagerduty_event(config: PagerDutyConfig, notice: Notice) -> dict[str, Any]:
    details: dict[str, Any] = {
        "message": notice.message,
        "description": notice.description,
        "priority": notice.priority,
        "alertId": notice.alert_id,
        "domain": notice.domain,
        "context": notice.context,
        "extraData": dict(notice.fields),
    }
    event: dict[str, Any] = {
        "routing_key": config.routing_key,
        "event_action": "trigger",
        "dedup_key": notice.digest,
        "client": "linqd",
        "payload": {
            "summary": clip(notice.summary, 1_024),
            "source": config.source or notice.context or "linqd",
            "severity": config.severity or severity(notice.priority),
            "timestamp": iso_date(notice.created_ms),
            "group": notice.domain,
            "custom_details": details,
        },
    }
    if notice.name:
        event["payload"]["class"] = notice.name
    if notice.url:
        event["client_url"] = notice.url
        event["links"] = [{"href": notice.url, "text": "The alert in linqd"}]
    return event


def _pagerduty(config: PagerDutyConfig, event: Mapping[str, Any]) -> Call:
    return Call("POST", config.events_url, _json(event), JSON, timeout_ms=config.timeout_ms)


# -- Jira -----------------------------------------------------------------------------------------


def _base(url: str) -> str:
    return url.rstrip("/")


def jira_issue(config: JiraConfig, notice: Notice) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "project": {"key": config.project_key},
        "summary": clip(notice.summary, 255),
        "description": _text_body(notice, jira=True),
        "issuetype": {"name": config.issue_type},
    }
    if config.labels:
        fields["labels"] = list(config.labels)
    if config.priority is not None:
        fields["priority"] = {"name": config.priority}
    return {"fields": fields}


def _jira(config: JiraConfig, method: str, path: str, body: bytes | None = None) -> Call:
    return Call(
        method,
        _base(config.url) + path,
        body,
        JSON if body is not None else None,
        basic=(config.username, config.api_token),
        timeout_ms=config.timeout_ms,
    )


# -- ServiceNow -----------------------------------------------------------------------------------

INCIDENTS = "/api/now/table/incident"


def servicenow_incident(config: ServiceNowConfig, notice: Notice) -> dict[str, Any]:
    incident: dict[str, Any] = {
        "short_description": clip(notice.summary, 160),
        "description": _text_body(notice, jira=False),
        "urgency": str(config.urgency or level(notice.priority)),
        "impact": str(config.impact or level(notice.priority)),
        "correlation_id": notice.digest,
        "correlation_display": "linqd",
    }
    if config.caller_id is not None:
        incident["caller_id"] = config.caller_id
    if config.assignment_group is not None:
        incident["assignment_group"] = config.assignment_group
    return incident


def _servicenow(
    config: ServiceNowConfig, method: str, query: Mapping[str, str], body: bytes | None = None
) -> Call:
    url = _base(config.url) + INCIDENTS + (f"?{urlencode(query)}" if query else "")
    return Call(
        method,
        url,
        body,
        JSON if body is not None else None,
        basic=(config.username, config.password),
        timeout_ms=config.timeout_ms,
        read=method == "GET",
    )


def _incident_exists(transport: Transport, config: ServiceNowConfig, digest: str) -> bool:
    """Whether an incident of this digest is there already (a create whose answer was lost);
    False when the instance answers the look-up with anything but a list, so that a look-up
    refused (a user who may create incidents but not read them) never holds one back."""
    query = {
        "sysparm_query": f"correlation_id={digest}",
        "sysparm_fields": "sys_id",
        "sysparm_limit": "1",
    }
    answer = transport.call(_servicenow(config, "GET", query))
    if not 200 <= answer.status < 300:
        return False
    try:
        found = json.loads(answer.body)["result"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(found, list) and bool(found)


# -- Pushover -------------------------------------------------------------------------------------


def pushover_message(config: PushoverConfig, notice: Notice) -> dict[str, str]:
    lines = [text for text in (notice.message, notice.description) if text]
    lines += [f"{name}: {value}" for name, value in notice.fields]
    form = {
        "token": config.app_token,
        "user": config.user_key,
        "message": clip("\n".join(lines) or notice.title, 1_024),
        "title": clip(notice.title, 250),
        "priority": str(config.priority),
        "timestamp": str(notice.created_ms // 1000),
    }
    if notice.url and len(notice.url) <= 512:
        form.update(url=notice.url, url_title="The alert in linqd")
    if config.priority == 2:  # an emergency repeats until acknowledged, or for an hour
        form.update(retry=str(EMERGENCY_RETRY_S), expire=str(EMERGENCY_EXPIRE_S))
    return {**form, **_pushover_devices(config)}


def _pushover_devices(config: PushoverConfig) -> dict[str, str]:
    options: dict[str, str] = {}
    if config.device is not None:
        options["device"] = config.device
    if config.sound is not None:
        options["sound"] = config.sound
    return options


def _pushover(config: PushoverConfig, form: Mapping[str, str]) -> Call:
    url = _base(config.api_url) + "/1/messages.json"
    body = urlencode(form).encode("ascii")
    return Call("POST", url, body, FORM, timeout_ms=config.timeout_ms)


# -- delivering and validating --------------------------------------------------------------------


def deliver(
    transport: Transport, config: VendorMethodConfig, notice: Notice, *, retry: bool
) -> None:
    """Deliver ``notice``; ``retry``: an earlier attempt failed (its answer may have been
    lost). Raises ``DeliveryFailed``."""
    match config:
        case SlackConfig():
            _send(transport, _slack(config, slack_message(notice)))
        case PagerDutyConfig():
            _send(transport, _pagerduty(config, pagerduty_event(config, notice)))
        case JiraConfig():
            _send(
                transport,
                _jira(config, "POST", "/rest/api/2/issue", _json(jira_issue(config, notice))),
            )
        case ServiceNowConfig():
            if retry and _incident_exists(transport, config, notice.digest):
                return
            body = _json(servicenow_incident(config, notice))
            _send(transport, _servicenow(config, "POST", {}, body))
        case PushoverConfig():
            _send(transport, _pushover(config, pushover_message(config, notice)))


def send_code(
    transport: Transport,
    config: VendorMethodConfig,
    *,
    code: str,
    domain: str,
    method_id: int,
    name: str,
) -> str | None:
    """Send a validation code to the method's target (see the module docstring). Answers the
    code when the caller is to be told it (Jira, ServiceNow), else None. Raises
    ``DeliveryFailed``."""
    text = f"linqd validation code of the delivery method {name!r} of domain {domain}: {code}"
    match config:
        case SlackConfig():
            _send(transport, _slack(config, {"text": _mrkdwn(text)}))
        case PagerDutyConfig():
            key = f"linqd-validation-{method_id}-{code}"
            event = {
                "routing_key": config.routing_key,
                "event_action": "trigger",
                "dedup_key": key,
                "client": "linqd",
                "payload": {"summary": text, "source": "linqd", "severity": "info"},
            }
            _send(transport, _pagerduty(config, event))
            resolve = {
                "routing_key": config.routing_key,
                "event_action": "resolve",
                "dedup_key": key,
            }
            _send(transport, _pagerduty(config, resolve))
        case JiraConfig():
            _send(transport, _jira(config, "GET", "/rest/api/2/myself"))
            project = _jira(config, "GET", f"/rest/api/2/project/{config.project_key}")
            answer = transport.call(project)
            if answer.status == 404:
                raise DeliveryFailed(
                    f"{project.host}: project {config.project_key} is not visible to "
                    f"{config.username}",
                    permanent=True,
                )
            judged(answer, project.host)
            return code
        case ServiceNowConfig():
            _send(transport, _servicenow(config, "GET", {"sysparm_limit": "1"}))
            return code
        case PushoverConfig():
            form = {
                "token": config.app_token,
                "user": config.user_key,
                "title": "linqd validation code",
                "message": text,
                **_pushover_devices(config),
            }
            _send(transport, _pushover(config, form))
    return None
