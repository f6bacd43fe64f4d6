"""Each package exports its public API in one place: ``__all__`` sorted, complete, and every name resolving."""

from __future__ import annotations

import importlib
import types
from pathlib import Path

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


def test_no_module_of_memo_shadows_a_public_name_it_does_not_define() -> None:
    # Importing memo/x.py binds ``memo.x`` to the module: a public ``memo.x`` defined
    # elsewhere (``memo.prefetch`` is memo.decorator's function) would become the module.
    import memo

    stems = {path.stem for path in Path(memo.__file__).parent.glob("*.py")}
    homes = vars(memo)["_HOMES"]
    assert {stem for stem in stems & set(memo.__all__) if homes[stem] != f"memo.{stem}"} == set()
