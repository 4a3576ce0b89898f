"""Request bodies declared once, as pydantic models, and pydantic's errors told in linqd's words.

Every body the APIs take (an alert definition, a delivery method, a sending policy) is a pydantic
model: its fields, types and limits are the one declaration that validation reads and that the
OpenAPI document is generated from (``api/openapi_schema.py``). This module is the one place
that turns pydantic's errors into linqd's ``ValidationError`` ("``<field>: <what is wrong>``"),
with the texts the hand-written validators had, so clients see the same answers.

Decisions:
- Numbers must be JSON integers and flags JSON booleans (``Integer``, ``Flag``: strict types).
- ``null`` is an absent value (``Body`` drops null members before validating): Devo's clients
  send null for what is unset, so a null required field "is required", a null optional one
  takes its default, and an update's null clears an optional value.
- One error per request, as before: the first that pydantic reports. pydantic checks fields in
  declaration order, so models declare them in the order a reader would check them; checks that
  need several fields (model validators) come after every field passed.
- The field of an error is its JSON path: object keys joined by dots, the root being ``body``.
  List indexes and union tags are left out: a wrong item is its list's error.
- Texts come from the error's type (``_WORDS``, the table at the bottom); a declaration may word
  its own (``Worded``, for example "must be a list of column names" rather than "must be a
  list"). Rules that no pydantic constraint expresses (a known time zone, a ratio between two
  fields) are validators raising ``rule(text, at=...)``; their text is told as it is.
- Where pydantic's order of checks differs from the old hand-written one (a list's length is
  checked before its items; a string's Unicode before its length), a body with two faults may be
  told the other one first. Each fault alone is told as before.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, TypeVar

import annotated_types
import pydantic
from pydantic import BaseModel, ConfigDict, Strict, model_validator
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError

from .errors import ValidationError
from .query.dates import parse_timezone

Integer = Annotated[int, Strict()]
Flag = Annotated[bool, Strict()]
Text = Annotated[str, Strict()]

RULE = "linqd_rule"
_KEY = "[key]"  # pydantic's marker for an error in a mapping's key rather than its value


class Body(BaseModel):
    """Base of every request body: JSON (camelCase) names, unknown fields ignored, null absent."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,  # a secret in a body never reaches an error's text
    )

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


@dataclass(frozen=True)
class Worded:
    """A declaration's own texts for its errors, by kind of error. ``{name}`` placeholders take
    the error's context (``max_length``, ``min_length``, ``pattern``, ``values``)."""

    type: str | None = None  # wrong JSON type, or not one of the allowed values
    item: str | None = None  # anything wrong with an item of this list
    missing: str | None = None
    too_long: str | None = None
    too_short: str | None = None
    pattern: str | None = None
    tag: str | None = None  # a union's tag that names no member


def rule(message: str, at: str | None = None) -> PydanticCustomError:
    """The error of a rule a validator checks; ``at`` is the member it concerns, below the
    validated value (a model validator names the field it blames)."""
    return PydanticCustomError(RULE, "{message}", {"at": at or "", "message": message})


M = TypeVar("M", bound=BaseModel)


def known_zone(value: str) -> str:
    """A validator: ``value`` names a time zone linqd knows (as a query's ``timeZone``)."""
    try:
        parse_timezone(value)
    except ValidationError:
        raise rule(f"unknown time zone {value!r}") from None
    return value


def invalid(field: str, message: str) -> ValidationError:
    """The error of ``field`` (a JSON path), as every body error reads: ``<field>: <message>``."""
    return ValidationError(f"{field}: {message}", field=field)


def json_object(value: object, field: str) -> Mapping[str, Any]:
    """``value`` if it is a JSON object (what a reader needs before it can merge or dispatch)."""
    if not isinstance(value, dict):
        raise invalid(field, "must be a JSON object")
    return value


def read(
    model: type[M], body: object, *, root: str = "body", context: Mapping[str, Any] | None = None
) -> M:
    """``body`` as a ``model``, or the ``ValidationError`` of its first fault. ``root`` names the
    body itself in a field path (``config`` for a method's config); ``context`` reaches the
    validators (the outbound policy that judges a URL)."""
    try:
        return model.model_validate(body, context=dict(context or {}))
    except pydantic.ValidationError as error:
        raise told(model, error.errors(include_url=False, include_input=True)[0], root) from None


# -- where an error is ------------------------------------------------------------------------


