"""Delivery methods, sending policies and deliveries as stored and as the APIs show them
(see docs/devo-compatibility.md). A method's password is stored (Digest authentication needs it
back) but never shown: ``to_json`` leaves it out. Custom header values and the values of the URL's
query string often carry credentials too (``X-Api-Key``, ``?token=``): they are shown as ``******``,
and an update that sends such a masked value back keeps the stored one.

The vendor types (Slack, PagerDuty, Jira, ServiceNow, Pushover) hold their secrets (routing keys,
API tokens, passwords, app tokens, user keys) the same way: stored, shown as ``******``; a Slack
webhook URL, whose path is its token, is shown as its scheme and host with the rest masked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit, urlunsplit

from pydantic.alias_generators import to_camel

from .antiflood import AntiFlooding, FloodMode
from .schedule import Schedule

# Every type Devo's delivery methods API lists; linqd delivers all but servicedesk.
DEVO_METHOD_TYPES = (
    "httpjson",
    "email",
    "servicedesk",
    "jira",
    "pushover",
    "pagerduty",
    "slack",
    "servicenow",
)


MASK = "******"


def masked_url(url: str) -> str:
    """The URL with every query value (and any fragment) masked, names kept."""
    parts = urlsplit(url)
    if not parts.query and not parts.fragment:
        return url
    pairs = [item.partition("=") for item in parts.query.split("&")] if parts.query else []
    query = "&".join(f"{name}={MASK}" if sep else name for name, sep, _ in pairs)
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path, query, MASK if parts.fragment else "")
    )


def masked_path(url: str) -> str:
    """The URL's scheme and host, the rest masked (a webhook whose path is its token)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + MASK, "", ""))


def _hidden(value: str) -> str:
    return MASK


class MethodType(StrEnum):
    HTTPJSON = "httpjson"
    EMAIL = "email"
    SLACK = "slack"
    PAGERDUTY = "pagerduty"
    JIRA = "jira"
    SERVICENOW = "servicenow"
    PUSHOVER = "pushover"


class ContentType(StrEnum):
    JSON = "application/json"
    FORM = "application/x-www-form-urlencoded"  # Devo's legacy mode: the body is json=<JSON>


@dataclass(frozen=True)
class HttpJsonConfig:
    url: str
    content_type: ContentType = ContentType.JSON
    headers: tuple[tuple[str, str], ...] = ()
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_ms: int = 10_000

    def to_json(self, *, with_secret: bool = False) -> dict[str, Any]:
        """As shown by the API (secrets masked or left out), or ``with_secret`` as stored."""
        out: dict[str, Any] = {
            "url": self.url if with_secret else masked_url(self.url),
            "contentType": self.content_type.value,
            "headers": {name: value if with_secret else MASK for name, value in self.headers},
            "username": self.username,
            "timeoutMs": self.timeout_ms,
        }
        if with_secret and self.password is not None:
            out["password"] = self.password
        return out

    def unmask(self, given: dict[str, Any]) -> dict[str, Any]:
        """An update's config where it sends back what ``to_json`` showed: the stored values."""
        out = dict(given)
        if out.get("url") == masked_url(self.url):
            out["url"] = self.url
        headers = out.get("headers")
        if isinstance(headers, dict):
            stored = dict(self.headers)
            out["headers"] = {
                name: stored[name] if value == MASK and name in stored else value
                for name, value in headers.items()
            }
        return out


@dataclass(frozen=True)
class EmailConfig:
    email: str
    timezone: str = "UTC"
    locale: str = "en"
    attach_events: str = "false"  # Devo types it as a string; kept as given
    max_events: int = 0

    def to_json(self, *, with_secret: bool = False) -> dict[str, Any]:
        return {
            "email": self.email,
            "timezone": self.timezone,
            "locale": self.locale,
            "attachEvents": self.attach_events,
            "maxEvents": self.max_events,
        }

    def unmask(self, given: dict[str, Any]) -> dict[str, Any]:
        return dict(given)  # nothing is masked


# -- the vendor types -----------------------------------------------------------------------------


# The metadata of a secret field: stored as given, shown as its "shown" makes it.
HIDDEN: dict[str, Callable[[str], str]] = {"shown": _hidden}
PATH_HIDDEN: dict[str, Callable[[str], str]] = {"shown": masked_path}


