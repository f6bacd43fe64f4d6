"""memo: memoization for async validators, keyed by file content, config and validator.

This module only re-exports the public API; each name lives in the module that owns its idea.
"""

from __future__ import annotations

from memo.batch import Batcher
from memo.binding import CacheBinding, bind_cache, caching_enabled, current_binding, reset_default_cache
from memo.cache import CacheKey, ValidationCache, default_cache_dir
from memo.decorator import cached_validation, plan_call, validator_identity
from memo.errors import ConfigHashError, MemoError, StoreError, StoreUnavailableError, UnsafeEntryError
from memo.hashing import HASH_ALGORITHM, HashMemo, hash_bytes, hash_file
from memo.keys import SCHEMA_VERSION, KeyParts, canonical_config, config_hash, derive_key
from memo.results import Finding, Status, ValidationResult
from memo.store import CACHE_AVAILABLE, DiskStore, MemoryStore, Store

__version__ = "0.1.0"

__all__ = [
    "Batcher",
    "CACHE_AVAILABLE",
    "CacheBinding",
    "CacheKey",
    "ConfigHashError",
    "DiskStore",
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
    "__version__",
    "bind_cache",
    "cached_validation",
    "caching_enabled",
    "canonical_config",
    "config_hash",
    "current_binding",
    "default_cache_dir",
    "derive_key",
    "hash_bytes",
    "hash_file",
    "plan_call",
    "reset_default_cache",
    "validator_identity",
]
