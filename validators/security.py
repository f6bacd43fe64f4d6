"""``security``: bandit's security checks on each Python file.

Findings carry bandit's test id (``B101``, ``B307``, ...) and map its severity: HIGH ->
error, MEDIUM -> warning, LOW -> info. Any finding fails the file, as bandit's own exit
status does. A file bandit cannot parse gets one ``unparsable`` finding.

Options (config section ``[security]``):

- ``skip``: test ids to skip (bandit's ``--skip``), e.g. ``["B101"]``.
- ``tests``: only run these test ids (``--tests``).
- ``severity``: report only issues of at least this severity: ``low``, ``medium`` or ``high``.
- ``confidence``: report only issues of at least this confidence: ``low``, ``medium`` or ``high``.
- ``timeout``: seconds one bandit process may run before it is killed (default 60).

bandit is single-threaded Python that takes ~0.2 s to start, so batches are large and
split into one chunk per core.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from memo import ValidationResult, cached_validation
from validators import _options, _process
from validators._batched import BatchedValidator, PathIndex
from validators._outcome import Outcome, RawFinding
from validators._tools import Tool

_SEVERITY = {"HIGH": "error", "MEDIUM": "warning", "LOW": "info"}
_LEVELS = ("low", "medium", "high")

SecuritySettings = tuple[str, ...]


def _finding(entry: Mapping[str, Any]) -> RawFinding:
    return (
        int(entry.get("line_number") or 1),
        int(entry.get("col_offset") or 0) + 1,
        str(entry.get("test_id") or "bandit"),
        f"{entry.get('issue_text', '')} (confidence {str(entry.get('issue_confidence', '')).lower()})",
        _SEVERITY.get(str(entry.get("issue_severity", "")).upper(), "warning"),
    )


def parse_report(stdout: bytes, paths: Sequence[str]) -> dict[str, Outcome]:
    """bandit's JSON report, split per file; ``ValueError`` if it is not one."""
    report = json.loads(stdout)
    if not isinstance(report, dict) or not isinstance(report.get("results"), list):
        raise ValueError("not a bandit JSON report")
    index = PathIndex(paths)
    found: dict[str, list[RawFinding]] = {}
    for entry in report["results"]:
        path = index.find(str(entry.get("filename", "")))
        if path is None:
            raise ValueError(f"bandit reported a file it was not given: {entry.get('filename')!r}")
        found.setdefault(path, []).append(_finding(entry))
    for error in report.get("errors") or []:
        path = index.find(str(error.get("filename", "")))
        if path is not None:
            reason = str(error.get("reason", "bandit could not check this file"))
            found.setdefault(path, []).append((1, 1, "unparsable", reason, "error"))
    return {path: Outcome(tuple(sorted(rows))) for path, rows in found.items()}


class SecurityValidator(BatchedValidator):
    """bandit's checks; one finding per issue, with bandit's test id."""

    dimension: ClassVar[str] = "security"
    version: ClassVar[str] = "1"
    tool: ClassVar[str] = "bandit"
    max_batch: ClassVar[int] = 256
    min_chunk: ClassVar[int] = 16

    def settings(self) -> SecuritySettings:
        options, dimension = self.options(), self.dimension
        args: list[str] = []
        for name, flag in (("skip", "--skip"), ("tests", "--tests")):
            ids = _options.string_list(options, dimension, name)
            if ids:
                args.append(f"{flag}={','.join(ids)}")
        for name, flag in (("severity", "--severity-level"), ("confidence", "--confidence-level")):
            level = _options.choice(options, dimension, name, _LEVELS)
            if level is not None:
                args.append(f"{flag}={level}")
        return tuple(args)

    @classmethod
    async def check_chunk(
        cls, tool: Tool, paths: Sequence[str], settings: SecuritySettings, timeout: float
    ) -> Mapping[str, Outcome]:
        argv = [*tool.argv, "--format", "json", "--quiet", *settings, "--", *paths]
        completed = await _process.run(argv, timeout=timeout)
        try:
            if completed.returncode not in (0, 1):
                raise ValueError("unexpected exit status")
            return parse_report(completed.stdout, paths)
        except (ValueError, AttributeError, TypeError):
            raise _process.ToolError(_process.describe_failure("bandit", completed)) from None

    @cached_validation(dimension="security")
    async def validate(self) -> ValidationResult:
        return await self.check()
