"""How the console writes values for people: dates in the user's time zone, and event values
(which may be anything a sender wrote) as plain text."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any


@dataclass(frozen=True)
class LocalTime:
    """Epoch milliseconds as ``YYYY-MM-DD HH:MM:SS`` in one zone (templates call it)."""

    zone: tzinfo

    def __call__(self, ms: int | None) -> str:
        if ms is None or ms <= 0:
            return ""
        moment = dt.datetime.fromtimestamp(ms / 1000, tz=self.zone)
        text = moment.strftime("%Y-%m-%d %H:%M:%S")
        # Milliseconds only when there are some: most firings fall on whole seconds.
        return f"{text}.{ms % 1000:03d}" if ms % 1000 else text

    @property
    def name(self) -> str:
        return str(self.zone)


def value_text(value: Any) -> str:
    """One extraData value as text: ``null`` as the API writes it, structures as JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str)
    return str(value)


def count_text(count: int, one: str, many: str) -> str:
    """``1 time``, ``3 times``: the number then the word that agrees with it."""
    return f"{count} {one if count == 1 else many}"
