"""A deadline for one check, armed only once the check has to wait.

A cache hit finishes without suspending; arming and cancelling a timer for each of
those was a large share of a warm run. So the check's first step runs eagerly, and only
a check that suspends (real work) gets a deadline, the full one, from that point on.
"""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import Awaitable, Coroutine, Generator
from typing import Any


class TimedOut(Exception):
    """Our deadline passed: told apart from a ``TimeoutError`` the validator itself raised."""


async def with_timeout(awaitable: Awaitable[Any], seconds: float) -> Any:
    """``await awaitable`` under a deadline, set only once it has to wait.

    The coroutine's first step runs here, eagerly (as 3.12's eager tasks do). A check
    that finishes without suspending (a cache hit: the hit path is synchronous up to
    the result) has nothing a deadline could interrupt. A check that suspends (real
    work) gets the full deadline from that point on.
    """
    if not isinstance(awaitable, Coroutine):
        return await _timed(awaitable, seconds)
    try:
        pending = awaitable.send(None)
    except StopIteration as finished:
        return finished.value
    return await _timed(_resume(awaitable, pending), seconds)


@types.coroutine
def _resume(coroutine: Coroutine[Any, Any, Any], pending: Any) -> Generator[Any, Any, Any]:
    """Carry on a coroutine whose first step already ran and yielded ``pending``.

    ``yield from`` by hand: what the running task sends or throws in goes to the
    coroutine, what it yields goes to the task, so it waits and is cancelled as if the
    task had run it from the start.
    """
    while True:
        try:
            sent = yield pending
        except GeneratorExit:
            coroutine.close()
            raise
        except BaseException as exc:  # every throw, CancelledError included, is the coroutine's
            try:
                pending = coroutine.throw(exc)
            except StopIteration as finished:
                return finished.value
        else:
            try:
                pending = coroutine.send(sent)
            except StopIteration as finished:
                return finished.value


if sys.version_info >= (3, 11):

    async def _timed(awaitable: Awaitable[Any], seconds: float) -> Any:
        scope = asyncio.timeout(seconds)
        try:
            async with scope:
                return await awaitable
        except TimeoutError:
            if scope.expired():
                raise TimedOut from None
            raise

else:  # pragma: no cover - Python 3.10

    async def _timed(awaitable: Awaitable[Any], seconds: float) -> Any:
        async def run() -> Any:
            # wait_for wants a coroutine; awaiting in one keeps the resumed steps in one task.
            return await awaitable

        try:
            return await asyncio.wait_for(run(), seconds)
        except asyncio.TimeoutError:
            raise TimedOut from None
