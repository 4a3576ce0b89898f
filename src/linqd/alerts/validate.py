"""Reading and checking alert definitions sent to the Alerts API (seed 004).

Two steps. ``read_definition`` / ``read_update`` turn a JSON body into a ``DefinitionInput``:
required fields, types, and each trigger kind's parameters and ranges, without looking at the
query. ``check_query`` then compiles the LINQ query and checks that it fits the kind (grouping,
keys, aggregation column, subquery rules). Every failure is a ``ValidationError`` whose
``field`` is the JSON path of the offending value and whose message names the rule.

Decisions where Devo is silent (DESIGN.md has the rest):
- Unknown fields are ignored, and so are parameters that belong to another kind.
- Numbers must be JSON integers (``5``, not ``"5"`` or ``5.5``); ids may be strings or integers.
- Priority 0 to 10 (Devo's text says 1 to 10 but maps 0 to "very low").
- ``several`` threshold >= 1 (the seed: "a positive integer"), ``low`` and deviation/gradient
  thresholds >= 0; ``several`` keys optional, ``inactivity`` keys required.
- The subquery fields (``externalOffset``, ``internalPeriod``, ``internalOffset``, and the
  undocumented ``externalPeriod``) are accepted on every kind; the three documented ones are
  required when the query has a subquery, and refused when it has none.
- On update, omitted optional fields keep their stored values; a ``correlationTrigger`` that is
  given replaces the stored one whole (the seed's example turns an each into a several).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from ..errors import ForbiddenError, ValidationError
from ..linq import compile_linq
from ..linq.analyzer import SchemaLookup
from ..linq.ir import Plan, is_aggregate, stages, subplans, tables_read
from ..lookup_tables import is_lookup
from ..query.dates import parse_timezone
from .model import (
    KIND_FIELDS,
    SUBQUERY_FIELDS,
    DefinitionInput,
    Trigger,
    TriggerKind,
    normalized,
    qualified_subcategory,
)

SECOND = 1_000
MINUTE = 60_000
DAY = 86_400_000
MAX_PERIOD = 100 * DAY  # 8640000000: Devo's "100 days"
MAX_RATIO = 120
_LOCALE = re.compile(r"[a-z]{2}_[A-Z]{2}")
_MAX_LENGTH = {
    "name": 256,
    "subcategory": 256,
    "message": 4_096,
    "description": 16_384,
    "querySourceCode": 65_536,
    "timezone": 64,
}
MAX_POLICIES = 100
_CONTEXT = "alertCorrelationContext"
_TRIGGER = f"{_CONTEXT}.correlationTrigger"

# (minimum, maximum) of each period parameter, per kind where they differ.
_PERIODS: Mapping[TriggerKind, tuple[int, int]] = {
    TriggerKind.SEVERAL: (SECOND, MAX_PERIOD),
    TriggerKind.LOW: (SECOND, MAX_PERIOD),
    TriggerKind.INACTIVITY: (5 * MINUTE, 30 * DAY),
    TriggerKind.ROLLING: (MINUTE, MAX_PERIOD),
}
_SUBQUERY_RANGES: Mapping[str, tuple[int, int]] = {
    "externalPeriod": (0, MAX_PERIOD),
    "externalOffset": (0, MAX_PERIOD),
    "internalPeriod": (MINUTE, MAX_PERIOD),
    "internalOffset": (0, MAX_PERIOD),
}
_REQUIRED_WITH_SUBQUERY = ("externalOffset", "internalPeriod", "internalOffset")
_MIN_THRESHOLD: Mapping[TriggerKind, int] = {
    TriggerKind.SEVERAL: 1,
    TriggerKind.LOW: 0,
    TriggerKind.DEVIATION: 0,
    TriggerKind.GRADIENT: 0,
}


def invalid(field: str, message: str) -> ValidationError:
    return ValidationError(f"{field}: {message}", field=field)


def json_object(value: object, field: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise invalid(field, "must be a JSON object")
    return value


def _string(data: Mapping[str, Any], key: str, field: str, *, required: bool) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise invalid(field, "is required")
        return None
    if not isinstance(value, str):
        raise invalid(field, "must be a string")
    if required and not value.strip():
        raise invalid(field, "must not be empty")
    limit = _MAX_LENGTH.get(key)
    if limit is not None and len(value) > limit:
        raise invalid(field, f"must be at most {limit} characters")
    return value


def _boolean(data: Mapping[str, Any], key: str, field: str) -> bool | None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise invalid(field, "must be true or false")
    return value


def _integer(
    data: Mapping[str, Any], key: str, field: str, low: int, high: int | None = None
) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, "must be an integer")
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise invalid(field, f"must be {bounds} (got {value})")
    return value


def _names(data: Mapping[str, Any], key: str, field: str) -> tuple[str, ...] | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise invalid(field, "must be a list of column names")
    if len(value) > 64:
        raise invalid(field, "must name at most 64 columns")
    return tuple(value)


# -- bodies ----------------------------------------------------------------------------------------


def read_definition(body: object) -> DefinitionInput:
    """A POST body (one element of a batch) → a definition, checked but for its query."""
    data = json_object(body, "body")
    name = _string(data, "name", "name", required=True)
    subcategory = _string(data, "subcategory", "subcategory", required=True)
    context = json_object(data.get(_CONTEXT), _CONTEXT) if data.get(_CONTEXT) is not None else None
    if context is None:
        raise invalid(_CONTEXT, "is required")
    query = _string(context, "querySourceCode", f"{_CONTEXT}.querySourceCode", required=True)
    priority = _integer(context, "priority", f"{_CONTEXT}.priority", 0, 10)
    if priority is None:
        raise invalid(f"{_CONTEXT}.priority", "is required (an integer from 0 to 10)")
    if context.get("correlationTrigger") is None:
        raise invalid(_TRIGGER, "is required")
    assert name is not None and subcategory is not None and query is not None
    spec = DefinitionInput(
        name=name,
        subcategory=subcategory,
        query=query,
        priority=priority,
        trigger=read_trigger(context.get("correlationTrigger")),
    )
    return _read_optional(data, context, spec)


def read_update(body: object, stored: DefinitionInput, domain: str) -> DefinitionInput:
    """A PUT body → the updated definition. ``name`` and ``subcategory`` must be the stored
    ones (the seed: "non-editable ... you must include it and indicate its original value")."""
    data = json_object(body, "body")
    name = _string(data, "name", "name", required=True)
    if name != stored.name:
        raise invalid("name", f"cannot be changed (the definition is named {stored.name!r})")
    subcategory = _string(data, "subcategory", "subcategory", required=True)
    accepted = {
        stored.subcategory,
        normalized(stored.subcategory),
        qualified_subcategory(domain, stored.subcategory),
    }
    if subcategory not in accepted:
        raise invalid(
            "subcategory", f"cannot be changed (the definition's is {stored.subcategory!r})"
        )
    raw_context = data.get(_CONTEXT)
    context = json_object(raw_context, _CONTEXT) if raw_context is not None else {}
    spec = stored
    query = _string(context, "querySourceCode", f"{_CONTEXT}.querySourceCode", required=False)
    if query is not None:
        if not query.strip():
            raise invalid(f"{_CONTEXT}.querySourceCode", "must not be empty")
        spec = replace(spec, query=query)
    priority = _integer(context, "priority", f"{_CONTEXT}.priority", 0, 10)
    if priority is not None:
        spec = replace(spec, priority=priority)
    if context.get("correlationTrigger") is not None:
        spec = replace(spec, trigger=read_trigger(context["correlationTrigger"]))
    return _read_optional(data, context, spec)


def _read_optional(
    data: Mapping[str, Any], context: Mapping[str, Any], spec: DefinitionInput
) -> DefinitionInput:
    """The optional fields: what is given replaces what ``spec`` has."""
    changes: dict[str, Any] = {}
    for key in ("message", "description"):
        text = _string(data, key, key, required=False)
        if text is not None:
            changes[key] = text
    active = _boolean(data, "isActive", "isActive")
    if active is not None:
        changes["is_active"] = active
    select_all = _boolean(context, "withSelectAll", f"{_CONTEXT}.withSelectAll")
    if select_all is not None:
        changes["with_select_all"] = select_all
    zone = _string(context, "timezone", f"{_CONTEXT}.timezone", required=False)
    if zone is not None:
        try:
            parse_timezone(zone)
        except ValidationError:
            raise invalid(f"{_CONTEXT}.timezone", f"unknown time zone {zone!r}") from None
        changes["timezone"] = zone
    locale = context.get("locale")
    if locale is not None:
        if not isinstance(locale, str) or not _LOCALE.fullmatch(locale):
            raise invalid(
                f"{_CONTEXT}.locale", "must match ([a-z]){2}_([A-Z]){2}, for example en_US"
            )
        changes["locale"] = locale
    policies = data.get("actionPolicyId")
    if policies is not None:
        changes["action_policy_ids"] = _policy_ids(policies)
    return replace(spec, **changes)


def _policy_ids(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_POLICIES:
        raise invalid("actionPolicyId", f"must be a list of at most {MAX_POLICIES} ids")
    ids: list[str] = []
    for item in value:
        text = str(item) if isinstance(item, int) and not isinstance(item, bool) else item
        if not isinstance(text, str) or not text.isdigit() or len(text) > 18:
            raise invalid("actionPolicyId", "must hold sending policy ids (digits)")
        ids.append(text)
    return tuple(dict.fromkeys(ids))


def read_trigger(value: object) -> Trigger:
    """``correlationTrigger`` → a ``Trigger`` with the kind's parameters checked."""
    data = json_object(value, _TRIGGER)
    kind_text = data.get("kind")
    kinds = ", ".join(k.value for k in TriggerKind)
    if kind_text is None:
        raise invalid(f"{_TRIGGER}.kind", f"is required (one of {kinds})")
    try:
        kind = TriggerKind(kind_text) if isinstance(kind_text, str) else None
    except ValueError:
        kind = None
    if kind is None:
        raise invalid(f"{_TRIGGER}.kind", f"must be one of {kinds} (got {kind_text!r})")
    values: dict[str, Any] = {"kind": kind}
    for name in KIND_FIELDS[kind]:
        values[name] = _kind_parameter(kind, data, name)
        required = not (kind is TriggerKind.SEVERAL and name == "keys")
        if values[name] is None and required:
            raise invalid(f"{_TRIGGER}.{name}", f"is required for kind {kind.value}")
    for name in SUBQUERY_FIELDS:
        low, high = _SUBQUERY_RANGES[name]
        values[name] = _integer(data, name, f"{_TRIGGER}.{name}", low, high)
    _check_ratios(kind, values)
    if values.get("keys") == ():
        if kind is TriggerKind.INACTIVITY:
            raise invalid(f"{_TRIGGER}.keys", "must name at least one column")
        values["keys"] = None
    return Trigger.from_json({**values, "kind": kind.value})


