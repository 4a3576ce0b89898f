"""The sink interface: where a query job forwards its results.

The job runner reads result rows in batches from a checkpoint, renders them in the format the
sink asks for (DuckDB does the per-row text), and calls ``send``; ``send`` returns only once the
destination has acknowledged the batch, and only then does the runner advance its checkpoint.
A batch is identified by (job id, index) so that a batch retried after a failure or a restart
is written under the same name (S3 objects, HDFS files) or de-duplicated by the destination.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from ..linq.ir import ResultColumn
from ..outbound import DEFAULT_POLICY, OutboundPolicy


class RowFormat(Enum):
    JSON = "json"  # one JSON object per row: Devo's json/simple row
    CSV = "csv"  # CSV lines, with a header line for each file


@dataclass(frozen=True)
class DestinationRules:
    """What the operator lets a request's destination reach: the outbound policy for the hosts
    it names, and the one folder whose files it may name (``serve --destination-files-dir``;
    None: no files at all). Checked params carry the policy they were checked against, so a
    sink connects under the same rules."""

    outbound: OutboundPolicy = DEFAULT_POLICY
    files_dir: Path | None = None  # resolved (symlinks followed) when set


DEFAULT_RULES = DestinationRules()


@dataclass(frozen=True)
class SinkBatch:
    job_id: str
    index: int  # 0, 1, 2 ... from the job's start; a retried batch keeps its index
    columns: tuple[ResultColumn, ...]
    lines: Sequence[str]  # one rendered row each, without a line terminator
    header: str | None = None  # the CSV header line, for RowFormat.CSV
    keys: Sequence[str | None] | None = None  # per-row message keys, when the sink asked for one
    last: bool = False  # no more rows will follow (a bounded job's final batch)


@dataclass(frozen=True)
class SinkSpec:
    """What the runner needs to know about a sink before sending to it."""

    row_format: RowFormat
    key_column: str | None = None  # a result column whose value keys each row (Kafka)
    batch_rows: int = 50_000


class Sink(ABC):
    """One destination for one job. Implementations must be safe to ``close`` at any time."""

    spec: SinkSpec

    @abstractmethod
    def send(self, batch: SinkBatch) -> None:
        """Deliver ``batch``; return only when the destination has it. Raise ``SinkError``."""

    def resume(self) -> None:  # noqa: B027 - most destinations rewrite a batch in place
        """The job ran before (restart, start after stop or failure): find out what the
        destination already has, so that ``send`` does not deliver it again. Called once,
        before the first ``send``; raise ``SinkError`` if the destination cannot tell."""

    def extra(self) -> Mapping[str, object]:
        """What the job object shows under `extra`."""
        return {}

    def pending(self) -> int:
        """Rows accepted by ``send`` but not yet delivered (a sink that batches them, such as
        email with its retention rules). The runner checkpoints only when this is 0."""
        return 0

    def flush_if_due(self) -> bool:
        """Deliver held rows whose time has come (True if it did); called while idle."""
        return False

    def close(self) -> None:  # noqa: B027 - most sinks hold nothing to release
        """Release connections; called when the job stops, completes or fails."""


def int_param(params: Mapping[str, object], key: str, default: int) -> int | None:
    """An integer destination parameter; Devo's own examples quote numbers
    (``"dfs.replication": "1"``). None when the value is not a whole number."""
    raw = params.get(key)
    if raw is None:
        return default
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        text = raw.strip()
        return int(text) if len(text) <= 18 else None
    return None


SECRET_PARAMS = frozenset(
    {
        "aws.secretkey",
        "aws.accesskey",
        "file.password",
        "sasl.password",
        "sasl.username",
        "ssl.key.password",
        "ssl.keystore.password",
        "password",
        "smtp.password",
    }
)
