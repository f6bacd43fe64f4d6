"""Local leases: processes sharing one cache directory run each check once (``memo.locallease``)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from memo import ValidationCache, bind_cache
from memo.codec import encode_entry
from memo.explain import explain
from memo.locallease import LEASE_DIRECTORY, encode_lease, lease_is_free, this_process
from memo.results import ValidationResult
from memo.store import DiskStore
from tests.helpers import counting_validator_class, run_memo, write

MACHINE = Path(__file__).with_name("_local_machine.py")
FILES = 12
TIMEOUT_S = 120
"""A bound on a subprocess that hangs (a test failure), never a measure of speed."""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    for n in range(FILES):
        write(root / f"m{n:02d}.py", "x = 1  # TODO\n" if n % 3 == 0 else "x = 1\n")
    return root


def expected_results(root: Path) -> list[list[Any]]:
    return [
        [path.name, "TODO" not in path.read_text(), [1] if "TODO" in path.read_text() else []]
        for path in sorted(root.rglob("*.py"))
    ]


def machine(root: Path, cache_dir: Path, log: Path, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(MACHINE), str(root), str(cache_dir), str(log), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 0, err
    assert "Traceback" not in err, err
    report: dict[str, Any] = json.loads(out)
    return report


def executions(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def wait_for(condition: Any, process: subprocess.Popen[str] | None = None) -> None:
    """Block until ``condition()``; fail if ``process`` ends first (it would never come)."""
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"process ended first: {process.communicate()}")
        os.sched_yield()


def test_a_process_waits_for_the_check_another_process_is_running_and_uses_its_result(
    tmp_path: Path, tree: Path
) -> None:
    log, gate, polled = tmp_path / "log", tmp_path / "gate", tmp_path / "polled"
    holder = machine(tree, tmp_path / "cache", log, "--gate", str(gate))
    try:
        wait_for(lambda: len(executions(log)) == FILES, holder)  # it holds every lease, checks in flight
        waiter = machine(tree, tmp_path / "cache", log, "--polled", str(polled))
        wait_for(polled.exists, waiter)  # it is waiting on the holder's leases
        gate.touch()
        first, second = finished(holder), finished(waiter)
    finally:
        for process in (holder,):
            if process.poll() is None:
                process.kill()
    assert len(executions(log)) == FILES
    expected = expected_results(tree)
    assert [r[:3] for r in first["results"]] == expected == [r[:3] for r in second["results"]]
    assert [r[3] for r in first["results"]] == [False] * FILES
    assert [r[3] for r in second["results"]] == [True] * FILES
    assert second["leases"]["hits"] == FILES and second["leases"]["taken"] == 0
    assert second["leases"]["waits"] == FILES  # one wait per key, counted once each


def test_two_processes_started_together_run_each_check_once(tmp_path: Path, tree: Path) -> None:
    log, start = tmp_path / "log", tmp_path / "start"
    ready = [tmp_path / f"ready-{n}" for n in range(2)]
    processes = [
        machine(tree, tmp_path / "cache", log, "--ready", str(r), "--start", str(start), "--gate", str(start))
        for r in ready
    ]
    try:
        wait_for(lambda: all(r.exists() for r in ready))
        start.touch()
        reports = [finished(p) for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    ran = executions(log)
    assert sorted(line.split()[1] for line in ran) == [f"m{n:02d}.py" for n in range(FILES)]
    expected = expected_results(tree)
    assert all([r[:3] for r in report["results"]] == expected for report in reports)
    assert sum(not r[3] for report in reports for r in report["results"]) == FILES  # computed once in all


def test_a_killed_holders_checks_are_taken_over_without_waiting_out_the_expiry(tmp_path: Path, tree: Path) -> None:
    log, never, polled = tmp_path / "log", tmp_path / "never", tmp_path / "polled"
    # Leases that outlive the test's own hang bound: only noticing the holder's death frees them.
    holder = machine(tree, tmp_path / "cache", log, "--gate", str(never), "--lease-ms", "3600000")
    waiter = None
    try:
        wait_for(lambda: len(executions(log)) == FILES, holder)
        waiter = machine(
            tree, tmp_path / "cache", log, "--polled", str(polled), "--wait-s", "3600", "--lease-ms", "3600000"
        )
        wait_for(polled.exists, waiter)
        os.kill(holder.pid, signal.SIGKILL)  # not reaped yet: a zombie, which is gone too
        report = finished(waiter)
    finally:
        holder.kill()
        holder.wait()
        if waiter is not None and waiter.poll() is None:
            waiter.kill()
    assert [r[:3] for r in report["results"]] == expected_results(tree)
    assert [r[3] for r in report["results"]] == [False] * FILES
    assert report["leases"]["taken"] == FILES
    by_waiter = [line for line in executions(log) if line.startswith(f"{waiter.pid} ")]
    assert len(by_waiter) == FILES


async def test_one_process_alone_never_waits_and_takes_and_releases_its_leases_in_one_transaction_each(
    tmp_path: Path,
) -> None:
    files = [write(tmp_path / "src" / f"m{n}.py", f"x = {n}\n") for n in range(40)]
    Validator = counting_validator_class()
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache, root=tmp_path / "src"):
        leases = cache.local_leases()
        assert leases is not None
        transactions = 0
        update_many = leases.store.update_many

        def counted(*args: Any) -> None:
            nonlocal transactions
            transactions += 1
            update_many(*args)

        leases.store.update_many = counted  # type: ignore[method-assign,assignment]
        results = await asyncio.gather(*(Validator(path, {}, tmp_path / "src").validate() for path in files))
        await asyncio.sleep(0)  # let the release task run its batch
        assert cache.local_leases() is leases
        assert leases.counters.waits == 0 and leases.counters.hits == 0
        assert leases.counters.taken == len(files)
    assert Validator.calls == len(files) and all(not r.cached for r in results)
    assert transactions == 2  # one take, one release, for all 40 keys
    with _opened(tmp_path) as store:
        assert store.count() == 0  # every lease released


class _opened:
    """The leases' database of a cache directory, opened for inspection."""

    def __init__(self, tmp_path: Path) -> None:
        self.store = DiskStore(tmp_path / "cache" / LEASE_DIRECTORY)

    def __enter__(self) -> DiskStore:
        return self.store

    def __exit__(self, *_: object) -> None:
        self.store.close()


