"""Nothing read back from the cache is ever unpickled, and foreign entries are dropped."""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import diskcache
import pytest

from memo import Finding, MemoryStore, ValidationCache, ValidationResult
from memo.codec import decode_entry, encode_entry
from memo.store import DiskStore
from tests.helpers import counting_validator_class, write


class _Payload:
    """Unpickling this creates a marker file: proof that a pickle was executed."""

    def __init__(self, marker: Path, padding: int = 0) -> None:
        self.marker = marker
        self.padding = "x" * padding

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def _plant(cache_dir: Path, key: str, payload: Any) -> None:
    """Write ``payload`` under ``key`` with diskcache's default (pickling) Disk, as an attacker would."""
    with diskcache.Cache(str(cache_dir)) as raw:
        raw.set(key, payload)


@pytest.mark.parametrize("padding", [0, 100_000], ids=["inline", "in-file"])
def test_planted_pickle_is_never_executed(tmp_path: Path, padding: int, caplog: pytest.LogCaptureFixture) -> None:
    source = write(tmp_path / "a.py", "x = 1\n")
    marker = tmp_path / "pwned"
    cache_dir = tmp_path / "cache"
    with ValidationCache(cache_dir) as cache:
        cache.set(source, "lint", ValidationResult("lint", True, file_path=str(source)))
        key = cache.key_for(source, "lint").key
    _plant(cache_dir, key, _Payload(marker, padding))
    with caplog.at_level(logging.WARNING, logger="memo"), ValidationCache(cache_dir) as cache:
        assert cache.get(source, "lint") is None
        stats = cache.stats()
        assert (stats["errors"], stats["rejected"]) == (1, 1)
        assert stats["entries"] == 0  # the planted entry was removed
        cache.set(source, "lint", ValidationResult("lint", True, file_path=str(source)))
        assert cache.get(source, "lint") is not None
    assert not marker.exists()
    assert any("refusing" in record.getMessage() for record in caplog.records)


async def test_planted_pickle_is_never_executed_through_the_decorator(tmp_path: Path) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    marker = tmp_path / "pwned"
    await validator(source).validate()
    cache_dir = tmp_path / "default-cache"
    with diskcache.Cache(str(cache_dir)) as raw:
        keys = list(raw.iterkeys())
    assert len(keys) == 1
    from memo import reset_default_cache

    reset_default_cache()
    _plant(cache_dir, keys[0], _Payload(marker))
    result = await validator(source).validate()
    assert result.cached is False
    assert validator.calls == 2
    assert not marker.exists()


def test_store_refuses_to_write_anything_but_bytes(tmp_path: Path) -> None:
    from memo import DiskStore, StoreError

    store = DiskStore(tmp_path / "cache")
    with pytest.raises(StoreError):
        store.set("k", {"not": "bytes"}, None)  # type: ignore[arg-type]
    store.close()


def test_entry_under_another_key_is_a_miss_and_removed(tmp_path: Path) -> None:
    one = write(tmp_path / "a.py", "x = 1\n")
    two = write(tmp_path / "b.py", "x = 2\n")
    cache_dir = tmp_path / "cache"
    with ValidationCache(cache_dir) as cache:
        cache.set(one, "lint", ValidationResult("lint", False, file_path=str(one)))
        key_one, key_two = cache.key_for(one, "lint").key, cache.key_for(two, "lint").key
    with diskcache.Cache(str(cache_dir)) as raw:
        raw.set(key_two, raw.get(key_one))  # a copied row: right format, wrong key
    with ValidationCache(cache_dir) as cache:
        assert cache.get(two, "lint") is None
        assert cache.stats()["rejected"] == 1
        assert cache.get(one, "lint") is not None
    with diskcache.Cache(str(cache_dir)) as raw:
        assert key_two not in raw


