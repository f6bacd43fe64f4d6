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


def test_explain_and_its_companions_are_exported() -> None:
    for name in ("explain", "Explanation", "cache_plan", "plan_call", "CACHE_TTL", "ValidatorIdentity"):
        assert name in memo.__all__
    assert memo.plan_call is memo.cache_plan


def test_all_lists_every_public_name_the_package_binds() -> None:
    public = {name for name in vars(memo) if not name.startswith("_") and name != "annotations"}
    modules = {name for name, value in vars(memo).items() if type(value) is type(memo)}
    assert public - modules == set(memo.__all__) - {"__version__"}
