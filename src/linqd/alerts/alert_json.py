"""The Alert objects the Alerts API shows for triggered alerts (see
docs/devo-compatibility.md).

Choices where Devo documents nothing:

- In the Alert object, ``username`` and ``alertOwner`` are the definition's owner (the table docs:
  "the user who created the alert"); ``contextLabel`` is the alert's name and ``alertLabel`` its
  message (the name when the message is empty); ``uniquedigest`` equals ``digest`` (already
  unique per domain). ``contexto`` and ``alertDefinition`` are objects, as in Devo's OpenAPI
  description (clients read ``alertDefinition.alertCorrelationContext``), holding what a firing
  knows of its definition. ``alertType``, ``alertMitreTactics``, ``alertMitreTechniques`` and
  ``alertPriority`` come from the extraData fields of those names (Devo's SecOps alerts select
  them as columns), else null. ``allExtraDataFields`` maps every extraData field to a string
  (non-strings as JSON text, so a null is ``"null"`` as in Devo's HTTP-JSON payloads).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .model import TriggeredAlert
from .triggered import extra_data_text

# The SecOps columns that AlertExtended shows at its top level when a firing carries them.
_SECOPS_FIELDS = ("alertType", "alertMitreTactics", "alertMitreTechniques", "alertPriority")


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _context_id(definition_id: str) -> int | str:
    # Devo's context ids are numbers; linqd's definition ids are decimal strings.
    return (
        int(definition_id) if definition_id.isascii() and definition_id.isdigit() else definition_id
    )


def alert_json(alert: TriggeredAlert, *, extended: bool = False) -> dict[str, Any]:
    """The Alert object of the Alerts API; ``extended``: AlertExtended."""
    extra = extra_data_text(alert.extra_data)
    label = alert.message or alert.alert_name
    out: dict[str, Any] = {
        "id": alert.id,
        "domain": alert.domain,
        "priority": float(alert.priority),
        "context": alert.context,
        "category": alert.category,
        "srcPort": None,
        "srcIp": None,
        "srcHost": None,
        "dstIp": None,
        "dstPort": None,
        "dstHost": None,
        "protocol": None,
        "username": alert.username,
        "application": None,
        "engine": None,
        "extraData": extra,
        "alertDate": alert.alert_date,
        "status": int(alert.status),
        "ack_status_date": alert.ack_status_date,
        "createDate": alert.create_date,
        "updateDate": alert.update_date,
        "scaled": False,
        "digest": alert.digest,
        "uniquedigest": alert.digest,
        "contexto": {
            "id": _context_id(alert.definition_id),
            "name": alert.alert_name,
            "category": {"name": alert.category},
            "subCategory": {"name": alert.subcategory},
        },
        "postAlertAction": None,
        "contextLabel": alert.alert_name,
        "contextSubscription": None,
        "shouldSend": True,
        "alertOwner": alert.username,
        "fullExtraData": extra,
        "alertLabel": label,
    }
    if not extended:
        return out
    fields = {str(name): _as_text(value) for name, value in alert.extra_data.items()}
    for name in _SECOPS_FIELDS:
        out[name] = fields.get(name)
    out["alertDefinition"] = {
        "id": alert.definition_id,
        "name": alert.alert_name,
        "message": alert.message,
        "description": alert.description,
        "subcategory": alert.subcategory,
        "alertCorrelationContext": {
            "id": alert.definition_id,
            "nameId": alert.context,
            "ownerEmail": alert.username,
        },
    }
    out["allExtraDataFields"] = fields
    out["tags"] = []
    out["entities"] = []
    out["commentsList"] = []
    return out


def alerts_json(alerts: Sequence[TriggeredAlert]) -> list[dict[str, Any]]:
    """A list answer of ``/alerts/list``: AlertExtended objects."""
    return [alert_json(alert, extended=True) for alert in alerts]
