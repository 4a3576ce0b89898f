"""OpenAPI 3.0 schemas generated from the pydantic models of request bodies (``bodies.py``).

pydantic writes JSON Schema 2020-12 (the dialect of OpenAPI 3.1); the document linqd serves is
OpenAPI 3.0.3, which clients' generators read most widely. What differs is rewritten here, in one
place: a ``null`` alternative becomes ``nullable``, ``const`` a one-value ``enum``, a ``$ref``
with siblings an ``allOf`` (3.0 ignores a reference's siblings), ``$defs`` become components and
keywords 3.0 lacks (``propertyNames``) are dropped; titles (pydantic derives them from Python
names) go too. Descriptions are the models' docstrings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

REF = "#/components/schemas/"
_DROPPED = frozenset({"title", "propertyNames"})


def components(bodies: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAPI schemas of ``bodies`` (component name → a model or an annotated union), with
    every model they use as a component of its own, under its class name."""
    found: dict[str, Any] = {}
    for name, body in bodies.items():
        schema = TypeAdapter(body).json_schema(ref_template=REF + "{model}")
        for model, definition in schema.pop("$defs", {}).items():
            found[model] = openapi_30(definition)
        found[name] = openapi_30(schema)
    return found


def optional_fields(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` with nothing required at its top level (what a partial update takes)."""
    return {key: value for key, value in schema.items() if key != "required"}


def typed(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema``'s type alone (and its items'), without the limits a request has to keep."""
    out: dict[str, Any] = {"type": schema["type"]}
    if isinstance(schema.get("items"), dict):
        out["items"] = typed(schema["items"])
    return out


def openapi_30(schema: Any) -> Any:
    """One JSON Schema (2020-12, as pydantic writes it) in OpenAPI 3.0's dialect."""
    if isinstance(schema, list):
        return [openapi_30(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: openapi_30(value) for key, value in schema.items() if key not in _DROPPED}
    if "description" in out and isinstance(out["description"], str):
        out["description"] = out["description"].replace("``", "`")
    if "const" in out:
        out["enum"] = [out.pop("const")]
    alternatives = out.get("anyOf")
    if isinstance(alternatives, list) and {"type": "null"} in alternatives:
        rest = [item for item in alternatives if item != {"type": "null"}]
        del out["anyOf"]
        inner = rest[0] if len(rest) == 1 else {"anyOf": rest}
        out = {**_unreferenced(inner), **out, "nullable": True}
    if "$ref" in out and len(out) > 1:
        out = {"allOf": [{"$ref": out.pop("$ref")}], **out}
    return out


def _unreferenced(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema that may take siblings: a bare reference is wrapped in ``allOf``."""
    return {"allOf": [schema]} if "$ref" in schema else schema
