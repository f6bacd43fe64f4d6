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
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from memo import cachedir
from memo.errors import StoreBusyError, StoreError, StoreUnavailableError, UnsafeEntryError

try:
    import diskcache
    from diskcache.core import MODE_BINARY, MODE_RAW
except ImportError:
    diskcache = None
    MODE_RAW, MODE_BINARY = 1, 2

CACHE_AVAILABLE: bool = diskcache is not None
"""False when ``diskcache`` cannot be imported; the disk store is then unavailable."""

KEEP = "keep"
"""From an ``update_many`` callback: leave the key as it is."""
DELETE = "delete"
"""From an ``update_many`` callback: remove the key."""
Change = tuple[bytes, float | None] | str
"""What an ``update_many`` callback returns: ``KEEP``, ``DELETE`` or ``(value, expire)``."""

CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by memo.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


@runtime_checkable
class Store(Protocol):
    """Bytes by ``str`` key, with optional expiry. Every method may raise ``StoreError``, and only that.

    The contract every store keeps (``tests/test_store_contract.py`` runs it on each):

    - ``get(key)``: the bytes last set under ``key``, or ``None`` for a miss (a key never
      set, deleted, cleared or expired). ``None`` is the miss sentinel: ``b""`` is a value.
    - ``set(key, value, expire)``: ``value`` must be exactly ``bytes`` (``StoreError``
      otherwise, nothing stored). It replaces any earlier value and expiry. ``expire`` is
      seconds from now (at or below zero: already expired), ``None`` for no expiry.
    - ``delete(key)``: removes it; a missing key is not an error.
    - ``clear()``: removes every entry; returns how many it removed.
    - ``count()``: entries held (expired ones may be counted until they are dropped).
    - ``size_bytes()``: an estimate of the bytes held, at least the sum of stored values'
      lengths, never negative.
    - ``sizes()``: ``(key, length of its value)`` for each entry ``count()`` counts, for a
      breakdown of what is held (``memo cache stats``); not on any hot path.
    - ``set_many(items)``: ``set`` for each ``(key, value, expire)``, as one write where the
      store can (one transaction on disk); on an error some may have been stored.
    - ``get_many(keys)``: ``{key: bytes}`` of exactly those of ``keys`` that ``get`` would
      find, as one read where the store can (one query on disk); a miss is left out.
    - ``close()``: releases connections and descriptors; may be called twice; a later
      call opens the store again with its entries intact.
    """

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, expire: float | None) -> None: ...

    def delete(self, key: str) -> None: ...

    def clear(self) -> int: ...

    def count(self) -> int: ...

    def size_bytes(self) -> int: ...

    def sizes(self) -> Iterator[tuple[str, int]]: ...

    def set_many(self, items: Sequence[tuple[str, bytes, float | None]]) -> None: ...

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]: ...

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
        if type(key) is not str:
            raise UnsafeEntryError(f"keys are str, not {type(key).__name__}")
        if type(value) is not bytes:
            raise UnsafeEntryError(f"values are bytes, not {type(value).__name__}")
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

    def sizes(self) -> Iterator[tuple[str, int]]:
        return iter([(key, len(value)) for key, (value, _) in self._data.items()])

    def set_many(self, items: Sequence[tuple[str, bytes, float | None]]) -> None:
        for key, value, expire in items:
            self.set(key, value, expire)

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        found = {}
        for key in keys:
            value = self.get(key)
            if value is not None:
                found[key] = value
        return found

    def close(self) -> None:
        """Nothing to release."""


