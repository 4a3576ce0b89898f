"""The OpenAPI document and the validation of request bodies come from the same declaration.

Every limit of every body model's fields is the document's, key for key; every bounded integer
is refused outside the document's bounds, in the words that name them; and a limit changed in a
model changes the document and the validation together.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Annotated, Any

import annotated_types as at
import pydantic
import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from linqd.alerts import bodies as alert_bodies
from linqd.alerts.delivery import bodies as delivery_bodies
from linqd.alerts.validate import read_definition
from linqd.api.openapi import openapi_document
from linqd.bodies import Worded, told
from linqd.errors import ValidationError

ROOTS: list[type[BaseModel]] = [
    alert_bodies.AlertDefinitionRequest,
    alert_bodies.AlertDefinitionUpdate,
    *delivery_bodies.METHODS.values(),
    delivery_bodies.SendingPolicyRequest,
]


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    metadata: list[Any] = []
    while True:
        if typing.get_origin(annotation) is Annotated:
            annotation, *extra = typing.get_args(annotation)
            for item in extra:
                metadata.extend(item.metadata if isinstance(item, FieldInfo) else [item])
            continue
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if typing.get_origin(annotation) in (typing.Union, type(int | None)) and len(members) == 1:
            annotation = members[0]
            continue
        return annotation, metadata


def _models(annotation: Any, found: dict[str, type[BaseModel]]) -> None:
    base, _ = _unwrap(annotation)
    if isinstance(base, type) and issubclass(base, BaseModel):
        if base.__name__ not in found:
            found[base.__name__] = base
            for info in base.model_fields.values():
                _models(info.annotation, found)
        return
    for arg in typing.get_args(base):
        _models(arg, found)


def body_models() -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for root in ROOTS:
        _models(root, found)
    return found


def limits(annotation: Any, metadata: list[Any]) -> dict[str, Any]:
    """The JSON Schema keywords the declaration's constraints should appear as."""
    base, inner = _unwrap(annotation)
    metadata = [*metadata, *inner]
    origin = typing.get_origin(base)
    size = {list: "Items", dict: "Properties"}.get(origin, "Length")
    out: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, at.Ge):
            out["minimum"] = item.ge
        elif isinstance(item, at.Le):
            out["maximum"] = item.le
        elif isinstance(item, at.MinLen):
            out[f"min{size}"] = item.min_length
        elif isinstance(item, at.MaxLen):
            out[f"max{size}"] = item.max_length
        elif not isinstance(item, Worded) and getattr(item, "pattern", None) is not None:
            out["pattern"] = item.pattern
    if origin is list:
        item_limits = limits(typing.get_args(base)[0], [])
        if item_limits:
            out["items"] = item_limits
    return out


def constrained_fields() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name, model in body_models().items():
        for attribute, info in model.model_fields.items():
            expected = limits(info.annotation, list(info.metadata))
            if expected:
                yield name, info.alias or attribute, expected


def _subset(expected: dict[str, Any], shown: dict[str, Any], where: str) -> None:
    for key, value in expected.items():
        if isinstance(value, dict):
            _subset(value, shown[key], f"{where}.{key}")
        else:
            assert shown.get(key) == value, f"{where}: {key} is {shown.get(key)!r}, not {value!r}"


FIELDS = list(constrained_fields())


def test_many_fields_are_constrained() -> None:
    # A walk that found nothing would make the next test pass for nothing.
    assert len(FIELDS) > 40
    assert ("AlertCorrelationContext", "priority", {"minimum": 0, "maximum": 10}) in FIELDS


@pytest.mark.parametrize(
    ("model", "field", "expected"), FIELDS, ids=[f"{m}.{f}" for m, f, _ in FIELDS]
)
def test_every_limit_of_a_model_is_the_documents(
    model: str, field: str, expected: dict[str, Any]
) -> None:
    shown = openapi_document()["components"]["schemas"][model]["properties"][field]
    _subset(expected, shown, f"{model}.{field}")


BOUNDED = [
    (model, field, expected)
    for model, field, expected in FIELDS
    if "maximum" in expected and "minimum" in expected
]


@pytest.mark.parametrize(
    ("model", "field", "bounds"), BOUNDED, ids=[f"{m}.{f}" for m, f, _ in BOUNDED]
)
def test_every_bounded_integer_is_refused_outside_the_documents_bounds(
    model: str, field: str, bounds: dict[str, Any]
) -> None:
    """Just outside each bound the model refuses the value, in words that name the document's
    bounds (the body's other faults, its missing fields, are left aside)."""
    low, high = bounds["minimum"], bounds["maximum"]
    declared = body_models()[model]
    for value in (low - 1, low, high, high + 1):
        try:
            declared.model_validate({field: value})
            errors: list[Any] = []
        except pydantic.ValidationError as refused:
            errors = list(refused.errors())
        mine = [e for e in errors if e["loc"] == (field,)]
        if low <= value <= high:
            assert mine == []
        else:
            (error,) = mine
            told_ = told(declared, error)
            assert told_.message == f"{field}: must be between {low} and {high} (got {value})"


@pytest.fixture
def priority_up_to_7() -> Iterator[None]:
    """The priority model's upper bound changed to 7, as an edit of alerts/bodies.py would."""
    context = alert_bodies.AlertCorrelationContext
    info = context.model_fields["priority"]
    before = list(info.metadata)
    info.metadata = [at.Le(7) if isinstance(item, at.Le) else item for item in before]
    context.model_rebuild(force=True)
    alert_bodies.AlertDefinitionRequest.model_rebuild(force=True)
    try:
        yield
    finally:
        info.metadata = before
        context.model_rebuild(force=True)
        alert_bodies.AlertDefinitionRequest.model_rebuild(force=True)


def definition(priority: int) -> dict[str, Any]:
    return {
        "name": "n",
        "subcategory": "s",
        "alertCorrelationContext": {
            "querySourceCode": "from my.app",
            "priority": priority,
            "correlationTrigger": {"kind": "each"},
        },
    }


def test_a_limit_changed_in_the_model_changes_document_and_validation(
    priority_up_to_7: None,
) -> None:
    shown = openapi_document()["components"]["schemas"]["AlertCorrelationContext"]
    assert shown["properties"]["priority"]["maximum"] == 7
    assert read_definition(definition(7)).priority == 7
    with pytest.raises(ValidationError) as raised:
        read_definition(definition(8))
    assert raised.value.message == (
        "alertCorrelationContext.priority: must be between 0 and 7 (got 8)"
    )


def test_the_declared_limit_is_back_after_the_change() -> None:
    shown = openapi_document()["components"]["schemas"]["AlertCorrelationContext"]
    assert shown["properties"]["priority"]["maximum"] == 10
    assert read_definition(definition(10)).priority == 10
