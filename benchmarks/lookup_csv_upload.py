"""A 1 M-row CSV uploaded through the Lookups API (multipart, as Devo's guide sends it) until a
LINQ query over the lookup answers (target <= 10 s), against DuckDB's own CSV reader loading the
same file into an in-memory table, measured in the same run.

The server is linqd's app under uvicorn on 127.0.0.1 (one process, a temporary data directory);
the upload is Python ``requests`` with ``files=``, the query ``POST /search/query`` counting the
lookup's rows.

    .venv/bin/python benchmarks/lookup_csv_upload.py
"""

from __future__ import annotations

import json
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "src"))

import duckdb  # noqa: E402
import requests  # noqa: E402
import uvicorn  # noqa: E402

from linqd.api.app import create_app  # noqa: E402
from linqd.clock import SystemClock  # noqa: E402
from linqd.config import Settings  # noqa: E402
from linqd.datadir import open_data_dir  # noqa: E402
from linqd.domains import DomainStore  # noqa: E402
from linqd.jobs.repo import JobRepository  # noqa: E402
from linqd.jobs.runner import JobRunner  # noqa: E402

ROWS = 1_000_000
CONFIG = {
    "columns": [
        {"name": "KEY", "type": "INT8"},
        {"name": "COLOR", "type": "STRING"},
        {"name": "HEX", "type": "STRING"},
        {"name": "IP", "type": "IP4"},
        {"name": "SCORE", "type": "FLOAT"},
    ],
    "hasHeader": True,
    "key": {"type": "column", "column": "KEY"},
}


def write_csv(path: Path) -> None:
    with path.open("w") as handle:
        handle.write("KEY,COLOR,HEX,IP,SCORE\n")
        for i in range(ROWS):
            handle.write(
                f"{i},color {i % 1000},{i % 0xFFFFFF:06x},10.{i >> 16 & 255}.{i >> 8 & 255}."
                f"{i & 255},{i / 7:.3f}\n"
            )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="linqd-csv-bench-") as scratch:
        folder = Path(scratch)
        csv_path = folder / "big.csv"
        write_csv(csv_path)
        size = csv_path.stat().st_size
        clock = SystemClock()
        data = open_data_dir(folder / "data", clock)
        domains = DomainStore(data.meta, clock)
        token = domains.create_domain("self").token
        runner = JobRunner(data.store, JobRepository(data.meta), clock, lambda job: None)
        app = create_app(
            Settings(data_dir=folder / "data"), data.store, domains, clock, runner=runner
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        auth = {"Authorization": f"Bearer {token}"}
        try:
            started = time.perf_counter()
            with csv_path.open("rb") as handle:
                files = {
                    "deploy-config": (None, json.dumps(CONFIG), "application/json"),
                    "csv": (csv_path.name, handle, "text/csv"),
                }
                reply = requests.post(
                    f"{url}/lookup-api/lookup/self/big/deploy-csv",
                    headers=auth,
                    files=files,
                    timeout=120,
                )
            assert reply.status_code == 201, reply.text
            now = int(time.time())
            answer = requests.post(
                f"{url}/search/query",
                headers={**auth, "Content-Type": "application/json"},
                data=json.dumps(
                    {
                        "query": "from my.lookuplist.big group select count() as n, "
                        "sum(SCORE) as s",
                        "from": now - 60,
                        "to": now,
                        "mode": {"type": "json"},
                    }
                ),
                timeout=120,
            )
            elapsed = time.perf_counter() - started
            assert answer.status_code == 200, answer.text
            assert answer.json()["object"][0]["n"] == ROWS, answer.text
        finally:
            server.should_exit = True
            thread.join(10)
            sock.close()
            runner.close()
        data.close()
        # The store's own connection may not read files: a fresh in-memory DuckDB does.
        reader = duckdb.connect()
        anchor_started = time.perf_counter()
        reader.execute(
            f"CREATE TABLE anchor AS SELECT * FROM read_csv('{csv_path}', header = true, "
            "columns = {'KEY': 'BIGINT', 'COLOR': 'VARCHAR', 'HEX': 'VARCHAR', "
            "'IP': 'VARCHAR', 'SCORE': 'DOUBLE'})"
        ).fetchall()
        count = reader.execute("SELECT count(*), sum(SCORE) FROM anchor").fetchall()[0][0]
        anchor = time.perf_counter() - anchor_started
        assert count == ROWS
        reader.close()
    print(
        f"CSV of {ROWS:,} rows ({size / 1e6:.0f} MB) uploaded over HTTP and answered in LINQ: "
        f"{elapsed:.2f} s ({ROWS / elapsed:,.0f} rows/s; target <= 10 s)"
    )
    print(
        f"DuckDB read_csv of the same file into a table, in-process: {anchor:.2f} s "
        f"({ROWS / anchor:,.0f} rows/s)"
    )
    print(f"ratio upload/anchor: {elapsed / anchor:.2f}")


if __name__ == "__main__":
    main()
