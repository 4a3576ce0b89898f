"""Alert notification (see docs/devo-compatibility.md): delivery methods (HTTP-JSON, e-mail,
Slack, PagerDuty, Jira, ServiceNow, Pushover), sending policies, anti-flooding, schedules, and
the dispatcher that sends triggered alerts through them."""

from __future__ import annotations

from ...errors import DeliveryFailed
from .antiflood import AntiFlooding, Decision, FloodMode, FloodState, Reminder, decide, due_reminder
from .dispatcher import Dispatcher
from .methods import MethodRepository
from .model import (
    ContentType,
    Delivery,
    DeliveryKind,
    DeliveryMethod,
    DeliveryStatus,
    EmailConfig,
    HttpJsonConfig,
    JiraConfig,
    MethodConfig,
    MethodInput,
    MethodType,
    PagerDutyConfig,
    PolicyInput,
    PushoverConfig,
    SendingPolicy,
    ServiceNowConfig,
    SlackConfig,
)
from .outbox import DeliveryOutbox
from .policies import PolicyRepository
from .schedule import Schedule, within
from .transport import Transport

__all__ = [
    "AntiFlooding",
    "ContentType",
    "Decision",
    "Delivery",
    "DeliveryFailed",
    "DeliveryKind",
    "DeliveryMethod",
    "DeliveryOutbox",
    "DeliveryStatus",
    "Dispatcher",
    "EmailConfig",
    "FloodMode",
    "FloodState",
    "HttpJsonConfig",
    "JiraConfig",
    "MethodConfig",
    "MethodInput",
    "MethodRepository",
    "MethodType",
    "PagerDutyConfig",
    "PolicyInput",
    "PolicyRepository",
    "PushoverConfig",
    "Reminder",
    "Schedule",
    "SendingPolicy",
    "ServiceNowConfig",
    "SlackConfig",
    "Transport",
    "decide",
    "due_reminder",
    "within",
]