def _kind_parameter(kind: TriggerKind, data: Mapping[str, Any], name: str) -> Any:
    field = f"{_TRIGGER}.{name}"
    if name == "period":
        low, high = _PERIODS[kind]
        return _integer(data, name, field, low, high)
    if name == "backPeriod":
        return _integer(data, name, field, SECOND, MAX_PERIOD)
    if name == "threshold":
        return _integer(data, name, field, _MIN_THRESHOLD[kind])
    if name == "absolute":
        return _boolean(data, name, field)
    if name == "keys":
        keys = _names(data, name, field)
        if keys is not None and "eventdate" in keys:
            raise invalid(field, "cannot include eventdate")
        return keys
    columns = _names(data, name, field)  # aggregationColumn
    if columns is not None and len(columns) != 1:
        raise invalid(field, "must name exactly one aggregation column of the query")
    return columns


def _check_ratios(kind: TriggerKind, values: Mapping[str, Any]) -> None:
    """Devo's two "ratio must not exceed 120" rules (each below one day of their divisor)."""
    if kind is TriggerKind.ROLLING:
        period, back = values["period"], values["backPeriod"]
        if period < DAY and back > MAX_RATIO * period:
            raise invalid(
                f"{_TRIGGER}.backPeriod",
                f"backPeriod/period must not exceed {MAX_RATIO} when period is under one day "
                f"(got {back}/{period} = {back / period:g})",
            )
    offset, internal = values.get("externalOffset"), values.get("internalPeriod")
    # An offset of 0 (Devo's own subquery example) means "no shift": the rule has no divisor.
    if offset and internal is not None and offset < DAY and internal > MAX_RATIO * offset:
        raise invalid(
            f"{_TRIGGER}.internalPeriod",
            f"internalPeriod/externalOffset must not exceed {MAX_RATIO} when externalOffset is "
            f"under one day (got {internal}/{offset} = {internal / offset:g})",
        )


