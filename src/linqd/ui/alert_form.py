"""The alert definition form: its fields, the body it builds, and where each error goes.

The form builds the very body the Alerts API takes (``POST /alerts/v1/alertDefinitions``) and
reads it with the API's readers (``read_definition``, ``read_update``, then ``check_query``), so
the console accepts and refuses exactly what the API does. Every input is named after the API's
member it fills (``period``, ``backPeriod``, ``querySourceCode``...): an error's ``field`` (a JSON
path such as ``alertCorrelationContext.correlationTrigger.period``) names its input by its last
step.

Where the API is stricter than a person typing: periods and offsets are milliseconds in the API,
and ``30s``, ``5m``, ``1h`` or ``1d`` here (a bare number stays milliseconds); keys are one line
of comma-separated columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import pydantic
from pydantic import BaseModel

from ..alerts.bodies import AlertDefinitionChanges, AlertDefinitionRequest
from ..alerts.model import (
    KIND_FIELDS,
    SUBQUERY_FIELDS,
    AlertDefinition,
    DefinitionInput,
    Trigger,
    TriggerKind,
)
from ..alerts.validate import check_query, read_definition, read_update
from ..bodies import told
from ..errors import LinqdError, LinqError, ValidationError
from ..linq.analyzer import SchemaLookup

KINDS = tuple(kind.value for kind in TriggerKind)
CONTEXT = "alertCorrelationContext"
TRIGGER = f"{CONTEXT}.correlationTrigger"
QUERY_PATH = f"{CONTEXT}.querySourceCode"
# The slot of an error about the subquery windows together (not one of them).
SUBQUERY_SLOT = "subquery"
DEFAULT_FROM = "1d"  # the backtest's range: the last 24 hours
DEFAULT_TO = "now"

_UNITS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"(\d{1,15})\s*(ms|s|m|h|d)?", re.IGNORECASE)
_INTEGER = re.compile(r"-?\d{1,18}")


class Input(Enum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    DURATION = "duration"
    COLUMNS = "columns"
    FLAG = "flag"


@dataclass(frozen=True)
class FormField:
    name: str  # the input's name: the API member it fills
    label: str
    input: Input
    kinds: tuple[str, ...] = KINDS  # the trigger kinds showing it
    hint: str = ""


DURATION_HINT = "30s, 5m, 1h or 1d (a bare number is milliseconds)"


def _kinds_of(name: str) -> tuple[str, ...]:
    return tuple(kind.value for kind, names in KIND_FIELDS.items() if name in names)


TRIGGER_FIELDS = (
    FormField("period", "Period", Input.DURATION, _kinds_of("period"), DURATION_HINT),
    FormField(
        "threshold",
        "Threshold",
        Input.NUMBER,
        _kinds_of("threshold"),
        "several: alert above it; low: at or below it; deviation, gradient: the deviation",
    ),
    FormField("keys", "Keys", Input.COLUMNS, _kinds_of("keys"), "columns, comma-separated"),
    FormField(
        "backPeriod",
        "Back period",
        Input.DURATION,
        _kinds_of("backPeriod"),
        "how far back each run looks; " + DURATION_HINT,
    ),
    FormField(
        "absolute",
        "Absolute threshold",
        Input.FLAG,
        _kinds_of("absolute"),
        "unchecked: the threshold is a percentage",
    ),
    FormField(
        "aggregationColumn",
        "Aggregation column",
        Input.COLUMNS,
        _kinds_of("aggregationColumn"),
        "an aggregation column of the query",
    ),
)
SUBQUERY_LABELS = {
    "externalPeriod": "External period",
    "externalOffset": "External offset",
    "internalPeriod": "Internal period",
    "internalOffset": "Internal offset",
}
SUBQUERY_INPUTS = tuple(
    FormField(name, SUBQUERY_LABELS[name], Input.DURATION, hint=DURATION_HINT)
    for name in SUBQUERY_FIELDS
)
_BY_NAME = {f.name: f for f in (*TRIGGER_FIELDS, *SUBQUERY_INPUTS)}
# Every place an error can be shown beside; "" is the form as a whole.
SLOTS = (
    "name",
    "subcategory",
    "querySourceCode",
    "priority",
    "kind",
    *(f.name for f in TRIGGER_FIELDS),
    *SUBQUERY_FIELDS,
    SUBQUERY_SLOT,
    "message",
    "description",
    "isActive",
    "from",
    "to",
)


@dataclass(frozen=True)
class Problem:
    """One error, and where the form shows it."""

    slot: str  # an input's name, or "" for the form as a whole
    message: str
    source: str = ""  # a LINQ error: its message with the source line and a caret

    @staticmethod
    def of(error: LinqdError) -> Problem:
        if isinstance(error, LinqError):
            shown = error.render() if error.span is not None and error.source else ""
            return Problem("querySourceCode", error.message, shown)
        field = getattr(error, "field", None)
        slot = slot_of(field)
        message = error.message
        # "<path>: must be ..." reads "must be ..." beside the input the path names.
        if slot and isinstance(field, str) and message.startswith(f"{field}: "):
            message = message[len(field) + 2 :]
        return Problem(slot, message)


class FormProblems(ValidationError):
    """Several errors of one form at once (each field's first)."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(p.message for p in self.problems) or "The form is not valid")


def problems_of(error: LinqdError) -> tuple[Problem, ...]:
    if isinstance(error, FormProblems):
        return error.problems
    return (Problem.of(error),)


def slot_of(field: object) -> str:
    """The input an error's ``field`` names (its last step), or "" when none does."""
    if not isinstance(field, str) or not field:
        return ""
    if field == TRIGGER:
        return SUBQUERY_SLOT
    last = field.rsplit(".", 1)[-1]
    return last if last in SLOTS else ""


# -- values ------------------------------------------------------------------------------------


def blank_values(query: str = "", from_text: str = "", to_text: str = "") -> dict[str, str]:
    """A new definition's form, its query (and backtest range) given by the search page."""
    return {
        "name": "",
        "subcategory": "",
        "querySourceCode": query,
        "priority": "5",
        "kind": "",
        "message": "",
        "description": "",
        "isActive": "true",
        "from": from_text or DEFAULT_FROM,
        "to": to_text or DEFAULT_TO,
    }


def definition_values(definition: AlertDefinition) -> dict[str, str]:
    """A stored definition as the form shows it."""
    spec = definition.spec
    values = {
        "name": spec.name,
        "subcategory": spec.subcategory,
        "querySourceCode": spec.query,
        "priority": str(spec.priority),
        "kind": spec.trigger.kind.value,
        "message": spec.message,
        "description": spec.description,
        "isActive": "true" if spec.is_active else "",
        "from": DEFAULT_FROM,
        "to": DEFAULT_TO,
    }
    for name, spec_field in _BY_NAME.items():
        values[name] = _shown(spec_field, spec.trigger.value(name))
    return values


def _shown(spec_field: FormField, value: Any) -> str:
    if value is None:
        return ""
    if spec_field.input is Input.DURATION:
        return duration_text(int(value))
    if spec_field.input is Input.COLUMNS:
        return ", ".join(value)
    if spec_field.input is Input.FLAG:
        return "true" if value else ""
    return str(value)


def duration_text(ms: int) -> str:
    """Milliseconds in the largest unit that divides them (``300000`` → ``5m``)."""
    for unit in ("d", "h", "m", "s"):
        if ms and ms % _UNITS[unit] == 0:
            return f"{ms // _UNITS[unit]}{unit}"
    return f"{ms}ms"


def posted_values(fields: Mapping[str, str]) -> dict[str, str]:
    """The form's inputs from a posted form; an unchecked checkbox is not sent: ""."""
    return {name: fields.get(name, "") for name in (*SLOTS, "id") if name != SUBQUERY_SLOT}


# -- the body ------------------------------------------------------------------------------------


def definition_body(values: Mapping[str, str]) -> tuple[dict[str, Any], list[Problem]]:
    """The API body of the form, and the inputs it could not read (a duration like ``5x``).

    Values go as typed when they are not what the API expects (``"abc"`` for the priority), so
    that the API's own reader words the error."""
    problems: list[Problem] = []
    kind = values.get("kind", "")
    trigger: dict[str, Any] = {"kind": kind}
    names = KIND_FIELDS[TriggerKind(kind)] if kind in KINDS else ()
    for name in (*names, *SUBQUERY_FIELDS):
        spec_field = _BY_NAME[name]
        raw = values.get(name, "").strip()
        if spec_field.input is Input.FLAG:
            trigger[name] = raw != ""
        elif raw and spec_field.input is Input.DURATION:
            found = _DURATION.fullmatch(raw)
            if found is None:
                problems.append(Problem(name, f"must be a duration: {DURATION_HINT}"))
            else:
                unit = (found.group(2) or "ms").lower()
                trigger[name] = int(found.group(1)) * _UNITS[unit]
        elif raw and spec_field.input is Input.COLUMNS:
            trigger[name] = [column.strip() for column in raw.split(",") if column.strip()]
        elif raw:
            trigger[name] = _number(raw)
    context: dict[str, Any] = {
        "querySourceCode": values.get("querySourceCode", ""),
        "correlationTrigger": trigger,
    }
    priority = values.get("priority", "").strip()
    if priority:
        context["priority"] = _number(priority)
    body: dict[str, Any] = {
        # As typed: an update must name the stored definition exactly, as the API's does.
        "name": values.get("name", ""),
        "subcategory": values.get("subcategory", ""),
        "message": values.get("message", ""),
        "description": values.get("description", ""),
        "isActive": values.get("isActive", "") != "",
        CONTEXT: context,
    }
    return body, problems


def _number(raw: str) -> int | str:
    return int(raw) if _INTEGER.fullmatch(raw) else raw


def read_form(values: Mapping[str, str], stored: AlertDefinition | None = None) -> DefinitionInput:
    """The definition the form describes (a new one, or ``stored`` changed), read as the API
    reads its body; raises ``FormProblems`` with every field's first error."""
    body, problems = definition_body(values)
    model: type[BaseModel] = AlertDefinitionRequest if stored is None else AlertDefinitionChanges
    problems += _every_error(model, body)
    if problems:
        raise FormProblems(_first_per_slot(problems))
    if stored is None:
        return read_definition(body)
    return read_update(body, stored.spec, stored.domain)


def _every_error(model: type[BaseModel], body: object) -> list[Problem]:
    """Each fault of the body, in the API's words (its reader tells only the first)."""
    try:
        model.model_validate(body)
    except pydantic.ValidationError as error:
        details = error.errors(include_url=False, include_input=True)
        return [Problem.of(told(model, detail)) for detail in details]
    return []


def _first_per_slot(problems: Iterable[Problem]) -> list[Problem]:
    seen: dict[str, Problem] = {}
    for problem in problems:
        seen.setdefault(problem.slot, problem)
    return list(seen.values())


# -- the query's shape -----------------------------------------------------------------------------


def fitting_kinds(
    query: str,
    schemas: SchemaLookup,
    *,
    now_ms: int,
    may_read: Callable[[str], bool],
    engine: str,
) -> tuple[str, ...]:
    """The trigger kinds whose rules the query's shape meets, asked of ``check_query`` itself
    (a plain filter: each, several, low, inactivity, rolling; ``group every`` with keys: each,
    deviation, gradient; ``group by`` alone: rolling). Every kind while the query is empty or
    wrong: its own error is told when it is saved or backtested."""
    if not query.strip():
        return KINDS
    fitting = []
    for kind in TriggerKind:
        probe = DefinitionInput("probe", "probe", query, 0, Trigger(kind))
        try:
            check_query(probe, schemas, now_ms=now_ms, may_read=may_read, engine=engine)
        except ValidationError as error:
            # Only the query's own shape counts: a missing parameter is the form's to fill.
            if error.field == QUERY_PATH:
                continue
        except LinqdError:
            return KINDS
        fitting.append(kind.value)
    return tuple(fitting) or KINDS


def chosen_kind(values: Mapping[str, str], offered: tuple[str, ...]) -> str:
    """The kind the form shows: the one given if offered, else the first offered."""
    given = values.get("kind", "")
    return given if given in offered else offered[0]
