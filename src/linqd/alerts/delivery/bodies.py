"""The request bodies of delivery methods (``/delco/methods``) and sending policies
(``/alerts/v1/sendingPolicies``), declared once: ``delivery/validate.py`` reads bodies with these
models and the OpenAPI document is generated from them.

Decisions where Devo is silent:
- Strings are bounded and hold no control characters; a name, a URL, an address and a clock
  time must not be blank. Numbers are JSON integers.
- Custom headers: at most 32, token names, one-line printable ASCII values; the reserved names
  of Devo's page (``Content-Type``, ``Content-Length``, ``Accept``, ``Authorization``,
  ``Host``) are refused in any case, and so are duplicates that differ only in case.
- URLs are ``http``/``https`` with a host and without ``user:password@`` (credentials go in
  ``username``/``password``, which are never shown). A URL whose host is an address that the
  server's outbound policy (the ``outbound`` of the validation context) denies is refused here;
  names are judged on what they resolve to at every delivery.
- ``attachEvents`` is a string in Devo's API; a JSON boolean is taken as ``"true"``/``"false"``.
- The vendor types (``slack``, ``pagerduty``, ``jira``, ``servicenow``, ``pushover``; Devo
  documents none of their fields) take the fields listed in docs/devo-compatibility.md.
  Their URLs are judged as webhook URLs; base URLs (Jira, ServiceNow, Pushover) hold no query
  or fragment. Keys are checked against the vendor's form (a PagerDuty routing key is 32
  letters and digits, Pushover's keys 30), Jira project keys are upper-cased, labels hold no
  spaces, and enumerations take the vendor's values (PagerDuty severities, ServiceNow's
  urgency and impact 1-3, Pushover's priority -2 to 2).
- Anti-flooding is one model per ``mode`` (``default`` when absent): the limits of ``custom``
  are read only in that mode. A reminder comes at least one period after the window opens.
- Method ids in a policy may be strings of digits or integers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal, Self
from urllib.parse import urlsplit

import httpx
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticKnownError, PydanticUseDefault

from ...bodies import Body, Flag, Integer, Text, Worded, known_zone, rule
from ...errors import OutboundRefused
from ...outbound import DEFAULT_POLICY, OutboundPolicy
from ...sinks.email import EMAIL_ADDRESS
from . import model
from .model import ContentType
from .schedule import DAYS

MAX_NAME = 256
MAX_URL = 2_048
MAX_HEADERS = 32
MAX_HEADER_VALUE = 4_096
MAX_POLICY_METHODS = 100
DAY_MS = 86_400_000
MAX_FLOOD_MS = 30 * DAY_MS
MAX_METHOD_ID = 2**63 - 1
MAX_SECRET = 1_024
MAX_LABELS = 20
RESERVED_HEADERS = frozenset({"content-type", "content-length", "accept", "authorization", "host"})
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_URL_TEXT = re.compile(r"[\x21-\x7e]+")  # printable ASCII: percent-encode anything else
_HEADER_VALUE = re.compile(r"[\x20-\x7e]*")
REQUIRED = "is required"


# -- the checks the types below run after pydantic's own --------------------------------------


def _plain(value: str) -> str:
    if _CONTROL.search(value):
        raise rule("must not hold control characters")
    return value


def _filled(value: str) -> str:
    if not value.strip():
        raise rule(REQUIRED)
    return value


def _web_url(value: str, info: ValidationInfo) -> str:
    if not _URL_TEXT.fullmatch(value):
        raise rule("must be printable ASCII without spaces (percent-encode)")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number or out of range
        httpx.URL(value)
    except (ValueError, httpx.InvalidURL):
        raise rule("is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise rule("must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise rule("must not hold credentials: use username and password")
    outbound = (info.context or {}).get("outbound", DEFAULT_POLICY)
    assert isinstance(outbound, OutboundPolicy)
    try:
        outbound.check_host(parts.hostname)
    except OutboundRefused as refused:
        raise rule(refused.message) from None
    return value


def _header_name(name: str) -> str:
    if not _HEADER_NAME.fullmatch(name):
        raise rule("is not a valid header name")
    if name.lower() in RESERVED_HEADERS:
        raise rule("is reserved and cannot be set")
    return name


def _header_value(value: str) -> str:
    if not _HEADER_VALUE.fullmatch(value):
        raise rule("must be printable ASCII")
    return value


def _distinct(headers: dict[str, str]) -> dict[str, str]:
    seen: set[str] = set()
    for name in headers:
        if name.lower() in seen:
            raise rule("is given twice", at=name[:64])
        seen.add(name.lower())
    return headers


def _lower(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticKnownError("string_type")
    return value.lower() or ContentType.JSON.value  # an empty one is the default


def _empty_is_default(value: Any) -> Any:
    if value == "":
        raise PydanticUseDefault
    return value


def _lower_if_text(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _flag_text(value: Any) -> Any:
    return ("true" if value else "false") if isinstance(value, bool) else value


def _method_id(value: Any) -> Any:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return value


def _base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise rule("must be a base URL, without a query or fragment")
    return value


def _upper_if_text(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


# -- the types ----------------------------------------------------------------------------------


Name = Annotated[
    Text,
    Field(min_length=1, max_length=MAX_NAME),
    AfterValidator(_plain),
    AfterValidator(_filled),
    Worded(too_short=REQUIRED),
]
WebUrl = Annotated[
    Text,
    Field(min_length=1, max_length=MAX_URL),
    AfterValidator(_plain),
    AfterValidator(_filled),
    AfterValidator(_web_url),
    Worded(too_short=REQUIRED),
]
HeaderName = Annotated[Text, AfterValidator(_header_name)]
HeaderValue = Annotated[
    Text,
    Field(max_length=MAX_HEADER_VALUE),
    AfterValidator(_plain),
    AfterValidator(_header_value),
]
Headers = Annotated[
    dict[HeaderName, HeaderValue],
    Field(max_length=MAX_HEADERS),
    AfterValidator(_distinct),
    Worded(too_long="at most {max_length} headers"),
]
EmailAddress = Annotated[
    Text,
    Field(min_length=1, max_length=254, pattern=rf"^{EMAIL_ADDRESS.pattern}$"),
    AfterValidator(_plain),
    Worded(too_short=REQUIRED, pattern="must be an e-mail address"),
]
# An empty time zone or locale is the default one.
TimeZone = Annotated[
    Text,
    Field(max_length=64),
    AfterValidator(_plain),
    AfterValidator(known_zone),
    BeforeValidator(_empty_is_default),
]
Locale = Annotated[
    Text, Field(max_length=35), AfterValidator(_plain), BeforeValidator(_empty_is_default)
]
AttachEvents = Annotated[
    Text, Field(max_length=64), AfterValidator(_plain), BeforeValidator(_flag_text)
]
Username = Annotated[Text, Field(max_length=256), AfterValidator(_plain)]
Password = Annotated[Text, Field(max_length=1_024), AfterValidator(_plain)]
TimeoutMs = Annotated[Integer, Field(ge=100, le=60_000)]
MaxEvents = Annotated[Integer, Field(ge=0, le=10_000)]
MaxAlerts = Annotated[Integer, Field(ge=1, le=1_000_000)]
FloodMs = Annotated[Integer, Field(ge=1_000, le=MAX_FLOOD_MS)]
METHOD_IDS = f"must be a list of at most {MAX_POLICY_METHODS} method ids"
MethodIds = Annotated[
    list[Annotated[Integer, Field(ge=1, le=MAX_METHOD_ID), BeforeValidator(_method_id)]],
    Field(max_length=MAX_POLICY_METHODS),
    Worded(type=METHOD_IDS, too_long=METHOD_IDS, item="must hold delivery method ids (integers)"),
]
DAY_LIST = f"must be a non-empty list of {', '.join(DAYS)}"
Days = Annotated[
    list[
        Annotated[
            Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            BeforeValidator(_lower_if_text),
        ]
    ],
    Field(min_length=1),
    Worded(
        type=DAY_LIST,
        missing=DAY_LIST,
        too_short=DAY_LIST,
        item=f"must hold days among {', '.join(DAYS)}",
    ),
]
Clock = Annotated[
    Text,
    Field(min_length=1, max_length=5, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$"),
    Worded(too_short=REQUIRED, pattern="must be a time of day, HH:MM"),
]
# A config that is absent is told as the old readers told it.
NOT_AN_OBJECT = Worded(missing="must be a JSON object")
BaseUrl = Annotated[WebUrl, AfterValidator(_base_url)]
Secret = Annotated[
    Text,
    Field(min_length=1, max_length=MAX_SECRET),
    AfterValidator(_plain),
    AfterValidator(_filled),
    Worded(too_short=REQUIRED),
]
RoutingKey = Annotated[
    Text,
    Field(pattern=r"^[A-Za-z0-9]{32}$"),
    Worded(pattern="must be the 32-character integration key (letters and digits)"),
]
PushoverKey = Annotated[
    Text,
    Field(pattern=r"^[A-Za-z0-9]{30}$"),
    Worded(pattern="must be 30 letters and digits, as Pushover gives it"),
]
Label = Annotated[Text, Field(max_length=255, pattern=r"^[^\s]+$")]
Labels = Annotated[
    list[Label],
    Field(max_length=MAX_LABELS),
    Worded(item="must hold labels without spaces, at most 255 characters each"),
]
ProjectKey = Annotated[
    Text,
    Field(min_length=1, max_length=100, pattern=r"^[A-Z][A-Z0-9_]*$"),
    BeforeValidator(_upper_if_text),
    Worded(too_short=REQUIRED, pattern="must be a Jira project key (letters, digits and _)"),
]
Word = Annotated[Text, Field(min_length=1, max_length=255), AfterValidator(_plain)]
Severity = Annotated[
    Literal["critical", "error", "warning", "info"], BeforeValidator(_lower_if_text)
]
Level = Annotated[Integer, Field(ge=1, le=3)]
PushoverPriority = Annotated[Integer, Field(ge=-2, le=2)]
Devices = Annotated[
    Text,
    Field(max_length=255, pattern=r"^[A-Za-z0-9_-]{1,25}(,[A-Za-z0-9_-]{1,25})*$"),
    Worded(pattern="must be device names (letters, digits, _ and -), separated by commas"),
]
Sound = Annotated[Text, Field(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


# -- delivery methods ---------------------------------------------------------------------------


class HttpJsonConfig(Body):
    """``httpjson``: where and how alerts are POSTed."""

    url: WebUrl
    content_type: Annotated[ContentType, BeforeValidator(_lower)] = ContentType.JSON
    username: Username | None = None
    password: Annotated[Password | None, Field(repr=False)] = None
    headers: Headers = Field(default_factory=dict)
    timeout_ms: TimeoutMs = 10_000

    @model_validator(mode="after")
    def _password_needs_username(self) -> Self:
        if self.password is not None and not self.username:
            raise rule("needs a username", at="password")
        return self

    def to_config(self) -> model.HttpJsonConfig:
        return model.HttpJsonConfig(
            url=self.url,
            content_type=self.content_type,
            headers=tuple(self.headers.items()),
            username=self.username or None,
            password=self.password,
            timeout_ms=self.timeout_ms,
        )


class EmailConfig(Body):
    """``email``: the address alerts are mailed to, and how they are written."""

    email: EmailAddress
    timezone: TimeZone = "UTC"
    locale: Locale = "en"
    attach_events: AttachEvents = "false"
    max_events: MaxEvents = 0

    def to_config(self) -> model.EmailConfig:
        return model.EmailConfig(
            email=self.email,
            timezone=self.timezone,
            locale=self.locale,
            attach_events=self.attach_events,
            max_events=self.max_events,
        )


class VendorBody(Body):
    """A vendor type's config: its fields are its model's (``CONFIG``), by the same names."""

    CONFIG: ClassVar[Callable[..., model.VendorMethodConfig]]

    def to_config(self) -> model.VendorMethodConfig:
        values = self.model_dump()
        return self.CONFIG(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


class SlackConfig(VendorBody):
    """``slack``: a Slack incoming webhook (its URL is a secret: shown masked)."""

    CONFIG: ClassVar[Callable[..., model.VendorMethodConfig]] = model.SlackConfig

    webhook_url: Annotated[WebUrl, Field(repr=False)]
    timeout_ms: TimeoutMs = model.DEFAULT_TIMEOUT_MS


class PagerDutyConfig(VendorBody):
    """``pagerduty``: an Events API v2 integration. ``severity`` is taken from the alert's
    priority when not given; ``source`` is the alert's context when not given."""

    CONFIG: ClassVar[Callable[..., model.VendorMethodConfig]] = model.PagerDutyConfig

    routing_key: Annotated[RoutingKey, Field(repr=False)]
    events_url: WebUrl = model.PAGERDUTY_EVENTS_URL
    severity: Severity | None = None
    source: Word | None = None
    timeout_ms: TimeoutMs = model.DEFAULT_TIMEOUT_MS


