"""1b (beside goal 1). Cold against warm: the default validators over the standard library, empty cache then unchanged.

The repeated rounds use the documented subset (each round starts from an empty cache);
the full form also runs the whole library once. The promise was 5x; the goal is 100x;
the guard is 20x, about half the loaded figure. Every run must have made every check
of every file (cold: all misses; warm: all hits).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benchmarks._corpus import copy_stdlib, validated_files, wait_out_racy_window
from benchmarks._harness import side_by_side
from benchmarks._ratios import Ratio, median, paired_ratio
from benchmarks._runs import orchestrate, same_findings
from benchmarks.conftest import Corpus, Sizes
from memo import ValidationCache
from memo.validators import DEFAULT_DIMENSIONS
from orchestrator import Report

COLD_WARM_GUARD = 20.0
"""About half the figure on a loaded machine (45x on the quick subset, 54-74x elsewhere):
a warm run that starts validating again, or doing per-check work a cold run would, fails."""


def _cold_then_warm(
    benchmark: Any, root: Path, tmp_path: Path, rounds: int, files: int
) -> tuple[dict[str, list[float]], int]:
    """Cold then warm, ``rounds`` times; each run must have made every check of ``files`` files."""
    caches: list[ValidationCache] = []
    reports: dict[str, Report] = {}

    def fresh_cache() -> None:
        caches.append(ValidationCache(tmp_path / f"cache-{len(caches)}"))

    def cold() -> None:
        reports["cold"] = orchestrate(root, caches[-1])

    def warm() -> None:
        reports["warm"] = orchestrate(root, caches[-1])

    times = side_by_side(benchmark, ("warm", warm), {"cold": cold}, rounds=rounds, before_round=fresh_cache)
    for cache in caches:
        cache.close()
    checks = len(reports["cold"].results)
    assert checks == files * len(DEFAULT_DIMENSIONS), f"{checks} checks for {files} files"
    assert reports["cold"].hits == 0 and reports["cold"].misses == checks and reports["cold"].errors == 0
    assert reports["warm"].hits == checks, "the unchanged run validated something again"
    assert same_findings(reports["cold"], reports["warm"])
    return times, checks


def test_warm_run_is_at_least_20x_faster_than_cold_on_the_subset(
    benchmark: Any, stdlib_subset: Corpus, sizes: Sizes, tmp_path: Path, record: Callable[[Ratio], Ratio]
) -> None:
    times, checks = _cold_then_warm(benchmark, stdlib_subset.root, tmp_path, sizes.cold_rounds, stdlib_subset.validated)
    record(
        Ratio(
            "1b",
            f"cold / warm, {len(stdlib_subset.files)}-file stdlib subset",
            paired_ratio(times["cold"], times["warm"]),
            goal=100.0,
            guard=COLD_WARM_GUARD,
            better="higher",
            detail=f"{checks} checks ({', '.join(DEFAULT_DIMENSIONS)}); cold {median(times['cold']):.2f} s, "
            f"warm {median(times['warm']) * 1e3:.0f} ms",
        )
    )


def test_warm_run_is_at_least_20x_faster_than_cold_on_the_whole_library(
    benchmark: Any, sizes: Sizes, tmp_path: Path, record: Callable[[Ratio], Ratio]
) -> None:
    if not sizes.full_library_once:
        pytest.skip("the whole library runs in the full form only (--memo-full)")
    files = copy_stdlib(tmp_path / "stdlib", None)
    wait_out_racy_window(files)
    root = tmp_path / "stdlib"
    times, checks = _cold_then_warm(benchmark, root, tmp_path, 1, validated_files(root, files))
    record(
        Ratio(
            "1b",
            f"cold / warm, whole stdlib ({len(files)} files)",
            times["cold"][0] / times["warm"][0],
            goal=100.0,
            guard=COLD_WARM_GUARD,
            better="higher",
            detail=f"{checks} checks; cold {times['cold'][0]:.1f} s, warm {times['warm'][0]:.2f} s",
        )
    )