@pytest.mark.parametrize(
    "data",
    [b"", b"not json", b"[]", b'{"schema": 999}', json.dumps({"schema": 1, "key": "k"}).encode(), "text"],
)
def test_malformed_entries_are_rejected(data: Any) -> None:
    from memo import UnsafeEntryError

    with pytest.raises(UnsafeEntryError):
        decode_entry("k", data, "a.py", now=0.0)


def test_result_round_trips_exactly_through_the_stored_format() -> None:
    result = ValidationResult(
        "security",
        passed=False,
        findings=[
            Finding("/w/a.py", 3, 7, "B101", "assert used", "warning"),
            Finding("/w/other.py", 1, 1, "X", "ünïcode \n message", "info"),
        ],
        file_path="/w/a.py",
        duration_s=0.25,
    )
    data = encode_entry("k", result, expires_at=None)
    back = decode_entry("k", data, "/w/a.py", now=0.0)
    assert back is not None
    assert back.to_dict() == {**result.to_dict(), "cached": True}
    assert ValidationResult.from_dict(result.to_dict()) == result


def test_memory_store_passes_the_same_cache_behaviour(tmp_path: Path) -> None:
    now = [0.0]
    source = write(tmp_path / "a.py", "x = 1\n")
    cache = ValidationCache(store=MemoryStore(clock=lambda: now[0]), ttl=5, clock=lambda: now[0])
    cache.set(source, "lint", ValidationResult("lint", True, file_path=str(source)))
    assert cache.get(source, "lint") is not None
    now[0] = 5.0
    assert cache.get(source, "lint") is None
    assert cache.stats()["entries"] == 0
    assert not (tmp_path / "cache").exists()


# -- a planted row never reaches a path outside the cache -----------------------------------

MODE_RAW, MODE_BINARY = 1, 2
VALUE_NAME = "ab/cd/" + "0" * 28 + ".val"


def _plant_row(
    cache_dir: Path, key: str, *, mode: int, filename: str | None, value: Any = None, **times: float
) -> None:
    """Write a Cache row as an attacker with write access to the database file would."""
    import sqlite3
    import time

    now = time.time()
    columns = {"store_time": now, "expire_time": None, "access_time": now, **times}
    with sqlite3.connect(cache_dir / "cache.db") as con:
        con.execute(
            "INSERT OR REPLACE INTO Cache"
            " (key, raw, store_time, expire_time, access_time, access_count, tag, size, mode, filename, value)"
            " VALUES (?, 1, ?, ?, ?, 0, NULL, 0, ?, ?, ?)",
            (key, columns["store_time"], columns["expire_time"], columns["access_time"], mode, filename, value),
        )
    con.close()


def _outside_victims(tmp_path: Path) -> dict[str, tuple[str, Path]]:
    """Row filenames naming something outside ``tmp_path / "cache"``, with what must survive."""
    cache_dir = tmp_path / "cache"
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "sub" / "victim.val").write_text("the user's file")
    (outside / "empty").mkdir()
    (outside / "linked" / "cd").mkdir(parents=True)
    (outside / "linked" / "cd" / ("0" * 28 + ".val")).write_text("the user's file")
    (cache_dir / "ab").symlink_to(outside / "linked")
    return {
        "relative": ("../outside/sub/victim.val", outside / "sub" / "victim.val"),
        "absolute": (str(outside / "sub" / "victim.val"), outside / "sub" / "victim.val"),
        "empty-parents": ("../outside/empty/missing.val", outside / "empty"),  # removedirs would take it
        "symlinked-directory": (VALUE_NAME, outside / "linked" / "cd" / ("0" * 28 + ".val")),
    }


def _reject(store: Any, cache_dir: Path, key: str) -> None:
    # The cache reads the row, refuses its bytes as not an entry of ours, and deletes it.
    cache = ValidationCache(store=store)
    assert cache.lookup(key, None) is None
    assert cache.stats()["rejected"] == 1


def _get(store: Any, cache_dir: Path, key: str) -> None:
    from memo import StoreError

    with pytest.raises(StoreError):
        store.get(key)


def _evict(store: Any, cache_dir: Path, key: str) -> None:
    store.set("newer", b"n" * 1000, None)  # over the size limit: the oldest rows are culled


