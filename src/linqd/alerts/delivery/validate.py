"""Reading delivery methods and sending policies sent to the APIs. Every failure is a
``ValidationError`` whose ``field`` is the JSON path of the offending value.

Decisions where Devo is silent:
- Unknown fields are ignored. Strings are bounded; numbers must be JSON integers.
- ``PUT`` is a partial update: top-level fields (and, for a method, ``config`` fields) that are
  absent keep their stored values; ``null`` clears an optional one. So a method's ``password``
  survives an update that does not mention it (responses never show it) and ``"password":
  null`` removes it. A method's ``type`` cannot change.
- Custom headers: at most 32, token names, one-line values; the reserved names of Devo's page
  (``Content-Type``, ``Content-Length``, ``Accept``, ``Authorization``, ``Host``) are refused in
  any case, and so are duplicates that differ only in case.
- URLs are ``http``/``https`` with a host and without ``user:password@`` (credentials go in
  ``username``/``password``, which are never shown). A URL whose host is an address that the
  server's outbound policy denies (or a name a host rule denies) is refused here; names are
  judged on what they resolve to at every delivery.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from ...errors import OutboundRefused, ValidationError
from ...outbound import DEFAULT_POLICY, OutboundPolicy
from ...query.dates import parse_timezone
from ...sinks.email import EMAIL_ADDRESS
from ..validate import invalid
from .antiflood import AntiFlooding, FloodMode
from .model import (
    DEVO_METHOD_TYPES,
    ContentType,
    EmailConfig,
    HttpJsonConfig,
    MethodConfig,
    MethodInput,
    MethodType,
    PolicyInput,
    policy_text,
)
from .schedule import DAYS, Schedule, parse_clock

MAX_NAME = 256
MAX_URL = 2_048
MAX_HEADERS = 32
MAX_HEADER_VALUE = 4_096
MAX_POLICY_METHODS = 100
TIMEOUT_MS = (100, 60_000)
DAY_MS = 86_400_000
MAX_FLOOD_MS = 30 * DAY_MS
RESERVED_HEADERS = frozenset({"content-type", "content-length", "accept", "authorization", "host"})
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_URL_TEXT = re.compile(r"[\x21-\x7e]+")  # printable ASCII: percent-encode anything else
_HEADER_VALUE = re.compile(r"[\x20-\x7e]*")


def json_object(value: object, field: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise invalid(field, "must be a JSON object")
    return value


def _text(
    data: Mapping[str, Any], key: str, field: str, *, limit: int, default: str | None = None
) -> str | None:
    value = data.get(key)
    return default if value is None else _string(value, field, limit)


def _string(value: object, field: str, limit: int) -> str:
    if not isinstance(value, str):
        raise invalid(field, "must be a string")
    if len(value) > limit:
        raise invalid(field, f"must be at most {limit} characters")
    if _CONTROL.search(value):
        raise invalid(field, "must not hold control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: JSON allows them, SQLite and HTTP do not
        raise invalid(field, "must be valid Unicode text") from None
    return value


def _required_text(data: Mapping[str, Any], key: str, field: str, *, limit: int) -> str:
    value = _text(data, key, field, limit=limit)
    if value is None or not value.strip():
        raise invalid(field, "is required")
    return value


def _integer(
    data: Mapping[str, Any], key: str, field: str, low: int, high: int, default: int
) -> int:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, "must be an integer")
    if not low <= value <= high:
        raise invalid(field, f"must be between {low} and {high} (got {value})")
    return value


def _timezone(data: Mapping[str, Any], key: str, field: str) -> str:
    name = _text(data, key, field, limit=64, default="UTC") or "UTC"
    try:
        parse_timezone(name)
    except ValidationError:
        raise invalid(field, f"unknown time zone {name!r}") from None
    return name


# -- delivery methods ------------------------------------------------------------------------------


def method_type(value: object, field: str = "type") -> MethodType:
    if not isinstance(value, str) or value not in DEVO_METHOD_TYPES:
        raise invalid(field, f"must be one of {', '.join(DEVO_METHOD_TYPES)}")
    try:
        return MethodType(value)
    except ValueError:
        supported = ", ".join(kind.value for kind in MethodType)
        raise invalid(
            field, f"{value!r} delivery is not supported by linqd (supported: {supported})"
        ) from None


def read_method(body: object, outbound: OutboundPolicy = DEFAULT_POLICY) -> MethodInput:
    """A ``POST /delco/methods`` body; ``outbound`` judges a webhook's host."""
    data = json_object(body, "body")
    kind = method_type(data.get("type"))
    name = _required_text(data, "name", "name", limit=MAX_NAME)
    config = read_config(kind, data.get("config"), outbound)
    return MethodInput(name=name, type=kind, config=config)


