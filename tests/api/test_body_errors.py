"""Every fault a body can have is told as the hand-written readers told it.

``data/body_errors.jsonl`` holds one body for each (field, text) that the hand-written readers of
alert definitions, delivery methods and sending policies answered, recorded from those readers
before the bodies became pydantic models (bodies generated from the seed's examples with one or
two fields changed). The models and ``linqd/bodies.py`` must tell each the same field and text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from linqd.alerts.delivery.validate import read_method, read_method_update, read_policy
from linqd.alerts.validate import read_definition, read_update
from linqd.errors import ValidationError

CASES = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "body_errors.jsonl").read_text().splitlines()
]

STORED = read_definition(
    {
        "name": "stored",
        "subcategory": "Sub/x",
        "message": "m",
        "alertCorrelationContext": {
            "querySourceCode": "from x",
            "priority": 3,
            "timezone": "Europe/Paris",
            "locale": "fr_FR",
            "withSelectAll": False,
            "correlationTrigger": {
                "kind": "several",
                "period": 60000,
                "threshold": 2,
                "keys": ["k"],
            },
        },
        "actionPolicyId": ["7"],
    }
)
HTTP = read_method(
    {
        "name": "hook",
        "type": "httpjson",
        "config": {
            "url": "https://example.com/h?x=1",
            "headers": {"X-Team": "blue"},
            "username": "bob",
            "password": "pw",
        },
    }
)
MAIL = read_method({"name": "mail", "type": "email", "config": {"email": "ops@example.com"}})
POLICY = read_policy(
    {
        "name": "p",
        "isDefault": True,
        "methods": [1],
        "antiFlooding": {"mode": "custom", "maxAlerts": 2, "periodMs": 60000},
        "schedule": {"days": ["mon"], "from": "22:00", "to": "06:00"},
    }
)
READERS: dict[str, Callable[[Any], object]] = {
    "definitions": read_definition,
    "updates": lambda body: read_update(body, STORED, "dom"),
    "methods": read_method,
    "method_updates_http": lambda body: read_method_update(body, HTTP),
    "method_updates_mail": lambda body: read_method_update(body, MAIL),
    "policies": read_policy,
    "policy_updates": lambda body: read_policy(body, POLICY),
}


def test_the_corpus_covers_every_reader() -> None:
    assert {case["reader"] for case in CASES} == set(READERS)
    assert len(CASES) > 600


@pytest.mark.parametrize("reader", sorted(READERS))
def test_every_fault_is_told_as_before(reader: str) -> None:
    told = []
    for case in (c for c in CASES if c["reader"] == reader):
        with pytest.raises(ValidationError) as raised:
            READERS[reader](case["body"])
        told.append((raised.value.field, raised.value.message))
    expected = [(c["field"], c["message"]) for c in CASES if c["reader"] == reader]
    assert told == expected
