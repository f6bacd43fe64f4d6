"""8. The shared tier: a machine with an empty local cache and a warm Redis, and machines started together.

Three ratios, each measured in one run on the stdlib subset with a real ``redis-server``:
- empty local + warm Redis against local warm (goal <= 2x);
- cold against empty local + warm Redis (goal >= 20x);
- checks executed by 4 machines started together, cold, against one machine's (goal <= 1.1x).
The guards are regression bounds about twice the loaded figures (remote/local warm
2.4-2.9 -> 6x; cold/remote 19-22 -> 8x; 4 machines 1.0 -> 2x); the table reports the goals.
Every side must have reported every check, and served as many from a cache as it claims.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from benchmarks._ratios import Ratio, median
from benchmarks._runs import memo_command
from benchmarks.conftest import Corpus, Sizes
from memo import ValidationCache
from memo.credentials import SIGNING_KEY_ENV
from memo.engine import Engine
from memo.lease import LeasePolicy
from memo.remote import RemoteTier
from memo.validators import DEFAULT_DIMENSIONS, resolve
from tests.remote_support import SIGNING_KEY, RedisServer, signer


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.stop()


def _run(root: Path, cache: ValidationCache) -> tuple[int, int]:
    """One in-process run; (checks, checks served from a cache)."""
    with Engine(root, validators=resolve(DEFAULT_DIMENSIONS), cache=cache) as engine:
        report = engine.run_sync()
    assert all(r.error is None for r in report.results)
    return len(report.results), sum(1 for r in report.results if r.cached)


def _timed(root: Path, cache: ValidationCache, served: dict[str, tuple[int, int]], side: str) -> float:
    """Seconds one in-process run took; its (checks, served from a cache) go to ``served[side]``."""
    started = time.perf_counter()
    served[side] = _run(root, cache)
    return time.perf_counter() - started


def _tier(server: RedisServer) -> RemoteTier:
    return RemoteTier(server.url, signer(), lease=LeasePolicy(wait_s=120.0))


def test_a_warm_shared_cache_serves_an_empty_machine(
    stdlib_subset: Corpus, sizes: Sizes, tmp_path: Path, redis_server: RedisServer, record: Callable[[Ratio], Ratio]
) -> None:
    with redis_server.client() as client:
        client.flushall()
    root = stdlib_subset.root
    checks = stdlib_subset.validated * len(DEFAULT_DIMENSIONS)
    cold_times, warm_times, remote_times = [], [], []
    for index in range(sizes.cold_rounds):
        with redis_server.client() as client:
            client.flushall()
        served: dict[str, tuple[int, int]] = {}
        with ValidationCache(tmp_path / f"cold-{index}", remote=_tier(redis_server)) as cache:
            cold_times.append(_timed(root, cache, served, "cold"))
            warm_times.append(_timed(root, cache, served, "warm"))
        with ValidationCache(tmp_path / f"remote-{index}", remote=_tier(redis_server)) as cache:
            remote_times.append(_timed(root, cache, served, "remote"))
            assert cache.remote is not None and cache.remote.counters.rejected == 0
        # (checks, served from a cache) of each side: the row measured what it claims.
        assert served == {"cold": (checks, 0), "warm": (checks, checks), "remote": (checks, checks)}, served
    cold, warm, remote = median(cold_times), median(warm_times), median(remote_times)
    sides = {"cold": cold, "local warm": warm, "remote warm": remote}
    record(
        Ratio(
            "8a",
            f"empty local + warm Redis / local warm, {len(stdlib_subset.files)} files",
            remote / warm,
            goal=2.0,
            guard=6.0,
            better="lower",
            detail=f"remote warm {remote:.3f} s, local warm {warm:.3f} s",
            sides=sides,
        )
    )
    record(
        Ratio(
            "8b",
            f"cold / empty local + warm Redis, {len(stdlib_subset.files)} files",
            cold / remote,
            goal=20.0,
            guard=8.0,
            better="higher",
            detail=f"cold {cold:.2f} s, remote warm {remote:.3f} s",
            sides=sides,
        )
    )


def _executed(process: subprocess.Popen[str], checks: int) -> int:
    """Checks the machine ran itself; it must have reported every one of ``checks``."""
    out, err = process.communicate(timeout=1800)
    assert process.returncode in (0, 1), err
    results = json.loads(out)["results"]
    assert len(results) == checks, f"{len(results)} results, {checks} checks"
    return sum(1 for r in results if not r["cached"])


def test_machines_started_together_run_each_check_about_once(
    stdlib_subset: Corpus, tmp_path: Path, redis_server: RedisServer, record: Callable[[Ratio], Ratio]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALIDATION_CACHE")}
    env |= {SIGNING_KEY_ENV: SIGNING_KEY, "VALIDATION_CACHE_REMOTE": redis_server.url}

    def machine(name: str) -> subprocess.Popen[str]:
        argv = [*memo_command(), "run", ".", "--format", "json", "--cache-dir", str(tmp_path / name)]
        return subprocess.Popen(argv, cwd=stdlib_subset.root, env=env, stdout=subprocess.PIPE, text=True)

    with redis_server.client() as client:
        client.flushall()
    checks = stdlib_subset.validated * len(DEFAULT_DIMENSIONS)
    one = _executed(machine("alone"), checks)
    assert one == checks, "a machine alone on an empty shared cache ran fewer checks than there are"
    with redis_server.client() as client:
        client.flushall()
    machines = [machine(f"m{i}") for i in range(4)]
    together = sum(_executed(p, checks) for p in machines)
    assert together >= checks, "machines on an empty shared cache ran fewer checks than there are"
    record(
        Ratio(
            "8c",
            "checks executed: 4 machines together, cold / one machine",
            together / one,
            goal=1.1,
            guard=2.0,
            better="lower",
            detail=f"{together} checks run by 4 machines, {one} by one; {sys.platform}",
        )
    )
