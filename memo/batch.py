"""A DataLoader-style batcher: calls that arrive together share one batch call.

Validators that wrap a command-line tool pay ~10 ms per process; given many files at
once the same tool costs well under 1 ms per file. Per-file ``validate()`` calls that
miss the cache in the same event-loop tick are gathered and handed to one
``batch_fn(items)``; each caller gets its own item's result, and so each file still gets
its own cache entry.

Batches are dispatched on the next loop iteration (``call_soon``) after the first item
arrives, or at once when ``max_batch`` items are waiting. A batch whose every caller has
been cancelled is itself cancelled, so no tool process outlives its callers.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

BatchFn = Callable[[Sequence[K]], Awaitable[Mapping[K, V]]]


class _Batch(Generic[K, V]):
    __slots__ = ("items", "task", "waiters")

    def __init__(self) -> None:
        self.items: dict[K, None] = {}
        self.task: asyncio.Task[Mapping[K, V]]
        self.waiters = 0


class Batcher(Generic[K, V]):
    """Gathers ``load(item)`` calls into calls of ``batch_fn(items) -> {item: value}``.

    ``batch_fn`` must return a value for every item it was given; a missing item raises
    ``KeyError`` in that item's caller only. An exception from ``batch_fn`` reaches every
    caller in the batch. Duplicate items in one batch are passed once.
    """

    def __init__(self, batch_fn: BatchFn[K, V], *, max_batch: int = 64) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._batch_fn = batch_fn
        self.max_batch = max_batch
        self._open: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batch[K, V]] = weakref.WeakKeyDictionary()

    async def load(self, item: K) -> V:
        """The value ``batch_fn`` gives for ``item``, computed together with its neighbours."""
        loop = asyncio.get_running_loop()
        batch = self._open.get(loop)
        if batch is None:
            batch = self._open[loop] = _Batch()
            # The task's first step runs after every callback already queued, so the
            # calls woken in this loop iteration all join before the batch starts.
            batch.task = loop.create_task(self._run(loop, batch))
            batch.task.add_done_callback(_retrieve)
        batch.items[item] = None
        if len(batch.items) >= self.max_batch:
            self._close(loop, batch)
        batch.waiters += 1
        try:
            values = await asyncio.shield(batch.task)
        except asyncio.CancelledError:
            if batch.waiters == 1 and not batch.task.done():
                # As in single flight: later loads start a new batch rather than join this
                # dying one, and the batch unwinds (kills its tool process) before the
                # cancellation is reported, so no tool process outlives its callers.
                self._close(loop, batch)
                batch.task.cancel()
                await asyncio.wait((batch.task,))
            raise
        finally:
            batch.waiters -= 1
        return values[item]

    def _close(self, loop: asyncio.AbstractEventLoop, batch: _Batch[K, V]) -> None:
        """Stop ``batch`` taking items; the next ``load`` opens a new one."""
        if self._open.get(loop) is batch:
            del self._open[loop]

    async def _run(self, loop: asyncio.AbstractEventLoop, batch: _Batch[K, V]) -> Mapping[K, V]:
        self._close(loop, batch)
        return await self._batch_fn(list(batch.items))


def _retrieve(task: asyncio.Task[object]) -> None:
    if not task.cancelled():
        task.exception()