@pytest.mark.parametrize("how", ["disabled", "ttl 0"])
async def test_no_lease_is_taken_or_created_when_nothing_would_be_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    source = write(tmp_path / "src" / "m.py", "x = 1\n")
    if how == "disabled":
        monkeypatch.setenv("VALIDATION_CACHE_ENABLED", "false")
    cache = ValidationCache(tmp_path / "cache", ttl=0 if how == "ttl 0" else 3600)
    Validator = counting_validator_class()
    with cache, bind_cache(cache, root=tmp_path / "src"):
        await Validator(source, {}, tmp_path / "src").validate()
        await Validator(source, {}, tmp_path / "src").validate()
    assert Validator.calls == 2
    assert not (tmp_path / "cache" / LEASE_DIRECTORY).exists()


async def test_a_waiter_never_takes_a_foreign_or_expired_entry_for_the_holders(tmp_path: Path) -> None:
    source = write(tmp_path / "src" / "m.py", "x = 1  # TODO\n")
    root = tmp_path / "src"
    Validator = counting_validator_class(gate=asyncio.Event())
    holder_cache, waiter_cache = ValidationCache(tmp_path / "cache"), ValidationCache(tmp_path / "cache")
    with holder_cache, waiter_cache:
        with bind_cache(holder_cache, root=root):
            held = asyncio.ensure_future(Validator(source, {}, root).validate())
            while Validator.calls == 0:
                await asyncio.sleep(0)
        plan_key = _held_key(tmp_path)
        foreign = ValidationResult("todos", True, [], str(source))
        store = DiskStore(tmp_path / "cache")
        try:
            store.set(plan_key, encode_entry(plan_key + "-other", foreign, None), None)  # another key's entry
            leases = waiter_cache.local_leases()
            assert leases is not None
            polled = asyncio.Event()
            state = leases.lease_state

            async def observed(k: str) -> tuple[bytes | None, bool] | None:
                answer = await state(k)
                polled.set()
                return answer

            leases.lease_state = observed  # type: ignore[method-assign,assignment]
            with bind_cache(waiter_cache, root=root):
                waiting = asyncio.ensure_future(Validator(source, {}, root).validate())
                await polled.wait()
                assert not waiting.done()  # the foreign entry was not taken for the holder's
                store.set(plan_key, encode_entry(plan_key, foreign, 0.0), None)  # the right key, expired
                polled.clear()
                await polled.wait()
                assert not waiting.done()
                assert Validator.gate is not None
                Validator.gate.set()
                mine, theirs = await held, await waiting
        finally:
            store.close()
    assert Validator.calls == 1
    assert mine.passed is False and theirs.passed is False and theirs.cached
    assert [f.code for f in theirs.findings] == ["TD001"]


