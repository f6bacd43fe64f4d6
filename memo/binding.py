"""Which cache a decorated call uses, and whether caching is on at all.

A run (the orchestrator's, or a test's) binds a cache, its project root and per-run
memos (file digests, config digests) in a context variable; tasks it starts inherit
the binding. Outside any binding, calls use a process-wide default cache at the default
directory, created on first use.

The config part of a key always comes from the validator instance (its
``cache_config()``, else its ``config``), never from the binding: two instances with
different configs never share a result, and a validator's key changes only when the
config that affects it does.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memo.cache import ValidationCache, default_cache_dir
from memo.enabled import caching_enabled as caching_enabled  # re-exported: it lived here first
from memo.hashing import HashMemo
from memo.keys import ConfigDigests, KeyMemo, config_hash


@dataclass(frozen=True)
class CacheBinding:
    """The cache of one run, with its project root and per-run memos.

    ``cache`` None means this run validates without a cache.
    """

    cache: ValidationCache | None
    config_hash: str | None = None
    """The hash of the config given to ``bind_cache``: the config part of the key only for
    an instance with neither ``cache_config()`` nor ``config``. Kept for compatibility."""
    root: Path | None = None
    hashes: HashMemo = field(default_factory=HashMemo)
    keys: KeyMemo = field(default_factory=KeyMemo)
    """Keys derived in this binding, by their parts (``KeyMemo``)."""
    prepared: dict[int, tuple[Any, Any]] = field(default_factory=dict)
    """Plans ``memo.decorator.prefetch`` made for calls to come: ``{id(instance): (instance, CallPlan)}``."""
    config_digests: ConfigDigests | None = None
    """Config digests remembered for this run; None (outside a run) hashes every time,
    because a process-long memo would outlive a config changed in place."""


_binding: contextvars.ContextVar[CacheBinding | None] = contextvars.ContextVar("memo_binding", default=None)


@contextmanager
def bind_cache(
    cache: ValidationCache | None,
    *,
    config: Mapping[str, Any] | None = None,
    root: Path | str | None = None,
) -> Iterator[CacheBinding]:
    """Make ``cache`` the one decorated calls in this context (and tasks started in it) use.

    Each validator's key holds the digest of its own ``cache_config()`` (or ``config``),
    memoised for the binding: configs must not be changed in place while bound.
    ``config`` is accepted for compatibility; it no longer overrides an instance's own
    config. ``cache=None`` turns caching off here.
    """
    binding = CacheBinding(
        cache=cache,
        config_hash=None if config is None else config_hash(config),
        root=None if root is None else Path(root),
        config_digests=ConfigDigests(),
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
