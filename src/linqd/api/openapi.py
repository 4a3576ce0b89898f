"""The OpenAPI 3.0 document of linqd's Alerts API (``GET /alerts/v1/openapi.json``).

The request bodies' schemas are generated from the pydantic models that validate them
(``alerts/bodies.py``, ``alerts/delivery/bodies.py``, through ``openapi_schema.py``), so a limit is
written once; the operations, query parameters (from the handlers' constants) and the answers'
shapes are assembled here. Clients can generate code from it; the test suite fuzzes every
operation from this document (schemathesis) and checks that none answers a 5xx.
"""

from __future__ import annotations

from typing import Any

from ..alerts.bodies import TRIGGER_MODELS, AlertDefinitionRequest, AlertDefinitionUpdate
from ..alerts.model import AlertStatus
from ..alerts.triggered import ORDER_BY_NAMES
from .alerts import MAX_BATCH, MAX_PAGE_SIZE
from .delco import openapi_paths as delco_paths
from .delco import openapi_schemas as delco_schemas
from .openapi_schema import components, typed

V1 = "/alerts/v1"
_REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    texts = {
        400: "Error in request.",
        401: "Unauthorized request.",
        403: "Forbidden request.",
        404: "Not found.",
    }
    return {str(code): _json(_ref("Error"), texts[code]) for code in codes}


def _query(name: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


_INT = {"type": "integer", "format": "int64"}
_MS = {"type": "integer", "format": "int64", "minimum": 0}
_IDS = {
    "name": "alertIds",
    "in": "query",
    "required": True,
    "schema": {"type": "array", "items": {"type": "string", "pattern": "^[0-9]+$"}},
    "style": "form",
    "explode": True,
}
_DEFINITION_BODY = {
    "required": True,
    "content": {"application/json": {"schema": _ref("AlertDefinitionRequest")}},
}


def _shown_trigger(schemas: dict[str, Any]) -> dict[str, Any]:
    """``correlationTrigger`` as definitions show it: the kind, every parameter of the kind and
    the subquery windows, null where unset (the request variants' parameters, all nullable)."""
    properties: dict[str, Any] = {"kind": {"type": "string", "enum": list(TRIGGER_MODELS)}}
    for model in TRIGGER_MODELS.values():
        for name, schema in schemas[model.__name__]["properties"].items():
            if name != "kind":
                # Types only: a parameter's range depends on the kind (period) and is the
                # request's business.
                properties[name] = {**typed(schema), "nullable": True}
    return {"type": "object", "properties": properties}


def _schemas() -> dict[str, Any]:
    nullable_int = {"type": "integer", "format": "int64", "nullable": True}
    # The request bodies: generated from the models that validate them (alerts/bodies.py).
    requests = components(
        {
            "AlertDefinitionRequest": AlertDefinitionRequest,
            "AlertDefinitionUpdate": AlertDefinitionUpdate,
        }
    )
    definition = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "creationDate": _MS,
            "name": {"type": "string"},
            "message": {"type": "string"},
            "description": {"type": "string"},
            "categoryId": {"type": "string"},
            "subcategory": {"type": "string", "example": "lib.my.tutorials.alert"},
            "subcategoryId": {"type": "string"},
            "isActive": {"type": "boolean"},
            "isFavorite": {"type": "boolean"},
            "isAlertChain": {"type": "boolean"},
            "alertCorrelationContext": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "nameId": {"type": "string", "example": "my.alert.tutorials.myAlertEach"},
                    "ownerEmail": {"type": "string"},
                    "querySourceCode": {"type": "string"},
                    "priority": {"type": "integer"},
                    "correlationTrigger": _shown_trigger(requests),
                    "timezone": {"type": "string"},
                    "locale": {"type": "string"},
                    "withSelectAll": {"type": "boolean"},
                },
            },
            "actionPolicyId": {"type": "array", "items": {"type": "string"}},
        },
    }
    alert_properties: dict[str, Any] = {
        "id": _INT,
        "domain": {"type": "string"},
        "priority": {"type": "number"},
        "context": {"type": "string"},
        "category": {"type": "string"},
        "extraData": {"type": "string"},
        "alertDate": _MS,
        "status": {"type": "integer", "enum": [s.value for s in AlertStatus]},
        "ack_status_date": nullable_int,
        "createDate": _MS,
        "updateDate": _MS,
        "digest": {"type": "string"},
        "alertOwner": {"type": "string"},
    }
    return {
        **requests,
        "AlertDefinition": definition,
        "BatchItem": {
            "type": "object",
            "description": "Devo's serialised response per element: status, statusInfo, entity",
            "properties": {
                "status": {"type": "integer"},
                "statusInfo": {"type": "string"},
                "entity": {"type": "object"},
                "context": {"type": "object"},
            },
        },
        "StatusUpdate": {
            "type": "object",
            "properties": {
                "correlationId": {"type": "string"},
                "updated": {"type": "object", "additionalProperties": {"type": "boolean"}},
            },
        },
        "Deleted": {
            "type": "object",
            "properties": {
                "correlationId": {"type": "string"},
                "deleted": {"type": "object", "additionalProperties": {"type": "boolean"}},
            },
        },
        "Alert": {"type": "object", "properties": alert_properties},
        "BacktestFiring": {
            "type": "object",
            "properties": {
                "eventdate": _MS,
                "message": {"type": "string"},
                "description": {"type": "string"},
                "extraData": {"type": "object"},
                "digest": {"type": "string"},
            },
        },
        "Error": {
            "type": "object",
            "required": ["code", "msg", "cid"],
            "properties": {
                "code": {"type": "integer"},
                "msg": {"type": "string"},
                "status": {"type": "integer"},
                "timestamp": _MS,
                "cid": {"type": "string"},
                "context": {"type": "object"},
                "messageKey": {"type": "string"},
                "language": {"type": "string"},
            },
        },
    }


