"""One error boundary: whatever an endpoint raises reaches the client in the shape of the
endpoint's family, with the request's id, and a bug never shows its traceback."""

from __future__ import annotations

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from linqd.api.app import api_app
from linqd.clock import SimulatedClock
from linqd.errors import AlertsNotUpdated, Conflict, ForbiddenError, TaskError, ValidationError

pytestmark = pytest.mark.anyio
NOW = 1_700_000_000_000


def raising(error: BaseException) -> Route:
    async def endpoint(request: Request) -> Response:
        raise error

    return Route("/{family:path}", endpoint, methods=["GET"])


async def answer(error: BaseException, path: str) -> httpx.Response:
    app = api_app([raising(error)], SimulatedClock(NOW))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://linqd") as client:
        return await client.get(path)


async def test_the_query_family_has_devos_query_shapes() -> None:
    response = await answer(ValidationError("bad from", field="from", devo_code=405), "/search/x")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Bad parameters" and body["object"] == ["405 : bad from"]
    assert len(body["cid"]) == 12 and body["timestamp"] == NOW
    duplicate = await answer(Conflict("Unable to Start Task: Task Key Duplicate: x"), "/search/x")
    assert duplicate.status_code == 409 and duplicate.json()["code"] == 500


async def test_the_jobs_family_answers_task_codes() -> None:
    response = await answer(TaskError("Task not found", 100, 404), "/search/job/x")
    assert response.status_code == 404
    assert response.json()["status"] == 100 and response.json()["msg"] == "Task not found"


async def test_the_alerts_family_has_its_shape_and_context() -> None:
    response = await answer(AlertsNotUpdated([1], [2]), "/alerts/v1/alerts/updateStatusList")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {
        "code",
        "msg",
        "status",
        "timestamp",
        "cid",
        "context",
        "messageKey",
        "language",
    }
    assert body["context"]["updated"] == [1] and body["context"]["notUpdated"] == [2]
    forbidden = await answer(ForbiddenError("no"), "/delco/methods")
    assert forbidden.status_code == 403 and forbidden.json()["messageKey"] == "auth.forbidden"


@pytest.mark.parametrize("path", ["/search/query", "/alerts/v1/x", "/event/a/b/c/d"])
async def test_a_bug_is_a_500_without_its_traceback(path: str) -> None:
    response = await answer(RuntimeError("secret internals at 0xdeadbeef"), path)
    assert response.status_code == 500
    assert "secret" not in response.text and "Traceback" not in response.text
    assert response.json()["cid"]
    assert response.headers["x-content-type-options"] == "nosniff"
