"""What a batched check found for one file, before it is tied to the caller's path.

Batches are keyed by absolute path, but a result must name the file exactly as its
validator was given it (memo re-roots findings by that name), so batch functions return
an ``Outcome`` and each validator builds its own ``ValidationResult``. Outcomes are plain
picklable data: the pool's workers return them too.
"""

from __future__ import annotations

from dataclasses import dataclass

RawFinding = tuple[int, int, str, str, str] | tuple[int, int, str, str, str, int]
"""(line, column, code, message, severity), and the cell for a notebook: a finding without its path."""


@dataclass(frozen=True)
class Outcome:
    """The findings for one file, or why the file could not be checked."""

    findings: tuple[RawFinding, ...] = ()
    error: str | None = None


CLEAN = Outcome()