if diskcache is not None:

    class BytesOnlyDisk(diskcache.Disk):  # type: ignore[misc]
        """A diskcache ``Disk`` that stores bytes only, never unpickles, and never leaves its directory.

        diskcache through 5.6.3 unpickles any value stored in pickle mode (CVE-2025-69872),
        and opens, unlinks and ``removedirs`` whatever path a row's ``filename`` names,
        ``../..`` and absolute paths included. This Disk writes nothing but bytes, reads
        back no mode but raw and binary, and does all value-file I/O through
        ``cachedir.ValueFiles``: only names diskcache itself makes, relative to the checked
        directory's descriptor, no symlink followed, only regular files read. Until the
        store ``attach``es that descriptor it touches no file at all.
        """

        def __init__(self, directory: str, min_file_size: int = 0, pickle_protocol: int = 0, **_foreign: Any) -> None:
            # A ``disk_*`` row planted in the Settings table arrives here as a keyword:
            # ignored, rather than a TypeError out of the store.
            super().__init__(directory, min_file_size=min_file_size, pickle_protocol=pickle_protocol)
            self._files: cachedir.ValueFiles | None = None

        def attach(self, files: cachedir.ValueFiles | None) -> None:
            """Give this Disk the value files of the checked directory (None when it is closed)."""
            self._files = files

        def _value_files(self) -> cachedir.ValueFiles:
            files = self._files
            if files is None:
                raise StoreError("the cache directory is closed")
            return files

        def put(self, key: Any) -> tuple[Any, bool]:
            if type(key) is not str:
                raise UnsafeEntryError(f"keys are str, not {type(key).__name__}")
            return key, True

        def get(self, key: Any, raw: bool) -> Any:
            if not raw:
                raise UnsafeEntryError("refusing to unpickle a stored key")
            return key

        def store(self, value: Any, read: bool, key: Any = None) -> tuple[int, int, str | None, Any]:
            if type(value) is not bytes or read:
                raise UnsafeEntryError(f"values are bytes, not {type(value).__name__}")
            if len(value) < self.min_file_size:
                return 0, MODE_RAW, None, sqlite3.Binary(value)
            if len(value) > cachedir.MAX_VALUE_BYTES:
                raise StoreError(f"a value of {len(value)} bytes is over the {cachedir.MAX_VALUE_BYTES} byte limit")
            filename, _ = self.filename(key, value)
            self._value_files().write(filename, value)
            return len(value), MODE_BINARY, filename, None

        def fetch(self, mode: int, filename: Any, value: Any, read: bool) -> bytes:
            if mode == MODE_RAW and not read:
                if type(value) is not bytes:
                    raise UnsafeEntryError(f"refusing a stored {type(value).__name__}: values are bytes")
                return value
            if mode == MODE_BINARY and not read:
                return self._value_files().read(filename)
            raise UnsafeEntryError(f"refusing to read an entry stored in mode {mode}")

        def remove(self, file_path: Any) -> None:
            # Called for every row diskcache drops: delete, overwrite, eviction, expiry, clear.
            files = self._files
            if files is not None:
                files.remove(file_path)

    class _BoundedCache(diskcache.Cache):  # type: ignore[misc]
        """diskcache's ``Cache`` over a checked directory, with a bounded open and only memo's settings.

        ``Cache.__init__`` writes its settings through ``_sql_retry``, which retries
        "database is locked" for 60 s with ``time.sleep``. The store opens on the event
        loop, so another process's write transaction would stall every coroutine for a
        minute; here the whole open gives up after ``timeout`` instead.

        ``Cache`` also applies every ``sqlite_*`` row of the database's Settings table as a
        PRAGMA, on open and on each new connection: a planted ``sqlite_query_only`` would
        make the cache read-only, ``sqlite_temp_store_directory`` would write elsewhere.
        Settings memo does not pass are ignored (``reset``), and it passes all it knows.
        """

        def __init__(self, directory: str, *, root: int, timeout: float, **settings: Any) -> None:
            self._open_deadline: float | None = time.monotonic() + timeout
            self._retry_limit = timeout
            try:
                super().__init__(directory, timeout=timeout, **settings)
            finally:
                self._open_deadline = None
            self._disk.attach(cachedir.ValueFiles(root))

        def reset(self, key: str, value: Any = diskcache.core.ENOVAL, update: bool = True) -> Any:
            if key.startswith(("sqlite_", "disk_")) and key not in diskcache.DEFAULT_SETTINGS:
                return value
            return super().reset(key, value, update)

        @property
        def _sql_retry(self) -> Callable[..., Any]:
            sql = self._sql
            deadline = self._open_deadline or time.monotonic() + self._retry_limit

            def execute(statement: str, *args: Any, **kwargs: Any) -> Any:
                while True:
                    try:
                        return sql(statement, *args, **kwargs)
                    except sqlite3.OperationalError as exc:
                        if str(exc) != "database is locked" or time.monotonic() >= deadline:
                            raise
                        time.sleep(0.001)

            return execute


