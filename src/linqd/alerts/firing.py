"""What an evaluator finds, and the firing it becomes: its digest, its rendered message and
description, and its ``extraData`` (docs/design.md, "Alerts")."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import AlertDefinition, TriggeredAlert, qualified_subcategory

_VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Finding:
    """One alert an evaluator decided on. ``identity`` is what makes it this alert and no other
    (the period and key values, or the event's sequence number); with the definition's id it
    gives the digest, so the same finding is stored and delivered once."""

    eventdate: int  # ms
    values: Mapping[str, Any]
    identity: tuple[Any, ...]


@dataclass(frozen=True)
class Firing:
    definition: AlertDefinition
    finding: Finding
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """40 hex characters, as Devo's digests are."""
        key = [self.definition.domain, self.definition.id, *self.finding.identity]
        text = json.dumps(key, default=str, separators=(",", ":"))
        return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()

    @functools.cached_property
    def _extra(self) -> dict[str, Any]:
        data = {k: _plain(v) for k, v in self.finding.values.items()}
        data["eventdate"] = format_date(self.finding.eventdate)
        return data

    def extra_data(self) -> dict[str, Any]:
        """The alert's fields: the finding's values with ``eventdate`` as Devo writes it."""
        return dict(self._extra)

    def message(self) -> str:
        return render(self.definition.spec.message, self._extra)

    def description(self) -> str:
        return render(self.definition.spec.description, self._extra)

    def triggered(self) -> TriggeredAlert:
        definition = self.definition
        return TriggeredAlert(
            domain=definition.domain,
            definition_id=definition.id,
            digest=self.digest,
            alert_date=self.finding.eventdate,
            priority=float(definition.spec.priority),
            context=definition.name_id,
            alert_name=definition.name,
            subcategory=qualified_subcategory(definition.domain, definition.spec.subcategory),
            username=definition.owner_email,
            message=self.message(),
            description=self.description(),
            extra_data=self._extra,
        )


def format_date(ms: int) -> str:
    """``yyyy-MM-dd HH:mm:ss.SSS`` in UTC, the form of Devo's extraData dates."""
    moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def render(template: str, values: Mapping[str, Any]) -> str:
    """``$name`` → the value of ``name``; an unknown ``$name`` stays as written. A NUL from an
    event's value becomes U+FFFD: PostgreSQL's text cannot hold it, and one event must not keep
    its rule's firings from being stored."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        value = values[name]
        return "null" if value is None else str(value).replace("\x00", "\ufffd")

    return _VARIABLE.sub(replace, template)
