"""A database another process holds locked: a bounded miss, never a stalled event loop or a cache turned off."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from memo import DiskStore, StoreError, ValidationCache, ValidationResult, bind_cache
from memo.store import OPEN_RETRY_S

from ._support import fingerprint, fingerprint_validator, write_lock_held

TIMEOUT = 0.05


def _seed(cache_dir: Path) -> None:
    """Create the database, so there is something for another process to lock."""
    with ValidationCache(cache_dir) as cache:
        cache.invalidate_all()


async def _max_loop_stall(work: asyncio.Future[object]) -> float:
    """The longest the loop went without running this ticker while ``work`` ran."""
    loop = asyncio.get_running_loop()
    worst, last = 0.0, loop.time()
    while not work.done():
        await asyncio.sleep(0)
        now = loop.time()
        worst, last = max(worst, now - last), now
    return worst


@pytest.mark.stress
async def test_opening_a_locked_database_blocks_the_loop_no_longer_than_the_timeout(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # diskcache's own open retries "database is locked" for 60 s with time.sleep; the
    # bound below is twenty times the configured timeout and a thirtieth of that.
    source = tmp_path / "a.py"
    source.write_text("x = 1\n")
    cache_dir = tmp_path / "cache"
    _seed(cache_dir)
    validator = fingerprint_validator()
    with write_lock_held(cache_dir / "cache.db"), caplog.at_level(logging.WARNING, logger="memo"):
        cache = ValidationCache(cache_dir, timeout=TIMEOUT)
        with cache, bind_cache(cache):
            call = asyncio.ensure_future(validator(source).validate())
            stall = await _max_loop_stall(call)
            result = call.result()
    assert stall < TIMEOUT + 1.0
    assert result.findings[0].message == fingerprint("fingerprint", source.read_bytes())
    assert result.error is None and result.cached is False
    warnings = [r.getMessage() for r in caplog.records if r.name == "memo"]
    assert len(warnings) == 1 and "database is locked" in warnings[0]


def test_a_transient_lock_costs_misses_then_the_cache_opens(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    _seed(cache_dir)
    now = [0.0]
    store = DiskStore(cache_dir, timeout=TIMEOUT, clock=lambda: now[0])
    cache = ValidationCache(store=store)
    with write_lock_held(cache_dir / "cache.db") as release:
        assert cache.lookup("k", None) is None
        release()
        # Within the back-off the store does not try again: a miss costs nothing.
        with pytest.raises(StoreError, match="trying again shortly"):
            store.get("k")
        now[0] += OPEN_RETRY_S
        assert store.get("k") is None
        store.set("k", b"v", None)
        assert store.get("k") == b"v"
    assert cache.available
    stats = cache.stats()
    assert stats["available"] and stats["entries"] == 1
    store.close()


def _twenty_files(tmp_path: Path) -> tuple[Path, list[Path], Any]:
    """A cache directory to be, twenty distinct files, and a fingerprinting validator."""
    files = [tmp_path / f"f{index}.py" for index in range(20)]
    for index, path in enumerate(files):
        path.write_text(f"x = {index}\n")
    return tmp_path / "cache", files, fingerprint_validator()


async def test_writes_while_another_process_holds_the_lock_are_written_once_it_is_released(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache_dir, files, validator = _twenty_files(tmp_path)
    with ValidationCache(cache_dir, timeout=TIMEOUT) as cache, bind_cache(cache):
        await validator(files[0]).validate()  # opened and stored before the lock
        with caplog.at_level(logging.WARNING, logger="memo"):
            with write_lock_held(cache_dir / "cache.db"):
                results = await asyncio.gather(*(validator(path).validate() for path in files))
            await cache.settle_writes()
        assert [r.findings[0].message for r in results] == [fingerprint("fingerprint", p.read_bytes()) for p in files]
        assert results[0].cached is True  # reads still work under another's write lock
        assert all(r.cached is False for r in results[1:])
        assert [r for r in caplog.records if r.name == "memo"] == []
        again = await asyncio.gather(*(validator(path).validate() for path in files))
    assert [r.findings[0].message for r in again] == [r.findings[0].message for r in results]
    assert all(r.cached for r in again)
    assert sum(validator.runs.values()) == 1 + 19  # the 19 writes kept out were written, not lost
    assert cache.stats()["entries"] == 20


async def test_writes_kept_out_longer_than_the_patience_are_skipped_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import memo.deferred

    monkeypatch.setattr(memo.deferred, "WRITE_PATIENCE_S", 0.0)
    cache_dir, files, validator = _twenty_files(tmp_path)
    with ValidationCache(cache_dir, timeout=TIMEOUT) as cache, bind_cache(cache):
        await validator(files[0]).validate()  # opened and stored before the lock
        with write_lock_held(cache_dir / "cache.db"), caplog.at_level(logging.WARNING, logger="memo"):
            results = await asyncio.gather(*(validator(path).validate() for path in files))
            await cache.settle_writes()  # tried again under the lock, then given up
        assert [r.findings[0].message for r in results] == [fingerprint("fingerprint", p.read_bytes()) for p in files]
        assert all(r.cached is False for r in results[1:])
        assert len([r for r in caplog.records if r.name == "memo"]) == 1
        again = await asyncio.gather(*(validator(path).validate() for path in files))
    assert [r.findings[0].message for r in again] == [r.findings[0].message for r in results]
    assert sum(validator.runs.values()) == 1 + 19 + 19  # the 19 skipped writes are computed again
    assert cache.stats()["entries"] == 20


def test_invalidate_all_under_another_process_lock_gives_up_instead_of_spinning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # diskcache's clear(retry=True) would retry until the lock is released: here, never.
    import memo.store

    monkeypatch.setattr(memo.store, "CLEAR_PATIENCE_S", 0.2)
    source = tmp_path / "a.py"
    source.write_text("x = 1\n")
    with ValidationCache(tmp_path / "cache", timeout=TIMEOUT) as cache:
        cache.set(source, "lint", ValidationResult("lint", True, file_path=str(source)))
        with write_lock_held(tmp_path / "cache" / "cache.db"), caplog.at_level(logging.WARNING, logger="memo"):
            assert cache.invalidate_all() == 0
        assert cache.available
        assert len([r for r in caplog.records if r.name == "memo"]) == 1
        assert cache.invalidate_all() == 1
