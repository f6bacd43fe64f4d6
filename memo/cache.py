"""ValidationCache: results by key on top of a store, with in-process counters.

Policy lives here (what a key is made of, expiry, what to do when the store fails);
mechanism lives in the store (bytes in, bytes out). Every store failure becomes a miss,
or a skipped write, and one logged warning: a validation never fails because of the cache.

The class is a facade: it owns the results' store, the hit path (``lookup``, ``store``,
``adopt``) and the failure policy, and composes one small object per other concern, each
in its own module and readable alone:

- ``memo.readahead``: entries read ahead in one query, each for the lookup that follows;
- ``memo.deferred``: writes taken off the hit path (copies of shared hits, busy writes);
- ``memo.explainrecords``: the key parts ``memo.explain`` compares a miss against;
- ``memo.cacheleases``: the directory's leases, so processes run each check once;
- ``memo.pathapi``: ``get``, ``set`` and ``key_for`` by file path;
- ``memo.cacheopts``: directory, expiry and counters, importable without the store.

With ``VALIDATION_CACHE_ENABLED`` false the path-based API (``get``, ``set``, ``stats``,
``invalidate_all``) reads nothing, writes nothing and creates nothing on disk.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from memo.cacheleases import CacheLeases
from memo.cacheopts import (
    CACHE_TTL,
    DEFAULT_SIZE_LIMIT,
    DEFAULT_TTL,
    TTL,
    CacheCounters,
    check_ttl,
    default_cache_dir,
    resolve_ttl,
)
from memo.codec import decode_entry, encode_entry
from memo.deferred import DeferredWriter
from memo.enabled import DISABLED_REASON, caching_enabled
from memo.errors import StoreBusyError, StoreError, StoreUnavailableError, UnsafeEntryError
from memo.explainrecords import ExplainRecords, open_records_store
from memo.keys import KeyParts, key_dimension
from memo.lease import LeasePolicy
from memo.localauth import local_sealer
from memo.locallease import LOCAL_POLICY, LocalLeases
from memo.pathapi import CacheKey, PathAPI
from memo.readahead import NOT_PREFETCHED, Prefetched
from memo.results import ValidationResult
from memo.sealedstore import SealedStore
from memo.singleflight import SingleFlight
from memo.store import CACHE_AVAILABLE, DiskStore, MemoryStore, Store

if TYPE_CHECKING:
    from memo.remote import RemoteTier

__all__ = [
    "CACHE_TTL",
    "DEFAULT_SIZE_LIMIT",
    "DEFAULT_TTL",
    "TTL",
    "CacheKey",
    "ValidationCache",
    "check_ttl",
    "default_cache_dir",
]
"""``ValidationCache``, and the names of its arguments and results that callers import from here.

