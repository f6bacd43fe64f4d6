"""Security: nothing read from the cache runs code or escapes it; untrusted directories are not used."""

from __future__ import annotations

import asyncio
import logging
import os
import pickle  # nosec B403 - plants pickles to prove memo never loads them
import sqlite3
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from memo import DiskStore, UnsafeEntryError, ValidationCache, ValidationResult, bind_cache
from memo.codec import encode_entry
from memo.decorator import plan_call

from ._support import fingerprint, fingerprint_validator, is_root

MODE_RAW, MODE_BINARY, MODE_TEXT, MODE_PICKLE = 1, 2, 3, 4


class _Payload:
    """Unpickling this creates ``marker``: proof that a pickle was executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def _plant(cache_dir: Path, key: str, *, mode: int, value: Any = None, filename: str | None = None) -> None:
    """Write a Cache row as an attacker with write access to the database file would."""
    now = time.time()
    with sqlite3.connect(cache_dir / "cache.db") as con:
        con.execute(
            "INSERT OR REPLACE INTO Cache"
            " (key, raw, store_time, expire_time, access_time, access_count, tag, size, mode, filename, value)"
            " VALUES (?, 1, ?, NULL, ?, 0, NULL, 0, ?, ?, ?)",
            (key, now, now, mode, filename, value),
        )


def _value_file(cache_dir: Path, data: bytes) -> str:
    """A value file with a name of diskcache's own pattern, holding ``data``."""
    name = "ab/cd/" + "0" * 28 + ".val"
    (cache_dir / "ab" / "cd").mkdir(parents=True, exist_ok=True)
    (cache_dir / name).write_bytes(data)
    return name


def _pickle_rows(cache_dir: Path, marker: Path) -> dict[str, dict[str, Any]]:
    data = pickle.dumps(_Payload(marker))
    return {
        "pickle-inline": {"mode": MODE_PICKLE, "value": data},
        "pickle-in-file": {"mode": MODE_PICKLE, "filename": _value_file(cache_dir, data)},
        "pickle-as-raw-bytes": {"mode": MODE_RAW, "value": data},
        "pickle-as-binary-file": {"mode": MODE_BINARY, "filename": _value_file(cache_dir, data)},
        "text-mode": {"mode": MODE_TEXT, "filename": _value_file(cache_dir, data)},
    }


READ_PATHS: dict[str, Callable[[ValidationCache, Path, str], Any]] = {
    "ValidationCache.get": lambda cache, source, key: cache.get(source, "fingerprint", validator="v"),
    "ValidationCache.lookup": lambda cache, source, key: cache.lookup(key, str(source)),
    "stats": lambda cache, source, key: cache.stats() and cache.lookup(key, str(source)),
}


@pytest.mark.parametrize("row", ["pickle-inline", "pickle-in-file", "pickle-as-raw-bytes", "pickle-as-binary-file"])
@pytest.mark.parametrize("read", sorted(READ_PATHS))
def test_a_planted_pickle_is_never_executed_on_any_read_path(tmp_path: Path, row: str, read: str) -> None:
    source = tmp_path / "a.py"
    source.write_text("x = 1\n")
    cache_dir, marker = tmp_path / "cache", tmp_path / "pwned"
    with ValidationCache(cache_dir) as cache:
        key = cache.key_for(source, "fingerprint", validator="v").key
        cache.invalidate_all()
    _plant(cache_dir, key, **_pickle_rows(cache_dir, marker)[row])
    with ValidationCache(cache_dir) as cache:
        assert READ_PATHS[read](cache, source, key) is None
        assert cache.stats()["rejected"] == 1
        assert cache.stats()["entries"] == 0  # the planted row is removed
    assert not marker.exists()


@pytest.mark.parametrize("row", ["pickle-inline", "pickle-in-file", "text-mode", "pickle-as-binary-file"])
async def test_a_planted_pickle_is_never_executed_through_the_decorator(tmp_path: Path, row: str) -> None:
    source = tmp_path / "a.py"
    source.write_text("x = 1\n")
    cache_dir, marker = tmp_path / "cache", tmp_path / "pwned"
    validator = fingerprint_validator()
    with ValidationCache(cache_dir) as cache, bind_cache(cache):
        plan = plan_call(validator(source), "fingerprint")
        assert plan is not None
        cache.invalidate_all()
        _plant(cache_dir, plan.key, **_pickle_rows(cache_dir, marker)[row])
        result = await validator(source).validate()
        again = await validator(source).validate()
    assert result.cached is False and again.cached is True
    assert again.findings[0].message == fingerprint("fingerprint", source.read_bytes())
    assert not marker.exists()


