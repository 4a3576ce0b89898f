"""The status codes of lookup jobs. Devo documents ``create.start``, ``create.ok`` and
``create.err`` with their texts; linqd adds the same three steps for ``update`` and ``delete``,
``refresh.start``/``refresh.ok``/``refresh.err`` for each scheduled run of a periodic or
sliding-window lookup after the first (refreshes are statuses of the deployment's job, not jobs
of their own), and ``<action>.stop`` when a newer deployment or a deletion ends a job."""

from __future__ import annotations

from enum import Enum

from ..jobs.statuses import JobStatusLog


class Action(Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    REFRESH = "refresh"


class Step(Enum):
    START = "start"
    OK = "ok"
    ERR = "err"
    STOP = "stop"


_TEXTS = {
    (Action.CREATE, Step.START): "Lookup creation started.",
    (Action.CREATE, Step.OK): "Lookup successfully created.",
    (Action.CREATE, Step.ERR): "Error creating lookup.",
    (Action.UPDATE, Step.START): "Lookup update started.",
    (Action.UPDATE, Step.OK): "Lookup successfully updated.",
    (Action.UPDATE, Step.ERR): "Error updating lookup.",
    (Action.DELETE, Step.START): "Lookup deletion started.",
    (Action.DELETE, Step.OK): "Lookup successfully deleted.",
    (Action.DELETE, Step.ERR): "Error deleting lookup.",
    (Action.REFRESH, Step.START): "Lookup refresh started.",
    (Action.REFRESH, Step.OK): "Lookup successfully refreshed.",
    (Action.REFRESH, Step.ERR): "Error refreshing lookup.",
}


def record(
    log: JobStatusLog, job_id: str, action: Action, step: Step, at_ms: int, detail: str = ""
) -> None:
    """Add one status; ``detail`` follows Devo's text (the reason of an error, row counts)."""
    text = _TEXTS.get((action, step), f"Lookup {action.value} stopped.")
    log.add(job_id, f"{action.value}.{step.value}", f"{text} {detail}".strip(), at_ms)