The parts' tunables (``WRITE_PATIENCE_S``, ``PREFETCH_LIMIT``, ...) are not re-exported:
each is read where it is defined, so that is where a test changes it.
"""

log = logging.getLogger("memo")


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
        self._counters = CacheCounters()
        self._warned: set[str] = set()
        self._warn_lock = threading.Lock()
        self.flights: SingleFlight[Any] = SingleFlight()
        self.unavailable_reason: str | None = None
        self.last_failure: str | None = None
        """The message of the store's latest failure, for a command that reports on the cache."""
        self.remote = remote
        """The shared tier behind this one (``memo.remote``), or None."""
        self._prefetched = Prefetched()
        """Entry bytes (None: found missing) read ahead by ``prefetch``, each for one ``lookup``."""
        self._writes = DeferredWriter(lambda: self._store, self._failed, self._written)
        self._paths = PathAPI(self, self._counters)
        self._leases: CacheLeases | None = None
        records_store: Store | None
        # The stores: results here, records and leases beside them in the same directory.
        if store is not None:
            self._store: Store | None = store
            records_store = index_store if index_store is not None else MemoryStore(clock=clock)
        elif CACHE_AVAILABLE:
            self.directory = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
            # Sealed under a key the directory does not hold: a planted or foreign entry is a miss.
            sealer = local_sealer()
            self._store = SealedStore(DiskStore(self.directory, size_limit=size_limit, timeout=timeout), sealer)
            if index_store is None:
                records = open_records_store(self.directory, size_limit=size_limit, timeout=timeout)
                index_store = SealedStore(records, sealer)  # a planted record would only mislead explain
            records_store = index_store
            self._leases = CacheLeases(
                self.directory,
                timeout=timeout,
                policy=lease or LOCAL_POLICY,
                entry=self._live_entry,
                before_release=self.settle_writes,
            )
        else:
            self._store = None
            records_store = index_store
            self.unavailable_reason = "diskcache is not installed"
        self._records = ExplainRecords(records_store)

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
            self._records.stop()
            self.unavailable_reason = message
        self._warn_once(type(exc.__cause__ or exc).__name__, message)

    def _written(self, count: int) -> None:
        """Count ``count`` writes the deferred writer made."""
        self._counters.sets += count

    # -- keys ------------------------------------------------------------------------------

    def set_config_hash(self, config: Mapping[str, Any] | None) -> None:
        """Set the config part of keys for ``get``/``set`` calls that do not pass ``config_hash``."""
        self._paths.set_config_hash(config)

    @property
    def config_hash(self) -> str:
        return self._paths.config_hash

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
        return self._paths.key_for(
            file_path,
            dimension,
            content=content,
            validator=validator,
            root=root,
            config_hash=config_hash,
            context=context,
        )

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
            data = prefetched.pop(key, NOT_PREFETCHED) if prefetched else NOT_PREFETCHED
            if data is NOT_PREFETCHED:
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

        Each ``lookup`` takes its key's bytes from here (once) and verifies them as any
        read: key, schema, expiry (``memo.readahead``). Returns how many were found; 0 when
        disabled or the store failed. Never raises.
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
        self._prefetched.fill(wanted, found)
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
        seconds = resolve_ttl(ttl, self.ttl)
        if seconds == 0:
            return False
        expires_at = None if seconds is None else self._clock() + seconds
        try:
            data = encode_entry(key, result, expires_at)
        except (TypeError, ValueError) as exc:
            self._warn_once("encode", f"result for {result.file_path} cannot be stored as JSON: {exc}")
            return False
        if self.remote is not None:
            self.remote.put(key, data, seconds)
        expire = None if seconds is None else float(seconds)
        try:
            store.set(key, data, expire)
        except StoreBusyError as exc:
            if not self._writes.defer([(key, data, expire)]):
                self._failed(exc)
                return False
        except StoreError as exc:
            self._failed(exc)
            return False
        else:
            self._counters.sets += 1
        if parts is not None:
            self._records.record(key, parts)
        return True

    def adopt(self, key: str, data: bytes, file_path: str | None) -> ValidationResult | None:
        """The result in verified shared-tier ``data`` for ``key``, written to the local store too.

        None (counted as rejected) if it is not a well-formed live entry for ``key``. The
        local copy is written with the other copies of this loop tick (``memo.deferred``).
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
        self._writes.copy((key, data, None if self.ttl is None else float(self.ttl)))
        return result

    def flush_adopted(self) -> None:
        """Write the local copies of shared hits gathered this loop tick, in one store write."""
        self._writes.flush_copies()

    async def settle_writes(self) -> None:
        """Wait until the writes deferred in this loop are written (or given up)."""
        await self._writes.settle()

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

    def _discard(self, key: str) -> None:
        store = self._store
        if store is not None:
            with contextlib.suppress(StoreError):
                store.delete(key)

    # -- local leases: another process on this machine running the same check -------------

    def local_leases(self, ttl: TTL = CACHE_TTL) -> LocalLeases | None:
        """The leases this cache's directory shares between processes, or None when none apply.

        None for a cache with no directory (a given store), an unavailable one, or a
        ``ttl`` of 0 (nothing is stored, so nobody could wait for an entry). Opened on
        the first miss, so a run with every result cached creates nothing.
        """
        leases = self._leases
        if leases is None or self._store is None or resolve_ttl(ttl, self.ttl) == 0:
            return None
        return leases.get()

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

    def flush_records(self) -> None:
        """Write the explain records kept in memory (``close`` and ``memo.explain`` do this)."""
        self._records.flush()

    def last_stored(self, dimension: str, path: str) -> tuple[str, KeyParts] | None:
        """The key and parts of the entry last stored for ``path`` (relative) in ``dimension``.

        None when nothing was recorded, or the record is unreadable. Never raises.
        """
        if not self._records.kept or self._store is None or not caching_enabled():
            return None
        return self._records.last_stored(dimension, path)

    # -- the public, path-based API -------------------------------------------------------

    def get(self, file_path: str | os.PathLike[str], dimension: str, **key_args: Any) -> ValidationResult | None:
        """The cached result for this file's current content and ``dimension``, or None."""
        return self._paths.get(file_path, dimension, **key_args)

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
        self._paths.set(file_path, dimension, result, ttl, **key_args)

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
        self._prefetched.clear()
        if self.directory is not None:  # run manifests answer for these entries: they go with them
            from memo.manifest import clear_manifests

            clear_manifests(self.directory)
        self._records.clear()
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
        self._writes.flush_copies()
        self._writes.flush()
        if self._leases is not None:
            self._leases.close()
        if self._store is not None:
            self._store.close()
        self._records.close()

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
