"""The registry contract the orchestrator relies on: names, defaults, resolve(), class attributes."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from memo.validators import DEFAULT_DIMENSIONS, REGISTRY, Validator, resolve


def test_registry_maps_each_dimension_to_its_class() -> None:
    assert set(REGISTRY) == {"syntax", "lint", "format", "security", "complexity", "types"}
    for name, cls in REGISTRY.items():
        assert issubclass(cls, Validator) and cls.dimension == name and cls.version


def test_defaults_are_every_per_file_dimension_and_leave_out_types() -> None:
    assert set(DEFAULT_DIMENSIONS) == {name for name, cls in REGISTRY.items() if cls.per_file}
    assert "types" not in DEFAULT_DIMENSIONS
    assert REGISTRY["types"].per_file is False


def test_resolve_keeps_order_and_drops_repeats() -> None:
    assert resolve(["lint", "syntax", "lint"]) == [REGISTRY["lint"], REGISTRY["syntax"]]


def test_resolve_rejects_an_unknown_dimension_naming_the_known_ones() -> None:
    known = ", ".join(sorted(REGISTRY))
    with pytest.raises(ValueError, match=rf"^unknown dimension 'spelling' \(known: {known}\)$"):
        resolve(["lint", "spelling"])


@pytest.mark.parametrize("cls", list(REGISTRY.values()), ids=lambda c: c.dimension)
def test_every_validate_is_a_cached_coroutine(cls: type[Validator]) -> None:
    assert inspect.iscoroutinefunction(cls.validate)
    assert cls.validate.__qualname__ == f"{cls.__qualname__}.validate"
    assert hasattr(cls.validate, "__wrapped__")  # wrapt's proxy: @cached_validation is applied


def test_per_file_validators_apply_to_the_file_types_their_tools_check() -> None:
    for name in DEFAULT_DIMENSIONS:
        cls = REGISTRY[name]
        assert cls.applies_to(Path("pkg/mod.py"))
        assert not cls.applies_to(Path("notes.txt"))
    assert not REGISTRY["types"].applies_to(Path("pkg/mod.py"))
    # ruff lints notebooks and stubs, and formats Markdown; bandit reads .pyw as its walk does.
    assert {name for name in DEFAULT_DIMENSIONS if REGISTRY[name].applies_to(Path("a.ipynb"))} == {"lint", "format"}
    assert {name for name in DEFAULT_DIMENSIONS if REGISTRY[name].applies_to(Path("README.md"))} == {"format"}
    assert REGISTRY["security"].applies_to(Path("gui.pyw"))


def test_options_are_the_dimension_section_of_the_config() -> None:
    validator = REGISTRY["complexity"]("a.py", {"complexity": {"max_complexity": 3}, "lint": {"select": ["E"]}})
    assert validator.options() == {"max_complexity": 3}
