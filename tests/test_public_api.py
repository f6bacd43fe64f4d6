"""The public API is exported in one place, sorted, and every name resolves."""

from __future__ import annotations

import subprocess
import sys
import types

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
    for name in memo.__all__:  # imported on first use: bind them all
        getattr(memo, name)
    public = {name for name in vars(memo) if not name.startswith("_") and name != "annotations"}
    modules = {name for name, value in vars(memo).items() if isinstance(value, types.ModuleType)}
    assert public - modules == set(memo.__all__) - {"__version__"}


def test_importing_memo_imports_none_of_its_parts_until_one_is_used() -> None:
    code = "import sys, memo; print(sorted(m for m in sys.modules if m.startswith('memo.')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_explain_function_keeps_its_name_when_its_module_is_imported_first() -> None:
    code = "import memo.explain, memo; print(callable(memo.explain), type(memo.explain).__name__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "function"]
