"""Two tiers through the decorator: local disk first, then a real Redis, then the check itself."""

# ruff: noqa: F811  (the redis fixtures are imported, and named as arguments)

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from memo import ValidationCache, ValidationResult, bind_cache
from memo.codec import decode_entry, encode_entry
from memo.remote import KEY_PREFIX, READ_ONLY
from tests.helpers import counting_validator_class, write
from tests.remote_support import (  # noqa: F401
    RedisServer,
    attacker,
    free_port,
    make_tier,
    own_redis,
    redis_server,
    shared_redis,
)

MACHINE = Path(__file__).with_name("_remote_machine.py")


def tree(root: Path, count: int) -> list[Path]:
    return [write(root / f"m{i}.py", "x = 1\n" + ("# TODO\n" if i % 3 == 0 else "")) for i in range(count)]


def summary(results: list[Any]) -> list[tuple[str, bool, list[int]]]:
    return [(Path(r.file_path).name, r.passed, [f.line for f in r.findings]) for r in results]


async def validate_all(cls: type, files: list[Path], cache: ValidationCache, root: Path) -> list[Any]:
    with bind_cache(cache, root=root):
        return list(await asyncio.gather(*(cls(path, {}, root).validate() for path in files)))


async def test_a_remote_hit_skips_the_check_and_fills_the_local_tier(tmp_path: Path, redis_server: RedisServer) -> None:
    files = tree(tmp_path / "src", 12)
    first_cls, second_cls = counting_validator_class(), counting_validator_class()
    with ValidationCache(tmp_path / "a", remote=make_tier(redis_server.url)) as cache:
        first = await validate_all(first_cls, files, cache, tmp_path / "src")
    with ValidationCache(tmp_path / "b", remote=make_tier(redis_server.url)) as cache:
        second = await validate_all(second_cls, files, cache, tmp_path / "src")
        assert cache.remote is not None and cache.remote.counters.hits == 12
    assert (first_cls.calls, second_cls.calls) == (12, 0)
    assert summary(second) == summary(first) and all(r.cached for r in second)
    third_cls = counting_validator_class()
    with ValidationCache(tmp_path / "b") as local_only:  # no remote: served from b's disk
        assert summary(await validate_all(third_cls, files, local_only, tmp_path / "src")) == summary(first)
    assert third_cls.calls == 0


