"""Cancellation at any point: no key stays locked, no tool process outlives its callers, a rerun is right."""

from __future__ import annotations

import asyncio
import os
import random
import sys
from collections import Counter
from pathlib import Path
from typing import ClassVar

import pytest

from memo import Finding, ValidationCache, ValidationResult, bind_cache, cached_validation
from memo.validators.base import Validator

from ._support import fingerprint, scaled
from ._support import process_alive as _alive


class ToolValidator(Validator):
    """Runs a real child process per call, as a validator wrapping a tool does, and kills it if cancelled."""

    dimension: ClassVar[str] = "tool"
    pids: ClassVar[list[int]]
    started: ClassVar[asyncio.Event]
    runs: ClassVar[Counter[str]]

    @cached_validation(dimension="tool")
    async def validate(self) -> ValidationResult:
        assert self.file_path is not None
        content = self.file_path.read_bytes()
        # The child waits on stdin: it never finishes on its own, so only a kill ends it.
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import sys; sys.stdin.read()", stdin=asyncio.subprocess.PIPE
        )
        type(self).pids.append(process.pid)
        type(self).runs[self.file_path.name] += 1
        type(self).started.set()
        try:
            await process.wait()
        except asyncio.CancelledError:
            process.kill()
            await process.wait()
            raise
        mark = fingerprint("tool", content)
        return ValidationResult("tool", True, [Finding(str(self.file_path), 1, 1, "T", mark)], str(self.file_path))


def tool_validator() -> type[ToolValidator]:
    return type("Tool", (ToolValidator,), {"pids": [], "started": asyncio.Event(), "runs": Counter()})


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process table from /proc")
async def test_cancelling_the_only_caller_leaves_no_tool_process_running(tmp_path: Path) -> None:
    source = tmp_path / "a.py"
    source.write_text("x = 1\n")
    validator = tool_validator()
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache):
        call = asyncio.ensure_future(validator(source).validate())
        await validator.started.wait()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        # Checked at once: by the time the caller sees its cancellation, the tool is gone.
        assert [_alive(pid) for pid in validator.pids] == [False]
        assert cache.flights.in_flight() == 0


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process table from /proc")
async def test_cancelling_the_leader_keeps_the_work_for_its_waiters(tmp_path: Path) -> None:
    source = tmp_path / "a.py"
    source.write_text("x = 1\n")
    validator = tool_validator()
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache):
        leader = asyncio.ensure_future(validator(source).validate())
        await validator.started.wait()
        waiters = [asyncio.ensure_future(validator(source).validate()) for _ in range(5)]
        await asyncio.sleep(0)  # one loop turn: every waiter has joined the flight (FIFO scheduling)
        leader.cancel()
        for waiter in waiters[:2]:
            waiter.cancel()
        await asyncio.gather(leader, *waiters[:2], return_exceptions=True)
        assert _alive(validator.pids[0])  # three callers still want the result
        for waiter in waiters[2:4]:
            waiter.cancel()
        await asyncio.gather(*waiters[2:4], return_exceptions=True)
        waiters[4].cancel()  # the last one leaves: now the tool is killed
        await asyncio.gather(waiters[4], return_exceptions=True)
        assert not _alive(validator.pids[0])
        assert cache.flights.in_flight() == 0


class GatedValidator(Validator):
    """Fingerprints its file after passing ``stages`` gates, so a test can cancel between any two."""

    dimension: ClassVar[str] = "gated"
    gates: ClassVar[list[asyncio.Event]]
    runs: ClassVar[Counter[str]]

    @cached_validation(dimension="gated")
    async def validate(self) -> ValidationResult:
        assert self.file_path is not None
        type(self).runs[self.file_path.name] += 1
        content = self.file_path.read_bytes()
        for gate in self.gates:
            await gate.wait()
        mark = fingerprint("gated", content)
        return ValidationResult("gated", True, [Finding(str(self.file_path), 1, 1, "G", mark)], str(self.file_path))