def _expire(store: Any, cache_dir: Path, key: str) -> None:
    store.set("newer", b"n", None)  # every write first drops expired rows


ROW_OPERATIONS: dict[str, Callable[[Any, Path, str], Any]] = {
    "rejection": _reject,
    "refused-read": _get,
    "delete": lambda store, cache_dir, key: store.delete(key),
    "overwrite": lambda store, cache_dir, key: store.set(key, b"new", None),
    "eviction": _evict,
    "expiry": _expire,
    "clear": lambda store, cache_dir, key: store.clear(),
}


@pytest.mark.parametrize("operation", sorted(ROW_OPERATIONS))
@pytest.mark.parametrize("name", ["relative", "absolute", "empty-parents", "symlinked-directory"])
def test_a_row_naming_a_file_outside_the_cache_never_touches_it(tmp_path: Path, name: str, operation: str) -> None:
    from memo import DiskStore

    cache_dir = tmp_path / "cache"
    store = DiskStore(cache_dir, size_limit=1 if operation == "eviction" else 2**30)
    store.set("seed", b"s", None)
    filename, victim = _outside_victims(tmp_path)[name]
    times = {"store_time": 0.0} if operation == "eviction" else {}
    if operation == "expiry":
        times["expire_time"] = 1.0
    mode = MODE_BINARY if operation == "refused-read" else MODE_RAW
    _plant_row(cache_dir, "planted", mode=mode, filename=filename, value=b"not an entry", **times)
    ROW_OPERATIONS[operation](store, cache_dir, "planted")
    store.close()
    assert victim.exists()
    if operation not in ("eviction", "expiry"):
        with diskcache.Cache(str(cache_dir)) as raw:
            assert ("planted" in raw) is (operation == "overwrite")


# -- a value file is read only when it is a regular file inside the cache -------------------


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


VALUE_FILE_TRAPS: dict[str, Callable[[Path, Path], None]] = {
    # Each makes the correctly named value file ``target`` something that must not be read.
    "symlink-to-fifo": lambda target, tmp: target.symlink_to(_fifo(tmp)),
    "symlink-to-dev-zero": lambda target, tmp: target.symlink_to("/dev/zero"),
    "fifo": lambda target, tmp: os.mkfifo(target),
    "symlink-to-a-forged-entry": lambda target, tmp: target.symlink_to(tmp / "forged.val"),
    "over-the-size-cap": lambda target, tmp: os.truncate(target.open("wb").name, 2**26 + 1),
}


@pytest.mark.timeout(20)  # without the fix the FIFO cases hang and /dev/zero reads without end
@pytest.mark.parametrize("trap", sorted(VALUE_FILE_TRAPS))
def test_a_value_file_that_is_not_a_regular_file_is_refused_without_reading(tmp_path: Path, trap: str) -> None:
    from memo import DiskStore, UnsafeEntryError

    cache_dir = tmp_path / "cache"
    (tmp_path / "forged.val").write_bytes(b"forged")
    store = DiskStore(cache_dir)
    store.set("seed", b"s", None)
    target = cache_dir / VALUE_NAME
    target.parent.mkdir(parents=True)
    VALUE_FILE_TRAPS[trap](target, tmp_path)
    _plant_row(cache_dir, "planted", mode=MODE_BINARY, filename=VALUE_NAME)
    with pytest.raises(UnsafeEntryError, match="refusing value file"):
        store.get("planted")
    assert store.get("planted") is None  # the row was dropped
    assert store.get("seed") == b"s"
    store.close()
    assert (tmp_path / "forged.val").read_bytes() == b"forged"


