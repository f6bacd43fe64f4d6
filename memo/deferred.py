"""Result writes taken off the hit path: local copies batched per tick, busy writes retried later.

Two kinds of write would otherwise cost a run time it does not need to spend:

- A hit in the shared tier (``memo.remote``) is copied into the local store so the next
  run finds it there. Shared hits arrive together (one pipeline per loop tick), and a
  commit per copy was most of what a run on an empty local cache with a warm shared one
  cost: the copies of one tick are written in one store write, at the end of the tick.
- Two processes writing to one cache take turns at its write lock. A write that waited
  the store's short timeout for its turn is tried again with growing pauses
  (``asyncio.sleep``, so the loop never stalls) rather than lost, for at most
  ``WRITE_PATIENCE_S``; ``close`` waits for what is left at most ``CLOSE_PATIENCE_S``.

The writer is given how to reach the store rather than the store itself: the cache drops
a store that failed for good, and a write pending then is given up, not written.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from memo.errors import StoreBusyError, StoreError

if TYPE_CHECKING:
    from memo.store import Store

WRITE_PATIENCE_S = 5.0
"""How long a result write that found the database busy (another process writing) is retried."""
CLOSE_PATIENCE_S = 1.0
"""How long ``close`` waits on a busy database to write what is still deferred."""
_FIRST_WRITE_PAUSE_S = 0.01
_MAX_WRITE_PAUSE_S = 0.25

Item = tuple[str, bytes, "float | None"]
"""One write: key, entry bytes, the store's expiry in seconds (None: never)."""


class DeferredWriter:
    """The writes of one cache that are not made where they were asked for.

    ``store`` returns the cache's results store (None once it is gone); ``failed`` is
    told of a failure that is final (counted and warned about by the cache); ``written``
    of each batch of retried writes that went in (the cache counts them as sets).
    """

    def __init__(
        self,
        store: Callable[[], Store | None],
        failed: Callable[[StoreError], None],
        written: Callable[[int], None],
    ) -> None:
        self._store = store
        self._failed = failed
        self._written = written
        self._copies: list[Item] = []
        """Local copies of shared hits gathered this loop tick (``copy``)."""
        self._deferred: list[Item] = []
        """Writes that found the database busy, tried again from ``_write_later``."""
        self._write_task: asyncio.Task[None] | None = None

    # -- copies of shared hits, one write per tick -----------------------------------------

    def copy(self, item: Item) -> None:
        """Write ``item`` with the other copies of this loop tick (now, without a running loop)."""
        self._copies.append(item)
        if len(self._copies) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.flush_copies)
            except RuntimeError:  # no loop: a synchronous caller, written now
                self.flush_copies()

    def flush_copies(self) -> None:
        """Write the copies gathered so far in one store write."""
        items, self._copies = self._copies, []
        store = self._store()
        if store is None or not items:
            return
        try:
            store.set_many(items)
        except StoreBusyError as exc:
            if not self.defer(items):
                self._failed(exc)
        except StoreError as exc:
            self._failed(exc)

    # -- writes another process kept out for a moment -------------------------------------

    def defer(self, items: list[Item]) -> bool:
        """Keep ``items`` to write again shortly, off the event loop's hot path; whether they were kept.

        Without a running loop there is no later: False, and the caller counts a failure.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        self._deferred.extend(items)
        task = self._write_task
        if task is None or task.done() or task.get_loop() is not loop:
            self._write_task = loop.create_task(self._write_later())
        return True

    async def _write_later(self) -> None:
        deadline = time.monotonic() + WRITE_PATIENCE_S
        pause = _FIRST_WRITE_PAUSE_S
        while self._deferred:
            await asyncio.sleep(pause)
            pause = min(pause * 2, _MAX_WRITE_PAUSE_S)
            store = self._store()
            items, self._deferred = self._deferred, []
            if store is None:
                return
            try:
                store.set_many(items)
            except StoreBusyError as exc:
                if time.monotonic() >= deadline:
                    self._failed(exc)
                    return
                self._deferred = items + self._deferred
            except StoreError as exc:
                self._failed(exc)
                return
            else:
                self._written(len(items))

    async def settle(self) -> None:
        """Wait until the writes deferred in this loop are written (or given up)."""
        task = self._write_task
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            await asyncio.shield(task)

    def flush(self) -> None:
        """Write what is still deferred now, waiting (bounded) for other processes' locks: for ``close``."""
        deadline = time.monotonic() + CLOSE_PATIENCE_S
        while self._deferred:
            store = self._store()
            if store is None:
                return
            items, self._deferred = self._deferred, []
            try:
                store.set_many(items)
            except StoreBusyError as exc:
                if time.monotonic() >= deadline:
                    self._failed(exc)
                    return
                self._deferred = items + self._deferred
                time.sleep(_FIRST_WRITE_PAUSE_S)
            except StoreError as exc:
                self._failed(exc)
                return
            else:
                self._written(len(items))
