"""Devo's Lookups API under ``/lookup-api``: the 17 endpoints and the internal deletion path,
over ``LookupService``; decisions in docs/devo-compatibility.md, "Lookups API".

Authentication is the Query API's (a Bearer token, a bare token or a JWT; an API key signature
on the JSON calls, whose bodies are small enough to verify), judged from the headers before a
byte of the body is read. The token's domain must be the ``{domain}`` of the path, else 403
"Access not allowed for domain"; its table scope must cover ``my.lookuplist.<name>`` (reading
and managing alike), else 403 as the Query API answers for that table, and a query deployed
into a lookup may read only tables in scope.

Replies: deployments answer Devo's creation envelope (``type``, ``cid``, ``code``, ``context``,
``id`` = the job, ``msg``, ``lookupDeployConfig``), 201 for POST and 200 for PUT; a deletion
200 with the same envelope; everything else plain JSON. Errors are JSON too (``errors.py``,
family ``LOOKUPS``), so the guide's ``response.json()`` never fails.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..clock import Clock
from ..errors import ForbiddenError, ValidationError
from ..jobs.model import Job
from ..jobs.statuses import StatusEntry
from ..lookup_tables import LOOKUP_PREFIX
from ..lookups.bodies import PARSERS, advanced_recipe, csv_recipe, lookup_name
from ..lookups.columns import rest_name
from ..lookups.recipe import LookupKind, Recipe, deploy_config
from ..lookups.registry import LookupRecord
from ..lookups.service import Deployed, LookupService
from .auth import Principal
from .body import json_body
from .errors import request_cid
from .gate import Gate
from .multipart import read_upload

BASE = "/lookup-api"
DEFAULT_MAX_LENGTH = 100
MAX_LENGTH = 1000
_PLACEHOLDERS = "/lookup/{domain}/{name}/job/{id}"
_SENT = {
    "create": ("LookupCreationResponse", "Lookup sent to creation."),
    "update": ("LookupUpdateResponse", "Lookup sent to update."),
    "delete": ("LookupDeletionResponse", "Lookup sent to deletion."),
}
_QUERY_PATHS = {
    "deploy-static-query": LookupKind.STATIC,
    "deploy-periodic-query": LookupKind.PERIODIC,
    "deploy-sliding-window-query": LookupKind.SLIDING,
}


class LookupsAPI:
    def __init__(self, service: LookupService, gate: Gate, clock: Clock) -> None:
        self.service = service
        self.gate = gate
        self.clock = clock
        self.limits = service.limits

    def routes(self) -> list[BaseRoute]:
        one = BASE + "/lookup/{domain}/{name}"
        routes: list[BaseRoute] = [
            Route(BASE + "/lookup/{domain}", self.list, methods=["GET"]),
            Route(one, self.meta, methods=["GET"]),
            Route(one, self.delete, methods=["DELETE"]),
            Route(BASE + "/internal/lookup/{domain}/{name}", self.delete, methods=["DELETE"]),
            Route(one + "/job", self.job_ids, methods=["GET"]),
            Route(one + "/job/{id}", self.job_statuses, methods=["GET"]),
            Route(one + "/deploy-config", self.deploy_config, methods=["POST", "PUT"]),
            Route(one + "/deploy-csv", self.deploy_csv, methods=["POST", "PUT"]),
        ]
        routes += [
            Route(f"{one}/{path}", self.deploy_query, methods=["POST", "PUT"])
            for path in _QUERY_PATHS
        ]
        return routes

    # -- access ----------------------------------------------------------------------------------

    def _allowed(self, principal: Principal, request: Request) -> tuple[str, str | None]:
        domain = request.path_params["domain"]
        if principal.domain != domain:
            raise ForbiddenError(f"Access not allowed for domain '{domain}'")
        name = request.path_params.get("name")
        if name is not None:
            lookup_name(name, self.limits)
            table = LOOKUP_PREFIX + name
            if not principal.may_read(table):
                raise ForbiddenError(f"Access not allowed for table '{table}'")
        return domain, name

    async def _json_call(self, request: Request) -> tuple[Principal, str, str, bytes]:
        principal, body = await self.gate.query(request, self.limits.max_json_bytes)
        domain, name = self._allowed(principal, request)
        return principal, domain, name or "", body

    # -- reading ---------------------------------------------------------------------------------

    async def list(self, request: Request) -> Response:
        principal, domain, _, _ = await self._json_call(request)
        max_length = _integer(request, "max_length", DEFAULT_MAX_LENGTH, 1, MAX_LENGTH)
        token = _integer(request, "pageToken", 0, 0, 2**31 - 1)
        records, following = await anyio.to_thread.run_sync(
            lambda: self.service.page(
                domain, max_length=max_length, page_token=token, visible=principal.may_read
            )
        )
        body: dict[str, Any] = {"lookups": [self._entry(r) for r in records]}
        if following is not None:
            body["nextPageToken"] = following
        return JSONResponse(body)

    async def meta(self, request: Request) -> Response:
        _, domain, name, _ = await self._json_call(request)

        def describe() -> dict[str, Any]:
            found = self.service.get(domain, name)
            columns = self.service.columns(found)
            return {
                **self._entry(found),
                "key": _key(found, columns[0].name if columns else None),
                "columns": [{"name": c.name, "type": rest_name(c.type)} for c in columns],
                "rows": self.service.row_count(found),
                "jobId": found.job_id,
                "lookupDeployConfig": deploy_config(found.recipe, domain=domain, name=name),
            }

        return JSONResponse(await anyio.to_thread.run_sync(describe))

    async def job_ids(self, request: Request) -> Response:
        _, domain, name, _ = await self._json_call(request)
        ids = await anyio.to_thread.run_sync(self.service.job_ids, domain, name)
        return JSONResponse({"jobs": ids})

    async def job_statuses(self, request: Request) -> Response:
        _, domain, name, _ = await self._json_call(request)
        job_id = request.path_params["id"]
        job, entries = await anyio.to_thread.run_sync(
            self.service.job_statuses, domain, name, job_id
        )
        return JSONResponse(_statuses(job, entries))

    def _entry(self, found: LookupRecord) -> dict[str, Any]:
        return {
            "name": found.name,
            "creator": found.domain,
            "type": found.kind.value,
            "status": found.state.value,
            "visibility": found.recipe.visibility,
            "creationDate": found.created_ms,
            "updateDate": found.updated_ms,
        }

    # -- deploying -------------------------------------------------------------------------------

    async def deploy_csv(self, request: Request) -> Response:
        create = request.method == "POST"
        cid = request_cid(request)
        content_type = request.headers.get("content-type", "")
        if content_type.lower().startswith("multipart/"):
            principal = await self.gate.token(request)
            domain, named = self._allowed(principal, request)
            name = named or ""
            declared = request.headers.get("content-length")
            upload = await read_upload(
                request.stream(),
                content_type,
                declared=int(declared) if declared and declared.isdigit() else None,
                max_bytes=self.limits.max_upload_bytes,
                max_config_bytes=self.limits.max_config_bytes,
            )
            try:
                recipe = csv_recipe(_document(upload.config, "deploy-config"), self.limits)
                deployed = await anyio.to_thread.run_sync(
                    lambda: self.service.deploy_csv(
                        domain, name, recipe, upload.csv_path, create=create, cid=cid
                    )
                )
            finally:
                upload.close()
        else:
            _, domain, name, body = await self._json_call(request)
            data = json_body(body)
            if not isinstance(data, dict):
                raise ValidationError("The body must be a JSON object", field="body")
            text = data.pop("csv", None)
            if not isinstance(text, str):
                raise ValidationError("`csv` must hold the CSV text as a string", field="csv")
            recipe = csv_recipe(data, self.limits, inline=True)
            raw = text.encode("utf-8")
            deployed = await anyio.to_thread.run_sync(
                lambda: self.service.deploy_csv(domain, name, recipe, raw, create=create, cid=cid)
            )
        return self._sent(deployed, domain, name, "create" if create else "update", cid)

    async def deploy_query(self, request: Request) -> Response:
        principal, domain, name, body = await self._json_call(request)
        kind = _QUERY_PATHS[request.url.path.rsplit("/", 1)[-1]]
        recipe = PARSERS[kind](json_body(body), self.limits)
        return await self._deploy_recipe(request, principal, domain, name, recipe)

    async def deploy_config(self, request: Request) -> Response:
        principal, domain, name, body = await self._json_call(request)
        recipe = advanced_recipe(json_body(body), domain, name, self.limits)
        return await self._deploy_recipe(request, principal, domain, name, recipe)

    async def _deploy_recipe(
        self, request: Request, principal: Principal, domain: str, name: str, recipe: Recipe
    ) -> Response:
        create = request.method == "POST"
        cid = request_cid(request)
        schemas = principal.scoped(self.service.store.schemas_for(domain))
        deployed = await anyio.to_thread.run_sync(
            lambda: self.service.deploy_query(domain, name, recipe, schemas, create=create, cid=cid)
        )
        return self._sent(deployed, domain, name, "create" if create else "update", cid)

    async def delete(self, request: Request) -> Response:
        _, domain, name, _ = await self._json_call(request)
        cid = request_cid(request)
        deployed = await anyio.to_thread.run_sync(
            lambda: self.service.delete(domain, name, cid=cid)
        )
        return self._sent(deployed, domain, name, "delete", cid)

    def _sent(self, deployed: Deployed, domain: str, name: str, action: str, cid: str) -> Response:
        kind, text = _SENT[action]
        status = 201 if action == "create" else 200
        body = {
            "type": kind,
            "cid": cid,
            "code": status,
            "context": None,
            "id": deployed.job_id,
            "msg": f"{text} You can check the lookup status using the provided id: "
            + _PLACEHOLDERS,
            "lookupDeployConfig": deploy_config(deployed.recipe, domain=domain, name=name),
        }
        return JSONResponse(body, status_code=status)


def _document(raw: bytes, part: str) -> object:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValidationError(f"The `{part}` part is not valid JSON: {error}", field=part) from None


def _integer(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValidationError(f"`{name}` must be an integer from {low} to {high}", field=name)
    return int(raw)


def _key(found: LookupRecord, first: str | None) -> dict[str, Any]:
    column = found.recipe.key_column or first
    return {"type": "column", "column": column}


def _statuses(job: Job, entries: list[StatusEntry]) -> dict[str, Any]:
    return {
        "id": job.id,
        "jobs": [{"code": e.code, "msg": e.msg, "timestamp": e.at_ms} for e in entries],
    }
