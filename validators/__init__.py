"""Validators: the base class, the real validators built on real tools, and their registry.

``REGISTRY`` maps each dimension to its class; ``DEFAULT_DIMENSIONS`` are the ones run
when none are named (every per-file validator). ``types`` (mypy over the whole tree) is
slow and so left out: run it with ``--dimension types``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from memo.validators._fileset import FileSet
from memo.validators._pool import shutdown as shutdown_workers
from memo.validators.base import Validator
from memo.validators.complexity import ComplexityValidator
from memo.validators.formatting import FormatValidator
from memo.validators.lint import LintValidator
from memo.validators.security import SecurityValidator
from memo.validators.syntax import SyntaxValidator
from memo.validators.typecheck import TypesValidator

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


def resolve(dimensions: Iterable[str], registry: Mapping[str, type[Validator]] | None = None) -> list[type[Validator]]:
    """The validator classes for ``dimensions``, in order, each once, from ``registry`` (default ``REGISTRY``).

    Raises ``ValueError("unknown dimension 'x' (did you mean 'y'?) (known: a, b, ...)")``
    for a name not in the registry.
    """
    known = REGISTRY if registry is None else registry
    classes: list[type[Validator]] = []
    for name in dimensions:
        cls = known.get(name)
        if cls is None:
            import difflib  # only for a misspelt name: kept off the start-up path

            match = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
            hint = f" (did you mean {match[0]!r}?)" if match else ""
            raise ValueError(f"unknown dimension {name!r}{hint} (known: {', '.join(sorted(known))})")
        if cls not in classes:
            classes.append(cls)
    return classes


__all__ = [
    "ComplexityValidator",
    "DEFAULT_DIMENSIONS",
    "FileSet",
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
