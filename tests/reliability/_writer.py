"""A process that stores entries as fast as it can until it is killed; prints each index once stored.

Usage: ``python _writer.py CACHE_DIR PREFIX``. Every entry's content is a pure function
of its key (see ``expected_result``), so a reader can check any entry it finds.
"""

from __future__ import annotations

import sys
from pathlib import Path

from memo import Finding, ValidationCache, ValidationResult


def expected_result(key: str) -> ValidationResult:
    """The result stored under ``key``: one in three is large enough to live in a value file."""
    number = int(key.rsplit("-", 1)[1])
    padding = 600 if number % 3 == 0 else number % 7
    findings = [Finding("", 1, 1, "KEY", key, "info")]
    findings += [Finding("", n, 2, "PAD", f"{key} {n} " + "p" * 40, "info") for n in range(padding)]
    return ValidationResult("kill", passed=number % 2 == 0, findings=findings, duration_s=number / 8)


def main() -> None:
    cache_dir, prefix = Path(sys.argv[1]), sys.argv[2]
    cache = ValidationCache(cache_dir, timeout=1.0)
    number = 0
    while True:
        key = f"{prefix}-{number}"
        if cache.store(key, expected_result(key)):
            print(number, flush=True)
        number += 1


if __name__ == "__main__":
    main()