class JiraConfig(VendorBody):
    """``jira``: a project where alerts become issues. ``url`` is the site's base URL;
    ``username`` and ``apiToken`` authenticate (an Atlassian account's e-mail and API token on
    Jira Cloud, a user's name and password or token on Data Center)."""

    CONFIG: ClassVar[Callable[..., model.VendorMethodConfig]] = model.JiraConfig

    url: BaseUrl
    username: Name
    api_token: Annotated[Secret, Field(repr=False)]
    project_key: ProjectKey
    issue_type: Word = "Task"
    labels: Labels = Field(default_factory=list)
    priority: Word | None = None
    timeout_ms: TimeoutMs = model.DEFAULT_TIMEOUT_MS


class ServiceNowConfig(VendorBody):
    """``servicenow``: an instance where alerts become incidents. ``urgency`` and ``impact``
    (1 high, 2 medium, 3 low) are taken from the alert's priority when not given."""

    CONFIG: ClassVar[Callable[..., model.VendorMethodConfig]] = model.ServiceNowConfig

    url: BaseUrl
    username: Name
    password: Annotated[Secret, Field(repr=False)]
    urgency: Level | None = None
    impact: Level | None = None
    caller_id: Word | None = None
    assignment_group: Word | None = None
    timeout_ms: TimeoutMs = model.DEFAULT_TIMEOUT_MS


