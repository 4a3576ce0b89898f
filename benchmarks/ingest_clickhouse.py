"""Ingestion into the ClickHouse store (chdb, in the server's process): syslog over TCP, against
inserting the same columns from Arrow straight into chdb.

Two concurrent TCP senders, 2 M lines of ~200 bytes in all, to ``linqd serve --store
chdb:events``: events/s stored (the clock stops when the server has closed both connections,
which it does only once ClickHouse has accepted their events). Anchor, in this process: a raw
chdb connection inserting the already-split columns (eventdate, client, _seq, hostname,
message) as ArrowStream into a table made by the same DDL, in 100,000-row batches. Target:
ratio >= 0.5. The stored rows are counted afterwards, from the store itself.

    make bench    # or: .venv/bin/python benchmarks/ingest_clickhouse.py
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import chdb
import pyarrow as pa
from sqlglot import exp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import BATCH, SENDERS, TAG, make_lines, send_all, start_server
from linqd.clock import SystemClock
from linqd.datadir import open_data_dir
from linqd.store import catalog
from linqd.store import clickhouse_ddl as ddl

LINES = int(os.environ.get("LINQD_BENCH_LINES", "2000000"))
STORE = "chdb:events"


def _arrow(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def anchor(lines: list[bytes], folder: Path) -> float:
    hosts = [f"host{i % 7}" for i in range(len(lines))]
    messages = [line.split(b": ", 1)[1][:-1].decode() for line in lines]
    conn = chdb.connect(str(folder))
    try:
        for statement in ddl.create_table(catalog.raw_schema(TAG), ddl.Layout()):
            conn.query(ddl.sql(statement))
        insert = ddl.command(
            ddl.InsertInto(TAG, ["eventdate", "client", "_seq", "hostname", "message"], {}),
            ddl.Layout(),
        )
        now = int(time.time() * 1000)
        started = time.perf_counter()
        for start in range(0, len(lines), BATCH):
            count = min(BATCH, len(lines) - start)
            batch = pa.table(
                {
                    "eventdate": pa.array([now] * count, pa.int64()).cast(pa.timestamp("ms")),
                    "client": pa.array(["self"] * count),
                    "_seq": pa.array(range(start + 1, start + count + 1), pa.int64()),
                    "hostname": pa.array(hosts[start : start + count]),
                    "message": pa.array(messages[start : start + count]),
                }
            )
            inserter = conn.send_insert(insert, "ArrowStream")
            inserter.append(_arrow(batch))
            inserter.finish()
        return time.perf_counter() - started
    finally:
        conn.close()


def stored(folder: Path) -> int:
    data = open_data_dir(folder, SystemClock(), store=STORE)
    try:
        count = exp.select(exp.Count(this=exp.Star())).from_(exp.to_table(f'"{TAG}"'))
        return int(data.store.fetch(count)[0][0])
    finally:
        data.close()


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="linqd-ingest-ch-"))
    try:
        halves = [make_lines(LINES // SENDERS, i * LINES) for i in range(SENDERS)]
        size = sum(len(line) for half in halves for line in half)
        anchor_s = anchor([line for half in halves for line in half], folder / "anchor")
        process, _, port = start_server(folder / "server", "--store", STORE)
        try:
            tcp_s = send_all(port, halves)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        count = stored(folder / "server")
        assert count == LINES, count
        print(
            f"{LINES:,} syslog lines ({size / LINES:.0f} B) over {SENDERS} TCP senders, chdb store"
        )
        print(f"    stored in {tcp_s:.2f} s = {LINES / tcp_s:,.0f} events/s")
        print(
            f"    anchor (the same columns inserted into chdb from Arrow) {anchor_s:.2f} s = "
            f"{LINES / anchor_s:,.0f} rows/s; ratio {anchor_s / tcp_s:.2f} (target >= 0.5)"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