# -- the query ------------------------------------------------------------------------------------


def check_query(
    spec: DefinitionInput,
    schemas: SchemaLookup,
    *,
    now_ms: int,
    may_read: Callable[[str], bool],
) -> Plan:
    """Compile the definition's query and check it fits its kind. Raises ``LinqError`` (with
    line and column), ``ForbiddenError`` for a table outside the credential's scope, or
    ``ValidationError``."""
    plan = compile_linq(spec.query, schemas, now_ms=now_ms).plan
    for table in sorted(tables_read(plan)):
        if not may_read(table):
            raise ForbiddenError(f"Access not allowed for table '{table}'")
    kind = spec.trigger.kind
    groupings = [s.grouping for s in stages(plan) if s.grouping is not None]
    temporal = [g for g in groupings if g.period_ms is not None]
    query_field = f"{_CONTEXT}.querySourceCode"
    if kind in (TriggerKind.SEVERAL, TriggerKind.LOW, TriggerKind.INACTIVITY) and groupings:
        raise invalid(query_field, f"a {kind.value} alert's query must not group")
    if kind is TriggerKind.ROLLING and temporal:
        raise invalid(query_field, "a rolling alert's query must not group by time")
    if kind is TriggerKind.EACH and groupings and not temporal and plan.client_period_ms is None:
        raise invalid(query_field, "an each alert's query may group only by time (every)")
    if kind in (TriggerKind.DEVIATION, TriggerKind.GRADIENT):
        if not any(g.keys for g in temporal):
            raise invalid(
                query_field,
                f"a {kind.value} alert's query must group by time and by at least one key",
            )
        _check_aggregation(spec.trigger, plan)
    columns = {c.name for c in plan.columns}
    for key in spec.trigger.keys or ():
        if key not in columns:
            raise invalid(f"{_TRIGGER}.keys", f"{key!r} is not a column of the query")
    _check_subqueries(spec.trigger, plan, temporal[0].period_ms if temporal else None)
    return plan


