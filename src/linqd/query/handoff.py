"""The hand-off between a query's worker thread and whoever sends its rows: a queue bounded in
items and in bytes, whose consumer may be an event loop that never blocks a thread.

- **Bytes, not only items.** A slow client holds what is queued for it; counting items alone
  lets one wide batch of 65,536 rows cost hundreds of megabytes per connection. The producer
  waits while the queued bytes would pass ``max_bytes`` (one item is always admitted, so an
  item larger than the bound still makes progress).
- **No thread waits for an async consumer.** Waiting in a worker thread of the shared pool
  (``anyio.to_thread``) lets a few hundred idle streams hold every worker that short requests
  need. Instead the producer calls ``on_put`` after each item; an event loop passes a callback
  that sets an event with ``call_soon_threadsafe`` and takes items with ``get_nowait``.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Handoff(Generic[T]):
    def __init__(self, max_items: int, max_bytes: int | None = None) -> None:
        self._max_items = max(1, max_items)
        self._max_bytes = max_bytes
        self._items: deque[tuple[T, int]] = deque()
        self._bytes = 0
        self._changed = threading.Condition()
        self._closed = False
        self.on_put: Callable[[], None] | None = None

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    def _room_for(self, size: int) -> bool:
        if not self._items:
            return True
        if len(self._items) >= self._max_items:
            return False
        return self._max_bytes is None or self._bytes + size <= self._max_bytes

    def put(self, item: T, size: int = 0) -> bool:
        """Wait for room, then queue ``item``; False (nothing queued) once closed."""
        with self._changed:
            while not self._closed and not self._room_for(size):
                self._changed.wait()
            if self._closed:
                return False
            self._items.append((item, size))
            self._bytes += size
            self._changed.notify_all()
        wake = self.on_put
        if wake is not None:
            wake()
        return True

    def get_nowait(self) -> T:
        """The oldest item; raises ``queue.Empty`` when there is none."""
        with self._changed:
            return self._take()

    def get(self, timeout: float | None = None) -> T:
        """The oldest item, waiting up to ``timeout`` seconds; raises ``queue.Empty``."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._items or self._closed, timeout):
                raise queue.Empty
            return self._take()

    def _take(self) -> T:
        if not self._items:
            raise queue.Empty
        item, size = self._items.popleft()
        self._bytes -= size
        self._changed.notify_all()
        return item

    def close(self) -> None:
        """Drop what is queued and release a waiting producer (the consumer is gone)."""
        with self._changed:
            self._closed = True
            self._items.clear()
            self._bytes = 0
            self._changed.notify_all()
