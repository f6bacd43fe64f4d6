"""memo: memoization for async validators, keyed by file content, config and validator.

This module only re-exports the public API; each name lives in the module that owns its idea.
"""

from __future__ import annotations

from memo.batch import Batcher
from memo.binding import CacheBinding, bind_cache, current_binding, reset_default_cache
from memo.cache import CACHE_TTL, CacheKey, ValidationCache, default_cache_dir
from memo.decorator import cache_plan, cached_validation, plan_call, validator_identity
from memo.enabled import caching_enabled
from memo.errors import ConfigHashError, MemoError, StoreError, StoreUnavailableError, UnsafeEntryError
from memo.explain import Explanation, explain
from memo.hashing import HASH_ALGORITHM, HashMemo, hash_bytes, hash_file
from memo.keys import SCHEMA_VERSION, KeyParts, ValidatorIdentity, canonical_config, config_hash, derive_key
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
    "reset_default_cache",
    "validator_identity",
]