@dataclass
class _Site:
    """What the walk along an error's location found."""

    path: list[str]
    field: FieldInfo | None = None  # the innermost model field on the way
    node: Any = None  # the annotation the error is on (an item's, inside a list)
    metadata: tuple[Any, ...] = ()  # that annotation's constraints and wording
    field_metadata: tuple[Any, ...] = ()
    in_item: bool = False
    variant: tuple[str, str] | None = None  # (discriminator, tag) of the innermost union member


def _flat(metadata: Iterable[Any]) -> tuple[Any, ...]:
    out: list[Any] = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            out.extend(item.metadata)
            if item.discriminator is not None:
                out.append(item.discriminator)
        else:
            out.append(item)
    return tuple(out)


def _unwrap(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    """Strip ``Annotated`` (collecting its metadata) and ``| None``."""
    metadata: tuple[Any, ...] = ()
    while True:
        if typing.get_origin(annotation) is Annotated:
            base, *extra = typing.get_args(annotation)
            metadata += _flat(extra)
            annotation = base
            continue
        if _is_union(annotation):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation, metadata


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _discriminator(info: FieldInfo | None, metadata: tuple[Any, ...]) -> str:
    """The name of the member a union's tag is read from (a callable's name: ``def mode``)."""
    declared = [info.discriminator] if info is not None else []
    declared += [item for item in metadata if isinstance(item, str | pydantic.Discriminator)]
    for item in declared:
        found = item.discriminator if isinstance(item, pydantic.Discriminator) else item
        if isinstance(found, str):
            return found
        if callable(found):
            return str(getattr(found, "__name__", "kind"))
    return "kind"


def _member(union: Any, tag: str, discriminator: str) -> Any:
    """The union's member that ``tag`` selects (an ``Annotated[..., Tag(tag)]`` member, or a
    model whose discriminator field is ``Literal[tag]``)."""
    for member in typing.get_args(union):
        base, metadata = _unwrap(member)
        if any(isinstance(m, pydantic.Tag) and m.tag == tag for m in metadata):
            return member
        field = base.model_fields.get(discriminator) if _is_model(base) else None
        if field is not None and tag in typing.get_args(field.annotation):
            return member
    return None


def _model_field(model: type[BaseModel], name: str) -> FieldInfo | None:
    for attribute, info in model.model_fields.items():
        if (info.alias or attribute) == name:
            return info
    return None


def _locate(model: type[BaseModel], loc: Iterable[int | str]) -> _Site:
    site = _Site(path=[])
    node: Any = model
    for part in loc:
        node, metadata = _unwrap(node)
        if _is_model(node):
            info = _model_field(node, str(part))
            site.path.append(str(part))
            if info is None:
                node = None
                break
            node, extra = _unwrap(info.annotation)
            site.field, site.in_item = info, False
            site.field_metadata = _flat(info.metadata) + extra
        elif _is_union(node):
            name = _discriminator(site.field, site.field_metadata + metadata)
            node = _member(node, str(part), name)
            site.variant = (name, str(part))
        elif typing.get_origin(node) in (list, tuple, set, frozenset):
            node, site.in_item = typing.get_args(node)[0], True
        elif typing.get_origin(node) is dict:
            if part == _KEY:
                node = typing.get_args(node)[0]
            else:
                site.path.append(str(part)[:64])
                node, site.in_item = typing.get_args(node)[1], True
        else:
            break
    site.node, metadata = _unwrap(node)
    # Inside an item, the item's own constraints; on a field, the field's.
    site.metadata = metadata if site.in_item else site.field_metadata + metadata
    return site


# -- what to say -------------------------------------------------------------------------------


def told(model: type[BaseModel], error: ErrorDetails, root: str = "body") -> ValidationError:
    """One pydantic error as linqd's ``ValidationError``."""
    site = _locate(model, error["loc"])
    context = dict(error.get("ctx") or {})
    if error["type"] == RULE:
        if context.get("at"):
            site.path.append(str(context["at"]))
        message = str(context["message"])
    else:
        message = _message(error, site, context)
    # The root is named when it is a part of a larger body (``config``), or when it is all
    # there is to blame.
    path = [root, *site.path] if root != "body" or not site.path else site.path
    return invalid(".".join(path), message)


def _worded(site: _Site, kind: str) -> str | None:
    """The declaration's own text; the outermost ``Annotated`` (the last) wins, as a type that
    narrows another (one aggregation column of a list of column names) words it anew."""
    for metadata in (site.metadata, site.field_metadata):
        for item in reversed(metadata):
            if isinstance(item, Worded) and getattr(item, kind, None) is not None:
                return str(getattr(item, kind))
    return None


def _fill(text: str, context: Mapping[str, Any]) -> str:
    """``{name}`` placeholders from the error's context; other braces are text."""
    for key, value in context.items():
        text = text.replace(f"{{{key}}}", str(value))
    return text


def _bounds(site: _Site) -> tuple[object | None, object | None]:
    low: object | None = None
    high: object | None = None
    for item in site.metadata:
        if isinstance(item, annotated_types.Ge):
            low = item.ge
        elif isinstance(item, annotated_types.Le):
            high = item.le
    return low, high


def _values(annotation: Any) -> list[str]:
    """The allowed values of an enum or ``Literal`` annotation, as the API writes them."""
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [str(member.value) for member in annotation]
    if typing.get_origin(annotation) is typing.Literal:
        return [str(value) for value in typing.get_args(annotation)]
    return []


def _message(error: ErrorDetails, site: _Site, context: dict[str, Any]) -> str:
    kind = _KINDS.get(error["type"], "other")
    if site.in_item and (item := _worded(site, "item")) is not None:
        return item
    if kind == "missing":
        return _missing(site)
    if kind == "range":
        return _range(site, error["input"])
    if kind == "tag":
        return _tag(error, site)
    if kind == "type" and site.node is not None and _values(site.node):
        context["values"] = ", ".join(_values(site.node))
        kind = "choice"
    words = _worded(site, "type" if kind == "choice" else kind) or _WORDS.get(error["type"])
    if words is None:
        return "is not valid"
    return _fill(words, context)


def _missing(site: _Site) -> str:
    worded = _worded(site, "missing")
    if worded is not None:
        return worded
    if site.variant is not None:
        return f"is required for {site.variant[0]} {site.variant[1]}"
    low, high = _bounds(site)
    if low is not None and high is not None:
        return f"is required (an integer from {low} to {high})"
    return "is required"


def _range(site: _Site, value: object) -> str:
    low, high = _bounds(site)
    if low is not None and high is not None:
        return f"must be between {low} and {high} (got {value})"
    if low is not None:
        return f"must be at least {low} (got {value})"
    return f"must be at most {high} (got {value})"


def _tag(error: ErrorDetails, site: _Site) -> str:
    data = error["input"]
    if not isinstance(data, dict):
        return "must be a JSON object"
    name = _discriminator(site.field, site.metadata)
    site.path.append(name)
    tags = ", ".join(_tags(site.node, name))
    worded = _worded(site, "tag")
    if worded is not None:
        return _fill(worded, {"values": tags})
    if data.get(name) is None:
        return f"is required (one of {tags})"
    return f"must be one of {tags} (got {data[name]!r})"


def _tags(union: Any, discriminator: str) -> list[str]:
    found: list[str] = []
    for member in typing.get_args(union):
        base, metadata = _unwrap(member)
        tags = [str(m.tag) for m in metadata if isinstance(m, pydantic.Tag)]
        if not tags and _is_model(base) and discriminator in base.model_fields:
            tags = _values(base.model_fields[discriminator].annotation)
        found.extend(tags)
    return found


_KINDS: Mapping[str, str] = {
    "missing": "missing",
    "model_type": "type",
    "model_attributes_type": "type",
    "dict_type": "type",
    "string_type": "type",
    "bool_type": "type",
    "int_type": "type",
    "int_from_float": "type",
    "int_parsing": "type",
    "list_type": "type",
    "enum": "type",
    "literal_error": "type",
    "string_unicode": "unicode",
    "string_too_long": "too_long",
    "too_long": "too_long",
    "string_too_short": "too_short",
    "too_short": "too_short",
    "string_pattern_mismatch": "pattern",
    "greater_than_equal": "range",
    "less_than_equal": "range",
    "union_tag_invalid": "tag",
    "union_tag_not_found": "tag",
}

# The texts of pydantic's error types (``{name}``: the error's context).
_WORDS: Mapping[str, str] = {
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "string_type": "must be a string",
    "string_unicode": "must be valid Unicode text",
    "bool_type": "must be true or false",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "int_parsing": "must be an integer",
    "list_type": "must be a list",
    "enum": "must be one of {values}",
    "literal_error": "must be one of {values}",
    "string_too_long": "must be at most {max_length} characters",
    "string_too_short": "must not be empty",
    "too_long": "must hold at most {max_length} items",
    "too_short": "must hold at least {min_length} items",
    "string_pattern_mismatch": "must match {pattern}",
}
