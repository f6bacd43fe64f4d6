"""Nothing outside the cache directory, ever: its subdirectories are reached without following links.

A cache directory restored from elsewhere may hold ``explain -> ~/somewhere`` or
``leases -> ~/somewhere``; memo must neither write there nor delete anything there, and
a database it did not make (no memo CACHEDIR.TAG beside it) is left alone, never
"rebuilt" away. The run still gives the right results.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

import pytest

from memo import DiskStore, StoreError, StoreUnavailableError, ValidationCache, bind_cache
from memo.cachedir import ValueFiles
from memo.errors import UnsafeEntryError
from memo.explainrecords import INDEX_DIRECTORY
from memo.locallease import LEASE_DIRECTORY
from tests.helpers import counting_validator_class, write

FOREIGN_DB = b"SQLite format 3\x00" + b"\xff" * 84 + b"someone else's data" * 50
"""A database file that is not memo's and that sqlite cannot read: memo's 'corrupt' case."""

FOREIGN_VALUE = "ab/cd/" + "0" * 28 + ".val"
"""A file named as memo's value files are, in the foreign directory."""


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file()
    }


def _foreign_directory(path: Path) -> Path:
    """A directory of the user's holding a database and files that are not memo's."""
    path.mkdir(mode=0o700)
    (path / "cache.db").write_bytes(FOREIGN_DB)
    write(path / FOREIGN_VALUE, "the user's file\n")
    write(path / "ab" / "cd" / "notes.txt", "the user's notes\n")
    return path


async def _run_twice(cache_dir: Path, root: Path) -> tuple[list[bool], list[bool], int]:
    """Two runs over ``root`` with ``cache_dir``: (passed per file, cached per file on the second run, body runs)."""
    files = [write(root / f"m{n}.py", "x = 1  # TODO\n" if n % 2 else "x = 1\n") for n in range(4)]
    Validator = counting_validator_class()
    outcomes = []
    for _ in range(2):
        with ValidationCache(cache_dir) as cache, bind_cache(cache, root=root):
            outcomes.append([await Validator(path, {}, root).validate() for path in files])
    first, second = outcomes
    assert [r.passed for r in first] == [r.passed for r in second] == [n % 2 == 0 for n in range(4)]
    return [r.passed for r in second], [r.cached for r in second], Validator.calls


