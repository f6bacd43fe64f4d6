"""Single flight: one body per key, and cancellation never leaves a key locked."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from memo import ValidationCache, bind_cache
from memo.singleflight import SingleFlight
from tests.helpers import counting_validator_class, write


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_concurrent_callers_share_one_run() -> None:
    flights: SingleFlight[int] = SingleFlight()
    gate = asyncio.Event()
    runs = []

    async def work() -> int:
        runs.append(1)
        await gate.wait()
        return 42

    calls = [asyncio.create_task(flights.run("k", work)) for _ in range(50)]
    await _settle()
    gate.set()
    results = await asyncio.gather(*calls)
    assert len(runs) == 1
    assert [value for value, _ in results] == [42] * 50
    assert sum(led for _, led in results) == 1
    assert flights.in_flight() == 0


async def test_cancelling_one_waiter_does_not_cancel_the_others() -> None:
    flights: SingleFlight[str] = SingleFlight()
    gate = asyncio.Event()

    async def work() -> str:
        await gate.wait()
        return "done"

    leader = asyncio.create_task(flights.run("k", work))
    follower = asyncio.create_task(flights.run("k", work))
    await _settle()
    leader.cancel()
    await _settle()
    assert flights.in_flight() == 1
    gate.set()
    assert (await follower)[0] == "done"
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert flights.in_flight() == 0


async def test_work_is_cancelled_when_its_last_waiter_leaves() -> None:
    flights: SingleFlight[str] = SingleFlight()
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def work() -> str:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    callers = [asyncio.create_task(flights.run("k", work)) for _ in range(3)]
    await started.wait()
    for caller in callers:
        caller.cancel()
    await asyncio.wait_for(cancelled.wait(), timeout=5)
    await _settle()
    assert flights.in_flight() == 0

    async def again() -> str:
        return "fresh"

    assert await flights.run("k", again) == ("fresh", True)


async def test_exception_reaches_every_waiter_and_frees_the_key() -> None:
    flights: SingleFlight[int] = SingleFlight()
    gate = asyncio.Event()

    async def boom() -> int:
        await gate.wait()
        raise ValueError("boom")

    calls = [asyncio.create_task(flights.run("k", boom)) for _ in range(3)]
    await _settle()
    gate.set()
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(outcome, ValueError) for outcome in outcomes)
    assert flights.in_flight() == 0


async def test_cancelled_decorated_call_leaves_nothing_stored_or_locked(tmp_path: Path) -> None:
    validator = counting_validator_class()
    validator.gate = asyncio.Event()
    source = write(tmp_path / "a.py", "# TODO\n")
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache, config={}):
        call = asyncio.create_task(validator(source).validate())
        await _settle()
        assert cache.flights.in_flight() == 1
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await _settle()
        assert cache.flights.in_flight() == 0
        assert cache.stats()["entries"] == 0
        validator.gate.set()
        result = await validator(source).validate()
    assert (result.cached, result.passed, validator.calls) == (False, False, 2)