def test_the_store_itself_refuses_every_pickled_mode(tmp_path: Path) -> None:
    cache_dir, marker = tmp_path / "cache", tmp_path / "pwned"
    store = DiskStore(cache_dir)
    store.set("seed", b"x", None)
    for name, row in _pickle_rows(cache_dir, marker).items():
        if name in ("pickle-as-raw-bytes", "pickle-as-binary-file"):
            continue  # bytes modes return bytes; the codec then refuses them as JSON
        _plant(cache_dir, name, **row)
        with pytest.raises(UnsafeEntryError):
            store.get(name)
    store.close()
    assert not marker.exists()


async def test_a_value_file_outside_the_cache_is_never_read(tmp_path: Path) -> None:
    # A forged but well-formed entry kept outside the cache: a row naming it would serve it.
    source = tmp_path / "a.py"
    source.write_text("x = 1\n")
    cache_dir = tmp_path / "cache"
    validator = fingerprint_validator()
    with ValidationCache(cache_dir) as cache, bind_cache(cache):
        plan = plan_call(validator(source), "fingerprint")
        assert plan is not None
        forged = tmp_path / "forged.val"
        forged.write_bytes(encode_entry(plan.key, ValidationResult("fingerprint", True, []), None))
        cache.invalidate_all()
        for filename in (str(forged), "../forged.val", "ab/../../forged.val"):
            _plant(cache_dir, plan.key, mode=MODE_BINARY, filename=filename)
            result = await validator(source).validate()
            assert result.findings and result.findings[0].message == fingerprint("fingerprint", source.read_bytes())
            cache.invalidate_all()


@pytest.mark.parametrize(
    "entry",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b"\xff\xfe not utf-8",
        b"[1, 2]",
        b"null",
        b'{"schema": 1}',
    ],
    ids=["deeply-nested", "not-utf8", "short-array", "null", "object"],
)
def test_an_entry_that_is_not_ours_is_a_miss_and_is_removed(tmp_path: Path, entry: bytes) -> None:
    source = tmp_path / "a.py"
    source.write_text("x = 1\n")
    with ValidationCache(tmp_path / "cache") as cache:
        key = cache.key_for(source, "fingerprint").key
        cache.invalidate_all()
        _plant(tmp_path / "cache", key, mode=MODE_RAW, value=entry)
        assert cache.get(source, "fingerprint") is None
        stats = cache.stats()
    assert (stats["rejected"], stats["entries"]) == (1, 0)


def test_an_entry_of_another_schema_or_key_is_a_miss_and_is_removed(tmp_path: Path) -> None:
    source = tmp_path / "a.py"
    source.write_text("x = 1\n")
    with ValidationCache(tmp_path / "cache") as cache:
        key = cache.key_for(source, "fingerprint").key
        other = encode_entry("another-key", ValidationResult("fingerprint", True, []), None)
        old = encode_entry(key, ValidationResult("fingerprint", True, []), None).replace(b"[1,", b"[0,", 1)
        for data in (other, old):
            cache.invalidate_all()
            _plant(tmp_path / "cache", key, mode=MODE_RAW, value=data)
            assert cache.get(source, "fingerprint") is None
            assert cache.stats()["entries"] == 0
        assert cache.stats()["rejected"] == 2


