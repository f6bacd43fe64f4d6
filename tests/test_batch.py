"""Batcher: calls that arrive together share one batch call; each caller gets its own value."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from memo import Batcher


async def test_calls_in_one_tick_share_one_batch() -> None:
    batches: list[list[int]] = []

    async def square(items: Sequence[int]) -> dict[int, int]:
        batches.append(list(items))
        return {item: item * item for item in items}

    batcher: Batcher[int, int] = Batcher(square)
    assert await asyncio.gather(*(batcher.load(i) for i in range(10))) == [i * i for i in range(10)]
    assert batches == [list(range(10))]
    assert await batcher.load(3) == 9
    assert len(batches) == 2


async def test_batches_are_capped_and_duplicates_passed_once() -> None:
    batches: list[list[int]] = []

    async def echo(items: Sequence[int]) -> dict[int, int]:
        batches.append(list(items))
        return {item: item for item in items}

    batcher: Batcher[int, int] = Batcher(echo, max_batch=4)
    results = await asyncio.gather(*(batcher.load(i % 6) for i in range(12)))
    assert results == [i % 6 for i in range(12)]
    assert all(len(batch) <= 4 for batch in batches)
    assert all(len(set(batch)) == len(batch) for batch in batches)
    assert len(batches) == 3


async def test_batch_failure_reaches_every_caller_in_it() -> None:
    async def fail(items: Sequence[int]) -> dict[int, int]:
        raise RuntimeError("tool crashed")

    batcher: Batcher[int, int] = Batcher(fail)
    outcomes = await asyncio.gather(*(batcher.load(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes)


async def test_missing_item_fails_only_its_caller() -> None:
    async def partial(items: Sequence[int]) -> dict[int, int]:
        return {item: item for item in items if item != 2}

    batcher: Batcher[int, int] = Batcher(partial)
    outcomes = await asyncio.gather(*(batcher.load(i) for i in range(4)), return_exceptions=True)
    assert outcomes[:2] == [0, 1] and outcomes[3] == 3
    assert isinstance(outcomes[2], KeyError)


async def test_batch_is_cancelled_when_all_its_callers_are() -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def hang(items: Sequence[int]) -> dict[int, int]:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return {}

    batcher: Batcher[int, int] = Batcher(hang)
    callers = [asyncio.create_task(batcher.load(i)) for i in range(3)]
    await started.wait()
    callers[0].cancel()
    await asyncio.sleep(0)
    assert not cancelled.is_set()
    for caller in callers[1:]:
        caller.cancel()
    await asyncio.wait_for(cancelled.wait(), timeout=5)


def test_max_batch_must_be_positive() -> None:
    async def noop(items: Sequence[int]) -> dict[int, int]:
        return {}

    with pytest.raises(ValueError):
        Batcher(noop, max_batch=0)


def test_batcher_works_across_event_loops() -> None:
    async def double(items: Sequence[int]) -> dict[int, int]:
        return {item: 2 * item for item in items}

    batcher: Batcher[int, int] = Batcher(double)
    assert asyncio.run(batcher.load(2)) == 4
    assert asyncio.run(batcher.load(3)) == 6
