"""The result types every validator returns: plain dataclasses that round-trip through JSON."""

from __future__ import annotations

import enum
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEVERITIES = ("error", "warning", "info")


class Status(str, enum.Enum):
    """How a check ended: a typed field, so nothing parses a message to find out."""

    PASSED = "passed"
    """The check ran and found nothing that fails the file."""
    FAILED = "failed"
    """The check ran and has findings that fail the file."""
    ERROR = "error"
    """The check could not do its job (the tool crashed, timed out, returned nonsense)."""
    SKIPPED = "skipped"
    """The check did not run (its tool is not installed, say); ``skip_reason`` says why."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem a validator found, located by line and column (both 1-based).

    ``cell`` is set for a finding in a notebook, as ruff reports it: the 1-based number of
    the code cell, with ``line`` counted within that cell. None elsewhere.

    Slotted, like ``ValidationResult``: a warm run over a large tree holds hundreds of
    thousands of results, and a per-instance ``__dict__`` roughly doubles each one.
    """

    path: str
    line: int
    column: int
    code: str
    message: str
    severity: str = "error"
    cell: int | None = None

    def to_dict(self) -> dict[str, Any]:
        found = {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "message": self.message,
            "severity": self.severity,
        }
        if self.cell is not None:
            found["cell"] = self.cell
        return found

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            path=str(data["path"]),
            line=int(data["line"]),
            column=int(data["column"]),
            code=str(data["code"]),
            message=str(data["message"]),
            severity=str(data["severity"]),
            cell=None if data.get("cell") is None else int(data["cell"]),
        )


@dataclass(slots=True)
class ValidationResult:
    """What one validator said about one file (or, for project-level validators, the tree).

    ``error`` is set when the validator could not do its job (tool missing, crashed,
    timed out); such a result is reported but never cached. ``cached`` is True only on a
    result served from the cache. ``skip_reason`` is set on a check that did not run at
    all (see ``skipped``); ``status`` sums the four cases up.
    """

    dimension: str
    passed: bool
    findings: list[Finding] = field(default_factory=list)
    file_path: str | None = None
    error: str | None = None
    duration_s: float = 0.0
    cached: bool = False
    skip_reason: str | None = None

    @property
    def status(self) -> Status:
        """passed, failed, error or skipped."""
        if self.skip_reason is not None:
            return Status.SKIPPED
        if self.error is not None:
            return Status.ERROR
        return Status.PASSED if self.passed else Status.FAILED

    def __post_init__(self) -> None:
        if isinstance(self.file_path, Path):
            self.file_path = str(self.file_path)
        if type(self.dimension) is str:
            # A warm run decodes a fresh copy of the dimension's name for every result;
            # interned, hundreds of thousands of results share a handful of strings.
            self.dimension = sys.intern(self.dimension)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "file_path": self.file_path,
            "status": self.status.value,
            "passed": self.passed,
            "cached": self.cached,
            "error": self.error,
            "skip_reason": self.skip_reason,
            "duration_s": self.duration_s,
            "findings": [finding.to_dict() for finding in self.findings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationResult:
        file_path = data.get("file_path")
        error = data.get("error")
        return cls(
            dimension=str(data["dimension"]),
            passed=bool(data["passed"]),
            findings=[Finding.from_dict(item) for item in data.get("findings", [])],
            file_path=None if file_path is None else str(file_path),
            error=None if error is None else str(error),
            duration_s=float(data.get("duration_s", 0.0)),
            cached=bool(data.get("cached", False)),
            skip_reason=None if data.get("skip_reason") is None else str(data["skip_reason"]),
        )

    @classmethod
    def skipped(cls, dimension: str, file_path: str | Path | None, reason: str) -> ValidationResult:
        """A result for a check that did not run.

        ``error`` carries the reason too, so the result is never cached and readers of the
        JSON report from before ``status`` existed still see why.
        """
        path = None if file_path is None else str(file_path)
        return cls(dimension=dimension, passed=True, file_path=path, error=f"skipped: {reason}", skip_reason=reason)