def read_method_update(
    body: object, stored: MethodInput, outbound: OutboundPolicy = DEFAULT_POLICY
) -> MethodInput:
    """A ``PUT /delco/methods/{id}`` body over the stored method (see the module docstring)."""
    data = json_object(body, "body")
    if "type" in data and data["type"] != stored.type.value:
        raise invalid("type", "a delivery method's type cannot change")
    merged: dict[str, Any] = {"name": stored.name, "type": stored.type.value}
    merged.update({key: data[key] for key in ("name",) if key in data})
    config = dict(stored.config.to_json(with_secret=True))
    if "config" in data:
        given = json_object(data["config"], "config")
        if isinstance(stored.config, HttpJsonConfig):
            given = stored.config.unmask(dict(given))
        config.update(given)
    merged["config"] = config
    return read_method(merged, outbound)


def read_config(
    kind: MethodType, value: object, outbound: OutboundPolicy = DEFAULT_POLICY
) -> MethodConfig:
    data = json_object(value, "config")
    if kind is MethodType.EMAIL:
        return _email_config(data)
    return _http_config(data, outbound)


def _email_config(data: Mapping[str, Any]) -> EmailConfig:
    address = _required_text(data, "email", "config.email", limit=254)
    if not EMAIL_ADDRESS.fullmatch(address):
        raise invalid("config.email", "must be an e-mail address")
    attach = data.get("attachEvents")
    if isinstance(attach, bool) or attach is None:
        attach = "true" if attach else "false"
    return EmailConfig(
        email=address,
        timezone=_timezone(data, "timezone", "config.timezone"),
        locale=_text(data, "locale", "config.locale", limit=35, default="en") or "en",
        attach_events=_string(attach, "config.attachEvents", 64),
        max_events=_integer(data, "maxEvents", "config.maxEvents", 0, 10_000, 0),
    )


