"""A run's report as text, JSON or SARIF 2.1.0, one module each.

The JSON and SARIF field names are a contract (CI systems and editors read them), so
they are spelled out in those modules, once, rather than derived from attribute names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from memo import ValidationResult

FORMATS = ("text", "json", "sarif")
"""The report formats ``memo run --format`` offers (the names of this package's modules)."""


def sorted_results(results: Iterable[ValidationResult]) -> list[ValidationResult]:
    """By file, then dimension.

    Two stable sorts rather than one on a tuple key: a key tuple per result was tens of
    megabytes at a hundred thousand files, while these keys are strings the results hold.
    """
    ordered = sorted(results, key=lambda result: result.dimension)
    ordered.sort(key=lambda result: result.file_path or "")
    return ordered