@pytest.mark.parametrize("subdirectory", [INDEX_DIRECTORY, LEASE_DIRECTORY])
async def test_a_symlinked_subdirectory_of_the_cache_is_never_written_through(
    tmp_path: Path, subdirectory: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir(mode=0o700)
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir(mode=0o700)
    (cache_dir / subdirectory).symlink_to(outside)
    _, cached, calls = await _run_twice(cache_dir, tmp_path / "src")
    assert list(outside.iterdir()) == []  # no CACHEDIR.TAG, no cache.db
    assert cached == [True] * 4 and calls == 4  # the results' store still serves the second run
    assert (cache_dir / subdirectory).is_symlink()  # left as it was


@pytest.mark.parametrize("subdirectory", [INDEX_DIRECTORY, LEASE_DIRECTORY])
async def test_a_foreign_database_under_a_symlinked_subdirectory_is_not_deleted(
    tmp_path: Path, subdirectory: str
) -> None:
    outside = _foreign_directory(tmp_path / "outside")
    before = _snapshot(outside)
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir(mode=0o700)
    (cache_dir / subdirectory).symlink_to(outside)
    _, cached, _ = await _run_twice(cache_dir, tmp_path / "src")
    assert _snapshot(outside) == before
    assert cached == [True] * 4


async def test_a_foreign_database_in_the_cache_directory_is_left_alone_and_the_cache_misses_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache_dir = _foreign_directory(tmp_path / "cache")
    before = _snapshot(cache_dir)
    with caplog.at_level(logging.WARNING, logger="memo"):
        _, cached, calls = await _run_twice(cache_dir, tmp_path / "src")
    assert _snapshot(cache_dir) == before
    assert cached == [False] * 4 and calls == 8  # a miss every time: correct, never cached
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all("was not made by memo" in w for w in warnings)  # one per run


def test_a_store_refuses_a_database_it_did_not_make_without_touching_it(tmp_path: Path) -> None:
    cache_dir = _foreign_directory(tmp_path / "cache")
    before = _snapshot(cache_dir)
    store = DiskStore(cache_dir)
    with pytest.raises(StoreUnavailableError, match="was not made by memo"):
        store.get("k")
    store.close()
    assert _snapshot(cache_dir) == before


def test_a_rebuild_deletes_only_the_database_and_value_files_memo_wrote(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    store = DiskStore(cache_dir)
    store.set("big", b"v" * 100_000, None)  # a value file of memo's
    store.close()
    write(cache_dir / "ab" / "cd" / "notes.txt", "not memo's\n")
    (cache_dir / "cache.db").write_bytes(FOREIGN_DB)  # corrupt, in memo's own directory
    store = DiskStore(cache_dir)
    with pytest.raises(Exception, match="rebuilt"):
        store.get("big")
    assert store.get("big") is None
    store.close()
    assert list(cache_dir.rglob("*.val")) == []
    assert (cache_dir / "ab" / "cd" / "notes.txt").read_text() == "not memo's\n"


def test_the_database_is_opened_in_the_directory_held_open_not_the_one_its_path_names_later(tmp_path: Path) -> None:
    """sqlite opens by path; memo hands it one the kernel resolves to the held directory."""
    cache_dir = tmp_path / "cache"
    store = DiskStore(cache_dir, subdirectory=LEASE_DIRECTORY)
    store.set("k", b"v", None)
    store._prepare = _swap_after(store._prepare, cache_dir / LEASE_DIRECTORY, tmp_path / "outside")  # type: ignore[method-assign]
    store.close()
    with contextlib.suppress(StoreError):  # the swap is noticed after opening: a miss, not an error
        store.set("k2", b"v2", None)  # reopened: the checked directory was swapped for a link after the check
    store.close()
    assert list((tmp_path / "outside").iterdir()) == []


def _swap_after(prepare: object, directory: Path, outside: Path) -> object:
    """``prepare``, then (after the check) ``directory`` moved aside and replaced by a link to ``outside``."""

    def swapped() -> int:
        root: int = prepare()  # type: ignore[operator]
        outside.mkdir(mode=0o700, exist_ok=True)
        directory.rename(directory.with_name("moved"))
        directory.symlink_to(outside)
        return root

    return swapped


def _value_files(tmp_path: Path) -> tuple[int, ValueFiles]:
    from memo import cachedir

    root = cachedir.open_directory(str(tmp_path / "cache"), create=True)
    return root, cachedir.ValueFiles(root)


VALUE = "ab/cd/" + "1" * 28 + ".val"


def test_value_file_directories_are_made_owner_only(tmp_path: Path) -> None:
    root, files = _value_files(tmp_path)
    try:
        files.write(VALUE, b"v")
        assert files.read(VALUE) == b"v"  # a one-byte value is read whole
    finally:
        os.close(root)
    assert stat.S_IMODE((tmp_path / "cache" / VALUE).stat().st_mode) == 0o600
    for directory in (tmp_path / "cache" / "ab", tmp_path / "cache" / "ab" / "cd"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_reading_a_missing_value_file_creates_nothing(tmp_path: Path) -> None:
    root, files = _value_files(tmp_path)
    try:
        with pytest.raises(FileNotFoundError):
            files.read(VALUE)
    finally:
        os.close(root)
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_value_file_of_exactly_the_limit_is_read_and_one_byte_more_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from memo import cachedir

    monkeypatch.setattr(cachedir, "MAX_VALUE_BYTES", 1000)
    root, files = _value_files(tmp_path)
    try:
        files.write(VALUE, b"x" * 1000)
        assert files.read(VALUE) == b"x" * 1000
        (tmp_path / "cache" / VALUE).write_bytes(b"x" * 1001)
        with pytest.raises(UnsafeEntryError, match="1001 bytes"):
            files.read(VALUE)
    finally:
        os.close(root)


@pytest.mark.parametrize("name", ["", ".", "..", "a/b"])
def test_a_subdirectory_is_one_plain_name(tmp_path: Path, name: str) -> None:
    from memo import cachedir

    root = cachedir.open_directory(str(tmp_path / "cache"), create=True)
    try:
        with pytest.raises(ValueError, match="not a name"):
            cachedir.open_subdirectory(root, name, "where", create=True)
    finally:
        os.close(root)


def test_a_subdirectory_is_found_relative_to_the_held_directory_and_made_owner_only_whatever_the_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from memo import cachedir

    monkeypatch.chdir(tmp_path)  # a relative lookup would find nothing here
    root = cachedir.open_directory(str(tmp_path / "deep" / "cache"), create=True)
    previous = os.umask(0o277)
    try:
        os.close(cachedir.open_subdirectory(root, "leases", "where", create=True))
        os.close(cachedir.open_subdirectory(root, "leases", "where", create=False))
    finally:
        os.umask(previous)
        os.close(root)
    assert stat.S_IMODE((tmp_path / "deep" / "cache" / "leases").stat().st_mode) == 0o700


@pytest.mark.parametrize("kind", ["symlink", "sticky-and-open", "file"])
def test_a_subdirectory_that_is_a_link_a_file_or_open_to_others_is_refused_by_name(tmp_path: Path, kind: str) -> None:
    from memo import cachedir

    cache_dir = tmp_path / "cache"
    cache_dir.mkdir(mode=0o700)
    if kind == "symlink":
        (tmp_path / "outside").mkdir()
        (cache_dir / "leases").symlink_to(tmp_path / "outside")
    elif kind == "file":
        (cache_dir / "leases").write_text("")
    else:
        (cache_dir / "leases").mkdir()
        (cache_dir / "leases").chmod(0o1777)
    root = cachedir.open_directory(str(cache_dir), create=False)
    try:
        with pytest.raises(StoreUnavailableError, match="the-leases"):
            cachedir.open_subdirectory(root, "leases", "the-leases", create=True)
    finally:
        os.close(root)


def test_a_file_whose_write_fails_is_not_left_half_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from memo import cachedir

    root = cachedir.open_directory(str(tmp_path / "cache"), create=True)

    def full(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    try:
        monkeypatch.setattr(cachedir.os, "write", full)
        with pytest.raises(OSError, match="No space"):
            cachedir.create_file(root, "CACHEDIR.TAG", b"tag")
        monkeypatch.undo()
        assert list((tmp_path / "cache").iterdir()) == []
        assert cachedir.create_file(root, "CACHEDIR.TAG", b"tag")
        assert not cachedir.create_file(root, "CACHEDIR.TAG", b"other")  # never replaced
    finally:
        os.close(root)
    assert (tmp_path / "cache" / "CACHEDIR.TAG").read_bytes() == b"tag"
    assert stat.S_IMODE((tmp_path / "cache" / "CACHEDIR.TAG").stat().st_mode) == 0o600


def test_a_relative_path_with_dot_dot_reaches_the_directory_it_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from memo import cachedir

    (tmp_path / "work" / "sub").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work")
    fd = cachedir.open_directory("sub/../../cache", create=True)
    try:
        assert os.path.samestat(os.fstat(fd), os.stat(tmp_path / "cache"))
    finally:
        os.close(fd)
    assert stat.S_IMODE((tmp_path / "cache").stat().st_mode) == 0o700
    assert not (tmp_path / "work" / "cache").exists()
    (tmp_path / "elsewhere" / "deep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "elsewhere" / "deep")  # ".." is walked from the directory reached, not from here
    fd = cachedir.open_directory(str(tmp_path / "work" / "sub" / ".." / "sub" / ".." / ".." / "cache"), create=False)
    try:
        assert os.path.samestat(os.fstat(fd), os.stat(tmp_path / "cache"))
    finally:
        os.close(fd)


def test_a_symlink_loop_on_the_way_is_an_error_not_a_hang(tmp_path: Path) -> None:
    import errno

    from memo import cachedir

    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(OSError) as raised:
        cachedir.open_directory(str(tmp_path / "a" / "cache"), create=True)
    assert raised.value.errno == errno.ELOOP
    chain = tmp_path / "l0"
    (tmp_path / "target").mkdir(mode=0o700)
    for n in range(cachedir.MAX_HOPS):  # exactly MAX_HOPS links: allowed, as the kernel allows 40
        (tmp_path / f"l{n}").symlink_to(tmp_path / (f"l{n + 1}" if n + 1 < cachedir.MAX_HOPS else "target"))
    os.close(cachedir.open_directory(str(chain), create=False))


def test_opening_a_missing_directory_without_create_makes_nothing(tmp_path: Path) -> None:
    from memo import cachedir

    with pytest.raises(FileNotFoundError):
        cachedir.open_directory(str(tmp_path / "missing" / "cache"), create=False)
    assert not (tmp_path / "missing").exists()