def _http_config(data: Mapping[str, Any], outbound: OutboundPolicy) -> HttpJsonConfig:
    url = _required_text(data, "url", "config.url", limit=MAX_URL)
    if not _URL_TEXT.fullmatch(url):
        raise invalid("config.url", "must be printable ASCII without spaces (percent-encode)")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number or out of range
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        raise invalid("config.url", "is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid("config.url", "must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise invalid("config.url", "must not hold credentials: use username and password")
    try:
        outbound.check_host(parts.hostname)
    except OutboundRefused as refused:
        raise invalid("config.url", refused.message) from None
    raw_type = _text(data, "contentType", "config.contentType", limit=64)
    try:
        content_type = ContentType((raw_type or ContentType.JSON.value).lower())
    except ValueError:
        allowed = ", ".join(kind.value for kind in ContentType)
        raise invalid("config.contentType", f"must be one of {allowed}") from None
    username = _text(data, "username", "config.username", limit=256)
    password = _text(data, "password", "config.password", limit=1_024)
    if password is not None and not username:
        raise invalid("config.password", "needs a username")
    return HttpJsonConfig(
        url=url,
        content_type=content_type,
        headers=_headers(data.get("headers")),
        username=username or None,
        password=password,
        timeout_ms=_integer(data, "timeoutMs", "config.timeoutMs", *TIMEOUT_MS, 10_000),
    )


def _headers(value: object) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    data = json_object(value, "config.headers")
    if len(data) > MAX_HEADERS:
        raise invalid("config.headers", f"at most {MAX_HEADERS} headers")
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for name, raw in data.items():
        field = f"config.headers.{name[:64]}"
        if not _HEADER_NAME.fullmatch(name):
            raise invalid(field, "is not a valid header name")
        if name.lower() in RESERVED_HEADERS:
            raise invalid(field, "is reserved and cannot be set")
        if name.lower() in seen:
            raise invalid(field, "is given twice")
        seen.add(name.lower())
        value = _string(raw, field, MAX_HEADER_VALUE)
        if not _HEADER_VALUE.fullmatch(value):
            raise invalid(field, "must be printable ASCII")
        out.append((name, value))
    return tuple(out)


# -- sending policies ------------------------------------------------------------------------------


def read_policy(body: object, stored: PolicyInput | None = None) -> PolicyInput:
    """A ``POST`` body, or a ``PUT`` body over the stored policy."""
    data = json_object(body, "body")
    if stored is not None:
        merged: dict[str, Any] = _policy_json(stored)
        merged.update(data)
        data = merged
    methods = data.get("methods", [])
    if not isinstance(methods, list) or len(methods) > MAX_POLICY_METHODS:
        raise invalid("methods", f"must be a list of at most {MAX_POLICY_METHODS} method ids")
    ids: list[int] = []
    for item in methods:
        if isinstance(item, str) and item.isascii() and item.isdigit() and len(item) <= 18:
            item = int(item)
        if isinstance(item, bool) or not isinstance(item, int) or not 0 < item < 2**63:
            raise invalid("methods", "must hold delivery method ids (integers)")
        ids.append(item)
    is_default = data.get("isDefault", False)
    if not isinstance(is_default, bool):
        raise invalid("isDefault", "must be true or false")
    schedule = data.get("schedule")
    return PolicyInput(
        name=_required_text(data, "name", "name", limit=MAX_NAME),
        is_default=is_default,
        methods=tuple(dict.fromkeys(ids)),
        anti_flooding=_anti_flooding(data.get("antiFlooding")),
        schedule=_schedule(schedule) if schedule is not None else None,
    )


def _policy_json(spec: PolicyInput) -> dict[str, Any]:
    stored: dict[str, Any] = json.loads(policy_text(spec))
    stored.update(name=spec.name, isDefault=spec.is_default)
    return stored


def _anti_flooding(value: object) -> AntiFlooding:
    if value is None:
        return AntiFlooding()
    data = json_object(value, "antiFlooding")
    raw_mode = data.get("mode", FloodMode.DEFAULT.value)
    try:
        mode = FloodMode(raw_mode)
    except ValueError:
        allowed = ", ".join(mode.value for mode in FloodMode)
        raise invalid("antiFlooding.mode", f"must be one of {allowed}") from None
    if mode is not FloodMode.CUSTOM:
        return AntiFlooding(mode=mode)
    period = _integer(data, "periodMs", "antiFlooding.periodMs", 1_000, MAX_FLOOD_MS, 3_600_000)
    reminder = _integer(
        data, "reminderAfterMs", "antiFlooding.reminderAfterMs", 1_000, MAX_FLOOD_MS, period
    )
    if reminder < period:
        # A reminder inside the window would report a count that is still growing.
        raise invalid("antiFlooding.reminderAfterMs", "must be at least periodMs")
    return AntiFlooding(
        mode=mode,
        max_alerts=_integer(data, "maxAlerts", "antiFlooding.maxAlerts", 1, 1_000_000, 5),
        period_ms=period,
        reminder_after_ms=reminder,
    )


def _schedule(value: object) -> Schedule:
    data = json_object(value, "schedule")
    days = data.get("days")
    if not isinstance(days, list) or not days:
        raise invalid("schedule.days", f"must be a non-empty list of {', '.join(DAYS)}")
    numbers: set[int] = set()
    for day in days:
        if not isinstance(day, str) or day.lower() not in DAYS:
            raise invalid("schedule.days", f"must hold days among {', '.join(DAYS)}")
        numbers.add(DAYS.index(day.lower()))
    minutes = []
    for key in ("from", "to"):
        text = _required_text(data, key, f"schedule.{key}", limit=5)
        try:
            minutes.append(parse_clock(text))
        except ValueError:
            raise invalid(f"schedule.{key}", "must be a time of day, HH:MM") from None
    return Schedule(
        days=frozenset(numbers),
        start_minute=minutes[0],
        end_minute=minutes[1],
        timezone=_timezone(data, "timezone", "schedule.timezone"),
    )