class PushoverConfig(VendorBody):
    """``pushover``: a user or group key and the application token that sends to it."""

    CONFIG: ClassVar[Callable[..., model.VendorMethodConfig]] = model.PushoverConfig

    user_key: Annotated[PushoverKey, Field(repr=False)]
    app_token: Annotated[PushoverKey, Field(repr=False)]
    api_url: BaseUrl = model.PUSHOVER_API_URL
    priority: PushoverPriority = 0
    device: Devices | None = None
    sound: Sound | None = None
    timeout_ms: TimeoutMs = model.DEFAULT_TIMEOUT_MS


class HttpJsonMethod(Body):
    type: Literal["httpjson"]
    name: Name
    config: Annotated[HttpJsonConfig, NOT_AN_OBJECT]


class EmailMethod(Body):
    type: Literal["email"]
    name: Name
    config: Annotated[EmailConfig, NOT_AN_OBJECT]


class SlackMethod(Body):
    type: Literal["slack"]
    name: Name
    config: Annotated[SlackConfig, NOT_AN_OBJECT]


class PagerDutyMethod(Body):
    type: Literal["pagerduty"]
    name: Name
    config: Annotated[PagerDutyConfig, NOT_AN_OBJECT]


class JiraMethod(Body):
    type: Literal["jira"]
    name: Name
    config: Annotated[JiraConfig, NOT_AN_OBJECT]


