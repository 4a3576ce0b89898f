"""Sequence ranges for appends, and the committed watermark readers follow.

An append takes one range of ``_seq`` numbers (``allocate``), inserts its rows with them, then
settles the range (``settle``). The watermark is the number just below the lowest range not
settled yet (or the top of the counter when none is pending): a reader that has read up to the
watermark has read every row at or below it, even while appends finish out of order.

``LocalWatermark`` keeps this in the process (one writer). ``SharedWatermark`` keeps the counter
and the pending ranges in the metadata store, so every node is a writer with its own id and the
watermark is one for all. A writer that dies leaves its range pending, which holds readers back
(never skips). Once the writer's node is no longer live (or when it starts again under the same
id), the store resolves the range for it (``ClickHouseStore.recover_ranges``): all its rows
there, ``stored``; otherwise the rows that made it are deleted and the range is ``void``
(never acknowledged: the client sends it again). Either way the watermark goes past it. A writer
paused through all this finds, when it settles, how its range was resolved: ``stored`` is
acknowledged; ``void`` means its rows arrived too late, and the store deletes them and does not
acknowledge the append.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import delete, func, select, update

from ..meta import MetaStore, insert
from ..meta.schema import seq_counter, seq_ranges

_COUNTER = "events"


PENDING, STORED, VOID = "pending", "stored", "void"


@dataclass(frozen=True)
class PendingRange:
    writer: str
    first: int
    last: int
    table: str


class Watermark(Protocol):
    def allocate(self, count: int, table: str) -> int: ...

    def settle(self, first: int) -> bool: ...

    @property
    def value(self) -> int: ...


class LocalWatermark:
    def __init__(self, top: int) -> None:
        self._lock = threading.Lock()
        self._next = top + 1
        self._pending: dict[int, int] = {}  # first -> last of ranges not settled yet
        self._mark = top

    def allocate(self, count: int, table: str) -> int:
        with self._lock:
            first = self._next
            self._next += count
            if count:
                self._pending[first] = first + count - 1
            return first

    def settle(self, first: int) -> bool:
        """The range starting at ``first`` is committed, or failed for good."""
        with self._lock:
            self._pending.pop(first, None)
            self._mark = min(self._pending) - 1 if self._pending else self._next - 1
        return True

    @property
    def value(self) -> int:
        with self._lock:
            return self._mark


class SharedWatermark:
    """The counter and pending ranges in the metadata store (PostgreSQL for several nodes)."""

    def __init__(self, meta: MetaStore, writer_id: str, top: int) -> None:
        self.meta = meta
        self.writer_id = writer_id
        with meta.transaction() as conn:
            conn.execute(
                insert(conn, seq_counter)
                .values(name=_COUNTER, next=top + 1)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            # Rows stored before the counter was shared (a store that grew to several nodes).
            conn.execute(
                update(seq_counter)
                .where(seq_counter.c.name == _COUNTER, seq_counter.c.next <= top)
                .values(next=top + 1)
            )
            # What was resolved for an earlier run of this writer: nobody settles it now.
            conn.execute(
                delete(seq_ranges).where(
                    seq_ranges.c.writer == writer_id, seq_ranges.c.state != PENDING
                )
            )

    def allocate(self, count: int, table: str) -> int:
        with self.meta.transaction() as conn:
            top = conn.execute(
                update(seq_counter)
                .where(seq_counter.c.name == _COUNTER)
                .values(next=seq_counter.c.next + count)
                .returning(seq_counter.c.next)
            ).scalar_one()
            first = int(top) - count
            if count:
                conn.execute(
                    seq_ranges.insert().values(
                        first=first, last=first + count - 1, writer=self.writer_id, table=table
                    )
                )
        return first

    def settle(self, first: int) -> bool:
        """False when the range was resolved ``void`` for this writer, taken for dead."""
        with self.meta.transaction() as conn:
            state = conn.execute(
                delete(seq_ranges)
                .where(seq_ranges.c.first == first, seq_ranges.c.writer == self.writer_id)
                .returning(seq_ranges.c.state)
            ).scalar_one_or_none()
        return state != VOID

    @property
    def value(self) -> int:
        with self.meta.transaction() as conn:
            lowest = (
                select(func.min(seq_ranges.c.first))
                .where(seq_ranges.c.state == PENDING)
                .scalar_subquery()
            )
            top = select(seq_counter.c.next).where(seq_counter.c.name == _COUNTER).scalar_subquery()
            return int(conn.execute(select(func.coalesce(lowest, top) - 1)).scalar_one())

    def orphans(self, live_writers: Collection[str] | None = None) -> list[PendingRange]:
        """Pending ranges of writers not in ``live_writers``; without it, this writer's own
        from before it (re)started."""
        columns = (seq_ranges.c.writer, seq_ranges.c.first, seq_ranges.c.last, seq_ranges.c.table)
        query = select(*columns).where(seq_ranges.c.state == PENDING)
        if live_writers is None:
            query = query.where(seq_ranges.c.writer == self.writer_id)
        else:
            query = query.where(seq_ranges.c.writer.not_in(list(live_writers)))
        with self.meta.transaction() as conn:
            rows = conn.execute(query.order_by(seq_ranges.c.first)).all()
        return [PendingRange(r.writer, int(r.first), int(r.last), r.table) for r in rows]

    def resolve(self, orphan: PendingRange, state: str) -> None:
        """Settle a dead writer's range as ``stored`` or ``void``; one the writer settled
        itself meanwhile is left as it is."""
        with self.meta.transaction() as conn:
            conn.execute(
                update(seq_ranges)
                .where(seq_ranges.c.first == orphan.first, seq_ranges.c.state == PENDING)
                .values(state=state)
            )
