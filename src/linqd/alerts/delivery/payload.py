"""What a delivery sends: Devo's HTTP-JSON payload (see docs/devo-compatibility.md) and the e-mail.

The payload has the fields of Devo's example, every value a string except ``ack_status_date``
(null): ``id``, ``domain``, ``priority`` (``"3.0"``), ``context``, ``srcIp``, ``dstIp``,
``srcPort``, ``dstPort``, ``category``, ``protocol``, ``username``, ``application``,
``status``, ``creation_date`` (Java's ``EEE MMM dd HH:mm:ss zzz yyyy`` in UTC, from the alert's
creation), ``ack_status_date``, ``digest``, ``scaled`` (``"false"``), ``srcHost``, ``dstHost``
and ``extraData`` (JSON text whose values are URL-encoded, nulls as ``"null"``). Fields linqd
has no value for are empty strings.

Devo elides the rest of its example; linqd adds ``alertName`` (the definition's name),
``message``, ``description`` and ``alertUrl`` (the alert in linqd's Alerts API, or empty when
the server's address is unknown). A reminder is the last alert anti-flooding held back with
``status`` ``"500"``, a ``message`` saying how many were held back and when, and
``suppressedCount``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote_plus, urlencode

from ..model import AlertStatus, TriggeredAlert
from .model import ContentType

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
Payload = dict[str, str | None]


def java_date(ms: int) -> str:
    """``Fri Oct 09 14:03:42 UTC 2020``: Java's ``Date.toString`` in UTC, in English whatever
    the process locale."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return (
        f"{_DAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} {moment.day:02d} "
        f"{moment:%H:%M:%S} UTC {moment.year}"
    )


def field_text(value: Any) -> str:
    """An extraData value as text: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def encoded_extra(extra: Mapping[str, Any]) -> str:
    """extraData as Devo's HTTP-JSON deliveries carry it: values URL-encoded, in JSON text."""
    return json.dumps({str(k): quote_plus(field_text(v)) for k, v in extra.items()})


def reminder_text(alert: TriggeredAlert, suppressed: int, first_ms: int, last_ms: int) -> str:
    return (
        f"Reminder: anti-flooding held back {suppressed} alert(s) of {alert.alert_name} "
        f"between {java_date(first_ms)} and {java_date(last_ms)}"
    )


def devo_payload(
    alert: TriggeredAlert, *, alert_url: str = "", reminder: str | None = None, suppressed: int = 0
) -> Payload:
    """The payload of one delivery; ``reminder`` is the reminder's message for reminders."""
    status = AlertStatus.REMINDER if reminder is not None else alert.status
    payload: Payload = {
        "id": str(alert.id),
        "domain": alert.domain,
        "priority": str(float(alert.priority)),
        "context": alert.context,
        "srcIp": "",
        "dstIp": "",
        "srcPort": "",
        "dstPort": "",
        "category": alert.category,
        "protocol": "",
        "username": alert.username,
        "application": "",
        "status": str(int(status)),
        "creation_date": java_date(alert.create_date or alert.alert_date),
        "ack_status_date": None,
        "digest": alert.digest,
        "scaled": "false",
        "srcHost": "",
        "dstHost": "",
        "extraData": encoded_extra(alert.extra_data),
        "alertName": alert.alert_name,
        "message": reminder if reminder is not None else alert.message,
        "description": alert.description,
        "alertUrl": alert_url,
    }
    if reminder is not None:
        payload["suppressedCount"] = str(suppressed)
    return payload


def http_body(payload: Mapping[str, Any], content_type: ContentType) -> bytes:
    """JSON, or Devo's legacy form body ``json=<JSON>`` (form-encoded, so a receiver's form
    parser gets the JSON back unchanged)."""
    text = json.dumps(payload, separators=(",", ":"))
    if content_type is ContentType.FORM:
        return urlencode({"json": text}).encode("ascii")
    return text.encode("utf-8")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:900]


def email_message(
    payload: Payload, alert: TriggeredAlert, *, sender: str, to: str, message_id: str, now_ms: int
) -> EmailMessage:
    """Subject: the alert's name (its message if unnamed); body: the message, the description
    and the extraData fields with plain values."""
    reminder = payload["status"] == str(int(AlertStatus.REMINDER))
    subject = alert.alert_name or alert.message or f"linqd alert {alert.id}"
    lines = [payload["message"] or "", "", alert.description, ""]
    if alert.extra_data:
        lines.append("extraData:")
        lines += [f"  {key}: {field_text(value)}" for key, value in alert.extra_data.items()]
        lines.append("")
    lines.append(f"Priority {payload['priority']}, created {payload['creation_date']}.")
    if payload["alertUrl"]:
        lines.append(str(payload["alertUrl"]))
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = _one_line(("Reminder: " if reminder else "") + subject)
    message["Date"] = format_datetime(datetime.fromtimestamp(now_ms / 1000, tz=UTC))
    message["Message-ID"] = message_id
    message.set_content("\n".join(lines) + "\n")
    return message