_DBNAME = "cache.db" if diskcache is None else str(diskcache.core.DBNAME)
_DATABASE_FILES = tuple(_DBNAME + suffix for suffix in ("", "-wal", "-shm", "-journal"))


_forks = 0
"""How many times this process is a fork's child: a connection from before a fork is not used after it."""


def _forked() -> None:
    global _forks
    _forks += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


_SELECT_ONE = (
    "SELECT mode, filename, value FROM Cache WHERE key = ? AND raw = 1 AND (expire_time IS NULL OR expire_time > ?)"
)
"""diskcache's own ``get`` query, less the columns memo does not use.

``Cache.get`` runs exactly this (and writes nothing) when statistics are off and the
eviction policy updates nothing on a read; read directly, a hit skips its generic
argument handling. Keys are always stored raw (``BytesOnlyDisk.put``).
"""

_SELECT_MANY = (
    "SELECT key, mode, filename, value FROM Cache"
    " WHERE key IN ({marks}) AND raw = 1 AND (expire_time IS NULL OR expire_time > ?)"
)

GET_MANY_CHUNK = 500
"""Keys per query in ``get_many``: under sqlite's oldest limit of 999 bound variables."""


def _reads_write_nothing(cache: Any) -> bool:
    """Whether diskcache's ``get`` on ``cache`` is one SELECT: no statistics, no eviction bookkeeping on a read."""
    policy = diskcache.core.EVICTION_POLICY.get(cache.eviction_policy)
    return not cache.statistics and policy is not None and policy["get"] is None


def _made_by_memo(root: int) -> bool:
    """Whether the directory held as ``root`` is memo's: memo writes its CACHEDIR.TAG before any database."""
    expected = CACHEDIR_TAG.encode("ascii")
    return cachedir.read_small(root, "CACHEDIR.TAG", len(expected) + 1) == expected


FOREIGN_LOOKS = 5
"""How often a database without memo's tag is looked at before it is taken for a foreign one."""


def _foreign(root: int) -> bool:
    """Whether the directory held as ``root`` has a database that memo did not make.

    The database first, then the tag: memo writes the tag whole before any database, so a
    database seen here has its tag by now, even while another process is preparing. A memo
    directory that another process is deleting (``rm -rf``) can show its database a moment
    after its tag went: it is looked at a few times, a few milliseconds apart, before it is
    believed (only then, never on a cache's usual path).
    """
    for look in range(FOREIGN_LOOKS):
        # The database itself: a ``-wal``/``-shm`` alone is what a memo process still connected
        # to a deleted directory leaves in the one made again under its name, not a database.
        if not _exists(root, _DBNAME) or _made_by_memo(root):
            return False
        if look + 1 < FOREIGN_LOOKS:
            time.sleep(0.01 * (look + 1))
    return True