@pytest.mark.stress
@pytest.mark.parametrize("seed", range(5))
async def test_random_cancellations_never_lock_a_key_or_store_a_wrong_result(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    files = []
    for index in range(scaled(40)):
        path = tmp_path / f"m{index}.py"
        path.write_text(f"x = {index}\n")
        files.append(path)
    validator: type[GatedValidator] = type(
        "Gated", (GatedValidator,), {"gates": [asyncio.Event() for _ in range(3)], "runs": Counter()}
    )
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache):
        calls = [asyncio.ensure_future(validator(rng.choice(files)).validate()) for _ in range(scaled(400))]
        for gate in validator.gates:
            await asyncio.sleep(0)
            for call in rng.sample(calls, len(calls) // 4):  # leaders and waiters alike
                call.cancel()
            gate.set()
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        assert cache.flights.in_flight() == 0
        finished = [o for o in outcomes if isinstance(o, ValidationResult)]
        assert all(isinstance(o, (ValidationResult, asyncio.CancelledError)) for o in outcomes)
        for result in finished:
            assert result.findings[0].message == fingerprint("gated", Path(result.file_path or "").read_bytes())
        # The rerun: everything right, served from the cache where a body completed.
        rerun = await asyncio.gather(*(validator(path).validate() for path in files))
        assert [r.findings[0].message for r in rerun] == [fingerprint("gated", p.read_bytes()) for p in files]
        assert cache.flights.in_flight() == 0


async def test_cancelling_the_whole_run_leaves_no_key_locked(tmp_path: Path) -> None:
    files = []
    for index in range(50):
        path = tmp_path / f"m{index}.py"
        path.write_text(f"x = {index}\n")
        files.append(path)
    validator: type[GatedValidator] = type("Gated", (GatedValidator,), {"gates": [asyncio.Event()], "runs": Counter()})
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache):
        run = asyncio.ensure_future(asyncio.gather(*(validator(p).validate() for p in files * 4)))
        while sum(validator.runs.values()) < len(files):  # every body entered, held at its gate
            await asyncio.sleep(0)
        assert cache.flights.in_flight() == len(files)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        assert cache.flights.in_flight() == 0
        assert cache.stats()["entries"] == 0
        validator.gates[0].set()
        rerun = await asyncio.gather(*(validator(p).validate() for p in files))
    assert [r.findings[0].message for r in rerun] == [fingerprint("gated", p.read_bytes()) for p in files]
    assert set(validator.runs.values()) == {2}


async def test_a_call_arriving_while_cancelled_work_unwinds_is_not_cancelled(tmp_path: Path) -> None:
    source = tmp_path / "a.py"
    source.write_text("x = 1\n")
    entered, unwinding, may_finish_unwinding = asyncio.Event(), asyncio.Event(), asyncio.Event()
    runs: list[str] = []

    class SlowToStop(Validator):
        dimension: ClassVar[str] = "slow"

        @cached_validation(dimension="slow")
        async def validate(self) -> ValidationResult:
            runs.append("run")
            if len(runs) == 1:
                entered.set()
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    unwinding.set()
                    await may_finish_unwinding.wait()  # cleanup that takes a while
                    raise
            return ValidationResult("slow", True, [], str(self.file_path))

    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache):
        first = asyncio.ensure_future(SlowToStop(source).validate())
        await entered.wait()
        first.cancel()
        await unwinding.wait()
        second = asyncio.ensure_future(SlowToStop(source).validate())
        for _ in range(50):  # loop turns, not time: enough for the call to reach its body (it claims a lease first)
            if len(runs) == 2:
                break
            await asyncio.sleep(0)
        assert len(runs) == 2  # it runs its own body rather than joining the one being torn down
        may_finish_unwinding.set()
        result = await second
        with pytest.raises(asyncio.CancelledError):
            await first
    assert result.error is None