def _held_key(tmp_path: Path) -> str:
    with _opened(tmp_path) as store:
        keys = [key for key, _ in store.sizes()]
    assert len(keys) == 1
    return keys[0]


def test_a_lease_left_by_this_process_outside_any_flight_is_free(tmp_path: Path) -> None:
    me = this_process()
    assert not lease_is_free(encode_lease(me.__class__(me.host, me.boot, 1, ""), "t", 1e9 + 60), 1e9)  # pid 1 runs
    assert lease_is_free(encode_lease(me, "not-held-by-any-flight", 1e9 + 60), 1e9)
    assert lease_is_free(encode_lease(me, "t", 1e9), 1e9)  # expired
    assert lease_is_free(b"\x80pickled", 1e9) and lease_is_free(b'["h","b",0,"","t",2e9]', 1e9)


async def test_a_result_write_that_finds_the_database_busy_is_written_once_it_is_free(tmp_path: Path) -> None:
    source = write(tmp_path / "src" / "m.py", "x = 1\n")
    root = tmp_path / "src"
    cache = ValidationCache(tmp_path / "cache")
    Validator = counting_validator_class()
    with cache:
        assert cache.get(source, "todos") is None  # the database exists
        other = sqlite3.connect(tmp_path / "cache" / "cache.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process writing, for longer than the store's timeout
        try:
            with bind_cache(cache, root=root):
                result = await Validator(source, {}, root).validate()
                assert cache.peek(cache.key_for(source, "todos", validator="", root=root).key, None) is None
        finally:
            other.execute("COMMIT")
            other.close()
        await cache.settle_writes()
        assert cache.stats()["errors"] == 0
        with bind_cache(cache, root=root):
            again = await Validator(source, {}, root).validate()
    assert not result.cached and again.cached and Validator.calls == 1


def test_two_memo_runs_started_together_compute_each_check_once_and_report_what_a_no_cache_run_does(
    tmp_path: Path,
) -> None:
    root = tmp_path / "project"
    for n in range(6):
        write(root / "pkg" / f"m{n}.py", f"import os\n\n\ndef f{n}(x):\n    return x  # TODO\n")
    write(root / "pkg" / "bad.py", "import sys\nl = 1\nif l == 1 :\n    pass\n")
    argv = [sys.executable, "-m", "memo", "run", str(root), "--format", "json", "--cache-dir", str(tmp_path / "c")]
    env = {k: v for k, v in os.environ.items() if k != "VALIDATION_CACHE_ENABLED"}
    processes = [
        subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=TIMEOUT_S) for p in processes]
    for _, err in outputs:
        assert "Traceback" not in err and "failed" not in err, err
    reports = [json.loads(out) for out, _ in outputs]
    alone = json.loads(run_memo("run", str(root), "--format", "json", "--no-cache", cwd=tmp_path).stdout)
    checks = sum(r["file_path"] is not None for r in alone["results"])
    assert checks == 7 * 5
    assert sum(r["summary"]["cache_misses"] for r in reports) == checks
    for report in reports:
        assert _findings(report) == _findings(alone)


def _findings(report: dict[str, Any]) -> list[str]:
    """What a report says of each check, without how it was obtained (cached or not, how long)."""
    return sorted(
        json.dumps([r["dimension"], r["file_path"], r["status"], r["error"], r["findings"]], sort_keys=True)
        for r in report["results"]
    )


