"""Single flight: concurrent calls with one key share one running task.

The first caller for a key (the leader) starts a task; later callers await the same
task through ``asyncio.shield``, so cancelling one waiter never cancels the work the
others wait for. The task is cancelled only when its last waiter leaves, and a
done-callback removes it from the registry, so no key stays locked and the registry
holds only work in flight. Registries are per event loop, so loops used one after
another (one per test under pytest-asyncio) never see each other's tasks.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Flight(Generic[T]):
    __slots__ = ("task", "waiters")

    def __init__(self, task: asyncio.Task[T]) -> None:
        self.task = task
        self.waiters = 0


class SingleFlight(Generic[T]):
    """A registry of in-flight tasks by key, one registry per event loop."""

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Flight[T]]] = (
            weakref.WeakKeyDictionary()
        )

    def in_flight(self, loop: asyncio.AbstractEventLoop | None = None) -> int:
        """How many keys have work running in ``loop`` (the running loop by default)."""
        loop = loop or asyncio.get_running_loop()
        return len(self._by_loop.get(loop, {}))

    async def run(self, key: str, start: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """The result of the flight for ``key``, starting it with ``start()`` if none runs.

        Returns ``(result, led)``: ``led`` is True for the caller whose call started the
        work. An exception from the work reaches every waiter of that flight.
        """
        loop = asyncio.get_running_loop()
        flights = self._by_loop.get(loop)
        if flights is None:
            flights = self._by_loop[loop] = {}
        flight = flights.get(key)
        led = flight is None
        if flight is None:
            task: asyncio.Task[T] = loop.create_task(_as_coroutine(start))
            flight = flights[key] = _Flight(task)
            task.add_done_callback(functools.partial(_forget, flights, key))
        flight.waiters += 1
        try:
            return await asyncio.shield(flight.task), led
        except asyncio.CancelledError:
            if not flight.task.done() and flight.waiters == 1:
                # The last caller has left. A call arriving from now on starts afresh rather
                # than joining work being torn down (it would be cancelled through no fault
                # of its own); and the work is allowed to unwind (kill its tool process)
                # before the cancellation is reported, so nothing outlives its callers.
                if flights.get(key) is flight:
                    del flights[key]
                flight.task.cancel()
                await asyncio.wait((flight.task,))
            raise
        finally:
            flight.waiters -= 1


async def _as_coroutine(start: Callable[[], Awaitable[T]]) -> T:
    return await start()


def _forget(flights: dict[str, _Flight[T]], key: str, done: asyncio.Task[T]) -> None:
    flight = flights.get(key)
    if flight is not None and flight.task is done:
        del flights[key]
    if not done.cancelled():
        done.exception()  # mark retrieved: a failure is re-raised to waiters, not logged as lost
