"""The request bodies of the Lookups API, read into a ``Recipe``.

- CSV (``deploy-csv``): ``columns``, ``hasHeader``, ``key``, ``skipEmptyLines``,
  ``skipPreface``, ``visibility``, ``append``, ``contribution`` (the guide's members, and the
  CSV options of Devo's echoed configuration). The JSON-body variant (#6, #12) takes the same
  members plus ``csv``, the CSV text as one string.
- Query endpoints: ``query``, ``key``, ``visibility``, ``keepHistory``,
  ``columnTimeReference``, ``append``; periodic ones add ``refreshPeriod`` and ``startDate``,
  sliding windows ``windowSize`` too. PUT takes the same body as POST.
- ``deploy-config``: Devo's advanced form (``id``, ``visibility``, ``recipe``,
  ``notifyStatus``), ``once`` or ``periodic``.

A member the endpoint does not know is refused (400 naming it): a misspelt ``refreshPeriod``
must not silently give the default schedule. Null members count as absent (Devo's client drops
them; the guide sends ``columnTimeReference: None``).

Keys: ``column`` (with ``column``) and ``first-column``. ``seq``, ``row-hash`` and ``col-hash``
keys, historic lookups (``keepHistory``, ``lookupType`` ``historic``) and time-range lookups
(``columnTimeReference``) are refused with a 400 that says so: linqd's ``lu`` and
``my.lookuplist`` read a lookup by one key column and have no history.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ValidationError
from ..linq.lexer import duration_ms
from .columns import column_type
from .limits import LookupLimits
from .recipe import ColumnDef, Contribution, CsvFormat, LookupKind, Recipe

CSV_MEMBERS = frozenset(
    {
        "columns",
        "hasHeader",
        "key",
        "skipEmptyLines",
        "skipPreface",
        "visibility",
        "append",
        "contribution",
    }
)
QUERY_MEMBERS = frozenset(
    {"query", "key", "visibility", "keepHistory", "columnTimeReference", "append"}
)
PERIODIC_MEMBERS = QUERY_MEMBERS | {"refreshPeriod", "startDate"}
SLIDING_MEMBERS = PERIODIC_MEMBERS | {"windowSize"}
VISIBILITIES = ("creator-only", "all-subdomains")
DEFAULT_REFRESH_MS = 300_000
_DURATION = re.compile(r"(?:\d{1,12}(?:ms|s|m|h|d|w))+")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_ .\-]*")


# -- names ----------------------------------------------------------------------------------------


def lookup_name(name: str, limits: LookupLimits) -> str:
    """A lookup name: letters, digits, ``_``, ``-``, ``.`` and spaces (Devo's names may hold
    spaces), not starting with a space, dot or dash, at most ``max_name_length`` characters."""
    if len(name) > limits.max_name_length:
        raise ValidationError(
            f"Lookup name longer than {limits.max_name_length} characters", field="name"
        )
    if not _NAME.fullmatch(name) or name != name.strip():
        raise ValidationError(
            f"Lookup name `{name}` may hold only letters, digits, spaces, `_`, `-` and `.`, "
            "and must start with a letter, a digit or `_`",
            field="name",
        )
    return name


def column_name(name: object, limits: LookupLimits, *, field: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"`{field}` must be a column name", field=field)
    if len(name) > limits.max_column_name_length:
        raise ValidationError(
            f"Column name longer than {limits.max_column_name_length} characters", field=field
        )
    if name.lower() in ("eventdate", "client", "_seq"):
        raise ValidationError(f"`{name}` is a reserved column name", field=field)
    return name


# -- members --------------------------------------------------------------------------------------


def _members(body: object, allowed: frozenset[str], what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationError(f"The {what} must be a JSON object", field="body")
    present = {k: v for k, v in body.items() if v is not None}
    unknown = sorted(set(present) - allowed)
    if unknown:
        raise ValidationError(
            f"Unknown member(s) {', '.join(unknown)} in the {what}; it takes "
            f"{', '.join(sorted(allowed))}",
            field=unknown[0],
        )
    return present


def _bool(data: Mapping[str, Any], name: str, default: bool) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise ValidationError(f"`{name}` must be true or false", field=name)
    return value


def _string(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"`{name}` is required and must be a string", field=name)
    return value


def _visibility(value: object) -> str:
    """``{"type": "creator-only"}`` (the guide) or ``"creator-only"`` (advanced mode)."""
    if value is None:
        return "creator-only"
    kind = value.get("type") if isinstance(value, dict) else value
    if kind not in VISIBILITIES:
        raise ValidationError(
            f"`visibility` must be one of {', '.join(VISIBILITIES)}", field="visibility"
        )
    return str(kind)


def _key(value: object, limits: LookupLimits) -> str | None:
    """The key column; None for ``first-column``."""
    if not isinstance(value, dict):
        raise ValidationError('`key` must be an object such as {"type": "column", ...}', "key")
    kind = value.get("type")
    if kind == "column":
        return column_name(value.get("column"), limits, field="key.column")
    if kind == "first-column":
        return None
    if kind in ("seq", "row-hash", "col-hash"):
        raise ValidationError(
            f"Key type `{kind}` is not supported: a lookup is read by one key column; use "
            '"column" or "first-column"',
            field="key.type",
        )
    raise ValidationError("`key.type` must be column or first-column", field="key.type")


def _contribution(value: object, append: bool) -> tuple[Contribution, str | None]:
    if value is None:
        return Contribution.ADD, None
    kind = value.get("type") if isinstance(value, dict) else None
    try:
        contribution = Contribution(kind)
    except ValueError:
        raise ValidationError(
            "`contribution.type` must be add, del or col", field="contribution"
        ) from None
    if contribution is Contribution.DEL and not append:
        raise ValidationError(
            'Deleting rows ("contribution": {"type": "del"}) needs "append": true: without it '
            "the upload would replace the whole lookup",
            field="contribution",
        )
    column = None
    if contribution is Contribution.COL:
        assert isinstance(value, dict)
        column = value.get("name")
        if not isinstance(column, str) or not column:
            raise ValidationError(
                "`contribution.name` must name the action column", field="contribution.name"
            )
    return contribution, column


def _no_history(data: Mapping[str, Any]) -> None:
    if data.get("keepHistory", False) is not False:
        raise ValidationError(
            "Historic lookups (keepHistory: true) are not supported", field="keepHistory"
        )
    if "columnTimeReference" in data:
        raise ValidationError(
            "Time-range lookups (columnTimeReference) are not supported",
            field="columnTimeReference",
        )


def duration(value: object, *, field: str) -> int:
    """``"5m"``, ``"1h30m"``, ``"1d"``: units ms, s, m, h, d, w; an integer is milliseconds."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and _DURATION.fullmatch(value.strip().lower()):
        ms = duration_ms(value.strip().lower())
        if ms > 0:
            return ms
    raise ValidationError(
        f"`{field}` must be a duration such as 5m, 1h or 1d (units ms, s, m, h, d, w)",
        field=field,
    )


