"""The request bodies of the Alerts API's alert definitions (Devo's Alerts API page), declared once.

These models are what ``alerts/validate.py`` reads bodies with and what the OpenAPI document
describes them with: a limit changed here changes both. What they check is what the seed says
of each field; what needs the query (its columns, its subqueries) is ``validate.check_query``'s.

Decisions where Devo is silent (see also ``alerts/validate.py``):
- Priority 0 to 10 (Devo's text says 1 to 10 but maps 0 to "very low").
- ``correlationTrigger`` is one model per kind, chosen by ``kind``; a kind's model ignores the
  parameters of other kinds. ``several`` threshold >= 1 (the seed: "a positive integer"),
  ``low`` and deviation/gradient thresholds >= 0; ``several`` keys optional, ``inactivity``
  keys required; keys may be given as one string.
- The subquery windows (``externalOffset``, ``internalPeriod``, ``internalOffset`` and the
  undocumented ``externalPeriod``) are accepted on every kind.
- Policy ids may be strings or integers, and are kept as digit strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from ..bodies import Body, Flag, Integer, Text, Worded, known_zone, rule

SECOND = 1_000
MINUTE = 60_000
DAY = 86_400_000
MAX_PERIOD = 100 * DAY  # 8640000000: Devo's "100 days"
MAX_RATIO = 120
MAX_POLICIES = 100
MAX_COLUMNS = 64


def _not_blank(value: str) -> str:
    if not value.strip():
        raise rule("must not be empty")
    return value


def _one_as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _without_eventdate(value: list[str]) -> list[str]:
    if "eventdate" in value:
        raise rule("cannot include eventdate")
    return value


def _id_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Name = Annotated[Text, Field(min_length=1, max_length=256), AfterValidator(_not_blank)]
QuerySource = Annotated[Text, Field(min_length=1, max_length=65_536), AfterValidator(_not_blank)]
Message = Annotated[Text, Field(max_length=4_096)]
Description = Annotated[Text, Field(max_length=16_384)]
Priority = Annotated[Integer, Field(ge=0, le=10)]
Period = Annotated[Integer, Field(ge=SECOND, le=MAX_PERIOD)]
RollingPeriod = Annotated[Integer, Field(ge=MINUTE, le=MAX_PERIOD)]
InactivityPeriod = Annotated[Integer, Field(ge=5 * MINUTE, le=30 * DAY)]
Window = Annotated[Integer, Field(ge=0, le=MAX_PERIOD)]
InternalPeriod = Annotated[Integer, Field(ge=MINUTE, le=MAX_PERIOD)]
Count = Annotated[Integer, Field(ge=0)]
PositiveCount = Annotated[Integer, Field(ge=1)]
ColumnNames = Annotated[
    list[Annotated[Text, Field(min_length=1)]],
    Field(max_length=MAX_COLUMNS),
    BeforeValidator(_one_as_list),
    Worded(
        type="must be a list of column names",
        item="must be a list of column names",
        too_long="must name at most {max_length} columns",
    ),
]
Keys = Annotated[ColumnNames, AfterValidator(_without_eventdate)]
RequiredKeys = Annotated[
    Keys, Field(min_length=1), Worded(too_short="must name at least one column")
]
AggregationColumn = Annotated[
    ColumnNames,
    Field(min_length=1, max_length=1),
    Worded(
        too_long="must name exactly one aggregation column of the query",
        too_short="must name exactly one aggregation column of the query",
    ),
]
TimeZone = Annotated[Text, Field(max_length=64), AfterValidator(known_zone)]
LOCALE = "must match ([a-z]){2}_([A-Z]){2}, for example en_US"
Locale = Annotated[Text, Field(pattern=r"^[a-z]{2}_[A-Z]{2}$"), Worded(type=LOCALE, pattern=LOCALE)]
POLICY_IDS = f"must be a list of at most {MAX_POLICIES} ids"
PolicyIds = Annotated[
    list[Annotated[Text, Field(pattern=r"^[0-9]{1,18}$"), BeforeValidator(_id_text)]],
    Field(max_length=MAX_POLICIES),
    Worded(type=POLICY_IDS, too_long=POLICY_IDS, item="must hold sending policy ids (digits)"),
]
ID_REQUIRED = "is required (the alert definition's id)"
DefinitionId = Annotated[
    Text,
    Field(min_length=1),
    BeforeValidator(_id_text),
    Worded(missing=ID_REQUIRED, too_short=ID_REQUIRED, type=ID_REQUIRED),
]


# -- correlationTrigger: one model per kind ---------------------------------------------------


class _Trigger(Body):
    """The subquery windows every kind takes, and Devo's rule between two of them."""

    external_period: Window | None = None
    external_offset: Window | None = None
    internal_period: InternalPeriod | None = None
    internal_offset: Window | None = None

    @model_validator(mode="after")
    def _subquery_ratio(self) -> Self:
        offset, internal = self.external_offset, self.internal_period
        # An offset of 0 (Devo's own subquery example) means "no shift": the rule has no divisor.
        if offset and internal is not None and offset < DAY and internal > MAX_RATIO * offset:
            raise rule(
                f"internalPeriod/externalOffset must not exceed {MAX_RATIO} when externalOffset "
                f"is under one day (got {internal}/{offset} = {internal / offset:g})",
                at="internalPeriod",
            )
        return self


