"""Stores: where entry bytes live. A one-method-each protocol, a disk store and a memory store.

The stores deal only in ``str`` keys and ``bytes`` values; what the bytes mean is the
codec's business. Every backend error leaves a store as ``StoreError`` (``raise ... from``),
so the cache above needs to know of one exception, not of sqlite3, diskcache or errno.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from memo.errors import StoreError, StoreUnavailableError, UnsafeEntryError

try:
    import diskcache
    from diskcache.core import MODE_BINARY, MODE_RAW
except ImportError:
    diskcache = None
    MODE_RAW, MODE_BINARY = 1, 2

CACHE_AVAILABLE: bool = diskcache is not None
"""False when ``diskcache`` cannot be imported; the disk store is then unavailable."""

CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by memo.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


@runtime_checkable
class Store(Protocol):
    """Bytes by string key, with optional expiry. Every method may raise ``StoreError``."""

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, expire: float | None) -> None: ...

    def delete(self, key: str) -> None: ...

    def clear(self) -> int: ...

    def count(self) -> int: ...

    def size_bytes(self) -> int: ...

    def close(self) -> None: ...


class MemoryStore:
    """A dict-backed store for tests and for callers who want a cache that dies with the process."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._clock = clock

    def get(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires_at = item
        if expires_at is not None and self._clock() >= expires_at:
            del self._data[key]
            return None
        return value

    def set(self, key: str, value: bytes, expire: float | None) -> None:
        if not isinstance(value, bytes):
            raise StoreError(f"stores hold bytes, not {type(value).__name__}")
        self._data[key] = (value, None if expire is None else self._clock() + expire)

    def delete(self, key: str) -> None:
        self._data.pop(key, None)

    def clear(self) -> int:
        count = len(self._data)
        self._data.clear()
        return count

    def count(self) -> int:
        return len(self._data)

    def size_bytes(self) -> int:
        return sum(len(key) + len(value) for key, (value, _) in self._data.items())

    def close(self) -> None:
        """Nothing to release."""


if diskcache is not None:

    class BytesOnlyDisk(diskcache.Disk):  # type: ignore[misc]
        """A diskcache ``Disk`` that stores bytes only and never unpickles.

        diskcache through 5.6.3 unpickles any value stored in pickle mode
        (CVE-2025-69872). This Disk refuses to write anything but bytes, and refuses
        to read back any mode but raw and binary, so a planted pickle is an error, not
        code that runs.
        """

        def put(self, key: Any) -> tuple[Any, bool]:
            if type(key) is not str:
                raise UnsafeEntryError(f"keys are str, not {type(key).__name__}")
            return key, True

        def get(self, key: Any, raw: bool) -> Any:
            if not raw:
                raise UnsafeEntryError("refusing to unpickle a stored key")
            return key

        def store(self, value: Any, read: bool, key: Any = None) -> Any:
            if type(value) is not bytes:
                raise UnsafeEntryError(f"values are bytes, not {type(value).__name__}")
            return super().store(value, read, key=key)

        def fetch(self, mode: int, filename: Any, value: Any, read: bool) -> Any:
            if mode not in (MODE_RAW, MODE_BINARY) or read:
                raise UnsafeEntryError(f"refusing to read an entry stored in mode {mode}")
            return super().fetch(mode, filename, value, read)


def check_directory_trust(directory: Path) -> str | None:
    """Why ``directory`` must not be trusted as a cache (as ssh's StrictModes), or None.

    A directory that others can write to, or that another user owns, could hold entries
    planted to pass a file that should fail.
    """
    info = directory.stat()
    if not stat.S_ISDIR(info.st_mode):
        return f"{directory} is not a directory"
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        return f"{directory} is owned by uid {info.st_uid}, not by this user"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"{directory} is writable by group or others (mode {stat.S_IMODE(info.st_mode):o})"
    return None


def prepare_directory(directory: Path) -> None:
    """Create ``directory`` owner-only with a CACHEDIR.TAG; ``StoreUnavailableError`` if untrusted."""
    try:
        if not directory.exists():
            directory.parent.mkdir(parents=True, exist_ok=True)
            try:
                directory.mkdir(mode=0o700)
            except FileExistsError:
                pass
            else:
                os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
        reason = check_directory_trust(directory)
        if reason is not None:
            raise StoreUnavailableError(f"not using the cache: {reason}")
        tag = directory / "CACHEDIR.TAG"
        if not tag.exists():
            tag.write_text(CACHEDIR_TAG, encoding="ascii")
    except OSError as exc:
        raise StoreUnavailableError(f"cannot prepare cache directory {directory}: {exc}") from exc


_BACKEND_ERRORS: tuple[type[BaseException], ...] = (OSError, sqlite3.Error, ValueError)
if diskcache is not None:
    _BACKEND_ERRORS = (*_BACKEND_ERRORS, diskcache.Timeout)


class DiskStore:
    """The embedded store: a diskcache ``Cache`` in ``directory``, opened on first use.

    Settings chosen for the hit path: least-recently-stored eviction and diskcache's own
    statistics off, because both alternatives write to the database on every read; a
    short sqlite timeout, because a store call runs on the event loop and a busy
    database must cost a miss, not a stall.
    """

    def __init__(self, directory: Path, *, size_limit: int = 2**30, timeout: float = 0.1) -> None:
        if diskcache is None:
            raise StoreError("diskcache is not installed")
        self.directory = directory
        self._size_limit = size_limit
        self._timeout = timeout
        self._cache: Any = None
        self._open_lock = threading.Lock()

    def _open(self) -> Any:
        cache = self._cache
        if cache is not None:
            return cache
        with self._open_lock:
            if self._cache is None:
                prepare_directory(self.directory)
                try:
                    self._cache = diskcache.Cache(
                        str(self.directory),
                        timeout=self._timeout,
                        disk=BytesOnlyDisk,
                        size_limit=self._size_limit,
                        eviction_policy="least-recently-stored",
                        statistics=0,
                        tag_index=0,
                    )
                except _BACKEND_ERRORS as exc:
                    raise StoreUnavailableError(f"cannot open cache in {self.directory}: {_describe(exc)}") from exc
            return self._cache

    def get(self, key: str) -> bytes | None:
        cache = self._open()
        try:
            return cache.get(key, default=None, retry=False)  # type: ignore[no-any-return]
        except UnsafeEntryError:
            self._discard(key)
            raise
        except _BACKEND_ERRORS as exc:
            raise StoreError(f"cache read failed: {_describe(exc)}") from exc

    def set(self, key: str, value: bytes, expire: float | None) -> None:
        cache = self._open()
        try:
            cache.set(key, value, expire=expire, retry=False)
        except UnsafeEntryError:
            raise
        except _BACKEND_ERRORS as exc:
            raise StoreError(f"cache write failed: {_describe(exc)}") from exc

    def delete(self, key: str) -> None:
        cache = self._open()
        try:
            cache.delete(key, retry=False)
        except _BACKEND_ERRORS as exc:
            raise StoreError(f"cache delete failed: {_describe(exc)}") from exc

    def _discard(self, key: str) -> None:
        """Remove an entry that failed its checks, ignoring any failure to do so."""
        with contextlib.suppress(StoreError):
            self.delete(key)

    def clear(self) -> int:
        cache = self._open()
        try:
            return int(cache.clear(retry=True))
        except _BACKEND_ERRORS as exc:
            raise StoreError(f"cache clear failed: {_describe(exc)}") from exc

    def count(self) -> int:
        cache = self._open()
        try:
            return len(cache)
        except _BACKEND_ERRORS as exc:
            raise StoreError(f"cache count failed: {_describe(exc)}") from exc

    def size_bytes(self) -> int:
        cache = self._open()
        try:
            return int(cache.volume())
        except _BACKEND_ERRORS as exc:
            raise StoreError(f"cache size failed: {_describe(exc)}") from exc

    def close(self) -> None:
        cache, self._cache = self._cache, None
        if cache is not None:
            with contextlib.suppress(*_BACKEND_ERRORS):
                cache.close()


def _describe(exc: BaseException) -> str:
    if diskcache is not None and isinstance(exc, diskcache.Timeout):
        return "database is busy (timeout)"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "no space left on device"
    return f"{type(exc).__name__}: {exc}"