def start_date(value: object, *, field: str = "startDate") -> int:
    """ISO-8601 (``2025-05-12T00:00:00.00Z``; no offset means UTC) or epoch milliseconds."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.UTC)
            return int(parsed.timestamp() * 1000)
    raise ValidationError(
        f"`{field}` must be an ISO-8601 date-time or epoch milliseconds", field=field
    )


def _refresh(ms: int, limits: LookupLimits, field: str) -> int:
    if not limits.min_refresh_ms <= ms <= limits.max_refresh_ms:
        raise ValidationError(
            f"`{field}` must be between {limits.min_refresh_ms // 1000} s and "
            f"{limits.max_refresh_ms // 86_400_000} days",
            field=field,
        )
    return ms


def _query(data: Mapping[str, Any], limits: LookupLimits, field: str = "query") -> str:
    text = _string(data, "query") if field == "query" else data.get("query")
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(f"`{field}` is required and must be a string", field=field)
    if len(text) > limits.max_query_chars:
        raise ValidationError(f"Query longer than {limits.max_query_chars} characters", field=field)
    return text


# -- CSV ------------------------------------------------------------------------------------------


def csv_recipe(body: object, limits: LookupLimits, *, inline: bool = False) -> Recipe:
    """A ``deploy-config`` of ``deploy-csv``; ``inline``: the JSON-body variant, whose ``csv``
    member the caller takes out first."""
    data = _members(body, CSV_MEMBERS, "deploy-config" if not inline else "body")
    raw_columns = data.get("columns")
    if not isinstance(raw_columns, list) or not raw_columns:
        raise ValidationError("`columns` must list the CSV's columns", field="columns")
    if len(raw_columns) > limits.max_columns:
        raise ValidationError(
            f"More than {limits.max_columns} columns in `columns`", field="columns"
        )
    columns: list[ColumnDef] = []
    seen: set[str] = set()
    for index, item in enumerate(raw_columns):
        where = f"columns[{index}]"
        if not isinstance(item, dict):
            raise ValidationError(f'`{where}` must be {{"name": ..., "type": ...}}', where)
        name = column_name(item.get("name"), limits, field=f"{where}.name")
        # DuckDB folds identifier case: KEY and key would be one column.
        if name.lower() in seen:
            raise ValidationError(f"Column `{name}` is declared twice", field=f"{where}.name")
        seen.add(name.lower())
        columns.append(ColumnDef(name, column_type(item.get("type"), field=f"{where}.type")))
    key = _key(data.get("key", {"type": "first-column"}), limits)
    if key is not None and key not in {c.name for c in columns}:
        raise ValidationError(f"The key column `{key}` is not in `columns`", field="key.column")
    append = _bool(data, "append", False)
    contribution, action = _contribution(data.get("contribution"), append)
    if action is not None and action not in {c.name for c in columns}:
        raise ValidationError(
            f"The action column `{action}` is not in `columns`", field="contribution.name"
        )
    preface = data.get("skipPreface", 0)
    if preface is False:
        preface = 0
    if isinstance(preface, bool) or not isinstance(preface, int) or preface < 0:
        raise ValidationError("`skipPreface` must be a number of lines", field="skipPreface")
    return Recipe(
        kind=LookupKind.CSV,
        key_column=key,
        append=append,
        contribution=contribution,
        action_column=action,
        visibility=_visibility(data.get("visibility")),
        columns=tuple(columns),
        csv=CsvFormat(
            has_header=_bool(data, "hasHeader", True),
            skip_preface=preface,
            skip_empty_lines=_bool(data, "skipEmptyLines", True),
        ),
    )


# -- queries --------------------------------------------------------------------------------------


def query_recipe(body: object, kind: LookupKind, limits: LookupLimits) -> Recipe:
    """The body of ``deploy-static-query``, ``deploy-periodic-query`` or
    ``deploy-sliding-window-query``. A periodic lookup without ``refreshPeriod`` has
    ``refresh_ms`` None: its query's ``group every`` period decides, else 5 minutes."""
    allowed = {
        LookupKind.STATIC: QUERY_MEMBERS,
        LookupKind.PERIODIC: PERIODIC_MEMBERS,
        LookupKind.SLIDING: SLIDING_MEMBERS,
    }[kind]
    data = _members(body, allowed, "body")
    _no_history(data)
    query = _query(data, limits)
    if "key" not in data:
        raise ValidationError("`key` is required", field="key")
    key = _key(data["key"], limits)
    refresh = window = start = None
    if kind.scheduled:
        if "refreshPeriod" in data:
            refresh = _refresh(
                duration(data["refreshPeriod"], field="refreshPeriod"), limits, "refreshPeriod"
            )
        if "startDate" in data:
            start = start_date(data["startDate"])
    if kind is LookupKind.SLIDING:
        if "windowSize" not in data:
            raise ValidationError("`windowSize` is required", field="windowSize")
        window = duration(data["windowSize"], field="windowSize")
        if window > limits.max_window_ms:
            raise ValidationError(
                f"`windowSize` longer than {limits.max_window_ms // 86_400_000} days",
                field="windowSize",
            )
    append = _bool(data, "append", kind is LookupKind.PERIODIC)
    return Recipe(
        kind=kind,
        key_column=key,
        append=append,
        visibility=_visibility(data.get("visibility")),
        query=query,
        refresh_ms=refresh,
        window_ms=window,
        start_ms=start,
    )