def _check_aggregation(trigger: Trigger, plan: Plan) -> None:
    field = f"{_TRIGGER}.aggregationColumn"
    (column,) = trigger.aggregation_column or ("",)
    aggregates = {o.name for s in stages(plan) for o in s.outputs if is_aggregate(o.expr)}
    if column not in aggregates or column not in {c.name for c in plan.columns}:
        known = ", ".join(sorted(aggregates)) or "none"
        raise invalid(
            field, f"{column!r} is not an aggregation column of the query (it has: {known})"
        )


def _check_subqueries(trigger: Trigger, plan: Plan, period_ms: int | None) -> None:
    subs = subplans(plan)
    field = f"{_CONTEXT}.querySourceCode"
    if not subs:
        if trigger.has_subquery_window:
            raise invalid(
                _TRIGGER, "subquery parameters are allowed only when the query has a subquery"
            )
        return
    for sub in subs:
        if subplans(sub):
            raise invalid(field, "the query must not nest subqueries")
        if sub.own_range:
            raise invalid(field, "a subquery must not have a fixed time range")
        if any(s.grouping is not None and s.grouping.period_ms for s in stages(sub)):
            raise invalid(field, "a subquery must not group by time")
        if any(is_lookup(t) for t in tables_read(sub)):
            raise invalid(field, "my.lookuplist tables cannot be used in subqueries")
    for name in _REQUIRED_WITH_SUBQUERY:
        if trigger.value(name) is None:
            raise invalid(f"{_TRIGGER}.{name}", "is required when the query has a subquery")
    if period_ms is not None and not MINUTE <= period_ms <= MAX_PERIOD:
        raise invalid(
            field, "with a subquery the grouping period must be between 1 minute and 100 days"
        )
