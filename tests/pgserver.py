"""A real PostgreSQL for tests: Debian's ``postgresql`` binaries, ``initdb`` and ``pg_ctl`` in a
temporary directory, on a free port of 127.0.0.1 (no Unix socket, no other address).

As root the server runs as the ``postgres`` user (PostgreSQL refuses root). Each test gets its
own schema (``fresh_url``): creating one takes milliseconds, a database a few hundred.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

USER = "linqd"


def bindir() -> Path | None:
    """The newest installed PostgreSQL's binaries, if any."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parent.parent.name),
    )
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    def __init__(self) -> None:
        binaries = bindir()
        if binaries is None:
            raise RuntimeError("PostgreSQL is not installed: `make test` installs it as root")
        self._bin = binaries
        self._dir = Path(tempfile.mkdtemp(prefix="linqd-pg-"))
        self.port = _free_port()
        self._owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        if self._owner is not None:
            os.chown(self._dir, self._owner.pw_uid, self._owner.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self._dir / "data"),
            "-U",
            USER,
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self._dir / "data"),
            "-l",
            str(self._dir / "log"),
            "-w",
            "-o",
            f"-h 127.0.0.1 -p {self.port} -k '' -c fsync=off -c max_connections=300",
            "start",
        )
        self.base_url = f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        command = [str(self._bin / program), *args]
        if self._owner is not None:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self._dir)

    def fresh_url(self) -> str:
        """A URL whose tables land in a new, empty schema."""
        name = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return f"{self.base_url}?options=-csearch_path%3D{name}"

    def conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} user={USER} dbname=postgres"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self._dir / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)
