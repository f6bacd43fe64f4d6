"""Which cache a decorated call uses, and whether caching is on at all.

A run (the orchestrator's, or a test's) binds a cache, its config hash and a hash memo
in a context variable; tasks it starts inherit the binding, so two runs with different
configs in one process never share results. Outside any binding, calls use a
process-wide default cache at the default directory, created on first use.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memo.cache import ValidationCache, default_cache_dir
from memo.hashing import HashMemo
from memo.keys import config_hash

_FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def caching_enabled() -> bool:
    """False when ``VALIDATION_CACHE_ENABLED`` is false/0/no/off (any case); read on every call."""
    value = os.environ.get("VALIDATION_CACHE_ENABLED")
    return value is None or value.strip().lower() not in _FALSE_WORDS


@dataclass(frozen=True)
class CacheBinding:
    """The cache of one run, with the run's config hash, project root and hash memo.

    ``cache`` None means this run validates without a cache.
    """

    cache: ValidationCache | None
    config_hash: str | None = None
    """None: each validator's own ``config`` is hashed instead."""
    root: Path | None = None
    hashes: HashMemo = field(default_factory=HashMemo)


_binding: contextvars.ContextVar[CacheBinding | None] = contextvars.ContextVar("memo_binding", default=None)


@contextmanager
def bind_cache(
    cache: ValidationCache | None,
    *,
    config: Mapping[str, Any] | None = None,
    root: Path | str | None = None,
) -> Iterator[CacheBinding]:
    """Make ``cache`` the one decorated calls in this context (and tasks started in it) use.

    ``config`` is the run's config: its hash becomes the config part of every key. Without
    it, each validator's own ``config`` is hashed. ``cache=None`` turns caching off here.
    """
    binding = CacheBinding(
        cache=cache,
        config_hash=None if config is None else config_hash(config),
        root=None if root is None else Path(root),
    )
    token = _binding.set(binding)
    try:
        yield binding
    finally:
        _binding.reset(token)


def current_binding() -> CacheBinding | None:
    """The binding in force in this context, if any."""
    return _binding.get()


_default_lock = threading.Lock()
_default: tuple[Path, CacheBinding] | None = None


def default_binding() -> CacheBinding:
    """The process-wide binding used outside any run; re-created if the default directory moved."""
    global _default
    directory = default_cache_dir()
    current = _default
    if current is not None and current[0] == directory:
        return current[1]
    with _default_lock:
        current = _default
        if current is None or current[0] != directory:
            if current is not None and current[1].cache is not None:
                current[1].cache.close()
            current = _default = (directory, CacheBinding(cache=ValidationCache(directory)))
        return current[1]


def reset_default_cache() -> None:
    """Close and forget the process-wide default cache (tests use this between cases)."""
    global _default
    with _default_lock:
        if _default is not None and _default[1].cache is not None:
            _default[1].cache.close()
        _default = None
