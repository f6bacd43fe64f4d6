"""Each package exports its public API in one place: ``__all__`` sorted, complete, and every name resolving."""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = ("memo", "memo.validators", "memo.engine", "memo.cli")


def public_names(module: types.ModuleType) -> set[str]:
    """Names the package's ``__init__`` binds, less private ones, modules and what it imports for itself."""
    package = module.__name__
    names = set()
    for name, value in vars(module).items():
        if name.startswith("_") or isinstance(value, types.ModuleType) or name == "annotations":
            continue
        defined_in = getattr(value, "__module__", None) if isinstance(value, (type, types.FunctionType)) else package
        if defined_in is not None and (defined_in == package or defined_in.startswith(f"{package}.")):
            names.add(name)
    return names


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_every_name_resolves(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__)
    for exported in module.__all__:
        assert hasattr(module, exported), exported


@pytest.mark.parametrize("name", PACKAGES)
def test_all_lists_exactly_the_public_names(name: str) -> None:
    module = importlib.import_module(name)
    for exported in module.__all__:  # a package may import its names on first use
        getattr(module, exported)
    assert set(module.__all__) - {"__version__"} == public_names(module)
