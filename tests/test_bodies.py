"""linqd.bodies: declared request bodies read with pydantic, errors told in linqd's words."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import Field

from linqd.alerts.delivery.validate import read_method
from linqd.alerts.validate import read_definition
from linqd.bodies import Body, Integer, Text, Worded, read, rule
from linqd.errors import ValidationError

EXAMPLES = json.loads((Path(__file__).parent / "api" / "data" / "alert_examples.json").read_text())


class Inner(Body):
    size: Annotated[Integer, Field(ge=1, le=9)]
    label: Annotated[Text, Field(max_length=3)] = "abc"


class Outer(Body):
    inner: Inner
    tags: Annotated[list[Text], Field(max_length=2), Worded(too_long="at most two tags")] = Field(
        default_factory=list
    )
    names: dict[str, Annotated[Text, Field(max_length=2)]] = Field(default_factory=dict)


def told(body: object, model: type[Body] = Outer, root: str = "body") -> tuple[str | None, str]:
    with pytest.raises(ValidationError) as raised:
        read(model, body, root=root)
    return raised.value.field, raised.value.message


def test_paths_are_json_paths_without_list_indexes() -> None:
    assert told({"inner": {"size": 10}}) == (
        "inner.size",
        "inner.size: must be between 1 and 9 (got 10)",
    )
    assert told({"inner": {"size": 1}, "tags": ["a", 5]}) == ("tags", "tags: must be a string")
    assert told({"inner": {"size": 1}, "names": {"k": "long"}}) == (
        "names.k",
        "names.k: must be at most 2 characters",
    )
    assert told([]) == ("body", "body: must be a JSON object")
    assert told({"inner": 5}, root="config") == (
        "config.inner",
        "config.inner: must be a JSON object",
    )


def test_null_is_absent() -> None:
    assert told({"inner": None}) == ("inner", "inner: is required")
    read_back = read(Outer, {"inner": {"size": 2, "label": None}, "tags": None})
    assert (read_back.inner.label, read_back.tags) == ("abc", [])


def test_declared_words_win_over_pydantics() -> None:
    assert told({"inner": {"size": 1}, "tags": ["a", "b", "c"]}) == (
        "tags",
        "tags: at most two tags",
    )


def test_rules_name_the_member_they_blame() -> None:
    class Pair(Body):
        low: Integer
        high: Integer

        def model_post_init(self, context: Any) -> None:
            if self.high < self.low:
                raise rule("must not be below low", at="high")

    assert told({"low": 2, "high": 1}, Pair) == ("high", "high: must not be below low")


def test_a_secret_is_not_echoed() -> None:
    secret = "s3cr3t-\x01"
    body = {"name": "m", "type": "httpjson", "config": {"url": "http://h/", "password": secret}}
    with pytest.raises(ValidationError) as raised:
        read_method(body)
    assert raised.value.field == "config.password"
    assert secret not in str(raised.value) and "s3cr3t" not in repr(raised.value.__dict__)


def test_a_batch_of_1000_definitions_reads_well_under_a_second() -> None:
    bodies = [
        copy.deepcopy(EXAMPLES["create"][n % len(EXAMPLES["create"])]) | {"name": f"n{n}"}
        for n in range(1_000)
    ]
    started = time.perf_counter()
    specs = [read_definition(body) for body in bodies]
    elapsed = time.perf_counter() - started
    assert len({spec.name for spec in specs}) == 1_000
    assert elapsed < 1.0  # about 15 ms on the 2-core development machine