class ServiceNowMethod(Body):
    type: Literal["servicenow"]
    name: Name
    config: Annotated[ServiceNowConfig, NOT_AN_OBJECT]


class PushoverMethod(Body):
    type: Literal["pushover"]
    name: Name
    config: Annotated[PushoverConfig, NOT_AN_OBJECT]


AnyMethod = (
    HttpJsonMethod
    | EmailMethod
    | SlackMethod
    | PagerDutyMethod
    | JiraMethod
    | ServiceNowMethod
    | PushoverMethod
)
DeliveryMethodRequest = Annotated[AnyMethod, Field(discriminator="type")]
# Each type's body, and its config's (the OpenAPI document lists them).
METHODS: dict[model.MethodType, type[AnyMethod]] = {
    model.MethodType.HTTPJSON: HttpJsonMethod,
    model.MethodType.EMAIL: EmailMethod,
    model.MethodType.SLACK: SlackMethod,
    model.MethodType.PAGERDUTY: PagerDutyMethod,
    model.MethodType.JIRA: JiraMethod,
    model.MethodType.SERVICENOW: ServiceNowMethod,
    model.MethodType.PUSHOVER: PushoverMethod,
}
CONFIGS = (
    HttpJsonConfig,
    EmailConfig,
    SlackConfig,
    PagerDutyConfig,
    JiraConfig,
    ServiceNowConfig,
    PushoverConfig,
)


