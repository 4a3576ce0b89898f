"""A lookup's definition as linqd keeps it (``Recipe``): where its rows come from (a CSV or a
query), its key, how new rows contribute, and its schedule; kept as JSON in the registry and in
the params of its jobs, and shown back in Devo's advanced ``deploy-config`` form.

The bodies of the endpoints are parsed into it by ``bodies.py``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from ..linq.types import LType, parse_type
from .columns import rest_name


class LookupKind(Enum):
    """How a lookup gets its rows."""

    CSV = "csv"
    STATIC = "static-query"
    PERIODIC = "periodic-query"
    SLIDING = "sliding-window-query"
    SYSLOG = "syslog"  # uploaded over syslog with Devo's deprecated protocol

    @property
    def from_query(self) -> bool:
        return self in (LookupKind.STATIC, LookupKind.PERIODIC, LookupKind.SLIDING)

    @property
    def scheduled(self) -> bool:
        return self in (LookupKind.PERIODIC, LookupKind.SLIDING)


class Contribution(Enum):
    """What the rows of a deployment do: add (upsert by key), delete their keys, or say per row
    in an action column (``col``)."""

    ADD = "add"
    DEL = "del"
    COL = "col"


@dataclass(frozen=True)
class ColumnDef:
    name: str
    type: LType


@dataclass(frozen=True)
class CsvFormat:
    has_header: bool = True
    skip_preface: int = 0  # lines skipped before the header (or the first row)
    skip_empty_lines: bool = True


@dataclass(frozen=True)
class Recipe:
    kind: LookupKind
    key_column: str | None  # None: the first column
    append: bool = False
    contribution: Contribution = Contribution.ADD
    action_column: str | None = None  # with ``col``
    visibility: str = "creator-only"
    query: str | None = None
    columns: tuple[ColumnDef, ...] = ()  # declared by a CSV deployment
    csv: CsvFormat | None = None
    column_filter: tuple[str, ...] = ()
    refresh_ms: int | None = None
    window_ms: int | None = None
    start_ms: int | None = None
    notify_status: bool = False
    requires_date: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["contribution"] = self.contribution.value
        data["columns"] = [{"name": c.name, "type": c.type.name} for c in self.columns]
        data["column_filter"] = list(self.column_filter)
        return data

    @staticmethod
    def from_json(data: dict[str, Any]) -> Recipe:
        csv = data.get("csv")
        return Recipe(
            kind=LookupKind(data["kind"]),
            key_column=data.get("key_column"),
            append=bool(data.get("append")),
            contribution=Contribution(data.get("contribution", "add")),
            action_column=data.get("action_column"),
            visibility=str(data.get("visibility", "creator-only")),
            query=data.get("query"),
            columns=tuple(
                ColumnDef(c["name"], parse_type(c["type"])) for c in data.get("columns", ())
            ),
            csv=CsvFormat(**csv) if csv else None,
            column_filter=tuple(data.get("column_filter", ())),
            refresh_ms=data.get("refresh_ms"),
            window_ms=data.get("window_ms"),
            start_ms=data.get("start_ms"),
            notify_status=bool(data.get("notify_status")),
            requires_date=bool(data.get("requires_date")),
            extra=dict(data.get("extra", {})),
        )


def deploy_config(recipe: Recipe, *, domain: str, name: str) -> dict[str, Any]:
    """The recipe in Devo's advanced ``deploy-config`` form, every optional member present (as
    the ``lookupDeployConfig`` of Devo's creation reply shows it). The query is shown as it was
    sent: linqd confines it to the domain when it runs, without rewriting its text."""
    csv = recipe.csv
    key: dict[str, Any] = {
        "columns": [],
        "column": recipe.key_column,
        "type": "first-column" if recipe.key_column is None else "column",
    }
    contribution: dict[str, Any] = {"type": recipe.contribution.value}
    if recipe.contribution is Contribution.COL:
        contribution["name"] = recipe.action_column
    periodic = recipe.kind.scheduled
    return {
        "id": {"creator": domain, "name": name},
        "visibility": recipe.visibility,
        "recipe": {
            "recipeType": "periodic" if periodic else "once",
            "source": {
                "columns": [{"name": c.name, "type": rest_name(c.type)} for c in recipe.columns],
                "skipPreface": csv.skip_preface if csv else None,
                "hasHeader": csv.has_header if csv else None,
                "skipEmptyLines": csv.skip_empty_lines if csv else None,
                "fileProvider": None,
                "query": recipe.query,
            },
            "lookupType": {
                "type": "normal",
                "instantPolicy": None,
                "instant": None,
                "columnName": None,
            },
            "append": recipe.append,
            "key": key,
            "columnFilter": list(recipe.column_filter) or None,
            "contribution": contribution,
            "secondaryIndexes": None,
            "refreshMillis": recipe.refresh_ms if periodic else None,
            "startMillis": recipe.start_ms if periodic else None,
            "windowMillis": recipe.window_ms,
            "requiresDate": recipe.requires_date,
        },
        "notifyStatus": recipe.notify_status,
    }
