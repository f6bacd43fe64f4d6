"""The per-check deadline: armed only once a check has to wait, and the check runs as before."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from memo import ValidationCache, ValidationResult, cached_validation
from memo.validators import Validator
from orchestrator import ValidationOrchestrator
from tests.helpers import write

_seen: contextvars.ContextVar[str] = contextvars.ContextVar("_seen", default="unset")


class WaitsTwice(Validator):
    """Suspends on a future and a yield, sets a context variable before, reads it after."""

    dimension: ClassVar[str] = "waits"
    calls: ClassVar[int] = 0

    @cached_validation(dimension="waits")
    async def validate(self) -> ValidationResult:
        type(self).calls += 1
        _seen.set(str(self.file_path))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        loop.call_soon(future.set_result, "sent in")
        value = await future
        await asyncio.sleep(0)
        return ValidationResult(
            "waits", passed=value == "sent in" and _seen.get() == str(self.file_path), file_path=self.file_path
        )


class HangsThenCleansUp(Validator):
    """Waits forever; records that the cancellation reached its own ``finally``."""

    dimension: ClassVar[str] = "cleans"
    cleaned: ClassVar[list[str]] = []

    @cached_validation(dimension="cleans")
    async def validate(self) -> ValidationResult:
        try:
            await asyncio.Event().wait()
        finally:
            type(self).cleaned.append(str(self.file_path))
        raise AssertionError("unreachable")


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[ValidationCache]:
    with ValidationCache(tmp_path / "cache") as opened:
        yield opened


@pytest.fixture
def armed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Every deadline the orchestrator arms (``asyncio.timeout`` calls), by its seconds."""
    calls: list[float] = []
    real = asyncio.timeout

    def counting(delay: float | None) -> Any:
        calls.append(0.0 if delay is None else delay)
        return real(delay)

    monkeypatch.setattr(asyncio, "timeout", counting)
    yield calls


@pytest.mark.skipif(not hasattr(asyncio, "timeout"), reason="asyncio.timeout is Python 3.11+")
async def test_a_cache_hit_arms_no_deadline_and_a_miss_arms_one(
    tmp_path: Path, cache: ValidationCache, armed: list[float]
) -> None:
    files = [write(tmp_path / "tree" / f"mod{i}.py", f"x = {i}\n") for i in range(3)]
    WaitsTwice.calls = 0
    cold = await ValidationOrchestrator(tmp_path / "tree", {"timeout": 30}, [WaitsTwice], cache).run()
    assert cold.passed and cold.misses == len(files) and armed == [30.0] * len(files)
    armed.clear()
    warm = await ValidationOrchestrator(tmp_path / "tree", {"timeout": 30}, [WaitsTwice], cache).run()
    assert warm.passed and warm.hits == len(files) and WaitsTwice.calls == len(files)
    assert armed == [], "a hit never suspends, so no timer is set for it"


async def test_a_resumed_check_gets_sent_values_and_keeps_its_context(tmp_path: Path) -> None:
    write(tmp_path / "mod.py", "x = 1\n")
    report = await ValidationOrchestrator(tmp_path, {"timeout": 30}, [WaitsTwice], use_cache=False).run()
    assert [(r.passed, r.error) for r in report.results] == [(True, None)]


async def test_a_check_that_waits_too_long_is_cancelled_inside_and_times_out(tmp_path: Path) -> None:
    path = write(tmp_path / "mod.py", "x = 1\n")
    HangsThenCleansUp.cleaned = []
    report = await ValidationOrchestrator(tmp_path, {"timeout": 0.05}, [HangsThenCleansUp], use_cache=False).run()
    assert [r.error for r in report.results] == ["timed out after 0.05s"]
    assert HangsThenCleansUp.cleaned == [str(path)], "the cancellation was thrown into the validator"
