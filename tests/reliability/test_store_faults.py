"""Store faults (corrupt file, deleted or read-only directory, disk full): correct results, a warning, recovery."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import random
import shutil
import sqlite3
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

import memo.store
from memo import DiskStore, StoreError, ValidationCache, bind_cache, cachedir
from memo.credentials import LOCAL_KEY_ENV

from ._support import as_unprivileged, fingerprint, fingerprint_validator, is_root, shared_tmp, write_lock_held

FILES = 12


def _tree(root: Path, count: int = FILES) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = root / f"m{index}.py"
        path.write_text(f"x = {index}\n")
        paths.append(path)
    return paths


async def _run(cache_dir: Path, paths: list[Path], validator: Any) -> list[Any]:
    with ValidationCache(cache_dir) as cache, bind_cache(cache):
        return list(await asyncio.gather(*(validator(path).validate() for path in paths)))


def _assert_correct(results: list[Any], paths: list[Path]) -> None:
    assert [r.error for r in results] == [None] * len(paths)
    assert [r.findings[0].message for r in results] == [fingerprint("fingerprint", p.read_bytes()) for p in paths]


def _memo_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "memo"]


def _random_bytes(db: Path) -> None:
    db.write_bytes(random.Random(1).randbytes(db.stat().st_size))


def _truncate_half(db: Path) -> None:
    os.truncate(db, db.stat().st_size // 2)


def _truncate_inside_header(db: Path) -> None:
    os.truncate(db, 50)


def _garbage_pages(db: Path) -> None:
    data = bytearray(db.read_bytes())
    data[100:] = random.Random(2).randbytes(len(data) - 100)
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_random_bytes, _truncate_half, _truncate_inside_header, _garbage_pages])
async def test_a_corrupt_database_costs_one_warning_and_is_rebuilt(
    tmp_path: Path, damage: Any, caplog: pytest.LogCaptureFixture
) -> None:
    paths = _tree(tmp_path / "src")
    cache_dir = tmp_path / "cache"
    validator = fingerprint_validator()
    _assert_correct(await _run(cache_dir, paths, validator), paths)
    damage(cache_dir / "cache.db")
    with caplog.at_level(logging.WARNING, logger="memo"):
        after = await _run(cache_dir, paths, validator)
    _assert_correct(after, paths)
    warnings = _memo_warnings(caplog)
    assert len(warnings) == 1 and "corrupt" in warnings[0] and "rebuilt" in warnings[0]
    # Rebuilt, not switched off: the run after the repair is served from the cache.
    served = await _run(cache_dir, paths, validator)
    _assert_correct(served, paths)
    assert sum(r.cached for r in served) >= FILES - 1  # the call that found the damage stored nothing


async def test_a_cache_directory_deleted_mid_run_is_recreated_owner_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    paths = _tree(tmp_path / "src")
    first, second = paths[: FILES // 2], paths[FILES // 2 :]
    cache_dir = tmp_path / "cache"
    validator = fingerprint_validator(padding=500)  # value files too: they must not recreate the directory
    with ValidationCache(cache_dir) as cache, bind_cache(cache), caplog.at_level(logging.WARNING, logger="memo"):
        _assert_correct([await validator(p).validate() for p in first], first)
        shutil.rmtree(cache_dir)
        _assert_correct([await validator(p).validate() for p in second], second)
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    assert len(_memo_warnings(caplog)) == 1
    # Writes after the deletion went to the new database, not into the deleted file.
    served = await _run(cache_dir, second, validator)
    _assert_correct(served, second)
    assert sum(r.cached for r in served) == len(second) - 1


def _run_unprivileged(cache_dir: Path, paths: list[Path]) -> dict[str, Any]:
    """In a child that is not root: one run, its results, warnings and whether entries were written."""
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logging.getLogger("memo").addHandler(Collect(logging.WARNING))
    validator = fingerprint_validator()
    results = asyncio.run(_run(cache_dir, paths, validator))
    first_run_warnings = list(records)
    again = asyncio.run(_run(cache_dir, paths, validator))
    return {
        "messages": [r.findings[0].message if r.findings else r.error for r in results + again],
        "cached": sum(r.cached for r in again),
        "warnings": first_run_warnings,
    }


@pytest.mark.parametrize("with_database", [False, True], ids=["empty", "existing-database"])
def test_a_read_only_cache_directory_turns_caching_off_with_one_warning(
    with_database: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The local key by the environment: the unprivileged child cannot make a key file under root's config.
    monkeypatch.setenv(LOCAL_KEY_ENV, "k" * 40)
    with shared_tmp() as base:
        paths = _tree(base / "src")
        cache_dir = base / "cache"
        if with_database:
            asyncio.run(_run(cache_dir, paths, fingerprint_validator()))
        else:
            cache_dir.mkdir()
        if is_root():
            for path in [cache_dir, *cache_dir.rglob("*")]:
                os.chown(path, 65534, 65534)
        os.chmod(cache_dir, 0o500)
        try:
            outcome = as_unprivileged(lambda: _run_unprivileged(cache_dir, paths))
        finally:
            os.chmod(cache_dir, 0o700)
        expected = [fingerprint("fingerprint", p.read_bytes()) for p in paths]
    assert outcome["messages"] == expected * 2
    assert outcome["cached"] == 0
    assert len(outcome["warnings"]) == 1, outcome["warnings"]
    assert "cannot prepare cache directory" in outcome["warnings"][0] or "cannot open cache" in outcome["warnings"][0]


def _fill_then_fail(fd: int, data: bytes) -> None:
    """The value-file writer, finding the disk full after part of the value."""
    os.write(fd, data[:100])
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


async def test_disk_full_writing_a_value_file_skips_the_write_and_leaks_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    paths = _tree(tmp_path / "src")
    cache_dir = tmp_path / "cache"
    validator = fingerprint_validator(padding=500)
    monkeypatch.setattr(cachedir, "_write_all", _fill_then_fail)
    with caplog.at_level(logging.WARNING, logger="memo"):
        results = await _run(cache_dir, paths, validator)
    _assert_correct(results, paths)
    warnings = _memo_warnings(caplog)
    assert len(warnings) == 1 and "no space left on device" in warnings[0]
    assert list(cache_dir.rglob("*.val")) == []  # no half-written value file left behind
    monkeypatch.undo()
    await _run(cache_dir, paths, validator)
    served = await _run(cache_dir, paths, validator)
    assert all(r.cached for r in served)


async def test_a_full_database_keeps_serving_what_it_holds(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    paths = _tree(tmp_path / "src", count=60)
    cache_dir = tmp_path / "cache"
    validator = fingerprint_validator()
    store = DiskStore(cache_dir)
    cache = ValidationCache(store=store)
    # A real SQLITE_FULL: the connection may not grow the file past its current size.
    raw = store._open()
    (current,) = raw._sql("PRAGMA page_count").fetchone()
    raw._sql(f"PRAGMA max_page_count = {current + 1}")
    with bind_cache(cache), caplog.at_level(logging.WARNING, logger="memo"):
        results = [await validator(p).validate() for p in paths]
        _assert_correct(results, paths)
        stored = cache.stats()["entries"]
        served = [await validator(p).validate() for p in paths]
    _assert_correct(served, paths)
    assert 0 < stored < len(paths)
    assert sum(r.cached for r in served) == stored
    warnings = _memo_warnings(caplog)
    assert len(warnings) == 1 and "full" in warnings[0]
    store.close()


def test_a_directory_that_cannot_be_made_now_is_tried_again_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # As when another process is deleting the directory while this one opens it: the
    # failure is a miss and a warning, not the cache turned off for the rest of the run.
    from memo.store import OPEN_RETRY_S

    blocker = tmp_path / "parent"
    blocker.write_text("a file where the cache's parent directory should be")
    now = [0.0]
    cache = ValidationCache(store=DiskStore(blocker / "cache", clock=lambda: now[0]))
    source = _tree(tmp_path / "src", count=1)[0]
    key = cache.key_for(source, "fingerprint").key
    result = fingerprint_validator()
    with caplog.at_level(logging.WARNING, logger="memo"):
        assert cache.lookup(key, None) is None
        blocker.unlink()
        assert cache.lookup(key, None) is None  # within the back-off: not tried again yet
        now[0] += OPEN_RETRY_S
        assert cache.available
        assert cache.store(key, asyncio.run(result(source).validate()))
        assert cache.lookup(key, str(source)) is not None
    assert len(_memo_warnings(caplog)) == 1
    assert stat.S_IMODE((blocker / "cache").stat().st_mode) == 0o700
    cache.close()


class _Connection:
    """Stands in for a store's sqlite connection: counts ``BEGIN``s, notes locks, and can be broken.

    A broken one fails every statement the way a connection to a database another process
    deleted does ("disk I/O error" at each ``BEGIN``), while the file at the path, and so its
    ``(st_dev, st_ino)``, is as it was.
    """

    def __init__(self, real: sqlite3.Connection, broken: tuple[str, int] | None) -> None:
        self.real, self.broken = real, broken
        self.begins = 0
        self.locked = threading.Event()

    def execute(self, statement: str, *args: Any) -> Any:
        if statement.startswith("BEGIN"):
            self.begins += 1
        if self.broken is not None:
            message, code = self.broken
            error = sqlite3.OperationalError(message)
            error.sqlite_errorcode = code  # as sqlite reports it (Python 3.11+)
            raise error
        try:
            return self.real.execute(statement, *args)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                self.locked.set()
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _watch(store: DiskStore, broken: tuple[str, int] | None = None) -> _Connection:
    """Put a ``_Connection`` in place of the store's open connection (this thread's)."""
    raw = store._open()
    connection = _Connection(raw._local.con, broken)
    raw._local.con = connection
    return connection


DISK_IO_ERROR = ("disk I/O error", 10)  # SQLITE_IOERR
BROKEN = [DISK_IO_ERROR, ("no such table: Cache", 1), ("attempt to write a readonly database", 8)]


@pytest.mark.parametrize("broken", BROKEN, ids=["disk-io", "no-table", "readonly"])
def test_a_clear_failing_for_anything_but_a_lock_is_tried_once_not_spun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: tuple[str, int]
) -> None:
    # diskcache reports every error at BEGIN as a Timeout; only a lock is worth waiting for.
    monkeypatch.setattr(memo.store, "CLEAR_PATIENCE_S", 0.5)
    store = DiskStore(tmp_path / "cache")
    store.set("k", b"v", None)
    connection = _watch(store, broken)
    with pytest.raises(StoreError, match=broken[0]):
        store.clear()
    assert connection.begins == 1
    store.close()


def _get(store: DiskStore) -> object:
    return store.get("k")


def _sizes(store: DiskStore) -> object:
    return list(store.sizes())


OPERATIONS: dict[str, Any] = {
    "clear": DiskStore.clear,
    "set": lambda store: store.set("other", b"x", None),
    "get": _get,
    "delete": lambda store: store.delete("other"),
    "count": DiskStore.count,
    "size_bytes": DiskStore.size_bytes,
    "sizes": _sizes,
}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_connection_failing_for_anything_but_a_lock_is_reopened_by_the_next_call(
    tmp_path: Path, operation: str
) -> None:
    store = DiskStore(tmp_path / "cache")
    store.set("k", b"v", None)
    connection = _watch(store, DISK_IO_ERROR)
    with pytest.raises(StoreError, match="disk I/O error"):
        OPERATIONS[operation](store)
    # The database is sound; only the connection was not: the next calls reopen and work.
    assert store.get("k") == b"v"
    store.set("k2", b"w", None)
    assert store.get("k2") == b"w"
    assert store.count() == 2
    assert connection.begins <= 1  # the broken connection was not used again
    store.close()


def test_a_clear_waits_out_another_process_lock_with_bounded_patience(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = tmp_path / "cache"
    store = DiskStore(cache_dir, timeout=0.05)
    store.set("k", b"v", None)
    connection = _watch(store)
    # Never released: given up once the patience is spent, the connection kept.
    monkeypatch.setattr(memo.store, "CLEAR_PATIENCE_S", 0.3)
    with write_lock_held(cache_dir / "cache.db"), pytest.raises(StoreError, match="locked"):
        store.clear()
    assert connection.begins >= 2  # tried again, not failed at the first lock
    assert store.get("k") == b"v"
    # Released once a try has met the lock: the clear waits for it, then succeeds.
    monkeypatch.setattr(memo.store, "CLEAR_PATIENCE_S", 300.0)
    connection.locked.clear()
    tries = connection.begins
    with write_lock_held(cache_dir / "cache.db") as release:
        releaser = threading.Thread(target=lambda: (connection.locked.wait(), release()))
        releaser.start()
        assert store.clear() == 1
        releaser.join()
    assert connection.begins >= tries + 2  # the same connection, tried again after the lock
    assert store.count() == 0
    store.close()
