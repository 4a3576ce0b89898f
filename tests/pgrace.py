"""Two PostgreSQL nodes writing at once, deterministically: the first holds its write in an
open transaction until the second waits for it (``pg_locks``), then commits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Connection, column, func, select, table

from linqd.meta import MetaStore

WAIT_S = 10.0


def race(
    meta: MetaStore, first: Callable[[Connection], object], second: Callable[[], object]
) -> BaseException | None:
    """``first`` writes in an open transaction of ``meta`` (PostgreSQL) while ``second`` runs
    in a thread; ``first`` commits once ``second`` waits for its rows, so ``second`` read the
    rows before that write and meets it when it writes itself. What ``second`` raised."""
    raised: list[BaseException | None] = []

    def run() -> None:
        try:
            second()
        except BaseException as error:  # handed to the test, which asserts on it
            raised.append(error)
        else:
            raised.append(None)

    thread = threading.Thread(target=run)
    with meta.transaction() as held:
        first(held)
        thread.start()
        deadline = time.monotonic() + WAIT_S
        with meta.transaction() as probe:
            while not _someone_waits(probe):
                assert thread.is_alive(), "the second writer never met the first"
                assert time.monotonic() < deadline, "the second writer never waited"
    thread.join(WAIT_S)
    assert raised, "the second writer did not finish"
    return raised[0]


def _someone_waits(conn: Connection) -> bool:
    locks = table("pg_locks", column("granted"))
    waiting = conn.execute(select(func.count()).where(locks.c.granted.is_(False))).scalar_one()
    return int(waiting) > 0
