"""A small real validator for benchmarks that measure memo itself rather than a tool.

It compiles the file with this interpreter, so a miss does real work and a hit is only
memo's cost; ``calls`` counts how often the body ran, so a benchmark of hits can prove
that every call it timed was one.
"""

from __future__ import annotations

from typing import ClassVar

from memo import Finding, ValidationResult, cached_validation
from memo.validators.base import Validator


def compile_check(path: str) -> ValidationResult:
    """Whether the file compiles; one finding if not."""
    with open(path, "rb") as handle:
        source = handle.read()
    try:
        compile(source, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None) or 1
        return ValidationResult("compile", False, [Finding(path, line, 1, "syntax-error", str(exc), "error")], path)
    return ValidationResult("compile", True, [], path)


class CompileValidator(Validator):
    """Compiles one file; cached by memo like any real validator."""

    dimension: ClassVar[str] = "compile"
    version: ClassVar[str] = "1"
    calls: ClassVar[int] = 0

    @cached_validation(dimension="compile")
    async def validate(self) -> ValidationResult:
        type(self).calls += 1
        return compile_check(str(self.file_path))