@dataclass(frozen=True)
class VendorConfig:
    """What the vendor types share: their JSON names are their fields' in camelCase, secret
    fields (``HIDDEN`` metadata) are shown masked, and ``TARGET`` names the fields that say where
    alerts go (changing one makes the method pending again)."""

    TARGET: ClassVar[tuple[str, ...]] = ()

    def to_json(self, *, with_secret: bool = False) -> dict[str, Any]:
        """As shown by the API (secrets masked), or ``with_secret`` as stored."""
        out: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            shown = item.metadata.get("shown")
            if shown is not None and value is not None and not with_secret:
                value = shown(value)
            out[to_camel(item.name)] = list(value) if isinstance(value, tuple) else value
        return out

    def unmask(self, given: dict[str, Any]) -> dict[str, Any]:
        """An update's config where it sends back what ``to_json`` showed: the stored values."""
        out = dict(given)
        shown = self.to_json()
        for item in fields(self):
            name = to_camel(item.name)
            if "shown" in item.metadata and name in out and out[name] == shown[name]:
                out[name] = getattr(self, item.name)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """The config ``to_json(with_secret=True)`` wrote; absent fields take their defaults."""
        values: dict[str, Any] = {}
        for item in fields(cls):
            name = to_camel(item.name)
            if name in data:
                value = data[name]
                values[item.name] = tuple(value) if isinstance(value, list) else value
            elif item.default is MISSING and item.default_factory is MISSING:
                raise ValueError(f"stored {cls.__name__} lacks {name}")
        return cls(**values)

    @property
    def target(self) -> str:
        return json.dumps([getattr(self, name) for name in self.TARGET])


DEFAULT_TIMEOUT_MS = 10_000
PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
PUSHOVER_API_URL = "https://api.pushover.net"


@dataclass(frozen=True)
class SlackConfig(VendorConfig):
    """A Slack incoming webhook."""

    TARGET: ClassVar[tuple[str, ...]] = ("webhook_url",)
    webhook_url: str = field(repr=False, metadata=PATH_HIDDEN)
    timeout_ms: int = DEFAULT_TIMEOUT_MS


@dataclass(frozen=True)
class PagerDutyConfig(VendorConfig):
    """A PagerDuty service, through the Events API v2. ``severity`` None: from the priority."""

    TARGET: ClassVar[tuple[str, ...]] = ("events_url", "routing_key")
    routing_key: str = field(repr=False, metadata=HIDDEN)
    events_url: str = PAGERDUTY_EVENTS_URL
    severity: str | None = None
    source: str | None = None
    timeout_ms: int = DEFAULT_TIMEOUT_MS


@dataclass(frozen=True)
class JiraConfig(VendorConfig):
    """A Jira project where each alert becomes an issue (REST API v2, basic authentication)."""

    TARGET: ClassVar[tuple[str, ...]] = ("url", "project_key")
    url: str
    username: str
    api_token: str = field(repr=False, metadata=HIDDEN)
    project_key: str
    issue_type: str = "Task"
    labels: tuple[str, ...] = ()
    priority: str | None = None
    timeout_ms: int = DEFAULT_TIMEOUT_MS


@dataclass(frozen=True)
class ServiceNowConfig(VendorConfig):
    """A ServiceNow instance where each alert becomes an incident (Table API, basic
    authentication). ``urgency`` and ``impact`` None: from the alert's priority."""

    TARGET: ClassVar[tuple[str, ...]] = ("url",)
    url: str
    username: str
    password: str = field(repr=False, metadata=HIDDEN)
    urgency: int | None = None
    impact: int | None = None
    caller_id: str | None = None
    assignment_group: str | None = None
    timeout_ms: int = DEFAULT_TIMEOUT_MS


@dataclass(frozen=True)
class PushoverConfig(VendorConfig):
    """A Pushover user or group, through an application's token."""

    TARGET: ClassVar[tuple[str, ...]] = ("api_url", "user_key")
    user_key: str = field(repr=False, metadata=HIDDEN)
    app_token: str = field(repr=False, metadata=HIDDEN)
    api_url: str = PUSHOVER_API_URL
    priority: int = 0
    device: str | None = None
    sound: str | None = None
    timeout_ms: int = DEFAULT_TIMEOUT_MS


VendorMethodConfig = SlackConfig | PagerDutyConfig | JiraConfig | ServiceNowConfig | PushoverConfig
MethodConfig = HttpJsonConfig | EmailConfig | VendorMethodConfig
VENDOR_CONFIGS: dict[MethodType, type[VendorMethodConfig]] = {
    MethodType.SLACK: SlackConfig,
    MethodType.PAGERDUTY: PagerDutyConfig,
    MethodType.JIRA: JiraConfig,
    MethodType.SERVICENOW: ServiceNowConfig,
    MethodType.PUSHOVER: PushoverConfig,
}


def type_of(config: MethodConfig) -> MethodType:
    if isinstance(config, HttpJsonConfig):
        return MethodType.HTTPJSON
    if isinstance(config, EmailConfig):
        return MethodType.EMAIL
    return next(kind for kind, cls in VENDOR_CONFIGS.items() if isinstance(config, cls))


