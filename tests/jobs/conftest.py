"""Jobs' metadata on SQLite and PostgreSQL (``meta``), and on PostgreSQL only (``pg_meta``)
for what two nodes writing at once do."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from linqd.meta import MetaStore
from pgserver import PostgresServer


@pytest.fixture
def pg_meta(postgres: PostgresServer) -> Iterator[MetaStore]:
    store = MetaStore(postgres.fresh_url())
    yield store
    store.close()