def test_the_cache_directory_is_created_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        with ValidationCache(tmp_path / "deep" / "cache") as cache:
            cache.stats()
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "deep" / "cache").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "deep").stat().st_mode) == 0o700  # parents too
    assert (tmp_path / "deep" / "cache" / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172")


def _make_writable_by_others(path: Path, mode: int) -> None:
    path.mkdir()
    os.chmod(path, mode)
    if mode & stat.S_IWGRP and is_root():
        os.chown(path, -1, 65534)  # a group with others in it, not the owner's private group


def _make_foreign(path: Path, mode: int) -> None:
    path.mkdir()
    os.chmod(path, mode)
    os.chown(path, 65534, 65534)


@pytest.mark.parametrize(
    ("make", "mode", "reason"),
    [
        (_make_writable_by_others, 0o770, "writable by group or others"),
        (_make_writable_by_others, 0o707, "writable by group or others"),
        (_make_writable_by_others, 0o777, "writable by group or others"),
        pytest.param(
            _make_foreign,
            0o700,
            "owned by uid 65534",
            marks=pytest.mark.skipif(not is_root(), reason="only root can give a directory away"),
        ),
    ],
    ids=["group-writable", "world-writable", "open", "foreign-owner"],
)
async def test_an_untrusted_cache_directory_is_not_used_and_warned_about_once(
    tmp_path: Path, make: Callable[[Path, int], None], mode: int, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    cache_dir = tmp_path / "cache"
    make(cache_dir, mode)
    paths = []
    for index in range(30):
        path = tmp_path / f"m{index}.py"
        path.write_text(f"x = {index}\n")
        paths.append(path)
    validator = fingerprint_validator()
    with caplog.at_level(logging.WARNING, logger="memo"), ValidationCache(cache_dir) as cache, bind_cache(cache):
        first = await asyncio.gather(*(validator(p).validate() for p in paths))
        second = await asyncio.gather(*(validator(p).validate() for p in paths))
        assert not cache.available
    assert [r.findings[0].message for r in second] == [r.findings[0].message for r in first]
    assert not any(r.cached for r in second)
    warnings = [r.getMessage() for r in caplog.records if r.name == "memo"]
    assert len(warnings) == 1 and reason in warnings[0] and "not using the cache" in warnings[0]
    assert sorted(os.listdir(cache_dir)) == []  # nothing written into a directory others control


# -- the directory and everything leading to it, checked as ssh's StrictModes -------------------


def _served_from(cache_dir: Path, tmp_path: Path) -> tuple[bool, list[str]]:
    """Whether a store over ``cache_dir`` is usable, and the warnings a ValidationCache gave."""
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("memo").addHandler(handler)
    try:
        source = tmp_path / "a.py"
        source.write_text("x = 1\n")
        with ValidationCache(cache_dir) as cache:
            cache.set(source, "lint", ValidationResult("lint", True, file_path=str(source)))
            hit = cache.get(source, "lint") is not None
    finally:
        logging.getLogger("memo").removeHandler(handler)
    return hit, records


def _dir(path: Path, mode: int, uid: int = -1) -> Path:
    path.mkdir()
    os.chmod(path, mode)
    if uid != -1:
        os.chown(path, uid, -1)
    return path


@pytest.mark.parametrize(
    ("parent_mode", "parent_uid", "reason"),
    [
        (0o777, -1, "writable by group or others (mode 777)"),
        (0o757, -1, "writable by group or others (mode 757)"),
        pytest.param(
            0o755,
            65534,
            "owned by uid 65534, neither root nor this user",
            marks=pytest.mark.skipif(not is_root(), reason="only root can give a directory away"),
        ),
    ],
    ids=["world-writable-parent", "other-writable-parent", "foreign-parent"],
)
def test_an_untrusted_parent_directory_turns_the_cache_off(
    tmp_path: Path, parent_mode: int, parent_uid: int, reason: str
) -> None:
    parent = _dir(tmp_path / "shared", parent_mode, parent_uid)
    cache_dir = _dir(parent / "cache", 0o700)  # the cache itself is fine: who controls its parent is not
    hit, warnings = _served_from(cache_dir, tmp_path)
    assert not hit
    assert len(warnings) == 1 and reason in warnings[0] and "not using the cache" in warnings[0]
    assert sorted(os.listdir(cache_dir)) == []


def test_a_sticky_world_writable_parent_such_as_tmp_is_trusted(tmp_path: Path) -> None:
    parent = _dir(tmp_path / "tmp", 0o1777)
    hit, warnings = _served_from(parent / "cache", tmp_path)
    assert hit and warnings == []
    assert stat.S_IMODE((parent / "cache").stat().st_mode) == 0o700


@pytest.mark.skipif(not is_root(), reason="needs a group that is not the owner's own")
def test_group_writable_is_trusted_only_for_the_owners_private_group(tmp_path: Path) -> None:
    import grp
    import pwd

    own_group = pwd.getpwuid(os.geteuid()).pw_gid
    assert set(grp.getgrgid(own_group).gr_mem) <= {pwd.getpwuid(os.geteuid()).pw_name}
    private = _dir(tmp_path / "private", 0o775)
    os.chown(private, -1, own_group)
    assert _served_from(private / "cache", tmp_path) == (True, [])
    shared = _dir(tmp_path / "shared", 0o775)
    os.chown(shared, -1, 65534)
    hit, warnings = _served_from(shared / "cache", tmp_path)
    assert not hit and "writable by group or others" in warnings[0]


@pytest.mark.skipif(not is_root(), reason="only root can make a symlink another user owns")
def test_a_cache_path_through_another_users_symlink_is_refused(tmp_path: Path) -> None:
    # A second user's symlink in a sticky world-writable directory: they can flip it at any time.
    sticky = _dir(tmp_path / "tmp", 0o1777)
    real = _dir(tmp_path / "real", 0o700)
    link = sticky / "cache"
    link.symlink_to(real)
    os.lchown(link, 65534, 65534)
    hit, warnings = _served_from(link, tmp_path)
    assert not hit
    assert len(warnings) == 1 and "is a symlink owned by uid 65534" in warnings[0]
    assert os.listdir(real) == []


def test_a_cache_path_through_the_users_own_symlinks_is_followed(tmp_path: Path) -> None:
    # As macOS's /tmp -> private/tmp, or a home directory reached through a link.
    real = _dir(tmp_path / "real", 0o700)
    (tmp_path / "alias").symlink_to("real")
    hit, warnings = _served_from(tmp_path / "alias" / "cache", tmp_path)
    assert hit and warnings == []
    assert (real / "cache" / "cache.db").exists()


def test_a_cache_directory_that_is_another_users_symlink_target_is_refused(tmp_path: Path) -> None:
    # The symlink is ours, but the directory it names is writable by others.
    target = _dir(tmp_path / "open", 0o777)
    (tmp_path / "cache").symlink_to(target)
    hit, warnings = _served_from(tmp_path / "cache", tmp_path)
    assert not hit and "writable by group or others" in warnings[0]


def test_value_files_are_read_from_the_directory_that_was_checked_after_its_path_is_swapped(
    tmp_path: Path,
) -> None:
    cache_dir = tmp_path / "cache"
    store = DiskStore(cache_dir)
    store.set("big", b"genuine" * 10_000, None)  # large enough for a value file
    (name,) = [p.relative_to(cache_dir) for p in cache_dir.rglob("*.val")]
    os.rename(cache_dir, tmp_path / "moved")
    forged = cache_dir / name
    forged.parent.mkdir(parents=True)
    forged.write_bytes(b"forged")
    assert store.get("big") == b"genuine" * 10_000
    store.close()


def test_a_directory_swapped_between_the_check_and_the_database_open_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Another cache, holding a planted "passed" for the key, is put in place of the checked
    # directory right after the check: the database sqlite then opens by path is not the
    # checked one, and it must not be served.
    from memo import cachedir

    source = tmp_path / "a.py"
    source.write_text("x = (\n")
    planted_dir = tmp_path / "planted"
    with ValidationCache(planted_dir) as planted:
        planted.set(source, "syntax", ValidationResult("syntax", True, file_path=str(source)))
        key = planted.key_for(source, "syntax").key
    cache_dir = tmp_path / "cache"
    checked = cachedir.open_directory

    def check_then_swap(path: str, *, create: bool) -> int:
        fd = checked(path, create=create)
        os.rename(cache_dir, tmp_path / "checked")
        os.rename(planted_dir, cache_dir)
        return fd

    monkeypatch.setattr(cachedir, "open_directory", check_then_swap)
    with caplog.at_level(logging.WARNING, logger="memo"), ValidationCache(cache_dir) as cache:
        assert cache.lookup(key, str(source)) is None
    warnings = [r.getMessage() for r in caplog.records if r.name == "memo"]
    assert len(warnings) == 1 and "replaced while it was opened" in warnings[0]
