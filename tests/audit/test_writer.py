"""The audit writer: rows are appended in batches off the request path, every row reaches the
store by close, and a row that cannot be kept is counted and logged, never dropped silently."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import anystore
from linqd.audit.writer import AuditRow, AuditWriter
from linqd.clock import SimulatedClock
from linqd.datadir import DataDir, open_data_dir

NOW = 1_800_000_000_000
TABLE = "siem.logtrust.web.connection"


@pytest.fixture
def data(tmp_path: Path) -> Iterator[DataDir]:
    data = open_data_dir(tmp_path, SimulatedClock(NOW))
    yield data
    data.close()


def row(client: str, user: str, port: object = 1) -> AuditRow:
    return AuditRow(TABLE, client, NOW, {"username": user, "srcPort": port, "action": "login"})


def stored(data: DataDir) -> list[tuple[object, ...]]:
    sql = f'SELECT client, username, action FROM "{TABLE}" ORDER BY _seq'
    return anystore.rows(data.store, sql)


def test_rows_wait_for_a_pass_and_close_writes_the_rest(data: DataDir) -> None:
    from_source: list[AuditRow] = []

    def source(final: bool) -> list[AuditRow]:
        return [row("self", "at-close")] if final else from_source

    writer = AuditWriter(data.store, flush_interval_s=3600, sources=[source])
    writer.add(row("self", "ana"))
    writer.add(row("other", "otto"))
    assert stored(data) == []  # nothing is written on the caller's path
    writer.flush()
    assert stored(data) == [("self", "ana", "login"), ("other", "otto", "login")]
    writer.add(row("self", "bea"))
    writer.close()
    assert stored(data)[2:] == [("self", "bea", "login"), ("self", "at-close", "login")]
    assert writer.lost == 0


def test_a_full_buffer_drops_and_says_so(data: DataDir, caplog: pytest.LogCaptureFixture) -> None:
    writer = AuditWriter(data.store, flush_interval_s=3600, max_pending_rows=2)
    for name in ("a", "b", "c"):
        writer.add(row("self", name))
    with caplog.at_level(logging.WARNING, "linqd.audit"):
        writer.flush()
    assert [r[1] for r in stored(data)] == ["a", "b"]
    assert writer.lost == 1
    assert "1 audit rows dropped" in caplog.text
    writer.close()
    with caplog.at_level(logging.WARNING, "linqd.audit"):
        writer.add(row("self", "late"))
    assert writer.lost == 2 and "after shutdown" in caplog.text


def test_a_refused_append_is_counted_and_the_others_are_written(
    data: DataDir, caplog: pytest.LogCaptureFixture
) -> None:
    writer = AuditWriter(data.store, flush_interval_s=3600)
    writer.add(row("self", "ana"))
    writer.add(row("other", "otto", port="not a port"))
    with caplog.at_level(logging.ERROR, "linqd.audit"):
        writer.close()
    assert stored(data) == [("self", "ana", "login")]
    assert writer.lost == 1
    assert "1 audit rows for siem.logtrust.web.connection lost" in caplog.text
