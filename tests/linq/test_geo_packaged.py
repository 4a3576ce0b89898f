"""The geolocation functions on the data a kept package ships (``geoip.packaged_sources``, the
default of every store): what ``make run`` answers offline, on both engines. A module of its own:
chdb serves one directory per process, and ``test_geo_functions.py`` holds another."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from linqd.clock import SimulatedClock
from linqd.linq import Bounds, compile_linq
from linqd.meta import MetaStore
from linqd.store.duckdb import DuckDBStore

from .chdb_tables import ENGINES, running_on
from .test_functions import NOW_MS


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    tmp: Path = tmp_path_factory.mktemp("packaged")
    events = DuckDBStore(tmp / "e.duckdb", MetaStore(tmp / "m.sqlite"), SimulatedClock())
    events.append(
        "demo.ecommerce.data",
        {"clientIpAddress": [0x08080808]},
        client="self",
        eventdates=[NOW_MS - 1000],
    )
    yield events
    events.close()


@pytest.mark.parametrize("engine_name", ENGINES)
def test_the_packaged_data_answers_offline(
    engine_name: str, packaged: DuckDBStore, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with running_on(engine_name, packaged, tmp_path_factory) as runner:
        query = compile_linq(
            "from demo.ecommerce.data select countrycode(clientIpAddress) as c, "
            'asorg(clientIpAddress) as o, asn(clientIpAddress) as a, countrycode("1.1.1.1") as d, '
            'countrycode("192.168.1.1") as p, asorg("10.0.0.1") as q, city(clientIpAddress) as t',
            packaged.schema,
            now_ms=NOW_MS,
            bounds=Bounds(client="self"),
            engine=engine_name,
        )
        # The packaged data has no AS numbers and no cities: those read null.
        assert runner.rows(query) == [("US", "GOOGLE", None, "AU", None, None, None)]
