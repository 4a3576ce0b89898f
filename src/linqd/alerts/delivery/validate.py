"""Reading delivery methods and sending policies sent to the APIs, with the models of
``delivery/bodies.py`` (which say what each field takes). Every failure is a
``ValidationError`` whose ``field`` is the JSON path of the offending value.

Decisions where Devo is silent:
- Unknown fields are ignored.
- ``PUT`` is a partial update: top-level fields (and, for a method, ``config`` fields) that are
  absent keep their stored values; ``null`` clears an optional one. So a method's ``password``
  survives an update that does not mention it (responses never show it) and ``"password":
  null`` removes it. A secret sent back as shown (``******``, a masked URL) keeps the stored
  one too. A method's ``type`` cannot change.
- A type Devo lists but linqd cannot deliver is refused as "not supported", apart from an
  unknown one.
"""

from __future__ import annotations

import json
from typing import Any

from ...bodies import invalid, json_object, read
from ...outbound import DEFAULT_POLICY, OutboundPolicy
from . import bodies
from .antiflood import AntiFlooding, FloodMode
from .model import DEVO_METHOD_TYPES, MethodInput, MethodType, PolicyInput, policy_text
from .schedule import DAYS, Schedule, parse_clock

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
    kind = method_type(json_object(body, "body").get("type"))
    given = read(bodies.METHODS[kind], body, context={"outbound": outbound})
    return MethodInput(name=given.name, type=kind, config=given.config.to_config())


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
        config.update(stored.config.unmask(dict(json_object(data["config"], "config"))))
    merged["config"] = config
    return read_method(merged, outbound)


# -- sending policies ------------------------------------------------------------------------------


def read_policy(body: object, stored: PolicyInput | None = None) -> PolicyInput:
    """A ``POST`` body, or a ``PUT`` body over the stored policy."""
    if stored is not None:
        merged: dict[str, Any] = _policy_json(stored)
        merged.update(json_object(body, "body"))
        body = merged
    given = read(bodies.SendingPolicyRequest, body)
    return PolicyInput(
        name=given.name,
        is_default=given.is_default,
        methods=tuple(dict.fromkeys(given.methods)),
        anti_flooding=_anti_flooding(given.anti_flooding),
        schedule=_schedule(given.schedule) if given.schedule is not None else None,
    )


def _policy_json(spec: PolicyInput) -> dict[str, Any]:
    stored: dict[str, Any] = json.loads(policy_text(spec))
    stored.update(name=spec.name, isDefault=spec.is_default)
    return stored


def _anti_flooding(
    given: bodies.NoFlooding | bodies.DefaultFlooding | bodies.CustomFlooding | None,
) -> AntiFlooding:
    if given is None:
        return AntiFlooding()
    if not isinstance(given, bodies.CustomFlooding):
        return AntiFlooding(mode=FloodMode(given.mode))
    return AntiFlooding(
        mode=FloodMode.CUSTOM,
        max_alerts=given.max_alerts,
        period_ms=given.period_ms,
        reminder_after_ms=given.reminder_after_ms or given.period_ms,
    )


def _schedule(given: bodies.Schedule) -> Schedule:
    return Schedule(
        days=frozenset(DAYS.index(day) for day in given.days),
        start_minute=parse_clock(given.start),
        end_minute=parse_clock(given.end),
        timezone=given.timezone,
    )
