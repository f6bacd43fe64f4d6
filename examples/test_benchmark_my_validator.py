"""Benchmark your own validator cold against warm, with pytest-benchmark and memo's pytest plugin.

Run it with ``pytest examples/``. The ``memo_cache`` fixture (installed with memo, no
conftest needed) gives each test an empty ``ValidationCache`` under ``tmp_path``, bound
for that test, so nothing reads or writes your real cache. The two timings are taken
in one test, round by round, so their ratio holds up on a busy machine; pytest-benchmark
keeps the warm rounds (``--benchmark-json=FILE`` to save them).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from memo import Finding, ValidationCache, ValidationResult, cached_validation


class LongLinesValidator:
    """Your validator: any class with ``file_path``, ``root``, ``config`` and ``version`` will do."""

    version = "1"

    def __init__(self, file_path: Path, root: Path, config: dict[str, Any] | None = None) -> None:
        self.file_path, self.root, self.config = file_path, root, config or {}

    @cached_validation(dimension="long-lines")
    async def validate(self) -> ValidationResult:
        limit = int(self.config.get("max_line_length", 100))
        text = self.file_path.read_text(encoding="utf-8")
        findings = [
            Finding(str(self.file_path), number, limit + 1, "long-line", f"{len(line)} > {limit} characters", "warning")
            for number, line in enumerate(text.splitlines(), start=1)
            if len(line) > limit
        ]
        return ValidationResult("long-lines", not findings, findings, str(self.file_path))


@pytest.fixture
def project(tmp_path: Path) -> list[Path]:
    """A project of 300 files to validate (use your own tree here)."""
    files = []
    for index in range(300):
        path = tmp_path / "project" / f"module_{index}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text("x = 1\n" * 200 + "y = '" + "a" * (index % 150) + "'\n", encoding="utf-8")
        files.append(path)
    return files


async def validate_all(files: list[Path]) -> list[ValidationResult]:
    return await asyncio.gather(*(LongLinesValidator(path, path.parent).validate() for path in files))


def test_my_validator_is_faster_warm_than_cold(
    benchmark: Any, memo_cache: ValidationCache, project: list[Path]
) -> None:
    cold_times: list[float] = []

    def cold_run() -> None:
        memo_cache.invalidate_all()
        started = time.perf_counter()
        results = asyncio.run(validate_all(project))
        cold_times.append(time.perf_counter() - started)
        assert not any(result.cached for result in results)

    def warm_run() -> list[ValidationResult]:
        return asyncio.run(validate_all(project))

    # Each warm round follows its own cold round (pytest-benchmark runs setup untimed).
    warm = benchmark.pedantic(warm_run, setup=cold_run, rounds=5, iterations=1)
    assert all(result.cached for result in warm)
    ratio = min(cold_times) / benchmark.stats.stats.min
    benchmark.extra_info["cold_over_warm"] = ratio
    print(f"cold / warm: {ratio:.1f}x")
    assert ratio > 1.5
