"""Alert definitions, their triggers, triggered alerts and their statuses, and the JSON objects
the Alerts API shows for them (Devo's Alerts API page; docs/devo-compatibility.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Any

MY_ALERTS = "my"  # user alerts always live in Devo's "My Alerts" category


class TriggerKind(Enum):
    EACH = "each"
    SEVERAL = "several"
    LOW = "low"
    INACTIVITY = "inactivity"
    ROLLING = "rolling"
    DEVIATION = "deviation"
    GRADIENT = "gradient"


# Each kind's own parameters, in the order the API shows them.
KIND_FIELDS: Mapping[TriggerKind, tuple[str, ...]] = {
    TriggerKind.EACH: (),
    TriggerKind.SEVERAL: ("period", "threshold", "keys"),
    TriggerKind.LOW: ("period", "threshold"),
    TriggerKind.INACTIVITY: ("period", "keys"),
    TriggerKind.ROLLING: ("period", "backPeriod"),
    TriggerKind.DEVIATION: ("threshold", "absolute", "aggregationColumn"),
    TriggerKind.GRADIENT: ("threshold", "absolute", "aggregationColumn"),
}
# The subquery windows; Devo documents them for `each`, linqd accepts them on every kind.
SUBQUERY_FIELDS = ("externalPeriod", "externalOffset", "internalPeriod", "internalOffset")


@dataclass(frozen=True)
class Trigger:
    """``correlationTrigger``: the kind and its parameters (periods and offsets in ms)."""

    kind: TriggerKind
    period: int | None = None
    threshold: int | None = None
    keys: tuple[str, ...] | None = None
    back_period: int | None = None
    absolute: bool | None = None
    aggregation_column: tuple[str, ...] | None = None
    external_period: int | None = None
    external_offset: int | None = None
    internal_period: int | None = None
    internal_offset: int | None = None

    def value(self, api_name: str) -> Any:
        """A parameter by its API name (``backPeriod``, ``aggregationColumn`` ...)."""
        attribute = _ATTRIBUTES[api_name]
        found = getattr(self, attribute)
        return list(found) if isinstance(found, tuple) else found

    @property
    def has_subquery_window(self) -> bool:
        return any(self.value(name) is not None for name in SUBQUERY_FIELDS)

    def to_json(self) -> dict[str, Any]:
        """The kind, all of its fields and the subquery fields; null where unset."""
        out: dict[str, Any] = {"kind": self.kind.value}
        for name in KIND_FIELDS[self.kind] + SUBQUERY_FIELDS:
            out[name] = self.value(name)
        return out

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Trigger:
        """Read back what ``to_json`` wrote (stored definitions; already validated)."""
        values: dict[str, Any] = {}
        for api_name, attribute in _ATTRIBUTES.items():
            raw = data.get(api_name)
            values[attribute] = tuple(raw) if isinstance(raw, list) else raw
        return Trigger(kind=TriggerKind(data["kind"]), **values)


_ATTRIBUTES: Mapping[str, str] = {
    "period": "period",
    "threshold": "threshold",
    "keys": "keys",
    "backPeriod": "back_period",
    "absolute": "absolute",
    "aggregationColumn": "aggregation_column",
    "externalPeriod": "external_period",
    "externalOffset": "external_offset",
    "internalPeriod": "internal_period",
    "internalOffset": "internal_offset",
}


@dataclass(frozen=True)
class DefinitionInput:
    """A validated create or update request, before ids and dates are assigned."""

    name: str
    subcategory: str
    query: str
    priority: int
    trigger: Trigger
    message: str = ""
    description: str = ""
    is_active: bool = True
    timezone: str = "GMT"
    locale: str = "en_US"
    with_select_all: bool = True
    action_policy_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertDefinition:
    id: str
    domain: str
    category_id: str
    subcategory_id: str
    creation_ms: int
    updated_ms: int
    owner_email: str
    spec: DefinitionInput

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def name_id(self) -> str:
        return name_id(self.domain, self.spec.name)

    def to_json(self) -> dict[str, Any]:
        """The AlertDefinition object of the API (Devo's Alerts API page)."""
        spec = self.spec
        return {
            "id": self.id,
            "creationDate": self.creation_ms,
            "name": spec.name,
            "message": spec.message,
            "description": spec.description,
            "categoryId": self.category_id,
            "subcategory": qualified_subcategory(self.domain, spec.subcategory),
            "subcategoryId": self.subcategory_id,
            "isActive": spec.is_active,
            "isFavorite": False,
            "isAlertChain": False,
            "alertCorrelationContext": {
                # linqd has one correlation context per definition; it shares the id.
                "id": self.id,
                "nameId": self.name_id,
                "ownerEmail": self.owner_email,
                "querySourceCode": spec.query,
                "priority": spec.priority,
                "correlationTrigger": spec.trigger.to_json(),
                "timezone": spec.timezone,
                "locale": spec.locale,
                "withSelectAll": spec.with_select_all,
            },
            "actionPolicyId": list(spec.action_policy_ids),
        }

    def stored(self) -> str:
        """What the repository keeps (everything but the ids and dates it has columns for)."""
        spec = self.spec
        return json.dumps(
            {
                "name": spec.name,
                "subcategory": spec.subcategory,
                "query": spec.query,
                "priority": spec.priority,
                "trigger": spec.trigger.to_json(),
                "message": spec.message,
                "description": spec.description,
                "isActive": spec.is_active,
                "timezone": spec.timezone,
                "locale": spec.locale,
                "withSelectAll": spec.with_select_all,
                "actionPolicyId": list(spec.action_policy_ids),
                "categoryId": self.category_id,
                "subcategoryId": self.subcategory_id,
                "ownerEmail": self.owner_email,
            }
        )

    @staticmethod
    def from_stored(
        id_: int, domain: str, text: str, created_ms: int, updated_ms: int
    ) -> AlertDefinition:
        data = json.loads(text)
        spec = DefinitionInput(
            name=data["name"],
            subcategory=data["subcategory"],
            query=data["query"],
            priority=int(data["priority"]),
            trigger=Trigger.from_json(data["trigger"]),
            message=data["message"],
            description=data["description"],
            is_active=bool(data["isActive"]),
            timezone=data["timezone"],
            locale=data["locale"],
            with_select_all=bool(data["withSelectAll"]),
            action_policy_ids=tuple(data["actionPolicyId"]),
        )
        return AlertDefinition(
            id=str(id_),
            domain=domain,
            category_id=data["categoryId"],
            subcategory_id=data["subcategoryId"],
            creation_ms=created_ms,
            updated_ms=updated_ms,
            owner_email=data["ownerEmail"],
            spec=spec,
        )


_NON_ALNUM = re.compile(r"[^A-Za-z0-9]")


def normalized(text: str) -> str:
    """Devo's rule for names in contexts: every non-alphanumeric character becomes ``_``."""
    return _NON_ALNUM.sub("_", text)


def name_id(domain: str, name: str) -> str:
    return f"my.alert.{domain}.{normalized(name)}"


def qualified_subcategory(domain: str, subcategory: str) -> str:
    return f"lib.{MY_ALERTS}.{domain}.{normalized(subcategory)}"


class AlertStatus(IntEnum):
    """Statuses of triggered alerts (see docs/devo-compatibility.md)."""

    UNREAD = 0
    UPDATED = 1
    FALSE_POSITIVE = 2
    WATCHED = 100
    CLOSED = 300
    REMINDER = 500
    RECOVERY = 600
    ANTI_FLOOD = 700
    SUPPRESSED = 800


# Hidden from /alerts/list unless showAll: false positives and closed alerts.
CLOSED_STATUSES = frozenset({AlertStatus.FALSE_POSITIVE, AlertStatus.CLOSED})


@dataclass(frozen=True)
class TriggeredAlert:
    """One firing of a definition, as stored and as the triggered-alerts API shows it."""

    domain: str
    definition_id: str
    digest: str  # deterministic: the same firing is stored once
    alert_date: int  # ms: the firing's eventdate
    priority: float
    context: str  # the definition's nameId
    alert_name: str
    subcategory: str  # qualified, lib.my.<domain>.<subcategory>
    username: str  # the definition's owner
    message: str
    description: str
    extra_data: Mapping[str, Any] = field(default_factory=dict)
    status: AlertStatus = AlertStatus.UNREAD
    id: int = 0  # assigned when stored
    create_date: int = 0
    update_date: int = 0
    ack_status_date: int | None = None
    category: str = MY_ALERTS
