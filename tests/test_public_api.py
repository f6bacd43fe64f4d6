"""The public API is exported in one place, sorted, and every name resolves."""

from __future__ import annotations

import memo


def test_all_is_sorted_and_complete() -> None:
    assert memo.__all__ == sorted(memo.__all__)
    for name in memo.__all__:
        assert hasattr(memo, name), name


def test_contract_names_are_exported() -> None:
    for name in ("cached_validation", "ValidationCache", "ValidationResult", "Finding", "CACHE_AVAILABLE"):
        assert name in memo.__all__