def _definition_paths() -> dict[str, Any]:
    base = f"{V1}/alertDefinitions"
    batch_body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_BATCH,
                    "items": _ref("AlertDefinitionRequest"),
                }
            }
        },
    }
    update_batch = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_BATCH,
                    "items": _ref("AlertDefinitionUpdate"),
                }
            }
        },
    }
    batch_answer = _json({"type": "array", "items": _ref("BatchItem")})
    return {
        base: {
            "get": {
                "operationId": "listAlertDefinitions",
                "summary": "The domain's alert definitions, paged (page and size start at 0).",
                "parameters": [
                    _query("page", {"type": "integer", "minimum": 0, "maximum": 1_000_000}),
                    _query("size", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}),
                    _query("nameFilter", {"type": "string", "maxLength": 256}),
                    _query("idFilter", {"type": "string", "pattern": "^[0-9]+$"}),
                ],
                "responses": {
                    "200": _json({"type": "array", "items": _ref("AlertDefinition")}),
                    **_errors(400, 401),
                },
            },
            "post": {
                "operationId": "createAlertDefinition",
                "requestBody": _DEFINITION_BODY,
                "responses": {"200": _json(_ref("AlertDefinition")), **_errors(400, 401, 403)},
            },
            "put": {
                "operationId": "updateAlertDefinition",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("AlertDefinitionUpdate")}},
                },
                "responses": {
                    "200": _json(_ref("AlertDefinition")),
                    **_errors(400, 401, 403, 404),
                },
            },
            "delete": {
                "operationId": "deleteAlertDefinitions",
                "parameters": [_IDS],
                "responses": {"200": _json(_ref("Deleted")), **_errors(400, 401)},
            },
        },
        f"{base}/batch": {
            "post": {
                "operationId": "createAlertDefinitions",
                "requestBody": batch_body,
                "responses": {"200": batch_answer, **_errors(400, 401)},
            },
            "put": {
                "operationId": "updateAlertDefinitions",
                "requestBody": update_batch,
                "responses": {"200": batch_answer, **_errors(400, 401)},
            },
        },
        f"{base}/backtest": {
            "post": {
                "operationId": "backtestAlertDefinition",
                "summary": "The firings a definition would have produced over stored history.",
                "parameters": [
                    _query("from", _MS, required=True),
                    _query("to", _MS, required=True),
                ],
                "requestBody": _DEFINITION_BODY,
                "responses": {
                    "200": _json({"type": "array", "items": _ref("BacktestFiring")}),
                    **_errors(400, 401, 403),
                },
            }
        },
        f"{V1}/engineStatus": {
            "get": {
                "operationId": "alertEngineStatus",
                "summary": "Progress, firings, memory caps and errors per active definition.",
                "responses": {"200": _json({"type": "object"}), **_errors(401)},
            }
        },
        f"{base}/status": {
            "put": {
                "operationId": "setAlertDefinitionsStatus",
                "parameters": [_IDS, _query("enable", {"type": "boolean"}, required=True)],
                "responses": {"200": _json(_ref("StatusUpdate")), **_errors(400, 401)},
            }
        },
    }