# -- sending policies ---------------------------------------------------------------------------


class NoFlooding(Body):
    mode: Literal["none"]


class DefaultFlooding(Body):
    mode: Literal["default"] = "default"


class CustomFlooding(Body):
    """At most ``maxAlerts`` per ``periodMs`` window; a reminder ``reminderAfterMs`` after the
    window opened (``periodMs`` when not given)."""

    mode: Literal["custom"]
    period_ms: FloodMs = 3_600_000
    reminder_after_ms: FloodMs | None = None
    max_alerts: MaxAlerts = 5

    @model_validator(mode="after")
    def _reminder_after_the_window(self) -> Self:
        # A reminder inside the window would report a count that is still growing.
        if self.reminder_after_ms is not None and self.reminder_after_ms < self.period_ms:
            raise rule("must be at least periodMs", at="reminderAfterMs")
        return self


def mode(value: Any) -> str | None:
    """The anti-flooding model a body names (``default`` when it names none). The function's
    name is the member's: error texts say ``antiFlooding.mode``."""
    if not isinstance(value, dict):
        return None
    given = value.get("mode")
    if given is None:
        return "default"
    return given if isinstance(given, str) else repr(given)


AntiFlooding = Annotated[
    Annotated[NoFlooding, Tag("none")]
    | Annotated[DefaultFlooding, Tag("default")]
    | Annotated[CustomFlooding, Tag("custom")],
    Discriminator(mode),
    Worded(tag="must be one of {values}"),
]


class Schedule(Body):
    days: Days
    start: Clock = Field(alias="from")
    end: Clock = Field(alias="to")
    timezone: TimeZone = "UTC"


class SendingPolicyRequest(Body):
    """``POST /alerts/v1/sendingPolicies``; a ``PUT`` body is read merged over the stored
    policy, so it may leave out anything."""

    methods: MethodIds = Field(default_factory=list)
    is_default: Flag = False
    name: Name
    anti_flooding: AntiFlooding | None = None
    schedule: Schedule | None = None
