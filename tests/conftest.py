"""Shared by the whole suite."""

from __future__ import annotations

import pytest

from anystore import STORES


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=list(STORES))
def store_spec(request: pytest.FixtureRequest) -> str:
    """The ``--store`` of a data directory: each suite that takes it runs on every store."""
    return STORES[request.param]