def _triggered_paths() -> dict[str, Any]:
    alerts = f"{V1}/alerts"
    listing = _json({"type": "array", "items": _ref("Alert")})
    return {
        f"{alerts}/list": {
            "get": {
                "operationId": "listAlerts",
                "parameters": [
                    _query("limit", {"type": "integer", "minimum": 1}, required=True),
                    _query("offset", {"type": "integer", "minimum": 0}, required=True),
                    _query("from", _MS, required=True),
                    _query("to", _MS, required=True),
                    _query("orderby", {"type": "string", "enum": list(ORDER_BY_NAMES)}),
                    _query("orderasc", {"type": "boolean"}),
                    _query("showAll", {"type": "boolean"}),
                ],
                "responses": {"200": listing, **_errors(400, 401)},
            }
        },
        f"{alerts}/get": {
            "get": {
                "operationId": "getAlert",
                "parameters": [
                    _query("id", _INT, required=True),
                    _query("tags", {"type": "boolean"}),
                    _query("annotations", {"type": "boolean"}),
                ],
                "responses": {"200": _json(_ref("Alert")), **_errors(400, 401, 404)},
            }
        },
        f"{alerts}/updateStatus": {
            "put": {
                "operationId": "updateAlertStatus",
                "parameters": [
                    _query("id", _INT, required=True),
                    _query(
                        "status",
                        {"type": "integer", "enum": [s.value for s in AlertStatus]},
                        required=True,
                    ),
                ],
                "responses": {"200": _json(_ref("Alert")), **_errors(400, 401, 404)},
            }
        },
        f"{alerts}/updateStatusList": {
            "put": {
                "operationId": "updateAlertStatusList",
                "parameters": [
                    _query(
                        "status",
                        {"type": "integer", "enum": [s.value for s in AlertStatus]},
                        required=True,
                    )
                ],
                "requestBody": {
                    "required": True,
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                "responses": {"200": _json({"type": "object"}), **_errors(400, 401)},
            }
        },
        f"{alerts}/listStatus": {
            "get": {
                "operationId": "listAlertStatuses",
                "parameters": [_query("from", _MS)],
                "responses": {
                    "200": _json({"type": "object", "additionalProperties": {"type": "integer"}}),
                    **_errors(400, 401),
                },
            }
        },
    }


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "linqd Alerts API",
            "version": "1",
            "description": (
                "Devo's Alerts API v1: alert definitions (Devo's alertDefinitions page), "
                "triggered alerts, sending policies and deliveries, and Devo's delivery methods "
                "API (/delco/methods). Authenticate with the header `standAloneToken: <token>` "
                "(an alerts token) or `Authorization: Bearer <token>`."
            ),
        },
        "components": {
            "securitySchemes": {
                "standAloneToken": {"type": "apiKey", "in": "header", "name": "standAloneToken"}
            },
            "schemas": {**_schemas(), **delco_schemas()},
        },
        "security": [{"standAloneToken": []}],
        "paths": {**_definition_paths(), **_triggered_paths(), **delco_paths()},
    }
