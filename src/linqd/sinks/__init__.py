"""Destinations of query jobs, one module each behind the ``Sink`` interface (``base.py``).

Modules are imported when a destination of their type is used, so a server that never sends to
Kafka never loads librdkafka.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..clock import Clock
from ..config import Settings
from ..errors import ValidationError
from ..outbound import OutboundPolicy
from .base import DEFAULT_RULES, DestinationRules, Sink

TYPES = ("donothing", "kafka", "s3", "hdfs", "email")


@dataclass(frozen=True)
class SinkContext:
    """What sinks take from the server's configuration rather than from the request."""

    clock: Clock
    smtp: Any = None  # email.SmtpSettings; typed loosely to keep smtplib out of imports
    rules: DestinationRules = DEFAULT_RULES


def destination_rules(settings: Settings) -> DestinationRules:
    """The server's rules for destinations, from ``serve``'s options."""
    folder = settings.destination_files_dir
    return DestinationRules(
        outbound=OutboundPolicy.parse(settings.outbound_allow, settings.outbound_deny),
        files_dir=folder.resolve(strict=True) if folder is not None else None,
    )


def _module(kind: str) -> Any:
    if kind not in TYPES:
        raise ValidationError(
            f"Unknown destination type `{kind}`; expected one of {', '.join(TYPES)}",
            field="destination.type",
        )
    return importlib.import_module(f"{__name__}.{kind}")


def validate_destination(
    kind: str, params: Mapping[str, Any], rules: DestinationRules = DEFAULT_RULES
) -> None:
    """Check a destination before the job exists (Devo's codes where documented)."""
    _module(kind).validate(params, rules)


def create_sink(kind: str, params: Mapping[str, Any], *, job_id: str, context: SinkContext) -> Sink:
    module = _module(kind)
    checked = module.validate(params, context.rules)
    sink: Sink = module.create(checked, job_id=job_id, context=context)
    return sink