def test_a_symlinked_value_directory_is_refused_not_followed(tmp_path: Path) -> None:
    from memo import DiskStore, UnsafeEntryError

    cache_dir = tmp_path / "cache"
    store = DiskStore(cache_dir)
    store.set("seed", b"s", None)
    elsewhere = tmp_path / "elsewhere" / "cd"
    elsewhere.mkdir(parents=True)
    (elsewhere / ("0" * 28 + ".val")).write_bytes(b"forged")
    (cache_dir / "ab").symlink_to(elsewhere.parent)
    _plant_row(cache_dir, "planted", mode=MODE_BINARY, filename=VALUE_NAME)
    with pytest.raises(UnsafeEntryError):
        store.get("planted")
    store.close()
    assert (elsewhere / ("0" * 28 + ".val")).read_bytes() == b"forged"


def test_large_values_round_trip_through_value_files_owner_only(tmp_path: Path) -> None:
    from memo import DiskStore

    store = DiskStore(tmp_path / "cache")
    store.set("big", b"v" * 100_000, None)
    assert store.get("big") == b"v" * 100_000
    (value_file,) = (tmp_path / "cache").rglob("*.val")
    assert stat.S_IMODE(value_file.stat().st_mode) == 0o600
    store.delete("big")
    store.close()
    assert list((tmp_path / "cache").rglob("*.val")) == []
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["CACHEDIR.TAG", "cache.db"]  # and no ab/cd/


# -- nothing else in a restored cache directory can reach outside it -------------------------


def test_a_cachedir_tag_symlink_is_not_written_through(tmp_path: Path) -> None:
    from memo import DiskStore

    cache_dir = tmp_path / "cache"
    cache_dir.mkdir(mode=0o700)
    (cache_dir / "CACHEDIR.TAG").symlink_to(tmp_path / "created-outside")
    store = DiskStore(cache_dir)
    store.set("k", b"v", None)
    assert store.get("k") == b"v"
    store.close()
    assert not (tmp_path / "created-outside").exists()


def test_a_database_symlink_to_another_database_is_removed_not_written_into(tmp_path: Path) -> None:
    import sqlite3

    from memo import DiskStore, StoreError

    users_db = tmp_path / "users.sqlite"
    with sqlite3.connect(users_db) as con:
        con.execute("CREATE TABLE notes (text TEXT)")
    con.close()
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir(mode=0o700)
    (cache_dir / "cache.db").symlink_to(users_db)
    store = DiskStore(cache_dir, clock=lambda: 10.0**9)
    with pytest.raises(StoreError, match="not a database file of its own"):
        store.get("k")
    store._retry_open_at = float("-inf")
    store.set("k", b"v", None)
    assert store.get("k") == b"v"
    store.close()
    with sqlite3.connect(users_db) as con:
        tables = [row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    con.close()
    assert tables == ["notes"]
    assert not (cache_dir / "cache.db").is_symlink()


@pytest.mark.parametrize(
    ("setting", "value"),
    [("disk_unknown_option", 1), ("sqlite_query_only", 1)],
    ids=["foreign-disk-setting", "planted-pragma"],
)
def test_settings_planted_in_the_database_are_not_applied(tmp_path: Path, setting: str, value: Any) -> None:
    import sqlite3

    from memo import DiskStore

    cache_dir = tmp_path / "cache"
    store = DiskStore(cache_dir)
    store.set("seed", b"s", None)
    store.close()
    with sqlite3.connect(cache_dir / "cache.db") as con:
        con.execute("INSERT OR REPLACE INTO Settings VALUES (?, ?)", (setting, value))
    con.close()
    store = DiskStore(cache_dir)
    assert store.get("seed") == b"s"
    store.set("k", b"v", None)  # not a read-only database, not a TypeError out of the store
    assert store.get("k") == b"v"
    store.close()


def test_the_database_is_read_through_a_small_page_cache_not_mapped_into_memory(tmp_path: Path) -> None:
    """A warm run reads each entry once; mapping the database in only grows the run's memory."""
    store = DiskStore(tmp_path / "cache")
    store.set("k", b"v", None)
    connection = store._open()._con
    assert connection.execute("PRAGMA mmap_size").fetchone()[0] == 0
    assert connection.execute("PRAGMA cache_size").fetchone()[0] == 1024
    store.close()
