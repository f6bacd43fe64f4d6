"""memo: memoization for async validators, keyed by file content, config and validator.

This module only re-exports the public API; each name lives in the module that owns its
idea. The names are imported on first use (PEP 562), so ``memo --version`` and a
program that needs one corner of memo do not pay for the rest (asyncio, diskcache,
wrapt).
"""

from __future__ import annotations

import importlib as _importlib
import sys as _sys
import types as _types
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

if _TYPE_CHECKING:
    from memo.batch import Batcher
    from memo.binding import CacheBinding, bind_cache, current_binding, reset_default_cache
    from memo.cache import ValidationCache
    from memo.cacheopts import CACHE_TTL, default_cache_dir
    from memo.decorator import (
        cache_plan,
        cached_validation,
        plan_call,
        planning_scope,
        prefetch,
        validator_identity,
    )
    from memo.enabled import caching_enabled
    from memo.errors import ConfigHashError, MemoError, StoreError, StoreUnavailableError, UnsafeEntryError
    from memo.explain import Explanation, explain
    from memo.hashing import HASH_ALGORITHM, HashMemo, hash_bytes, hash_file
    from memo.keys import SCHEMA_VERSION, KeyParts, ValidatorIdentity, canonical_config, config_hash, derive_key
    from memo.pathapi import CacheKey
    from memo.results import Finding, Status, ValidationResult
    from memo.store import CACHE_AVAILABLE, DiskStore, MemoryStore, Store

__version__ = "0.1.0"

__all__ = [
    "Batcher",
    "CACHE_AVAILABLE",
    "CACHE_TTL",
    "CacheBinding",
    "CacheKey",
    "ConfigHashError",
    "DiskStore",
    "Explanation",
    "Finding",
    "HASH_ALGORITHM",
    "HashMemo",
    "KeyParts",
    "MemoError",
    "MemoryStore",
    "SCHEMA_VERSION",
    "Status",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "UnsafeEntryError",
    "ValidationCache",
    "ValidationResult",
    "ValidatorIdentity",
    "__version__",
    "bind_cache",
    "cache_plan",
    "cached_validation",
    "caching_enabled",
    "canonical_config",
    "config_hash",
    "current_binding",
    "default_cache_dir",
    "derive_key",
    "explain",
    "hash_bytes",
    "hash_file",
    "plan_call",
    "planning_scope",
    "prefetch",
    "reset_default_cache",
    "validator_identity",
]

_HOMES: dict[str, str] = {
    "Batcher": "memo.batch",
    "CACHE_AVAILABLE": "memo.store",
    "CACHE_TTL": "memo.cacheopts",
    "CacheBinding": "memo.binding",
    "CacheKey": "memo.pathapi",
    "ConfigHashError": "memo.errors",
    "DiskStore": "memo.store",
    "Explanation": "memo.explain",
    "Finding": "memo.results",
    "HASH_ALGORITHM": "memo.hashing",
    "HashMemo": "memo.hashing",
    "KeyParts": "memo.keys",
    "MemoError": "memo.errors",
    "MemoryStore": "memo.store",
    "SCHEMA_VERSION": "memo.keys",
    "Status": "memo.results",
    "Store": "memo.store",
    "StoreError": "memo.errors",
    "StoreUnavailableError": "memo.errors",
    "UnsafeEntryError": "memo.errors",
    "ValidationCache": "memo.cache",
    "ValidationResult": "memo.results",
    "ValidatorIdentity": "memo.keys",
    "bind_cache": "memo.binding",
    "cache_plan": "memo.decorator",
    "cached_validation": "memo.decorator",
    "caching_enabled": "memo.enabled",
    "canonical_config": "memo.keys",
    "config_hash": "memo.keys",
    "current_binding": "memo.binding",
    "default_cache_dir": "memo.cacheopts",
    "derive_key": "memo.keys",
    "explain": "memo.explain",
    "hash_bytes": "memo.hashing",
    "hash_file": "memo.hashing",
    "plan_call": "memo.decorator",
    "planning_scope": "memo.decorator",
    "prefetch": "memo.decorator",
    "reset_default_cache": "memo.binding",
    "validator_identity": "memo.decorator",
}
"""Where each public name lives."""


def __getattr__(name: str) -> _Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'memo' has no attribute {name!r}")
    value = getattr(_importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(_types.ModuleType):
    """The ``memo`` module, keeping a public name that is also a submodule's (``explain``).

    Importing ``memo.explain`` binds the submodule as ``memo.explain``; the public name
    is the function, as it was when every name was imported eagerly.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, _types.ModuleType) and _HOMES.get(name) == value.__name__:
            value = getattr(value, name)
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package
