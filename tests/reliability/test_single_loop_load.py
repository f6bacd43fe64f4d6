"""One event loop, thousands of concurrent decorated calls over a few hundred keys: one body per key."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path
from typing import ClassVar

import pytest

from memo import Finding, ValidationCache, ValidationResult, bind_cache, cached_validation
from memo.validators.base import Validator

from ._support import fingerprint, record_figure, scaled


class HeldValidator(Validator):
    """Fingerprints its file, but only once ``gate`` opens: every call is in flight together."""

    dimension: ClassVar[str] = "held"
    gate: ClassVar[asyncio.Event]
    runs: ClassVar[Counter[str]]

    @cached_validation(dimension="held")
    async def validate(self) -> ValidationResult:
        assert self.file_path is not None
        type(self).runs[self.file_path.name] += 1
        await self.gate.wait()
        mark = fingerprint("held", self.file_path.read_bytes())
        return ValidationResult("held", True, [Finding(str(self.file_path), 1, 1, "H", mark)], str(self.file_path))


@pytest.mark.stress
async def test_thousands_of_concurrent_calls_run_each_key_once(tmp_path: Path) -> None:
    keys, calls = scaled(300), scaled(5000)
    files = []
    for index in range(keys):
        path = tmp_path / f"m{index}.py"
        path.write_text(f"x = {index}\n")
        files.append(path)
    validator: type[HeldValidator] = type("Held", (HeldValidator,), {"gate": asyncio.Event(), "runs": Counter()})
    rng = random.Random(0)
    picks = files + [rng.choice(files) for _ in range(calls - keys)]
    rng.shuffle(picks)
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache):
        tasks = [asyncio.ensure_future(validator(path).validate()) for path in picks]
        await asyncio.sleep(0)  # one loop turn: every call has planned, missed and joined its flight
        assert cache.flights.in_flight() == keys
        validator.gate.set()
        outcomes = await asyncio.gather(*tasks)
        assert cache.flights.in_flight() == 0
        again = await asyncio.gather(*(validator(path).validate() for path in picks))
        stats = cache.stats()
    assert set(validator.runs.values()) == {1} and len(validator.runs) == keys
    expected = {path.name: fingerprint("held", path.read_bytes()) for path in files}
    for path, result in zip(picks, outcomes, strict=True):
        assert result.findings[0].message == expected[path.name] and result.file_path == str(path)
    assert all(result.cached for result in again)
    assert stats["entries"] == keys and stats["errors"] == 0
    record_figure("single-loop", calls=calls, keys=keys, bodies_run=sum(validator.runs.values()), wrong=0)
