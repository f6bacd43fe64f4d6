"""6b (beside goal 6). Incremental: the warm run after 1% of the files changed.

It should cost the warm run plus validating the changed files, nothing more. Each
round edits 1% of the subset (a new comment line, so new content every round), then
times the run over the whole tree with the primed cache ("incremental"), a cold run of
the changed files alone on an empty cache ("changed files"), and the warm run that
follows ("warm"). Goal: incremental <= 1.1 x (warm + changed files).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._harness import side_by_side
from benchmarks._ratios import Ratio, median
from benchmarks._runs import orchestrate
from benchmarks.conftest import Corpus, Sizes
from memo import ValidationCache
from memo.validators import DEFAULT_DIMENSIONS
from orchestrator import Report


def test_incremental_run_costs_the_warm_run_plus_the_changed_files(
    benchmark: Any, stdlib_subset: Corpus, sizes: Sizes, tmp_path: Path, record: Callable[[Ratio], Ratio]
) -> None:
    root = stdlib_subset.root
    changed = stdlib_subset.files[:: len(stdlib_subset.files) // math.ceil(len(stdlib_subset.files) / 100)]
    cache = ValidationCache(tmp_path / "cache")
    orchestrate(root, cache)  # prime
    spare: list[ValidationCache] = []
    reports: dict[str, Report] = {}
    rounds = 0

    def edit() -> None:
        nonlocal rounds
        rounds += 1
        for path in changed:
            with open(path, "a", encoding="utf-8") as out:
                out.write(f"# benchmark edit {rounds}\n")
        spare.append(ValidationCache(tmp_path / f"changed-{rounds}"))

    def incremental() -> None:
        reports["incremental"] = orchestrate(root, cache)

    def changed_only() -> None:
        reports["changed"] = orchestrate(root, spare[-1], paths=changed)

    def warm() -> None:
        reports["warm"] = orchestrate(root, cache)

    times = side_by_side(
        benchmark,
        ("warm", warm),
        {"incremental": incremental, "changed": changed_only},
        rounds=sizes.incremental_rounds,
        before_round=edit,
    )
    for opened in (cache, *spare):
        opened.close()
    per_file, checks = len(DEFAULT_DIMENSIONS), stdlib_subset.validated * len(DEFAULT_DIMENSIONS)
    edited = len(changed) * per_file
    assert (reports["incremental"].hits, reports["incremental"].misses) == (checks - edited, edited), (
        "only the changed files may be validated again"
    )
    assert (reports["changed"].hits, reports["changed"].misses) == (0, edited)
    assert (reports["warm"].hits, reports["warm"].misses) == (checks, 0)

    expected = [w + c for w, c in zip(times["warm"], times["changed"], strict=True)]
    ratio = median(i / e for i, e in zip(times["incremental"], expected, strict=True))
    record(
        Ratio(
            "6b",
            f"incremental / (warm + changed alone), {len(changed)} of {len(stdlib_subset.files)} files changed",
            ratio,
            goal=1.1,
            guard=1.5,
            better="lower",
            detail=f"incremental {median(times['incremental']):.2f} s, warm {median(times['warm']):.2f} s, "
            f"changed alone {median(times['changed']):.2f} s",
        )
    )