async def test_a_lease_taken_for_a_caller_cancelled_meanwhile_is_given_back(tmp_path: Path) -> None:
    with ValidationCache(tmp_path / "cache") as cache:
        leases = cache.local_leases()
        assert leases is not None
        leases.store.count()  # the database exists
        other = sqlite3.connect(tmp_path / "cache" / LEASE_DIRECTORY / "cache.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process writing: the batch waits its turn
        try:
            gone = asyncio.ensure_future(leases.try_lease("a", "token-a", 60_000))
            stays = asyncio.ensure_future(leases.try_lease("b", "token-b", 60_000))
            await asyncio.sleep(0)
            await asyncio.sleep(0)  # both in one batch, which is now waiting for the lock
            gone.cancel()
        finally:
            other.execute("COMMIT")
            other.close()
        assert await stays == (True, None)
        with pytest.raises(asyncio.CancelledError):
            await gone
        for _ in range(100):  # loop turns, not time: the release goes out as its own small batch
            if leases.store.get("a") is None:
                break
            await asyncio.sleep(0)
        assert leases.store.get("a") is None
        assert leases.store.get("b") is not None


def test_a_holder_killed_and_reaped_frees_its_leases_without_waiting_out_the_expiry(tmp_path: Path, tree: Path) -> None:
    """As above, but the holder is reaped first: its pid names no process at all, not a zombie."""
    log, never, polled = tmp_path / "log", tmp_path / "never", tmp_path / "polled"
    holder = machine(tree, tmp_path / "cache", log, "--gate", str(never), "--lease-ms", "3600000")
    try:
        wait_for(lambda: len(executions(log)) == FILES, holder)
    finally:
        holder.kill()
        os.waitpid(holder.pid, 0)  # reaped: /proc/<pid> is gone
        holder.returncode = -signal.SIGKILL
    assert not Path(f"/proc/{holder.pid}").exists()
    waiter = machine(tree, tmp_path / "cache", log, "--polled", str(polled), "--wait-s", "20", "--lease-ms", "3600000")
    try:
        report = finished(waiter)
    finally:
        if waiter.poll() is None:
            waiter.kill()
    assert [r[:3] for r in report["results"]] == expected_results(tree)
    assert report["leases"]["taken"] == FILES and report["leases"]["waits"] == 0
    assert not polled.exists()  # never waited on a lease of a process that is gone


PLANTED_HOLDER = ["another-host", "another-boot", 4242, "1", "planted"]


@pytest.mark.parametrize("expires_in", [86400.0, float("inf"), float("nan")], ids=["a-day-ahead", "infinity", "nan"])
def test_a_lease_expiring_further_ahead_than_a_lease_can_last_is_free(expires_in: float) -> None:
    now = 1e9
    planted = json.dumps([*PLANTED_HOLDER, now + expires_in]).encode()
    assert lease_is_free(planted, now, longest_s=120.0)
    within = json.dumps([*PLANTED_HOLDER, now + 120.0]).encode()
    assert not lease_is_free(within, now, longest_s=120.0)  # another host's live lease: waited on


async def test_planted_far_future_leases_of_another_host_cost_no_wait(tmp_path: Path) -> None:
    files = [write(tmp_path / "src" / f"m{n}.py", f"x = {n}  # TODO\n") for n in range(8)]
    Validator = counting_validator_class()
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache, root=tmp_path / "src"):
        keys = [explain(Validator(path, {}, tmp_path / "src")).key for path in files]
    assert all(keys)
    with _opened(tmp_path) as store:
        for key in keys:
            store.set(str(key), json.dumps([*PLANTED_HOLDER, time.time() + 86400]).encode(), None)
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache, root=tmp_path / "src"):
        results = await asyncio.gather(*(Validator(path, {}, tmp_path / "src").validate() for path in files))
        leases = cache.local_leases()
        assert leases is not None
        assert (leases.counters.waits, leases.counters.taken) == (0, len(files))
    assert Validator.calls == len(files) and not any(r.passed for r in results)


async def test_releasing_with_a_token_that_does_not_hold_the_lease_leaves_it(tmp_path: Path) -> None:
    source = write(tmp_path / "src" / "m.py", "x = 1\n")
    Validator = counting_validator_class()
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache, root=tmp_path / "src"):
        key = explain(Validator(source, {}, tmp_path / "src")).key
        assert key is not None
        leases = cache.local_leases()
        assert leases is not None
        other = encode_lease(this_process().__class__("another-host", "b", 7, "1"), "theirs", time.time() + 60)
        leases.store.set(key, other, None)
        leases.release(key, "not-theirs")
        leases.flush_releases()
        assert leases.store.get(key) == other
        leases.release(key, "theirs")
        leases.flush_releases()
        assert leases.store.get(key) is None