class EachTrigger(_Trigger):
    kind: Literal["each"]


class SeveralTrigger(_Trigger):
    kind: Literal["several"]
    period: Period
    threshold: PositiveCount
    keys: Keys | None = None


class LowTrigger(_Trigger):
    kind: Literal["low"]
    period: Period
    threshold: Count


class InactivityTrigger(_Trigger):
    kind: Literal["inactivity"]
    period: InactivityPeriod
    keys: RequiredKeys


class RollingTrigger(_Trigger):
    kind: Literal["rolling"]
    period: RollingPeriod
    back_period: Period

    @model_validator(mode="after")
    def _ratio(self) -> Self:
        """Devo's "ratio must not exceed 120" (below one day of period)."""
        period, back = self.period, self.back_period
        if period < DAY and back > MAX_RATIO * period:
            raise rule(
                f"backPeriod/period must not exceed {MAX_RATIO} when period is under one day "
                f"(got {back}/{period} = {back / period:g})",
                at="backPeriod",
            )
        return self


class DeviationTrigger(_Trigger):
    kind: Literal["deviation"]
    threshold: Count
    absolute: Flag
    aggregation_column: AggregationColumn


class GradientTrigger(_Trigger):
    kind: Literal["gradient"]
    threshold: Count
    absolute: Flag
    aggregation_column: AggregationColumn


AnyTrigger = (
    EachTrigger
    | SeveralTrigger
    | LowTrigger
    | InactivityTrigger
    | RollingTrigger
    | DeviationTrigger
    | GradientTrigger
)
CorrelationTrigger = Annotated[AnyTrigger, Field(discriminator="kind")]
# The models by kind, in the order the API lists the kinds.
TRIGGER_MODELS: Mapping[str, type[Body]] = {
    "each": EachTrigger,
    "several": SeveralTrigger,
    "low": LowTrigger,
    "inactivity": InactivityTrigger,
    "rolling": RollingTrigger,
    "deviation": DeviationTrigger,
    "gradient": GradientTrigger,
}


# -- the definition ---------------------------------------------------------------------------


class AlertCorrelationContext(Body):
    query_source_code: QuerySource
    priority: Priority
    correlation_trigger: CorrelationTrigger
    with_select_all: Flag | None = None
    timezone: TimeZone | None = None
    locale: Locale | None = None


class AlertDefinitionRequest(Body):
    """``POST /alerts/v1/alertDefinitions`` (and each element of ``/batch``)."""

    name: Name
    subcategory: Name
    alert_correlation_context: AlertCorrelationContext
    message: Message | None = None
    description: Description | None = None
    is_active: Flag | None = None
    action_policy_id: PolicyIds | None = None


class AlertCorrelationContextUpdate(Body):
    """On update every context field is optional; a given trigger replaces the stored one."""

    query_source_code: QuerySource | None = None
    priority: Priority | None = None
    correlation_trigger: CorrelationTrigger | None = None
    with_select_all: Flag | None = None
    timezone: TimeZone | None = None
    locale: Locale | None = None


class UpdateId(Body):
    """The id of ``PUT``'s body, read first: it says which stored definition to update."""

    id: DefinitionId


class AlertDefinitionChanges(Body):
    """What ``PUT`` changes in the stored definition: ``name`` and ``subcategory`` must be the
    stored ones (the seed: "non-editable ... you must include it and indicate its original
    value")."""

    name: Name
    subcategory: Name
    alert_correlation_context: AlertCorrelationContextUpdate | None = None
    message: Message | None = None
    description: Description | None = None
    is_active: Flag | None = None
    action_policy_id: PolicyIds | None = None


class AlertDefinitionUpdate(AlertDefinitionChanges, UpdateId):
    """``PUT /alerts/v1/alertDefinitions`` (and each element of ``/batch``): the id and the
    changes."""
