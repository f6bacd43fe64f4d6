"""Goal 2. Start-up: ``memo --version`` beside a bare ``python -c pass``, both as processes.

A warm run is mostly start-up on a small tree, so what ``memo`` imports before it does
anything counts. Goal: within 2x of the bare interpreter (1.46 idle, 1.5-1.8 loaded).
The guard, 3.5x, is about twice the loaded figure: an eager import of the engine or
the validators (asyncio, wrapt, diskcache) costs more than the interpreter's own start.
Every round must have printed memo's version.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import memo
from benchmarks._harness import side_by_side
from benchmarks._ratios import Ratio, median, paired_ratio
from benchmarks._runs import memo_command, run_measured
from benchmarks.conftest import Sizes


def test_memo_version_starts_within_3_5x_of_a_bare_interpreter(
    benchmark: Any, sizes: Sizes, record: Callable[[Ratio], Ratio]
) -> None:
    outputs: list[bytes] = []

    def version() -> None:
        done = run_measured([*memo_command(), "--version"])
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        outputs.append(done.stdout)

    def bare() -> None:
        assert run_measured([sys.executable, "-c", "pass"]).returncode == 0

    times = side_by_side(benchmark, ("memo_version", version), {"python": bare}, rounds=sizes.hit_rounds)
    assert len(outputs) == sizes.hit_rounds and set(outputs) == {f"memo {memo.__version__}\n".encode()}, outputs[:2]
    record(
        Ratio(
            "2",
            "start-up: `memo --version` / `python -c pass`",
            paired_ratio(times["memo_version"], times["python"]),
            goal=2.0,
            guard=3.5,
            better="lower",
            detail=f"memo --version {median(times['memo_version']) * 1e3:.0f} ms, "
            f"python -c pass {median(times['python']) * 1e3:.0f} ms",
        )
    )
