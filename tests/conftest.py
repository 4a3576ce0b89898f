"""Shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from anystore import STORES
from linqd.meta import MetaStore
from pgserver import PostgresServer

META_STORES = ("sqlite", "postgresql")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=list(STORES))
def store_spec(request: pytest.FixtureRequest) -> str:
    """The ``--store`` of a data directory: each suite that takes it runs on every store."""
    return STORES[request.param]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL for the session, started on first use."""
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(params=META_STORES)
def meta_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A ``MetaStore`` target: each suite that takes it runs on SQLite and on PostgreSQL (an
    empty schema of its own)."""
    if request.param == "sqlite":
        return str(tmp_path / "meta.sqlite")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.fresh_url()


@pytest.fixture
def meta(meta_target: str) -> Iterator[MetaStore]:
    """An empty metadata store on each backend (``meta_target``)."""
    store = MetaStore(meta_target)
    yield store
    store.close()


def _drives_devo_sender(item: pytest.Item) -> bool:
    module = getattr(item, "module", None)
    return (
        any(
            str(getattr(value, "__module__", "")).startswith("devo.sender")
            for value in vars(module).values()
        )
        if module is not None
        else False
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "early: run before the ClickHouse tests leave chdb's state in this process"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Some tests run first, before chdb has left its traces in this process: chdb 26.9
    leaves a few descriptors open (/proc/self/task/<thread>/stat and the like), and threads,
    each time its engine stops, which the ClickHouse half of the suite does hundreds of times.
    Tests that drive devo-sdk's sender in this process (it waits with select(), which takes
    descriptors below 1024 only), and timing tests (``early``) whose client runs here."""
    items.sort(key=lambda item: not (_drives_devo_sender(item) or item.get_closest_marker("early")))
