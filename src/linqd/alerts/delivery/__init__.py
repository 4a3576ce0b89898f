"""Alert notification (see docs/devo-compatibility.md): delivery methods, sending policies,
anti-flooding, schedules, and the dispatcher that sends triggered alerts through them."""

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
    MethodInput,
    MethodType,
    PolicyInput,
    SendingPolicy,
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
    "MethodInput",
    "MethodRepository",
    "MethodType",
    "PolicyInput",
    "PolicyRepository",
    "Reminder",
    "Schedule",
    "SendingPolicy",
    "Transport",
    "decide",
    "due_reminder",
    "within",
]
