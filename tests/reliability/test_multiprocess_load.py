"""Several processes, many coroutines each, one cache directory: zero wrong results, zero escaped exceptions."""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from memo import ValidationCache, bind_cache

from ._load_worker import WIDTH, api_result
from ._support import HERE, PROJECT, fingerprint, fingerprint_validator, record_figure, scaled

PROCESSES = max(4, round(4 * math.sqrt(max(float(scaled(100)) / 100, 1))))
COROUTINES = 8
WORKER_TIMEOUT = 300 * max(1.0, float(scaled(100)) / 100)
"""A hung worker fails the test instead of stalling CI (a normal one takes seconds)."""


@pytest.mark.stress
def test_processes_sharing_a_cache_never_read_a_wrong_result(tmp_path: Path) -> None:
    sources = tmp_path / "src"
    sources.mkdir()
    for index in range(24):
        (sources / f"m{index}.py").write_bytes(f"# initial {index}".ljust(WIDTH - 1).encode() + b"\n")
    cache_dir = tmp_path / "cache"
    summaries = _run_workers(cache_dir, sources, scaled(1500))

    wrong = [item for s in summaries for item in s["wrong"]]
    escaped = [item for s in summaries for item in s["escaped"]]
    assert wrong == [] and escaped == []
    # Locks and another process deleting the directory cost misses, never the cache for the run.
    assert [s["unavailable_reason"] for s in summaries] == [None] * PROCESSES

    _assert_the_cache_is_intact_and_right(cache_dir, sources)
    _record(summaries, wrong=len(wrong), escaped=len(escaped))


def _run_workers(cache_dir: Path, sources: Path, ops: int) -> list[dict[str, Any]]:
    """Each worker process's summary, once all of them exited 0; a hung worker fails the test."""
    script = str(HERE / "_load_worker.py")
    workers = [
        subprocess.Popen(
            [sys.executable, script, str(cache_dir), str(sources), str(n), str(ops), str(COROUTINES), str(1000 + n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=PROJECT,
        )
        for n in range(PROCESSES)
    ]
    summaries = []
    for worker in workers:
        try:
            out, err = worker.communicate(timeout=WORKER_TIMEOUT)
        except subprocess.TimeoutExpired:
            for each in workers:
                each.kill()
            pytest.fail(f"a worker hung for {WORKER_TIMEOUT} s (killed): {worker.args}")
        assert worker.returncode == 0, err[-2000:]
        summaries.append(json.loads(out.strip().splitlines()[-1]))
    return summaries


def _assert_the_cache_is_intact_and_right(cache_dir: Path, sources: Path) -> None:
    """Afterwards the database opens, is intact, and everything in it is right."""
    with ValidationCache(cache_dir) as cache:
        for number in range(200):
            found = cache.lookup(f"api-{number}", None)
            assert found is None or found.to_dict() == {**api_result(f"api-{number}").to_dict(), "cached": True}
        validator = fingerprint_validator()
        with bind_cache(cache):
            final = asyncio.run(_validate_all(validator, sorted(sources.glob("*.py"))))
        assert cache.stats()["errors"] == 0
    for path, message in final:
        assert message == fingerprint("fingerprint", path.read_bytes())
    with sqlite3.connect(cache_dir / "cache.db") as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def _record(summaries: list[dict[str, Any]], *, wrong: int, escaped: int) -> None:
    """The run's figures, summed over the worker processes."""
    operations: Counter[str] = Counter()
    computed: Counter[str] = Counter()
    in_processes: Counter[str] = Counter()
    for summary in summaries:
        operations.update(summary["ops"])
        computed.update(summary["computed"])
        in_processes.update(summary["computed"].keys())
    record_figure(
        "multiprocess",
        processes=PROCESSES,
        coroutines_each=COROUTINES,
        operations=sum(operations.values()),
        by_kind=dict(operations),
        cache_hits=sum(s["hits"] for s in summaries),
        store_errors_absorbed=sum(s["store_errors"] for s in summaries),
        validations_unverifiable=sum(s["unverifiable"] for s in summaries),
        bodies_run=sum(computed.values()),
        duplicate_computations_across_processes=sum(count - 1 for count in in_processes.values()),
        max_loop_stall_s=max(s["max_loop_stall_s"] for s in summaries),
        slowest_op_s={k: max(s["slowest_op_s"].get(k, 0.0) for s in summaries) for k in operations},
        wrong=wrong,
        escaped=escaped,
    )


async def _validate_all(validator: type, paths: list[Path]) -> list[tuple[Path, str]]:
    results = await asyncio.gather(*(validator(path).validate() for path in paths))
    return [(path, result.findings[0].message) for path, result in zip(paths, results, strict=True)]