async def test_a_forged_entry_is_a_miss_and_never_reaches_the_local_tier(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    files = tree(tmp_path / "src", 3)
    honest = counting_validator_class()
    with ValidationCache(tmp_path / "a", remote=make_tier(redis_server.url)) as cache:
        truth = await validate_all(honest, files, cache, tmp_path / "src")
    with redis_server.client() as client:
        for name in client.scan_iter(match=KEY_PREFIX + "e:*"):
            key = name.decode()[len(KEY_PREFIX) + 2 :]
            planted = client.get(name)[-1000:].replace(b"false", b"true").replace(b"[[", b"[")  # type: ignore[index]
            client.set(name, attacker().seal(key, planted))
    victim = counting_validator_class()
    with ValidationCache(tmp_path / "b", remote=make_tier(redis_server.url)) as cache:
        got = await validate_all(victim, files, cache, tmp_path / "src")
        assert cache.remote is not None and cache.remote.counters.rejected == 6  # lookup, then lease read
    assert victim.calls == 3 and summary(got) == summary(truth)


def _forged(key: str, value: bytes, how: str) -> bytes:
    """``value`` as someone without the team's key can store it: signed with their own Ed25519 key, or bare."""
    return attacker().seal(key, value) if how == "another-key" else value


@pytest.mark.parametrize("how", ["another-key", "unsigned"])
async def test_a_well_formed_passing_entry_not_signed_by_a_trusted_key_never_hides_findings(
    tmp_path: Path, redis_server: RedisServer, how: str
) -> None:
    files = tree(tmp_path / "src", 3)
    honest = counting_validator_class()
    with ValidationCache(tmp_path / "a", remote=make_tier(redis_server.url)) as cache:
        truth = await validate_all(honest, files, cache, tmp_path / "src")
    assert [r.passed for r in truth] == [False, True, True]  # m0 has a finding to hide
    with redis_server.client() as client:
        names = list(client.scan_iter(match=KEY_PREFIX + "e:*"))
        assert len(names) == 3
        for name in names:
            key = name.decode()[len(KEY_PREFIX) + 2 :]
            entry = encode_entry(key, ValidationResult("todos", passed=True, findings=[]), None)
            assert decode_entry(key, entry, None, time.time()) is not None  # decodable: only the signature stops it
            client.set(name, _forged(key, entry, how))
    victim = counting_validator_class()
    with ValidationCache(tmp_path / "b", remote=make_tier(redis_server.url)) as cache:
        got = await validate_all(victim, files, cache, tmp_path / "src")
    assert summary(got) == summary(truth)  # m0's finding is reported
    assert victim.calls == 3


async def test_read_only_mode_runs_checks_and_writes_nothing_remote(tmp_path: Path, redis_server: RedisServer) -> None:
    files = tree(tmp_path / "src", 5)
    cls = counting_validator_class()
    with ValidationCache(tmp_path / "a", remote=make_tier(redis_server.url, mode=READ_ONLY)) as cache:
        await validate_all(cls, files, cache, tmp_path / "src")
    with redis_server.client() as client:
        assert client.dbsize() == 0
    again = counting_validator_class()
    with ValidationCache(tmp_path / "a") as cache:  # the local tier was written
        await validate_all(again, files, cache, tmp_path / "src")
    assert (cls.calls, again.calls) == (5, 0)


@pytest.mark.parametrize("fault", ["sigkill", "flushall"])
async def test_redis_killed_or_flushed_mid_run_leaves_every_result_right(
    tmp_path: Path, own_redis: RedisServer, fault: str
) -> None:
    files = tree(tmp_path / "src", 40)
    reference_cls = counting_validator_class()
    with ValidationCache(tmp_path / "ref") as cache:
        reference = await validate_all(reference_cls, files, cache, tmp_path / "src")
    warm = counting_validator_class()
    with ValidationCache(tmp_path / "warm", remote=make_tier(own_redis.url)) as cache:
        await validate_all(warm, files[:20], cache, tmp_path / "src")
    gate = asyncio.Event()
    cls = counting_validator_class(gate=gate)
    with ValidationCache(tmp_path / "b", remote=make_tier(own_redis.url)) as cache:
        running = asyncio.ensure_future(validate_all(cls, files, cache, tmp_path / "src"))
        for _ in range(1000):  # until the 20 misses are held at the gate
            if cls.calls == 20:
                break
            await asyncio.sleep(0.01)
        assert cls.calls == 20
        if fault == "sigkill":
            own_redis.kill()
        else:
            with own_redis.client() as client:
                client.flushall()
        gate.set()
        results = await running
    assert summary(results) == summary(reference)
    after = counting_validator_class()
    with ValidationCache(tmp_path / "b") as cache:  # nothing was lost locally
        await validate_all(after, files, cache, tmp_path / "src")
    assert after.calls == 0


async def test_an_unreachable_server_costs_one_warning_and_the_run_completes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    files = tree(tmp_path / "src", 30)
    cls = counting_validator_class()
    tier = make_tier(f"redis://127.0.0.1:{free_port()}/0")
    with caplog.at_level(logging.WARNING, logger="memo"), ValidationCache(tmp_path / "a", remote=tier) as cache:
        results = await validate_all(cls, files, cache, tmp_path / "src")
        assert tier.counters.errors == 1
    assert cls.calls == 30 and all(r.error is None for r in results)
    assert len([r for r in caplog.records if "remote cache" in r.getMessage()]) == 1


# -- machines: processes with their own local cache directories ---------------------------


def machine(root: Path, cache_dir: Path, url: str, log: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(MACHINE), str(root), str(cache_dir), url, str(log), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=240)
    assert process.returncode == 0, err
    return dict(json.loads(out))


def executions(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_two_machines_share_results(tmp_path: Path, redis_server: RedisServer) -> None:
    tree(tmp_path / "src", 15)
    log = tmp_path / "runs.log"
    first = finish(machine(tmp_path / "src", tmp_path / "a", redis_server.url, log))
    assert len(executions(log)) == 15
    second = finish(machine(tmp_path / "src", tmp_path / "b", redis_server.url, log))
    assert len(executions(log)) == 15
    assert second["results"] == first["results"]
    assert second["stats"]["remote"]["hits"] == 15


def test_machines_started_together_run_each_check_once(tmp_path: Path, redis_server: RedisServer) -> None:
    tree(tmp_path / "src", 25)
    log = tmp_path / "runs.log"
    machines = [machine(tmp_path / "src", tmp_path / f"c{i}", redis_server.url, log) for i in range(3)]
    outputs = [finish(p) for p in machines]
    assert len(executions(log)) == 25
    assert outputs[0]["results"] == outputs[1]["results"] == outputs[2]["results"]


def test_a_killed_lease_holders_check_is_run_by_another_machine(tmp_path: Path, redis_server: RedisServer) -> None:
    tree(tmp_path / "src", 1)
    log = tmp_path / "runs.log"
    holder = machine(tmp_path / "src", tmp_path / "a", redis_server.url, log, "--hold", "--lease-ms", "8000")
    try:
        deadline = time.monotonic() + 120
        while not executions(log) and time.monotonic() < deadline:  # until it holds the lease and runs
            time.sleep(0.02)
        assert len(executions(log)) == 1
        with redis_server.client() as client:
            assert len(client.keys(KEY_PREFIX + "l:*")) == 1  # its lease, left behind when it dies
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.communicate(timeout=30)
    second = finish(machine(tmp_path / "src", tmp_path / "b", redis_server.url, log))
    assert len(executions(log)) == 2
    assert second["results"] == [["m0.py", False, [2]]]
    assert second["stats"]["remote"]["lease_waits"] == 1
