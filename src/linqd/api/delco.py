"""Alert notification over HTTP: Devo's delivery methods API (``/delco/methods``,
docs/devo-compatibility.md) and linqd's own sending policies (``/alerts/v1/sendingPolicies``) and
delivery log (``/alerts/v1/deliveries``), which Devo does not document.

Every request is authenticated with an ALERTS token (``standAloneToken`` or ``Authorization:
Bearer``) and acts on the token's domain only: another domain's object is
"not found". Every error answers the Alerts API's error shape (``api/errors``). Bodies are at
most 1 MiB of JSON; unknown fields are ignored.

Where Devo documents nothing, linqd decides:
- Method ids are integers, policy ids digit strings (as definitions' ``actionPolicyId`` lists
  them). Creating answers the new object, updating the updated one, deleting
  ``{"id": ..., "deleted": true}``; ``PUT`` is a partial update.
- ``GET /delco/methods?type=`` takes any of Devo's types; ``servicedesk``, which linqd cannot
  deliver, lists nothing and creating one is refused (400, "not supported").
- ``send-validation-code`` answers the method once its target accepted the code (an
  ``httpjson`` receiver must answer 2xx; a mail must be accepted by the SMTP server; Slack,
  PagerDuty and Pushover get a message, see ``delivery/vendors.py``), else 400 saying why.
  Jira and ServiceNow have nobody to read a code: once read-only calls with the method's
  credentials pass, the answer carries the code as ``validationCode``. ``validate`` takes
  ``{"code": ...}`` or ``?code=`` and answers the method, now with ``status`` true.
- ``GET /alerts/v1/deliveries`` takes ``alertId``, ``status`` (``pending``, ``delivered``,
  ``failed``), ``limit`` (1-10000, default 1000) and ``offset``; deliveries come in creation
  order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from email.message import EmailMessage
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..alerts.delivery.antiflood import FloodMode
from ..alerts.delivery.bodies import CONFIGS, DeliveryMethodRequest, SendingPolicyRequest
from ..alerts.delivery.methods import MethodRepository, parse_method_id
from ..alerts.delivery.model import (
    DEVO_METHOD_TYPES,
    DeliveryStatus,
    EmailConfig,
    HttpJsonConfig,
    MethodType,
)
from ..alerts.delivery.outbox import DeliveryOutbox
from ..alerts.delivery.policies import PolicyRepository
from ..alerts.delivery.transport import TransportFactory, guarded_transports
from ..alerts.delivery.validate import method_type, read_method, read_method_update, read_policy
from ..alerts.delivery.vendors import send_code
from ..clock import Clock
from ..domains import DomainStore
from ..errors import DeliveryFailed, ValidationError
from ..outbound import DEFAULT_POLICY, OutboundPolicy
from ..sinks.email import SmtpSettings
from .body import json_body, read_body
from .gate import Gate
from .openapi_schema import components, optional_fields
from .triggered import int_param

METHODS = "/delco/methods"
POLICIES = "/alerts/v1/sendingPolicies"
DELIVERIES = "/alerts/v1/deliveries"
MAX_BODY_BYTES = 1_048_576
MAX_LIMIT = 10_000
MAX_INT64 = 2**63 - 1

Query = Mapping[str, str]
# (domain, query parameters, path parameters, decoded JSON body) -> the JSON answer
Action = Callable[[str, Query, Mapping[str, str], object], Any]


class DelcoAPI:
    def __init__(
        self,
        domains: DomainStore,
        clock: Clock,
        smtp: SmtpSettings | None,
        *,
        outbound: OutboundPolicy = DEFAULT_POLICY,
        transports: TransportFactory | None = None,
        gate: Gate | None = None,
    ) -> None:
        self.domains = domains
        self.clock = clock
        self.gate = gate or Gate(domains, clock)
        self.smtp = smtp
        self.outbound = outbound  # what webhook URLs may reach
        # Validation codes go out as deliveries do: through the outbound policy by default.
        self._transports = transports or guarded_transports(smtp, outbound)
        self.methods = MethodRepository(domains.meta, clock)
        self.policies = PolicyRepository(domains.meta, clock)
        self.outbox = DeliveryOutbox(domains.meta)

    def routes(self) -> list[Route]:
        one_method = f"{METHODS}/{{id}}"
        one_policy = f"{POLICIES}/{{id}}"
        table: list[tuple[str, str, Action, bool]] = [
            (METHODS, "GET", self._list_methods, False),
            (METHODS, "POST", self._create_method, True),
            (one_method, "GET", self._get_method, False),
            (one_method, "PUT", self._update_method, True),
            (one_method, "DELETE", self._delete_method, False),
            (f"{one_method}/send-validation-code", "POST", self._send_code, False),
            (f"{one_method}/validate", "POST", self._validate, True),
            (POLICIES, "GET", self._list_policies, False),
            (POLICIES, "POST", self._create_policy, True),
            (one_policy, "GET", self._get_policy, False),
            (one_policy, "PUT", self._update_policy, True),
            (one_policy, "DELETE", self._delete_policy, False),
            (DELIVERIES, "GET", self._list_deliveries, False),
        ]
        return [
            Route(path, self._endpoint(action, with_body), methods=[method])
            for path, method, action, with_body in table
        ]

    def _endpoint(
        self, action: Action, with_body: bool
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            principal = await self.gate.stand_alone(request)
            body = json_body(await read_body(request, MAX_BODY_BYTES)) if with_body else None
            query = dict(request.query_params)
            path = {key: str(value) for key, value in request.path_params.items()}
            # The repositories wait on SQLite's lock: off the event loop.
            answer = await anyio.to_thread.run_sync(action, principal.domain, query, path, body)
            return JSONResponse(answer)

        return endpoint

    # -- delivery methods (run in a worker thread) ------------------------------------------------

    def _list_methods(
        self, domain: str, query: Query, path: Mapping[str, str], body: object
    ) -> Any:
        raw = query.get("type")
        kind: MethodType | None = None
        if raw is not None:
            if raw in DEVO_METHOD_TYPES and raw not in {t.value for t in MethodType}:
                return []  # a type linqd cannot deliver: there are none of it
            kind = method_type(raw)
        return [method.to_json() for method in self.methods.listing(domain, kind)]

    def _create_method(
        self, domain: str, query: Query, path: Mapping[str, str], body: object
    ) -> Any:
        return self.methods.create(domain, read_method(body, self.outbound)).to_json()

    def _get_method(self, domain: str, query: Query, path: Mapping[str, str], body: object) -> Any:
        return self.methods.get(domain, parse_method_id(path["id"])).to_json()

    def _update_method(
        self, domain: str, query: Query, path: Mapping[str, str], body: object
    ) -> Any:
        method_id = parse_method_id(path["id"])
        stored = self.methods.get(domain, method_id)
        spec = read_method_update(body, stored.spec, self.outbound)
        return self.methods.update(domain, method_id, spec).to_json()

    def _delete_method(
        self, domain: str, query: Query, path: Mapping[str, str], body: object
    ) -> Any:
        method_id = parse_method_id(path["id"])
        self.methods.delete(domain, method_id)
        return {"id": method_id, "deleted": True}

    def _send_code(self, domain: str, query: Query, path: Mapping[str, str], body: object) -> Any:
        method, code = self.methods.start_validation(domain, parse_method_id(path["id"]))
        transport = self._transports()
        told: str | None = None
        try:
            config = method.config
            if isinstance(config, EmailConfig):
                transport.mail(config, self._code_mail(method.spec.name, domain, config, code))
            elif isinstance(config, HttpJsonConfig):
                transport.post(config, {"code": code, "domain": domain})
            else:
                told = send_code(
                    transport,
                    config,
                    code=code,
                    domain=domain,
                    method_id=method.id,
                    name=method.spec.name,
                )
        except DeliveryFailed as error:
            raise ValidationError(
                f"The validation code was not delivered: {error.message}", field="config"
            ) from None
        finally:
            transport.close()
        answer = method.to_json()
        if told is not None:
            answer["validationCode"] = told
        return answer

    def _code_mail(self, name: str, domain: str, config: EmailConfig, code: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.smtp.sender if self.smtp is not None else "linqd@localhost"
        message["To"] = config.email
        message["Subject"] = "linqd delivery method validation code"
        message.set_content(
            f"The validation code of the delivery method {name!r} of domain {domain} is:\n\n"
            f"{code}\n"
        )
        return message

    def _validate(self, domain: str, query: Query, path: Mapping[str, str], body: object) -> Any:
        method_id = parse_method_id(path["id"])
        code: object = query.get("code")
        if isinstance(body, dict) and body.get("code") is not None:
            code = body["code"]
        if isinstance(code, int) and not isinstance(code, bool):
            code = str(code)
        if not isinstance(code, str) or not code or len(code) > 64:
            raise ValidationError("code: the validation code is required", field="code")
        return self.methods.validate(domain, method_id, code.strip()).to_json()

    # -- sending policies -------------------------------------------------------------------------

    def _list_policies(
        self, domain: str, query: Query, path: Mapping[str, str], body: object
    ) -> Any:
        return [policy.to_json() for policy in self.policies.listing(domain)]

    def _create_policy(
        self, domain: str, query: Query, path: Mapping[str, str], body: object
    ) -> Any:
        return self.policies.create(domain, read_policy(body)).to_json()

    def _get_policy(self, domain: str, query: Query, path: Mapping[str, str], body: object) -> Any:
        return self.policies.get(domain, path["id"]).to_json()

    def _update_policy(
        self, domain: str, query: Query, path: Mapping[str, str], body: object
    ) -> Any:
        stored = self.policies.get(domain, path["id"])
        spec = read_policy(body, stored.spec)
        return self.policies.update(domain, path["id"], spec).to_json()

    def _delete_policy(
        self, domain: str, query: Query, path: Mapping[str, str], body: object
    ) -> Any:
        self.policies.delete(domain, path["id"])
        return {"id": path["id"], "deleted": True}

    # -- deliveries -------------------------------------------------------------------------------

    def _list_deliveries(
        self, domain: str, query: Query, path: Mapping[str, str], body: object
    ) -> Any:
        alert_id = (
            int_param(query, "alertId", low=1, high=MAX_INT64) if "alertId" in query else None
        )
        raw_status = query.get("status")
        status = None
        if raw_status is not None:
            try:
                status = DeliveryStatus(raw_status)
            except ValueError:
                allowed = ", ".join(s.value for s in DeliveryStatus)
                raise ValidationError(
                    f"Parameter status must be one of {allowed}", field="status"
                ) from None
        found = self.outbox.listing(
            domain,
            alert_id=alert_id,
            status=status,
            limit=int_param(query, "limit", low=1, high=MAX_LIMIT, default=1_000),
            offset=int_param(query, "offset", low=0, high=MAX_INT64, default=0),
        )
        return [delivery.to_json() for delivery in found]


# -- OpenAPI --------------------------------------------------------------------------------------
# Fragments for api/openapi.py's document (which owns the Error schema and the security scheme).

_REF = "#/components/schemas/"


def _ok(schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": "OK", "content": {"application/json": {"schema": schema}}}


def _fail(*codes: int) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": _REF + "Error"}}}}
    return {str(code): {"description": "Error.", **error} for code in codes}


def _body(name: str, required: bool = True) -> dict[str, Any]:
    schema = {"$ref": _REF + name}
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def openapi_schemas() -> dict[str, Any]:
    """The answers' shapes, and the request bodies generated from their models."""
    requests = components(
        {
            "DeliveryMethodRequest": DeliveryMethodRequest,
            "SendingPolicyRequest": SendingPolicyRequest,
        }
    )
    text = {"type": "string"}
    flood = {
        "type": "object",
        "properties": {
            "mode": {"type": "string", "enum": [mode.value for mode in FloodMode]},
            "maxAlerts": {"type": "integer"},
            "periodMs": {"type": "integer"},
            "reminderAfterMs": {"type": "integer"},
        },
    }
    policy = {
        "name": text,
        "isDefault": {"type": "boolean"},
        "methods": {"type": "array", "items": {"type": "integer", "format": "int64"}},
        "antiFlooding": flood,
        "schedule": {"allOf": [{"$ref": _REF + "Schedule"}], "nullable": True},
    }
    method_type = {"type": "string", "enum": list(DEVO_METHOD_TYPES)}
    config = {
        "type": "object",
        "description": "The fields of the type's config request body (HttpJsonConfig, "
        "EmailConfig, SlackConfig, PagerDutyConfig, JiraConfig, ServiceNowConfig, "
        "PushoverConfig) as stored, secrets shown as `******`: httpjson's header values and "
        "URL query values, slack's webhookUrl past its host, pagerduty's routingKey, jira's "
        "apiToken, servicenow's password, pushover's userKey and appToken. httpjson's password "
        "is left out.",
    }
    # A PUT changes what it names: the same fields, none required, a config's fields merged
    # over the stored ones.
    method_update = {
        "type": "object",
        "properties": {
            "name": requests["HttpJsonMethod"]["properties"]["name"],
            "type": {"type": "string", "enum": [kind.value for kind in MethodType]},
            "config": {"anyOf": [optional_fields(requests[model.__name__]) for model in CONFIGS]},
        },
    }
    nullable_int = {"type": "integer", "format": "int64", "nullable": True}
    return {
        "DeliveryMethod": {
            "type": "object",
            "properties": {
                "id": {"type": "integer", "format": "int64"},
                "name": text,
                "type": method_type,
                "status": {"type": "boolean"},
                "config": config,
                "validationCode": {
                    "type": "string",
                    "description": "Only in send-validation-code's answer for jira and "
                    "servicenow: the code to validate with, once the credentials passed.",
                },
            },
        },
        **requests,
        "DeliveryMethodUpdate": method_update,
        "SendingPolicyUpdate": optional_fields(requests["SendingPolicyRequest"]),
        "SendingPolicy": {
            "type": "object",
            "properties": {"id": {"type": "string", "pattern": "^[0-9]+$"}, **policy},
        },
        "Delivery": {
            "type": "object",
            "properties": {
                "id": {"type": "integer", "format": "int64"},
                "alertId": {"type": "integer", "format": "int64"},
                "methodId": {"type": "integer", "format": "int64"},
                "kind": {"type": "string", "enum": ["alert", "reminder"]},
                "status": {"type": "string", "enum": [s.value for s in DeliveryStatus]},
                "attempts": {"type": "integer"},
                "lastError": {"type": "string", "nullable": True},
                "nextAttemptMs": {"type": "integer", "format": "int64"},
                "deliveredMs": nullable_int,
            },
        },
        "Deleted": {
            "type": "object",
            "properties": {"id": {}, "deleted": {"type": "boolean"}},
        },
    }


