"""The path-based API of a cache: ``get``, ``set`` and ``key_for`` by file path.

The decorator plans its keys itself (``memo.decorator``) and calls the key-based hit
path (``lookup``, ``store``). A user holding a file and a dimension instead wants the key
derived for them, now: the file read and hashed, the config part taken from the cache
(``set_config_hash``) unless given. This module is that translation and nothing else; it
reads and stores only through the cache's key-based methods, so it adds no way of
reaching the store.

With ``VALIDATION_CACHE_ENABLED`` false, ``get`` and ``set`` read nothing, write nothing
and create nothing on disk.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from memo.cacheopts import CACHE_TTL, TTL, CacheCounters, check_ttl
from memo.enabled import caching_enabled
from memo.hashing import hash_file
from memo.keys import EMPTY_CONFIG_HASH, KeyParts, config_hash, derive_key, relative_key_path
from memo.results import ValidationResult


@dataclass(frozen=True)
class CacheKey:
    """A derived key together with the parts it was derived from, for inspection."""

    key: str
    parts: KeyParts


class KeyedCache(Protocol):
    """The key-based half of a cache that the path-based calls go through."""

    @property
    def available(self) -> bool: ...

    def lookup(self, key: str, file_path: str | None) -> ValidationResult | None: ...

    def store(self, key: str, result: ValidationResult, ttl: TTL = ..., parts: KeyParts | None = ...) -> bool: ...


class PathAPI:
    """``key_for``, ``get`` and ``set`` of ``cache``, counting into its ``counters``."""

    def __init__(self, cache: KeyedCache, counters: CacheCounters) -> None:
        self._cache = cache
        self._counters = counters
        self.config_hash = EMPTY_CONFIG_HASH
        """The config part of keys for calls that do not pass ``config_hash``."""

    def set_config_hash(self, config: Mapping[str, Any] | None) -> None:
        """Take the digest of ``config`` as the config part of keys from now on."""
        self.config_hash = config_hash(config)

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
        """The key for this file and dimension, with its parts (``content`` None: hash the file now)."""
        parts = KeyParts(
            path=relative_key_path(file_path, root),
            content=content if content is not None else hash_file(file_path),
            config=config_hash if config_hash is not None else self.config_hash,
            dimension=dimension,
            validator=validator,
            context=context,
        )
        return CacheKey(derive_key(parts), parts)

    def get(self, file_path: str | os.PathLike[str], dimension: str, **key_args: Any) -> ValidationResult | None:
        """The cached result for this file's current content; an unreadable file is a miss."""
        cache = self._cache
        if not cache.available or not caching_enabled():
            return None
        try:
            cache_key = self.key_for(file_path, dimension, **key_args)
        except (OSError, ValueError):  # ValueError: a path with a NUL byte
            self._counters.misses += 1
            return None
        return cache.lookup(cache_key.key, os.fspath(file_path))

    def set(
        self,
        file_path: str | os.PathLike[str],
        dimension: str,
        result: ValidationResult,
        ttl: TTL = CACHE_TTL,
        **key_args: Any,
    ) -> None:
        """Store ``result`` for this file's current content, unless it has an ``error``."""
        check_ttl(ttl)
        cache = self._cache
        if not cache.available or result.error is not None or not caching_enabled():
            return
        try:
            cache_key = self.key_for(file_path, dimension, **key_args)
        except (OSError, ValueError):  # ValueError: a path with a NUL byte
            return
        cache.store(cache_key.key, replace(result, file_path=os.fspath(file_path)), ttl, cache_key.parts)