def target(config: MethodConfig) -> str:
    """Where a method delivers; changing it makes the method pending again."""
    if isinstance(config, HttpJsonConfig):
        return config.url
    if isinstance(config, EmailConfig):
        return config.email
    return config.target


@dataclass(frozen=True)
class MethodInput:
    name: str
    type: MethodType
    config: MethodConfig


@dataclass(frozen=True)
class DeliveryMethod:
    id: int
    domain: str
    spec: MethodInput
    validated: bool
    created_ms: int
    updated_ms: int

    @property
    def type(self) -> MethodType:
        return self.spec.type

    @property
    def config(self) -> MethodConfig:
        return self.spec.config

    def to_json(self) -> dict[str, Any]:
        """Devo's item; ``status`` is true once validated. Never the password."""
        return {
            "id": self.id,
            "name": self.spec.name,
            "type": self.spec.type.value,
            "status": self.validated,
            "config": self.spec.config.to_json(),
        }


def config_text(config: MethodConfig) -> str:
    return json.dumps(config.to_json(with_secret=True))


def config_from_text(kind: MethodType, text: str) -> MethodConfig:
    data = json.loads(text)
    vendor = VENDOR_CONFIGS.get(kind)
    if vendor is not None:
        return vendor.from_json(data)
    if kind is MethodType.EMAIL:
        return EmailConfig(
            email=data["email"],
            timezone=data["timezone"],
            locale=data["locale"],
            attach_events=data["attachEvents"],
            max_events=int(data["maxEvents"]),
        )
    return HttpJsonConfig(
        url=data["url"],
        content_type=ContentType(data["contentType"]),
        headers=tuple((str(k), str(v)) for k, v in data["headers"].items()),
        username=data.get("username"),
        password=data.get("password"),
        timeout_ms=int(data["timeoutMs"]),
    )


# -- sending policies -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyInput:
    name: str
    is_default: bool = False
    methods: tuple[int, ...] = ()
    anti_flooding: AntiFlooding = AntiFlooding()
    schedule: Schedule | None = None


@dataclass(frozen=True)
class SendingPolicy:
    id: int
    domain: str
    spec: PolicyInput
    created_ms: int
    updated_ms: int

    def to_json(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "id": str(self.id),  # as definitions' actionPolicyId lists them
            "name": spec.name,
            "isDefault": spec.is_default,
            "methods": list(spec.methods),
            "antiFlooding": spec.anti_flooding.to_json(),
            "schedule": spec.schedule.to_json() if spec.schedule is not None else None,
        }


def policy_text(spec: PolicyInput) -> str:
    """Everything but the name and the default flag, which have columns."""
    flood = spec.anti_flooding
    return json.dumps(
        {
            "methods": list(spec.methods),
            "antiFlooding": {
                "mode": flood.mode.value,
                "maxAlerts": flood.max_alerts,
                "periodMs": flood.period_ms,
                "reminderAfterMs": flood.reminder_after_ms,
            },
            "schedule": spec.schedule.to_json() if spec.schedule is not None else None,
        }
    )


def policy_from_text(name: str, is_default: bool, text: str) -> PolicyInput:
    data = json.loads(text)
    flood = data["antiFlooding"]
    schedule = data["schedule"]
    return PolicyInput(
        name=name,
        is_default=is_default,
        methods=tuple(int(m) for m in data["methods"]),
        anti_flooding=AntiFlooding(
            mode=FloodMode(flood["mode"]),
            max_alerts=int(flood["maxAlerts"]),
            period_ms=int(flood["periodMs"]),
            reminder_after_ms=int(flood["reminderAfterMs"]),
        ),
        schedule=Schedule.from_json(schedule) if schedule is not None else None,
    )


# -- deliveries -----------------------------------------------------------------------------------


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class DeliveryKind(StrEnum):
    ALERT = "alert"
    REMINDER = "reminder"


@dataclass(frozen=True)
class Delivery:
    """One alert (or reminder) to one method: the outbox row the workers send."""

    id: int
    domain: str
    alert_id: int
    method_id: int
    policy_id: int
    kind: DeliveryKind
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    next_attempt_ms: int
    delivered_ms: int | None
    suppressed: int = 0  # reminders: how many alerts anti-flooding held back
    first_ms: int | None = None  # reminders: when the first and last of them arrived
    last_ms: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "alertId": self.alert_id,
            "methodId": self.method_id,
            "kind": self.kind.value,
            "status": self.status.value,
            "attempts": self.attempts,
            "lastError": self.last_error,
            "nextAttemptMs": self.next_attempt_ms,
            "deliveredMs": self.delivered_ms,
        }