def _exists(root: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=root, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _check_database_files(root: int, directory: Path) -> None:
    """Refuse (and remove) a database file that is a symlink, a hard link or not a regular file.

    sqlite follows symlinks: a restored cache whose ``cache.db`` names another database
    of the user's would have diskcache write its tables into it.
    """
    for name in _DATABASE_FILES:
        try:
            info = os.stat(name, dir_fd=root, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=root)  # a symlink is removed, not what it names
            raise StoreError(f"{directory / name} was not a database file of its own (a link or special file); removed")


_BACKEND_ERRORS: tuple[type[BaseException], ...] = (OSError, sqlite3.Error, ValueError)
if diskcache is not None:
    _BACKEND_ERRORS = (*_BACKEND_ERRORS, diskcache.Timeout)


_OPEN_ERRORS: tuple[type[BaseException], ...] = (StoreError, *_BACKEND_ERRORS)

CLEAR_PATIENCE_S = 2.0
"""How long ``clear`` keeps trying while other processes hold the database's write lock."""

CLEAR_PAUSE_S = 0.005
"""The pause between ``clear``'s tries while locked out: the loop stalls anyway, but need not spin."""

OPEN_RETRY_S = 1.0
"""After the database was too busy to open, calls miss for this long before trying again."""


class DiskStore:
    """The embedded store: a diskcache ``Cache`` in ``directory``, opened on first use.

    Settings chosen for the hit path: least-recently-stored eviction and diskcache's own
    statistics off, because both alternatives write to the database on every read; a
    short sqlite timeout, because a store call runs on the event loop and a busy
    database must cost a miss, not a stall.

    Faults it survives: a database it cannot open now (locked, or its directory being
    deleted: a miss, and another try after ``OPEN_RETRY_S``), a corrupt database (deleted
    and rebuilt, once per store), and a directory deleted or replaced while open (noticed
    before the next write, reopened).
    """

    def __init__(
        self,
        directory: Path,
        *,
        size_limit: int = 2**30,
        timeout: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        subdirectory: str | None = None,
    ) -> None:
        if diskcache is None:
            raise StoreError("diskcache is not installed")
        self.directory = directory if subdirectory is None else directory / subdirectory
        self._checked = directory
        """The directory checked and held open (``cachedir.open_directory``)."""
        self._subdirectory = subdirectory
        """The store's own directory inside it, opened relative to it without following links."""
        self._size_limit = size_limit
        self._timeout = timeout
        self._clock = clock
        self._cache: Any = None
        self._root: int | None = None
        self._open_lock = threading.Lock()
        self._retry_open_at = float("-inf")
        self._open_error: BaseException | None = None
        self._db_identity: tuple[int, int] | None = None
        self._rebuilt = False
        self._plain_reads = False
        self._reader: tuple[int, int, Any, sqlite3.Connection] | None = None
        """(thread, fork generation, diskcache Cache, its connection in that thread): see ``_connection``."""
        """Whether a read may be one plain SELECT (see ``_SELECT_ONE``); settled when the database opens."""

    @property
    def _db_path(self) -> Path:
        return self.directory / _DBNAME

    def _open(self) -> Any:
        cache = self._cache
        if cache is not None:
            return cache
        with self._open_lock:
            if self._cache is None:
                if self._clock() < self._retry_open_at:
                    # Chained to the first failure, so the cache counts it as the same kind of warning.
                    raise _open_failure(self._open_error)(
                        f"cache in {self.directory} could not be opened; trying again shortly"
                    ) from self._open_error
                try:
                    root = self._prepare()
                    try:
                        cache, identity = self._connect(root)
                    except BaseException:
                        os.close(root)
                        raise
                except StoreUnavailableError:
                    raise  # untrusted: off for this run
                except _OPEN_ERRORS as exc:
                    cause = exc.__cause__ if isinstance(exc, StoreError) and exc.__cause__ is not None else exc
                    if _is_corrupt(cause) and self._rebuild():
                        # A miss now (and a warning); the next call opens the fresh database.
                        raise StoreError(
                            f"cache in {self.directory} was corrupt and is rebuilt: {_describe(cause)}"
                        ) from cause
                    # Locked by another process, or deleted under us while we opened it: a miss
                    # now and another try after OPEN_RETRY_S, never the cache off for the run.
                    self._retry_open_at = self._clock() + OPEN_RETRY_S
                    self._open_error = cause
                    raise _open_failure(cause)(
                        f"cannot open cache in {self.directory} now: {_describe(cause)}"
                    ) from cause
                self._cache, self._root, self._db_identity = cache, root, identity
                self._plain_reads = _reads_write_nothing(cache)
            return self._cache

    def _open_root(self, *, create: bool) -> int:
        """The store's directory, held open: the checked directory, or its subdirectory reached without links."""
        checked = cachedir.open_directory(str(self._checked), create=create)
        if self._subdirectory is None:
            return checked
        try:
            return cachedir.open_subdirectory(checked, self._subdirectory, str(self.directory), create=create)
        finally:
            os.close(checked)

    def _prepare(self) -> int:
        """The cache directory, checked and held open, with a CACHEDIR.TAG and no foreign database file.

        ``StoreUnavailableError`` if it is untrusted; ``StoreError`` if it cannot be made now.
        """
        if not cachedir.SUPPORTED:
            raise StoreUnavailableError("not using the cache: this platform cannot open files without following links")
        try:
            root = self._open_root(create=True)
        except OSError as exc:
            # Not StoreUnavailableError: another process may be deleting and recreating it.
            raise StoreError(f"cannot prepare cache directory {self.directory}: {exc}") from exc
        try:
            _check_database_files(root, self.directory)
            # The database first, then the tag: memo writes the tag whole before any database, so
            # a database seen here has its tag by now, even while another process is preparing.
            if _foreign(root):
                raise StoreUnavailableError(
                    f"not using the cache: {self.directory / _DBNAME} was not made by memo"
                    " (no memo CACHEDIR.TAG beside it); left as it is"
                )
            cachedir.create_file(root, "CACHEDIR.TAG", CACHEDIR_TAG.encode("ascii"))
        except OSError as exc:
            os.close(root)
            raise StoreError(f"cannot prepare cache directory {self.directory}: {exc}") from exc
        except BaseException:
            os.close(root)
            raise
        return root

    def _connect(self, root: int) -> tuple[Any, tuple[int, int]]:
        """diskcache over the directory held as ``root``, and its database's identity.

        sqlite opens its file by path: it is given ``cachedir.held_path(root)``, a path the
        kernel resolves to the held directory itself (``/proc/self/fd/N``), so no link or
        rename on the way since the check redirects it. ``open_directory`` allows nobody
        but root and this user to change any name on the directory's path; the identity
        check here (and before every write, ``_reopen_if_replaced``) catches the directory
        being deleted or replaced by this user's own processes while it was opened.
        """
        settings = {
            **diskcache.DEFAULT_SETTINGS,
            "size_limit": self._size_limit,
            "eviction_policy": "least-recently-stored",
            "statistics": 0,
            "tag_index": 0,
            # A warm run reads each entry once: sqlite's 64 MiB memory map and 32 MiB page
            # cache (diskcache's defaults) would only add the database to the run's memory.
            "sqlite_mmap_size": 0,
            "sqlite_cache_size": 1024,
        }
        path = cachedir.held_path(root, str(self.directory))
        cache = _BoundedCache(path, root=root, timeout=self._timeout, disk=BytesOnlyDisk, **settings)
        try:
            checked = _identity(_DBNAME, root)
            if checked is None or checked != _identity(self._db_path):
                raise StoreError(f"cache directory {self.directory} was replaced while it was opened")
        except BaseException:
            cache.close()
            raise
        return cache, checked

    def _rebuild(self) -> bool:
        """Delete a corrupt database and its value files, once per store; whether it did.

        A cache holds nothing that cannot be computed again, so starting afresh is the
        repair. Only in a directory memo made (its CACHEDIR.TAG is memo's, written before
        any database), and only the database's files and diskcache's value files, inside
        the checked directory: nothing that is not memo's is ever deleted.
        """
        if self._rebuilt:
            return False
        self._rebuilt = True
        self.close()
        try:
            root = self._open_root(create=False)
        except (OSError, StoreError):
            return False
        try:
            if not _made_by_memo(root):
                return False  # not memo's database: left as it is, and the cache is a miss
            for name in _DATABASE_FILES:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=root)
            cachedir.ValueFiles(root).remove_all()
        except OSError:
            return False
        finally:
            os.close(root)
        return True

    def _failure(self, action: str, exc: BaseException) -> StoreError:
        """The ``StoreError`` for a failed operation; the next call reopens or rebuilds as needed.

        The connection is closed (the next call opens afresh) when the database file was
        deleted or replaced, or sqlite reports anything but a database that is sound and
        merely locked or full. A connection whose database another process deleted can
        fail every ``BEGIN`` with "disk I/O error" while the path's ``(st_dev, st_ino)``
        looks unchanged (a new file may be given a freed inode number), and one that
        reconnected to a file another process had only just created finds "no such table".
        """
        cause = _unwrap(exc)
        if self._cache is not None and (
            _identity(self._db_path) != self._db_identity or (isinstance(cause, sqlite3.Error) and not _is_sound(cause))
        ):
            self.close()
        exc = cause
        if _is_corrupt(exc):
            with self._open_lock:
                if self._rebuild():
                    return StoreError(f"cache {action} failed, database rebuilt: {_describe(exc)}")
            return StoreUnavailableError(f"cache {action} failed: {_describe(exc)}")
        if _is_locked(exc):
            return StoreBusyError(f"cache {action} failed: {_describe(exc)}")
        return StoreError(f"cache {action} failed: {_describe(exc)}")

    def _reopen_if_replaced(self) -> None:
        """Close the database if its file was deleted or replaced since it was opened.

        sqlite keeps writing into a deleted file, so after ``rm -rf`` of the cache
        directory every later write would be lost; this check costs one ``stat`` per write.
        The write at hand is skipped (and warned about); the next one reopens.
        """
        if self._cache is not None and _identity(self._db_path) != self._db_identity:
            self.close()
            raise StoreError(f"cache database in {self.directory} was deleted or replaced; reopening it")

    def get(self, key: str) -> bytes | None:
        cache = self._open()
        try:
            if not self._plain_reads:
                return cache.get(key, default=None, retry=False)  # type: ignore[no-any-return]
            rows = self._connection(cache).execute(_SELECT_ONE, (key, time.time())).fetchall()
            if not rows:
                return None
            ((mode, filename, value),) = rows
            return self._fetch(cache, mode, filename, value)
        except UnsafeEntryError:
            self._discard(key)
            raise
        except _BACKEND_ERRORS as exc:
            raise self._failure("read", exc) from exc

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """One query per ``GET_MANY_CHUNK`` keys; an entry that fails the disk's checks is removed and left out."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        cache = self._open()
        found: dict[str, bytes] = {}
        refused: list[str] = []
        try:
            if not self._plain_reads:
                for key in wanted:
                    try:
                        value = cache.get(key, default=None, retry=False)
                    except UnsafeEntryError:
                        refused.append(key)
                        continue
                    if value is not None:
                        found[key] = value
            else:
                execute = self._connection(cache).execute
                for start in range(0, len(wanted), GET_MANY_CHUNK):
                    chunk = wanted[start : start + GET_MANY_CHUNK]
                    statement = _SELECT_MANY.format(marks=",".join("?" * len(chunk)))
                    for key, mode, filename, value in execute(statement, (*chunk, time.time())).fetchall():
                        try:
                            data = self._fetch(cache, mode, filename, value)
                        except UnsafeEntryError:
                            refused.append(key)
                            continue
                        if data is not None:
                            found[key] = data
        except _BACKEND_ERRORS as exc:
            raise self._failure("read", exc) from exc
        finally:
            for key in refused:
                self._discard(key)
        return found

    def _connection(self, cache: Any) -> sqlite3.Connection:
        """diskcache's connection for this thread, remembered for the thread that read last.

        diskcache's ``_con`` asks for the process id on every call (a system call) to
        notice a fork; a fork here is noticed by ``_forks`` instead.
        """
        reader = self._reader
        thread = threading.get_ident()
        if reader is not None and reader[0] == thread and reader[1] == _forks and reader[2] is cache:
            return reader[3]
        connection: sqlite3.Connection = cache._con
        self._reader = (thread, _forks, cache, connection)
        return connection

    @staticmethod
    def _fetch(cache: Any, mode: int, filename: str | None, value: Any) -> bytes | None:
        """The bytes of a row read by ``_SELECT_ONE``/``_SELECT_MANY``: through the Disk, as diskcache's ``get``.

        None when its value file cannot be read (another process removed the entry meanwhile),
        as diskcache's ``get`` answers then.
        """
        if mode == MODE_RAW and type(value) is bytes:
            return value  # what ``BytesOnlyDisk.fetch`` returns for it, without the call
        try:
            return cache.disk.fetch(mode, filename, value, False)  # type: ignore[no-any-return]
        except OSError:
            return None

    def set(self, key: str, value: bytes, expire: float | None) -> None:
        self._reopen_if_replaced()
        cache = self._open()
        try:
            cache.set(key, value, expire=expire, retry=False)
        except UnsafeEntryError:
            raise
        except _BACKEND_ERRORS as exc:
            raise self._failure("write", exc) from exc

    def set_many(self, items: Sequence[tuple[str, bytes, float | None]]) -> None:
        """One transaction for all of them: a commit per entry is what a batch of copies costs most."""
        if not items:
            return
        self._reopen_if_replaced()
        cache = self._open()
        try:
            with cache.transact(retry=False):
                for key, value, expire in items:
                    cache.set(key, value, expire=expire, retry=False)
        except UnsafeEntryError:
            raise
        except _BACKEND_ERRORS as exc:
            raise self._failure("write", exc) from exc

    def update_many(self, keys: Sequence[str], update: Callable[[str, bytes | None], Change]) -> None:
        """Read, decide and write ``keys`` in one transaction: a compare-and-swap for each, in order.

        ``update(key, current)`` gets the live value (None: absent, expired or not bytes)
        and returns ``KEEP``, ``DELETE`` or ``(value, expire)`` to set. No other process
        writes between the read and the write (``BEGIN IMMEDIATE``); ``StoreBusyError``
        when another held the lock too long, and then nothing was written.
        """
        if not keys:
            return
        self._reopen_if_replaced()
        cache = self._open()
        try:
            with cache.transact(retry=False):
                for key in keys:
                    try:
                        current = cache.get(key, default=None, retry=False)
                    except UnsafeEntryError:
                        current = None  # a planted row: overwritten like an absent one
                    change = update(key, current)
                    if change is DELETE:
                        cache.delete(key, retry=False)
                    elif isinstance(change, tuple):
                        cache.set(key, change[0], expire=change[1], retry=False)
        except UnsafeEntryError:
            raise
        except _BACKEND_ERRORS as exc:
            raise self._failure("write", exc) from exc

    def delete(self, key: str) -> None:
        cache = self._open()
        try:
            cache.delete(key, retry=False)
        except _BACKEND_ERRORS as exc:
            raise self._failure("delete", exc) from exc

    def _discard(self, key: str) -> None:
        """Remove an entry that failed its checks, ignoring any failure to do so."""
        with contextlib.suppress(StoreError):
            self.delete(key)

    def clear(self) -> int:
        """Remove every entry, waiting up to ``CLEAR_PATIENCE_S`` for other processes' locks.

        Not diskcache's ``clear(retry=True)``: it retries any error at ``BEGIN`` forever,
        so a database moved or deleted under it would spin the event loop without end.
        Only "database is locked" is worth another try (each waits up to the sqlite
        timeout, then ``CLEAR_PAUSE_S``); any other error fails at once.
        """
        self._reopen_if_replaced()
        cache = self._open()
        deadline = time.monotonic() + CLEAR_PATIENCE_S
        while True:
            try:
                return int(cache.clear(retry=False))
            except _BACKEND_ERRORS as exc:
                if not _is_locked(exc) or time.monotonic() >= deadline:
                    raise self._failure("clear", exc) from exc
            time.sleep(CLEAR_PAUSE_S)

    def count(self) -> int:
        cache = self._open()
        try:
            return len(cache)
        except _BACKEND_ERRORS as exc:
            raise self._failure("count", exc) from exc

    def size_bytes(self) -> int:
        cache = self._open()
        try:
            return int(cache.volume())
        except _BACKEND_ERRORS as exc:
            raise self._failure("size", exc) from exc

    def sizes(self) -> Iterator[tuple[str, int]]:
        cache = self._open()
        try:
            # diskcache keeps a value's length in ``size`` when it lives in a file, and the
            # value itself in the row otherwise; one query reads either without the values.
            rows = cache._sql(
                "SELECT key, CASE WHEN filename IS NULL THEN length(value) ELSE size END FROM Cache"
            ).fetchall()
        except _BACKEND_ERRORS as exc:
            raise self._failure("sizes", exc) from exc
        return iter([(key, int(size or 0)) for key, size in rows if isinstance(key, str)])

    def close(self) -> None:
        cache, self._cache = self._cache, None
        root, self._root = self._root, None
        self._reader = None
        if cache is not None:
            with contextlib.suppress(*_BACKEND_ERRORS):
                cache.close()
            cache.disk.attach(None)
        if root is not None:
            os.close(root)


def _identity(path: Path | str, directory: int | None = None) -> tuple[int, int] | None:
    """The device and inode ``path`` names now (relative to ``directory``, no link followed), or None."""
    try:
        info = os.stat(path) if directory is None else os.stat(path, dir_fd=directory, follow_symlinks=False)
    except OSError:
        return None
    return info.st_dev, info.st_ino


_CORRUPT_CODES = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB
_LOCKED_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
_SOUND_CODES = (*_LOCKED_CODES, 7, 9, 13, 18, 19)  # and SQLITE_NOMEM, _INTERRUPT, _FULL, _TOOBIG, _CONSTRAINT


def _unwrap(exc: BaseException) -> BaseException:
    """The error behind ``exc``: diskcache turns every error at ``BEGIN`` into a ``Timeout``, "locked" or not.

    ``clear`` wraps that ``Timeout`` in another, carrying the count removed so far.
    """
    while diskcache is not None and isinstance(exc, diskcache.Timeout) and exc.__context__ is not None:
        exc = exc.__context__
    return exc


def _primary_code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+, on errors sqlite itself reported
    return code & 0xFF if isinstance(code, int) else None


def _is_locked(exc: BaseException) -> bool:
    """Whether the failure is another connection's lock: worth waiting for, and no fault of this connection."""
    exc = _unwrap(exc)
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = _primary_code(exc)
    return code in _LOCKED_CODES if code is not None else "is locked" in str(exc)


def _open_failure(cause: BaseException | None) -> type[StoreError]:
    """``StoreBusyError`` when another process's lock kept the database from opening (worth retrying soon)."""
    return StoreBusyError if cause is not None and _is_locked(cause) else StoreError


def _is_sound(exc: BaseException) -> bool:
    """Whether sqlite's error leaves the database and this connection to it usable: locked, full, a value refused."""
    if _is_locked(exc):
        return True
    code = _primary_code(exc)
    if code is not None:
        return code in _SOUND_CODES
    return isinstance(exc, sqlite3.OperationalError) and "full" in str(exc)


def _is_corrupt(exc: BaseException) -> bool:
    """Whether sqlite says the file is damaged or not a database at all."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code in _CORRUPT_CODES
    message = str(exc)
    return "malformed" in message or "not a database" in message


def _describe(exc: BaseException) -> str:
    if diskcache is not None and isinstance(exc, diskcache.Timeout):
        return "database is busy (timeout)"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "no space left on device"
    return f"{type(exc).__name__}: {exc}"
