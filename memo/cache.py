"""ValidationCache: results by key on top of a store, with in-process counters.

Policy lives here (what a key is made of, expiry, what to do when the store fails);
mechanism lives in the store (bytes in, bytes out). Every store failure becomes a miss,
or a skipped write, and one logged warning: a validation never fails because of the cache.

Expiry (``ttl``, seconds): a positive number keeps an entry that long, ``None`` keeps it
until it is evicted or cleared, and ``0`` stores nothing at all. Entries are keyed by
everything a result depends on, so expiry only bounds how long unused entries linger.

Beside each stored result the cache records the key's parts under one record per file
and dimension (in a second, small store), so ``memo.explain`` can say why a later call
missed. Records are made only when a result is stored, never on a hit, and written in
batches (at the latest on ``close``).

With ``VALIDATION_CACHE_ENABLED`` false the path-based API (``get``, ``set``, ``stats``,
``invalidate_all``) reads nothing, writes nothing and creates nothing on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from memo.cachepath import default_cache_dir as default_cache_dir  # its home: light, for the fast path
from memo.codec import decode_entry, encode_entry
from memo.enabled import DISABLED_REASON, caching_enabled
from memo.errors import StoreBusyError, StoreError, StoreUnavailableError, UnsafeEntryError
from memo.hashing import hash_file
from memo.keys import (
    EMPTY_CONFIG_HASH,
    KeyParts,
    config_hash,
    derive_key,
    key_dimension,
    last_stored_key,
    relative_key_path,
)
from memo.lease import LeasePolicy
from memo.locallease import LEASE_DIRECTORY, LOCAL_POLICY, LocalLeases
from memo.results import ValidationResult
from memo.singleflight import SingleFlight
from memo.store import CACHE_AVAILABLE, DiskStore, MemoryStore, Store

if TYPE_CHECKING:
    from memo.remote import RemoteTier

log = logging.getLogger("memo")

DEFAULT_TTL = 86400
DEFAULT_SIZE_LIMIT = 2**30
INDEX_DIRECTORY = "explain"
"""Subdirectory of the cache directory holding the per-file records ``memo.explain`` reads."""
RECORD_BATCH = 512
"""Explain records kept in memory before they are written."""
PREFETCH_LIMIT = 1 << 16
"""Prefetched entries kept for the lookups to come; past it, the oldest prefetch is dropped."""

_NOT_PREFETCHED = object()
WRITE_PATIENCE_S = 5.0
"""How long a result write that found the database busy (another process writing) is retried."""
CLOSE_PATIENCE_S = 1.0
"""How long ``close`` waits on a busy database to write what is still deferred."""
_FIRST_WRITE_PAUSE_S = 0.01
_MAX_WRITE_PAUSE_S = 0.25


class _CacheTTL(enum.Enum):
    """The type of ``CACHE_TTL``: "whatever the cache's own ``ttl`` is"."""

    TOKEN = "the cache's ttl"  # nosec B105 - a sentinel's label, not a password

    def __repr__(self) -> str:
        return "CACHE_TTL"


CACHE_TTL = _CacheTTL.TOKEN
"""As a ``ttl`` argument: use the ``ttl`` the cache was made with (the default everywhere)."""

TTL = int | None | _CacheTTL


def check_ttl(ttl: object, *, allow_default: bool = True) -> None:
    """Raise ``ValueError`` unless ``ttl`` is a non-negative int, None (or ``CACHE_TTL``)."""
    if ttl is None or (allow_default and ttl is CACHE_TTL):
        return
    if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0:
        raise ValueError(
            f"ttl must be a non-negative number of seconds (0: store nothing) or None (never expire), not {ttl!r}"
        )


@dataclass(frozen=True)
class CacheKey:
    """A derived key together with the parts it was derived from, for inspection."""

    key: str
    parts: KeyParts


@dataclass
class _Counters:
    hits: int = 0
    misses: int = 0
    sets: int = 0
    errors: int = 0
    rejected: int = 0
    """Entries that failed their checks (pickled, malformed, foreign key) and were dropped."""


class ValidationCache:
    """Validation results on disk (diskcache), keyed by file content, config and validator.

    Usable as a context manager. With ``diskcache`` missing, or the directory untrusted,
    every method is a harmless no-op and ``available`` is False.

    ``ttl`` is the default expiry of every entry, decorated calls included (unless the
    decorator sets its own): seconds, ``None`` for never, ``0`` to store nothing.
    ``index_store`` holds the records ``memo.explain`` reads; by default a store in the
    cache directory's ``explain/`` subdirectory, or, beside a given ``store``, one in memory.
    ``lease``: how long the leases that let processes sharing the directory run each
    check once live and are waited on (``memo.locallease``).
    """

    def __init__(
        self,
        cache_dir: Path | str | None = None,
        *,
        ttl: int | None = DEFAULT_TTL,
        size_limit: int = DEFAULT_SIZE_LIMIT,
        store: Store | None = None,
        timeout: float = 0.1,
        clock: Callable[[], float] = time.time,
        remote: RemoteTier | None = None,
        index_store: Store | None = None,
        lease: LeasePolicy | None = None,
    ) -> None:
        check_ttl(ttl, allow_default=False)
        self.directory: Path | None = None
        self.ttl = ttl
        self._clock = clock
        self._counters = _Counters()
        self._warned: set[str] = set()
        self._warn_lock = threading.Lock()
        self._config_hash = EMPTY_CONFIG_HASH
        self.flights: SingleFlight[Any] = SingleFlight()
        self.unavailable_reason: str | None = None
        self.last_failure: str | None = None
        self._adopted: list[tuple[str, bytes, float | None]] = []
        """The message of the store's latest failure, for a command that reports on the cache."""
        self.remote = remote
        """The shared tier behind this one (``memo.remote``), or None."""
        self._index: Store | None = index_store
        self._pending: dict[str, bytes] = {}
        self._prefetched: dict[str, bytes | None] = {}
        """Entry bytes (None: found missing) read ahead by ``prefetch``, each for one ``lookup``."""
        self._timeout = timeout
        self._deferred: list[tuple[str, bytes, float | None]] = []
        """Writes that found the database busy, tried again from ``_write_later`` (off the hot path)."""
        self._write_task: asyncio.Task[None] | None = None
        self._leases: LocalLeases | None = None
        self._lease_policy = lease or LOCAL_POLICY
        self._leases_tried = False
        if store is not None:
            self._store: Store | None = store
            if index_store is None:
                self._index = MemoryStore(clock=clock)
        elif CACHE_AVAILABLE:
            self.directory = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
            self._store = DiskStore(self.directory, size_limit=size_limit, timeout=timeout)
            if index_store is None:
                index_limit = max(size_limit // 16, 1 << 20)
                self._index = DiskStore(self.directory / INDEX_DIRECTORY, size_limit=index_limit, timeout=timeout)
        else:
            self._store = None
            self.unavailable_reason = "diskcache is not installed"

    # -- availability and failure policy -------------------------------------------------

    @property
    def available(self) -> bool:
        """Whether this cache can read and write at all (a failing store turns it off)."""
        return self._store is not None

    def _warn_once(self, kind: str, message: str) -> None:
        with self._warn_lock:
            if kind in self._warned:
                return
            self._warned.add(kind)
        log.warning("memo cache: %s; validating without the cache where needed", message)

    def _failed(self, exc: StoreError) -> None:
        """Count a store failure; an untrusted or unopenable directory turns the cache off."""
        self._counters.errors += 1
        message = str(exc)
        self.last_failure = message
        if isinstance(exc, StoreUnavailableError):
            self._store = None
            self._index = None
            self.unavailable_reason = message
        self._warn_once(type(exc.__cause__ or exc).__name__, message)

    # -- keys ------------------------------------------------------------------------------

    def set_config_hash(self, config: Mapping[str, Any] | None) -> None:
        """Set the config part of keys for ``get``/``set`` calls that do not pass ``config_hash``."""
        self._config_hash = config_hash(config)

    @property
    def config_hash(self) -> str:
        return self._config_hash

    def key_for(
        self,
        file_path: str | os.PathLike[str],
        dimension: str,
        *,
        content: str | None = None,
        validator: str = "",
        root: str | os.PathLike[str] | None = None,
        config_hash: str | None = None,
        context: str = "",
    ) -> CacheKey:
        """The key a result for this file and dimension is stored under, with its parts.

        ``content`` is the file's digest; without it the file is read and hashed now.
        """
        parts = KeyParts(
            path=relative_key_path(file_path, root),
            content=content if content is not None else hash_file(file_path),
            config=config_hash if config_hash is not None else self._config_hash,
            dimension=dimension,
            validator=validator,
            context=context,
        )
        return CacheKey(derive_key(parts), parts)

    # -- the two halves of the hot path (used by the decorator) ------------------------------

    def lookup(self, key: str, file_path: str | None) -> ValidationResult | None:
        """The live result stored under ``key``, or None. Never raises.

        The decorator's half of the hot path: it does not read ``VALIDATION_CACHE_ENABLED``
        (the decorator did, once per call); ``get`` does.
        """
        store = self._store
        if store is None:
            return None
        counters = self._counters
        try:
            prefetched = self._prefetched
            data = prefetched.pop(key, _NOT_PREFETCHED) if prefetched else _NOT_PREFETCHED
            if data is _NOT_PREFETCHED:
                data = store.get(key)
            result = None if data is None else decode_entry(key, data, file_path, self._clock())
        except UnsafeEntryError as exc:
            counters.rejected += 1
            self._discard(key)
            self._failed(exc)
            result = None
        except StoreError as exc:
            self._failed(exc)
            result = None
        if result is None:
            counters.misses += 1
        else:
            counters.hits += 1
        return result

    def prefetch(self, keys: Iterable[str]) -> int:
        """Read the entries under ``keys`` in one store read, for the ``lookup`` of each that follows.

        For a caller that knows a batch of keys before it looks them up (a run's checks):
        one query instead of one per key. Each ``lookup`` takes its key's bytes from here
        (once) and verifies them as any read: key, schema, expiry. A key found missing is
        a miss for its next lookup, unless something is stored under it first. Returns how
        many were found; 0 when disabled or the store failed. Never raises.
        """
        store = self._store
        if store is None or not caching_enabled():
            return 0
        wanted = list(dict.fromkeys(keys))
        try:
            found = store.get_many(wanted)
        except StoreError as exc:
            self._failed(exc)
            return 0
        prefetched = self._prefetched
        if len(prefetched) + len(wanted) > PREFETCH_LIMIT:
            prefetched.clear()
        for key in wanted:
            prefetched[key] = found.get(key)
        return len(found)

    def forget_prefetched(self) -> None:
        """Drop what ``prefetch`` read that no ``lookup`` took (a run is over: it would only be held)."""
        self._prefetched.clear()

    def lookup_many(self, keys: Mapping[str, str | None]) -> dict[str, ValidationResult]:
        """The live results under ``keys`` (``{key: file_path}``), read in one store read; misses left out.

        Each key is counted as a hit or a miss, and each entry verified, as by ``lookup``.
        Nothing is read when disabled. Never raises.
        """
        if self._store is None or not caching_enabled():
            return {}
        self.prefetch(keys)
        found: dict[str, ValidationResult] = {}
        for key, file_path in keys.items():
            result = self.lookup(key, file_path)
            if result is not None:
                found[key] = result
        return found

    def store(self, key: str, result: ValidationResult, ttl: TTL = CACHE_TTL, parts: KeyParts | None = None) -> bool:
        """Store ``result`` under ``key``; whether it was stored. Never raises.

        False, with a warning, when the store failed; False, quietly, when ``ttl`` is 0.
        With ``parts`` (those ``key`` was derived from), they are recorded for ``memo.explain``.
        """
        store = self._store
        if store is None:
            return False
        self._prefetched.pop(key, None)  # read afresh from now on, not as prefetched before this
        if isinstance(ttl, _CacheTTL):
            ttl = self.ttl
        if ttl == 0:
            return False
        expires_at = None if ttl is None else self._clock() + ttl
        try:
            data = encode_entry(key, result, expires_at)
        except (TypeError, ValueError) as exc:
            self._warn_once("encode", f"result for {result.file_path} cannot be stored as JSON: {exc}")
            return False
        if self.remote is not None:
            self.remote.put(key, data, ttl)
        expire = None if ttl is None else float(ttl)
        try:
            store.set(key, data, expire)
        except StoreBusyError as exc:
            if not self._defer([(key, data, expire)]):
                self._failed(exc)
                return False
        except StoreError as exc:
            self._failed(exc)
            return False
        else:
            self._counters.sets += 1
        if parts is not None:
            self._record(key, parts)
        return True

    def adopt(self, key: str, data: bytes, file_path: str | None) -> ValidationResult | None:
        """The result in verified shared-tier ``data`` for ``key``, written to the local store too.

        None (counted as rejected) if it is not a well-formed live entry for ``key``.
        """
        store = self._store
        if store is None:
            return None
        try:
            result = decode_entry(key, data, file_path, self._clock())
        except UnsafeEntryError:
            self._counters.rejected += 1
            return None
        if result is None:
            return None
        self._prefetched.pop(key, None)
        if self.ttl == 0:
            return result  # ttl 0: this cache stores nothing
        # The envelope's own expiry is checked on every read; the store's is housekeeping.
        self._adopted.append((key, data, None if self.ttl is None else float(self.ttl)))
        if len(self._adopted) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.flush_adopted)
            except RuntimeError:  # no loop: a synchronous caller, written now
                self.flush_adopted()
        return result

    def flush_adopted(self) -> None:
        """Write the local copies of shared hits gathered this loop tick, in one store write.

        Shared hits arrive together (one ``MGET`` per tick), and a commit per copy was
        most of what a run on an empty local cache with a warm shared one cost.
        """
        items, self._adopted = self._adopted, []
        store = self._store
        if store is None or not items:
            return
        try:
            store.set_many(items)
        except StoreBusyError as exc:
            if not self._defer(items):
                self._failed(exc)
        except StoreError as exc:
            self._failed(exc)

    # -- writes another process kept out for a moment -------------------------------------

    def _defer(self, items: list[tuple[str, bytes, float | None]]) -> bool:
        """Keep ``items`` to write again shortly, off the event loop's hot path; whether they were kept.

        Two processes writing to one cache take turns at its write lock; a write that
        waited the store's short timeout for its turn is tried again with growing pauses
        (``asyncio.sleep``, so the loop never stalls) rather than lost. Without a running
        loop there is no later: False, and the caller counts a failure.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        self._deferred.extend(items)
        task = self._write_task
        if task is None or task.done() or task.get_loop() is not loop:
            self._write_task = loop.create_task(self._write_later())
        return True

    async def _write_later(self) -> None:
        deadline = time.monotonic() + WRITE_PATIENCE_S
        pause = _FIRST_WRITE_PAUSE_S
        while self._deferred:
            await asyncio.sleep(pause)
            pause = min(pause * 2, _MAX_WRITE_PAUSE_S)
            store = self._store
            items, self._deferred = self._deferred, []
            if store is None:
                return
            try:
                store.set_many(items)
            except StoreBusyError as exc:
                if time.monotonic() >= deadline:
                    self._failed(exc)
                    return
                self._deferred = items + self._deferred
            except StoreError as exc:
                self._failed(exc)
                return
            else:
                self._counters.sets += len(items)

    async def settle_writes(self) -> None:
        """Wait until the writes deferred in this loop are written (or given up)."""
        task = self._write_task
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            await asyncio.shield(task)

    def _flush_deferred(self) -> None:
        """Write what is still deferred now, waiting (bounded) for other processes' locks: for ``close``."""
        deadline = time.monotonic() + CLOSE_PATIENCE_S
        while self._deferred and self._store is not None:
            items, self._deferred = self._deferred, []
            try:
                self._store.set_many(items)
            except StoreBusyError as exc:
                if time.monotonic() >= deadline:
                    self._failed(exc)
                    return
                self._deferred = items + self._deferred
                time.sleep(_FIRST_WRITE_PAUSE_S)
            except StoreError as exc:
                self._failed(exc)
                return
            else:
                self._counters.sets += len(items)

    # -- local leases: another process on this machine running the same check -------------

    def local_leases(self, ttl: TTL = CACHE_TTL) -> LocalLeases | None:
        """The leases this cache's directory shares between processes, or None when none apply.

        None for a cache with no directory (a given store), an unavailable one, or a
        ``ttl`` of 0 (nothing is stored, so nobody could wait for an entry). Opened on
        the first miss, so a run with every result cached creates nothing.
        """
        if isinstance(ttl, _CacheTTL):
            ttl = self.ttl
        if ttl == 0 or self._store is None or self.directory is None:
            return None
        leases = self._leases
        if leases is None and not self._leases_tried:
            self._leases_tried = True
            store = DiskStore(self.directory / LEASE_DIRECTORY, size_limit=1 << 24, timeout=self._timeout)
            leases = self._leases = LocalLeases(
                store, self._live_entry, policy=self._lease_policy, before_release=self.settle_writes
            )
        return leases if leases is not None and leases.available else None

    def _live_entry(self, key: str) -> bytes | None:
        """The bytes of the live, well-formed entry under ``key``, or None; counts nothing."""
        store = self._store
        if store is None:
            return None
        try:
            data = store.get(key)
            if data is None or decode_entry(key, data, None, self._clock()) is None:
                return None
        except StoreError:  # UnsafeEntryError included: not an entry to hand to anyone
            return None
        return data

    def shared_result(self, key: str, data: bytes, file_path: str | None) -> ValidationResult | None:
        """The result in entry ``data`` (from ``local_leases``) for ``key``, about ``file_path``; None if unusable."""
        try:
            return decode_entry(key, data, file_path, self._clock())
        except UnsafeEntryError:
            return None

    # -- what memo.explain reads ---------------------------------------------------------

    def _record(self, key: str, parts: KeyParts) -> None:
        """Remember ``parts`` as those of the entry last stored for their file and dimension.

        Kept in memory and written in batches (``flush_records``), so a miss costs no
        second write and the records' store is opened once a run has something to say,
        not under the deadline of the first check that stored a result.
        """
        if self._index is None:
            return
        data = json.dumps({"key": key, "parts": parts.to_dict()}, separators=(",", ":"), ensure_ascii=False)
        self._pending[last_stored_key(parts.dimension, parts.path)] = data.encode(errors="surrogatepass")
        if len(self._pending) >= RECORD_BATCH:
            self.flush_records()

    def flush_records(self) -> None:
        """Write the explain records kept in memory (``close`` and ``memo.explain`` do this)."""
        pending, self._pending = self._pending, {}
        index = self._index
        if index is None or not pending:
            return
        try:
            index.set_many([(index_key, data, None) for index_key, data in pending.items()])
        except StoreError as exc:
            self._index_failed(exc)

    def last_stored(self, dimension: str, path: str) -> tuple[str, KeyParts] | None:
        """The key and parts of the entry last stored for ``path`` (relative) in ``dimension``.

        None when nothing was recorded, or the record is unreadable. Never raises.
        """
        if self._index is None or self._store is None or not caching_enabled():
            return None
        self.flush_records()
        index = self._index
        if index is None:
            return None
        try:
            data = index.get(last_stored_key(dimension, path))
        except StoreError as exc:
            self._index_failed(exc)
            return None
        if type(data) is not bytes:
            return None
        try:
            record = json.loads(data.decode(errors="surrogatepass"))
        except (ValueError, RecursionError):
            return None
        if not isinstance(record, dict) or type(record.get("key")) is not str:
            return None
        parts = KeyParts.from_dict(record.get("parts"))
        if parts is None or (parts.dimension, parts.path) != (dimension, path):
            return None
        return record["key"], parts

    def peek(self, key: str, file_path: str | None) -> ValidationResult | None:
        """The live result under ``key`` without counting a hit or a miss; None if none. Never raises."""
        store = self._store
        if store is None or not caching_enabled():
            return None
        try:
            data = store.get(key)
            return None if data is None else decode_entry(key, data, file_path, self._clock())
        except StoreError:  # UnsafeEntryError included: not a live entry, and lookup will drop it
            return None

    def _index_failed(self, exc: StoreError) -> None:
        """A failure of the explain records: logged at debug level only.

        The records are a diagnostic; the faults that hit them (a deleted directory, a
        busy database) hit the results' store too, which warns once for both.
        """
        if isinstance(exc, StoreUnavailableError):
            self._index = None
        log.debug("memo cache: explain records: %s", exc)

    def _discard(self, key: str) -> None:
        store = self._store
        if store is not None:
            with contextlib.suppress(StoreError):
                store.delete(key)

    # -- the public, path-based API -------------------------------------------------------

    def get(self, file_path: str | os.PathLike[str], dimension: str, **key_args: Any) -> ValidationResult | None:
        """The cached result for this file's current content and ``dimension``, or None."""
        if self._store is None or not caching_enabled():
            return None
        try:
            cache_key = self.key_for(file_path, dimension, **key_args)
        except (OSError, ValueError):  # ValueError: a path with a NUL byte
            self._counters.misses += 1
            return None
        return self.lookup(cache_key.key, os.fspath(file_path))

    def set(
        self,
        file_path: str | os.PathLike[str],
        dimension: str,
        result: ValidationResult,
        ttl: TTL = CACHE_TTL,
        **key_args: Any,
    ) -> None:
        """Store ``result`` for this file's current content; results with ``error`` are not stored.

        ``ttl``: seconds, ``None`` (never expire), ``0`` (store nothing); by default the cache's.
        """
        check_ttl(ttl)
        if self._store is None or result.error is not None or not caching_enabled():
            return
        try:
            cache_key = self.key_for(file_path, dimension, **key_args)
        except (OSError, ValueError):  # ValueError: a path with a NUL byte
            return
        self.store(cache_key.key, replace(result, file_path=os.fspath(file_path)), ttl, cache_key.parts)

    def invalidate_all(self) -> int:
        """Remove every entry; the number removed (0 if the store failed, or caching is disabled)."""
        store = self._store
        if store is None or not caching_enabled():
            return 0
        try:
            removed = store.clear()
        except StoreError as exc:
            self._failed(exc)
            return 0
        self._pending = {}
        self._prefetched.clear()
        if self.directory is not None:  # run manifests answer for these entries: they go with them
            from memo.manifest import clear_manifests

            clear_manifests(self.directory)
        index = self._index
        if index is not None:
            try:
                index.clear()
            except StoreError as exc:
                self._index_failed(exc)
        return removed

    def stats(self) -> dict[str, Any]:
        """Counters of this process plus the store's entry count and size.

        ``enabled`` is False (and nothing is read or created) when caching is disabled.
        """
        counters = self._counters
        lookups = counters.hits + counters.misses
        enabled = caching_enabled()
        stats: dict[str, Any] = {
            "enabled": enabled,
            "available": self.available,
            "directory": None if self.directory is None else str(self.directory),
            "hits": counters.hits,
            "misses": counters.misses,
            "hit_rate": counters.hits / lookups if lookups else 0.0,
            "sets": counters.sets,
            "errors": counters.errors,
            "rejected": counters.rejected,
            "entries": 0,
            "size_bytes": 0,
        }
        if self.remote is not None:
            stats["remote"] = self.remote.stats()
        store = self._store
        if store is None:
            stats["reason"] = self.unavailable_reason
            return stats
        if not enabled:
            stats["reason"] = DISABLED_REASON
            return stats
        try:
            stats["entries"] = store.count()
            stats["size_bytes"] = store.size_bytes()
        except StoreError as exc:
            self._failed(exc)
            stats["available"] = self.available
        return stats

    def usage(self) -> dict[str, tuple[int, int]] | None:
        """What the store holds, by dimension: ``{dimension: (entries, bytes of values)}``.

        Read from the store itself, so it is what persists (unlike ``stats()``'s counters,
        which are this process's). None when disabled or when the store cannot be read
        (``last_failure`` says why). Never raises.
        """
        store = self._store
        if store is None or not caching_enabled():
            return None
        held: dict[str, tuple[int, int]] = {}
        try:
            for key, size in store.sizes():
                dimension = key_dimension(key) or "(other)"
                entries, total = held.get(dimension, (0, 0))
                held[dimension] = (entries + 1, total + size)
        except StoreError as exc:
            self._failed(exc)
            return None
        return dict(sorted(held.items()))

    def close(self) -> None:
        """Write what is kept in memory and close the stores."""
        if self.remote is not None:
            self.remote.close()
        self._prefetched.clear()
        self.flush_adopted()
        self._flush_deferred()
        if self._leases is not None:
            self._leases.close()
        if self._store is not None:
            self._store.close()
        self.flush_records()
        if self._index is not None:
            self._index.close()

    def __enter__(self) -> ValidationCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.directory if self.directory is not None else type(self._store).__name__
        return f"ValidationCache({where!s}, available={self.available})"
