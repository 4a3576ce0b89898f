"""The event stores the store tests run on, behind one fixture parameter: DuckDB, ClickHouse in
process (chdb), and ClickHouse over HTTP (clickhouse-connect → the stand-in front on chdb)."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from linqd.clock import SimulatedClock
from linqd.meta import MetaStore
from linqd.reference import References
from linqd.store.base import EventStore
from linqd.store.open import PASSWORD_VARIABLE, open_store

NOW = 1_700_000_000_000
KINDS = ("duckdb", "chdb", "http")
FRONT_USER = "linqd"
FRONT_PASSWORD = "front-pw-4b1d"


def _front_module() -> ModuleType:
    # tests/ is no package and not on sys.path under --import-mode=importlib.
    name = "clickhouse_front"
    if name not in sys.modules:
        path = Path(__file__).parents[1] / "clickhouse_front.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def front_class() -> Any:
    return _front_module().ClickHouseFront


@dataclass
class Opener:
    """Opens stores of one kind over one location (the same data each time)."""

    kind: str
    path: Path
    front: Any = None
    opened: list[EventStore] = field(default_factory=list)

    @property
    def spec(self) -> str:
        if self.kind == "chdb":
            return "chdb:clickhouse"
        if self.kind == "http":
            return f"clickhouse://{FRONT_USER}@127.0.0.1:{self.front.port}/default"
        return "duckdb"

    def __call__(
        self,
        clock: SimulatedClock | None = None,
        meta: MetaStore | None = None,
        references: References | None = None,
    ) -> EventStore:
        store = open_store(
            self.spec,
            self.path,
            meta or MetaStore(self.path / "meta.sqlite"),
            clock or SimulatedClock(NOW),
            environ={PASSWORD_VARIABLE: FRONT_PASSWORD},
            references=references,
        )
        self.opened.append(store)
        return store


@contextlib.contextmanager
def opening(kind: str, path: Path) -> Iterator[Opener]:
    """An opener of ``kind`` stores over ``path``; its stores and front are closed after."""
    front = None
    if kind == "http":
        front = front_class()(path / "front", user=FRONT_USER, password=FRONT_PASSWORD)
    opener = Opener(kind, path, front)
    try:
        yield opener
    finally:
        # A failed test may leave a store open: chdb serves one directory per process, so the
        # next test could not open its own.
        for store in opener.opened:
            with contextlib.suppress(Exception):
                store.close()
        if front is not None:
            front.close()


@pytest.fixture(params=KINDS)
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    with opening(request.param, tmp_path) as opener:
        yield opener


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(NOW)


@pytest.fixture
def store(opener: Opener, clock: SimulatedClock) -> Iterator[EventStore]:
    s = opener(clock)
    yield s
    s.close()
