"""Validators: the base class, the real validators built on real tools, and their registry.

``REGISTRY`` maps each dimension to its class; ``DEFAULT_DIMENSIONS`` are the ones run
when none are named (every per-file validator). ``types`` (mypy over the whole tree) is
slow and so left out: run it with ``--dimension types``.
"""

from __future__ import annotations

from collections.abc import Iterable

from validators._pool import shutdown as shutdown_workers
from validators.base import Validator
from validators.complexity import ComplexityValidator
from validators.formatting import FormatValidator
from validators.lint import LintValidator
from validators.security import SecurityValidator
from validators.syntax import SyntaxValidator
from validators.typecheck import TypesValidator

REGISTRY: dict[str, type[Validator]] = {
    cls.dimension: cls
    for cls in (
        SyntaxValidator,
        LintValidator,
        FormatValidator,
        SecurityValidator,
        ComplexityValidator,
        TypesValidator,
    )
}

DEFAULT_DIMENSIONS: tuple[str, ...] = tuple(name for name, cls in REGISTRY.items() if cls.per_file)


def resolve(dimensions: Iterable[str]) -> list[type[Validator]]:
    """The validator classes for ``dimensions``, in order, each once.

    Raises ``ValueError("unknown dimension 'x' (known: a, b, ...)")`` for a name not in
    the registry.
    """
    classes: list[type[Validator]] = []
    for name in dimensions:
        cls = REGISTRY.get(name)
        if cls is None:
            raise ValueError(f"unknown dimension {name!r} (known: {', '.join(sorted(REGISTRY))})")
        if cls not in classes:
            classes.append(cls)
    return classes


__all__ = [
    "ComplexityValidator",
    "DEFAULT_DIMENSIONS",
    "FormatValidator",
    "LintValidator",
    "REGISTRY",
    "SecurityValidator",
    "SyntaxValidator",
    "TypesValidator",
    "Validator",
    "resolve",
    "shutdown_workers",
]
