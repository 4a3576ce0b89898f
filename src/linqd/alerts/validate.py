"""Reading and checking alert definitions sent to the Alerts API (Devo's Alerts API page).

Two steps. ``read_definition`` / ``read_update`` turn a JSON body into a ``DefinitionInput``
with the models of ``alerts/bodies.py`` (required fields, types, each trigger kind's parameters
and ranges: the one declaration the OpenAPI document is generated from too), without looking
at the query. ``check_query`` then compiles the LINQ query and checks that it fits the kind
(grouping, keys, aggregation column, subquery rules). Every failure is a ``ValidationError``
whose ``field`` is the JSON path of the offending value and whose message names the rule.

Decisions where Devo is silent (``alerts/bodies.py`` has those about single fields):
- Unknown fields are ignored, and so are parameters that belong to another kind.
- The subquery windows are accepted on every kind; the three documented ones are required
  when the query has a subquery, and refused when it has none.
- On update, omitted optional fields keep their stored values; a ``correlationTrigger`` that is
  given replaces the stored one whole (the seed's example turns an each into a several).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..bodies import invalid, read
from ..errors import ForbiddenError
from ..linq import compile_linq
from ..linq.analyzer import SchemaLookup
from ..linq.ir import Plan, is_aggregate, stages, subplans, tables_read
from ..lookup_tables import is_lookup
from .bodies import (
    MAX_PERIOD,
    MINUTE,
    AlertCorrelationContext,
    AlertCorrelationContextUpdate,
    AlertDefinitionChanges,
    AlertDefinitionRequest,
    AnyTrigger,
    UpdateId,
)
from .model import DefinitionInput, Trigger, TriggerKind, normalized, qualified_subcategory

_CONTEXT = "alertCorrelationContext"
_TRIGGER = f"{_CONTEXT}.correlationTrigger"
_REQUIRED_WITH_SUBQUERY = ("externalOffset", "internalPeriod", "internalOffset")


# -- bodies ----------------------------------------------------------------------------------------


def read_definition(body: object) -> DefinitionInput:
    """A POST body (one element of a batch) → a definition, checked but for its query."""
    given = read(AlertDefinitionRequest, body)
    context = given.alert_correlation_context
    spec = DefinitionInput(
        name=given.name,
        subcategory=given.subcategory,
        query=context.query_source_code,
        priority=context.priority,
        trigger=trigger_of(context.correlation_trigger),
    )
    return _optional(given, context, spec)


def update_id(body: object) -> str:
    """The id of a PUT body: which stored definition it updates."""
    return read(UpdateId, body).id


def read_update(body: object, stored: DefinitionInput, domain: str) -> DefinitionInput:
    """A PUT body → the updated definition. ``name`` and ``subcategory`` must be the stored
    ones; the qualified form of the stored subcategory is the same subcategory."""
    given = read(AlertDefinitionChanges, body)
    if given.name != stored.name:
        raise invalid("name", f"cannot be changed (the definition is named {stored.name!r})")
    accepted = {
        stored.subcategory,
        normalized(stored.subcategory),
        qualified_subcategory(domain, stored.subcategory),
    }
    if given.subcategory not in accepted:
        raise invalid(
            "subcategory", f"cannot be changed (the definition's is {stored.subcategory!r})"
        )
    context = given.alert_correlation_context or AlertCorrelationContextUpdate()
    spec = stored
    if context.query_source_code is not None:
        spec = replace(spec, query=context.query_source_code)
    if context.priority is not None:
        spec = replace(spec, priority=context.priority)
    if context.correlation_trigger is not None:
        spec = replace(spec, trigger=trigger_of(context.correlation_trigger))
    return _optional(given, context, spec)


def _optional(
    given: AlertDefinitionRequest | AlertDefinitionChanges,
    context: AlertCorrelationContext | AlertCorrelationContextUpdate,
    spec: DefinitionInput,
) -> DefinitionInput:
    """The optional fields: what is given replaces what ``spec`` has."""
    changes: dict[str, Any] = {
        "message": given.message,
        "description": given.description,
        "is_active": given.is_active,
        "with_select_all": context.with_select_all,
        "timezone": context.timezone,
        "locale": context.locale,
    }
    if given.action_policy_id is not None:
        changes["action_policy_ids"] = tuple(dict.fromkeys(given.action_policy_id))
    return replace(spec, **{key: value for key, value in changes.items() if value is not None})


def trigger_of(given: AnyTrigger) -> Trigger:
    """A validated ``correlationTrigger`` as the definition keeps it."""
    values = given.model_dump(by_alias=True)
    if values.get("keys") == []:
        values["keys"] = None  # several: no keys
    return Trigger.from_json(values)


# -- the query ------------------------------------------------------------------------------------


def check_query(
    spec: DefinitionInput,
    schemas: SchemaLookup,
    *,
    now_ms: int,
    may_read: Callable[[str], bool],
    engine: str,
) -> Plan:
    """Compile the definition's query (for ``engine``, the store's: what it cannot run is
    refused now, not at evaluation) and check it fits its kind. Raises ``LinqError`` (with
    line and column), ``ForbiddenError`` for a table outside the credential's scope, or
    ``ValidationError``."""
    plan = compile_linq(spec.query, schemas, now_ms=now_ms, engine=engine).plan
    for table in sorted(tables_read(plan)):
        if not may_read(table):
            raise ForbiddenError(f"Access not allowed for table '{table}'")
    kind = spec.trigger.kind
    groupings = [s.grouping for s in stages(plan) if s.grouping is not None]
    temporal = [g for g in groupings if g.period_ms is not None]
    query_field = f"{_CONTEXT}.querySourceCode"
    if stages(plan)[0].union is not None:
        # An alert follows the appends of its one table; all.data is many.
        raise invalid(query_field, f"an alert's query must read one table, not {plan.table}")
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
