"""4 and 4b. Scaling: warm-run time per file and peak memory, over generated trees of small files.

Trees of 1k and 3k files (quick form) or 1k, 10k and 100k (full form), a hundred
modules to a directory, each validated cold once by the default validators. Then each
round runs the warm orchestrator over every tree, one after the other, so the ratio
of time per file (largest tree / smallest tree) is measured side by side; the goal is
flat (linear total time). Peak memory is that of ``memo run`` as a process, warm, over
the largest tree: the goal is under 300 MB at 100k files (about 200 MB measured: a
clean result is kept as its duration and a flag, and the per-run memos are windows of
recent files).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._corpus import generate_tree, wait_out_racy_window
from benchmarks._harness import side_by_side
from benchmarks._ratios import Ratio, median
from benchmarks._runs import memo_run, orchestrate
from benchmarks.conftest import Sizes
from memo import ValidationCache
from memo.validators import DEFAULT_DIMENSIONS

MEMORY_GOAL_MB = 300.0
MEMORY_GUARD_MB = {"quick": 220.0, "full": 600.0}
"""About twice the figure of each form: 90-107 MB at the quick form's 3k files, 277 MB at the
full form's 100k. A warm run that starts holding something per file again fails either."""


def test_warm_time_per_file_stays_flat_and_memory_bounded_as_the_tree_grows(
    benchmark: Any, sizes: Sizes, tmp_path: Path, record: Callable[[Ratio], Ratio]
) -> None:
    trees: dict[int, Path] = {}
    caches: dict[int, ValidationCache] = {}
    for count in sizes.scaling:
        trees[count] = tmp_path / f"tree-{count}"
        files = generate_tree(trees[count], count)
        caches[count] = ValidationCache(tmp_path / f"cache-{count}")
        cold = orchestrate(trees[count], caches[count])
        assert cold.errors == 0 and cold.files == count
        wait_out_racy_window(files[-1:])

    def warm(count: int) -> Callable[[], None]:
        def run() -> None:
            report = orchestrate(trees[count], caches[count])
            assert report.hits == count * len(DEFAULT_DIMENSIONS)

        return run

    smallest, largest = min(sizes.scaling), max(sizes.scaling)
    times = side_by_side(
        benchmark,
        (str(largest), warm(largest)),
        {str(count): warm(count) for count in sizes.scaling if count != largest},
        rounds=3,
    )
    for cache in caches.values():
        cache.close()
    per_file_us = {count: median(times[str(count)]) / count * 1e6 for count in sizes.scaling}
    growth = median(
        (big / largest) / (small / smallest)
        for big, small in zip(times[str(largest)], times[str(smallest)], strict=True)
    )
    record(
        Ratio(
            "4b",
            f"warm time per file, {largest:,} / {smallest:,} files",
            growth,
            goal=1.25,
            guard=2.0,
            better="lower",
            detail=", ".join(f"{count:,}: {us:.0f} us/file" for count, us in per_file_us.items())
            + f" ({len(DEFAULT_DIMENSIONS)} checks per file)",
            sides={str(count): us for count, us in per_file_us.items()},
        )
    )

    process, report = memo_run(trees[largest], tmp_path / f"cache-{largest}", tmp_path / "report.json")
    hits = report["summary"]["cache_hits"]
    record(
        Ratio(
            "4",
            f"peak memory of warm `memo run`, {largest:,} files (MB)",
            process.peak_mb,
            goal=MEMORY_GOAL_MB,
            guard=MEMORY_GUARD_MB[sizes.mode],
            better="lower",
            detail=f"wall {process.seconds:.1f} s as a process, {hits:,} hits",
        )
    )
    assert hits == largest * len(DEFAULT_DIMENSIONS), "the command missed entries the in-process runs hit"