# -- advanced mode --------------------------------------------------------------------------------

_ADVANCED = frozenset({"id", "visibility", "recipe", "notifyStatus"})
_RECIPE = frozenset(
    {
        "recipeType",
        "source",
        "lookupType",
        "append",
        "key",
        "columnFilter",
        "contribution",
        "secondaryIndexes",
        "refreshMillis",
        "startMillis",
        "requiresDate",
    }
)


def advanced_recipe(body: object, domain: str, name: str, limits: LookupLimits) -> Recipe:
    """Devo's advanced ``deploy-config`` (§3.8). ``id.creator`` and ``id.name``, when sent,
    must be the path's domain and name (a body copied from another lookup must not deploy
    there). ``secondaryIndexes`` is accepted and has no effect: the engines index by
    themselves. ``notifyStatus`` and ``requiresDate`` are kept and shown back."""
    data = _members(body, _ADVANCED, "deploy-config")
    ident = data.get("id")
    if ident is not None:
        if not isinstance(ident, dict):
            raise ValidationError("`id` must be an object", field="id")
        if ident.get("creator") not in (None, domain) or ident.get("name") not in (None, name):
            raise ValidationError(
                "`id.creator` and `id.name` must be the domain and the name of the path",
                field="id",
            )
    recipe = _members(data.get("recipe"), _RECIPE, "recipe")
    recipe_type = recipe.get("recipeType", "once")
    if recipe_type not in ("once", "periodic"):
        raise ValidationError("`recipe.recipeType` must be once or periodic", "recipeType")
    lookup_type = recipe.get("lookupType", {"type": "normal"})
    if not isinstance(lookup_type, dict) or lookup_type.get("type", "normal") != "normal":
        raise ValidationError(
            "Historic lookups (lookupType historic) are not supported", field="lookupType"
        )
    source = recipe.get("source")
    if not isinstance(source, dict):
        raise ValidationError("`recipe.source` must hold a query", field="recipe.source")
    query = _query(source, limits, field="recipe.source.query")
    key = _key(recipe.get("key", {"type": "first-column"}), limits)
    append = _bool(recipe, "append", False)
    contribution, action = _contribution(recipe.get("contribution"), append)
    column_filter = recipe.get("columnFilter", [])
    if not isinstance(column_filter, list) or not all(isinstance(c, str) for c in column_filter):
        raise ValidationError("`columnFilter` must list column names", field="columnFilter")
    periodic = recipe_type == "periodic"
    refresh = start = None
    if periodic:
        for member in ("refreshMillis", "startMillis"):
            if member not in recipe:
                raise ValidationError(
                    f"'{member}' value is expected when 'recipeType' value is 'periodic'",
                    field=member,
                )
        refresh = _refresh(
            duration(recipe["refreshMillis"], field="refreshMillis"), limits, "refreshMillis"
        )
        start = start_date(recipe["startMillis"], field="startMillis")
    return Recipe(
        kind=LookupKind.PERIODIC if periodic else LookupKind.STATIC,
        key_column=key,
        append=append,
        contribution=contribution,
        action_column=action,
        visibility=_visibility(data.get("visibility")),
        query=query,
        column_filter=tuple(column_filter),
        refresh_ms=refresh,
        start_ms=start,
        notify_status=_bool(data, "notifyStatus", False),
        requires_date=_bool(recipe, "requiresDate", False),
        extra={"advanced": True},
    )


PARSERS: Mapping[LookupKind, Callable[[object, LookupLimits], Recipe]] = {
    LookupKind.STATIC: lambda body, limits: query_recipe(body, LookupKind.STATIC, limits),
    LookupKind.PERIODIC: lambda body, limits: query_recipe(body, LookupKind.PERIODIC, limits),
    LookupKind.SLIDING: lambda body, limits: query_recipe(body, LookupKind.SLIDING, limits),
}
