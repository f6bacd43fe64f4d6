"""What a run produced: every result, the counts a summary needs, and progress along the way."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memo import ValidationResult
from memo.engine.resultlog import ResultLog


@dataclass(frozen=True)
class Progress:
    """How far a run has got; passed to the ``progress`` callback after every check."""

    files_done: int
    files_total: int
    checks_done: int
    checks_total: int
    hits: int


ProgressCallback = Callable[[Progress], None]


@dataclass(repr=False)
class Report:
    """Every result of one run, and the counts a summary needs.

    Its repr is the summary, not every result: asyncio formats the run's return value
    when it tears the loop down, and a dataclass repr of thousands of findings is costly.
    """

    results: Sequence[ValidationResult]
    """Every result, in check order (a ``ResultLog`` from ``Engine.run``, which keeps clean ones compactly)."""
    files: int
    """Files at least one validator checked."""
    dimension_names: tuple[str, ...]
    wall_time_s: float
    root: Path
    cache_enabled: bool = True
    not_loaded: tuple[str, ...] = ()
    """The project's validators the config names that this run did not load (the project is not trusted)."""
    findings: int = field(init=False)
    hits: int = field(init=False)
    misses: int = field(init=False)
    errors: int = field(init=False)
    """Results whose validator could not do its job (crashed, timed out); skips excluded."""
    skipped: int = field(init=False)
    """Checks that did not run (their tool is missing)."""
    passed: bool = field(init=False)
    """No failing findings, errors, skips or validators left unloaded: a check that did not run proves nothing."""

    def __post_init__(self) -> None:
        if isinstance(self.results, ResultLog):
            log = self.results  # it counted as the results came in
            self.findings, self.hits, self.errors, self.skipped = log.findings, log.hits, log.errors, log.skipped
            self.misses = log.misses if self.cache_enabled else 0
            self.passed = log.errors == 0 and log.skipped == 0 and log.all_passed and not self.not_loaded
            return
        findings = hits = misses = errors = skipped = 0
        all_passed = True
        for result in self.results:
            findings += len(result.findings)
            hits += result.cached
            misses += not result.cached and result.file_path is not None
            skipped += result.skip_reason is not None
            errors += result.error is not None and result.skip_reason is None
            all_passed = all_passed and result.passed
        self.findings, self.hits, self.errors, self.skipped = findings, hits, errors, skipped
        self.misses = misses if self.cache_enabled else 0
        self.passed = errors == 0 and skipped == 0 and all_passed and not self.not_loaded

    def ordered(self) -> Iterator[ValidationResult]:
        """Every result by file, then dimension (check order within both), one at a time."""
        if isinstance(self.results, ResultLog):
            return self.results.ordered()
        ordered = sorted(self.results, key=lambda result: result.dimension)
        ordered.sort(key=lambda result: result.file_path or "")
        return iter(ordered)

    def notable(self) -> Iterator[ValidationResult]:
        """The results with something to say (findings, errors, skips, failures), in check order."""
        if isinstance(self.results, ResultLog):
            return self.results.notable()
        return (
            r for r in self.results if r.findings or r.error is not None or r.skip_reason is not None or not r.passed
        )

    @property
    def dimensions(self) -> int:
        return len(self.dimension_names)

    def __repr__(self) -> str:
        return (
            f"Report(files={self.files}, dimensions={self.dimensions}, findings={self.findings}, "
            f"hits={self.hits}, misses={self.misses}, errors={self.errors}, passed={self.passed})"
        )

    def summary(self) -> dict[str, Any]:
        """The counts, under the field names the JSON report uses."""
        return {
            "files": self.files,
            "dimensions": self.dimensions,
            "dimension_names": list(self.dimension_names),
            "findings": self.findings,
            "cache_hits": self.hits,
            "cache_misses": self.misses,
            "errors": self.errors,
            "skipped": self.skipped,
            "passed": self.passed,
            "not_loaded_validators": list(self.not_loaded),
            "wall_time_s": self.wall_time_s,
            "root": str(self.root),
        }