def openapi_paths() -> dict[str, Any]:
    """The operations of this module, by path."""
    path_id = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    method = {"$ref": _REF + "DeliveryMethod"}
    policy = {"$ref": _REF + "SendingPolicy"}
    deleted = {"$ref": _REF + "Deleted"}

    def query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "schema": schema}

    def op(operation_id: str, answer: dict[str, Any], *codes: int, **extra: Any) -> Any:
        responses = {"200": _ok(answer), **_fail(*codes)}
        return {"operationId": operation_id, "responses": responses, **extra}

    one = {"parameters": path_id}
    return {
        METHODS: {
            "get": op(
                "listDeliveryMethods",
                {"type": "array", "items": method},
                400,
                401,
                parameters=[query("type", {"type": "string", "enum": list(DEVO_METHOD_TYPES)})],
            ),
            "post": op(
                "createDeliveryMethod", method, 400, 401, requestBody=_body("DeliveryMethodRequest")
            ),
        },
        f"{METHODS}/{{id}}": {
            "get": op("getDeliveryMethod", method, 401, 404, **one),
            "put": op(
                "updateDeliveryMethod",
                method,
                400,
                401,
                404,
                requestBody=_body("DeliveryMethodUpdate"),
                **one,
            ),
            "delete": op("deleteDeliveryMethod", deleted, 401, 404, 409, **one),
        },
        f"{METHODS}/{{id}}/send-validation-code": {
            "post": op("sendValidationCode", method, 400, 401, 404, **one),
        },
        f"{METHODS}/{{id}}/validate": {
            "post": op(
                "validateDeliveryMethod",
                method,
                400,
                401,
                404,
                parameters=[*path_id, query("code", {"type": "string"})],
                requestBody={
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"code": {"type": "string"}}}
                        }
                    },
                },
            ),
        },
        POLICIES: {
            "get": op("listSendingPolicies", {"type": "array", "items": policy}, 401),
            "post": op(
                "createSendingPolicy", policy, 400, 401, requestBody=_body("SendingPolicyRequest")
            ),
        },
        f"{POLICIES}/{{id}}": {
            "get": op("getSendingPolicy", policy, 401, 404, **one),
            "put": op(
                "updateSendingPolicy",
                policy,
                400,
                401,
                404,
                requestBody=_body("SendingPolicyUpdate"),
                **one,
            ),
            "delete": op("deleteSendingPolicy", deleted, 401, 404, 409, **one),
        },
        DELIVERIES: {
            "get": op(
                "listDeliveries",
                {"type": "array", "items": {"$ref": _REF + "Delivery"}},
                400,
                401,
                parameters=[
                    query("alertId", {"type": "integer", "format": "int64", "minimum": 1}),
                    query("status", {"type": "string", "enum": [s.value for s in DeliveryStatus]}),
                    query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
                    query("offset", {"type": "integer", "minimum": 0}),
                ],
            )
        },
    }
