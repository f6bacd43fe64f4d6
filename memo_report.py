"""A run's report as text, JSON or SARIF 2.1.0: pure functions from a ``Report`` to a string.

The JSON and SARIF field names are a contract (CI systems and editors read them), so
they are spelled out here, once, rather than derived from attribute names.
"""

from __future__ import annotations

import io
import json
import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote

import memo
from memo import Finding, ValidationResult

if TYPE_CHECKING:
    from orchestrator import Report

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def _skipped(result: ValidationResult) -> bool:
    return result.error is not None and result.error.startswith("skipped:")


def _sorted(results: Iterable[ValidationResult]) -> list[ValidationResult]:
    """By file, then dimension.

    Two stable sorts rather than one on a tuple key: a key tuple per result was tens of
    megabytes at a hundred thousand files, while these keys are strings the results hold.
    """
    ordered = sorted(results, key=lambda result: result.dimension)
    ordered.sort(key=lambda result: result.file_path or "")
    return ordered


# -- JSON ---------------------------------------------------------------------------------

_compact = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
"""Without ``indent`` json uses its C encoder; with ``indent=2`` it falls back to pure Python."""


def write_json(report: Report, out: TextIO) -> None:
    """``to_json``, written to ``out`` one result at a time.

    A warm run over a large tree has hundreds of thousands of results: building one dict
    per result and then one string of the whole document doubled the run's peak memory,
    and ``indent=2`` forced the pure-Python encoder. The summary stays indented; each
    result is one line, encoded by the C encoder, so the file still reads line by line.
    """
    summary = json.dumps(report.summary(), indent=2, ensure_ascii=False).replace("\n", "\n  ")
    out.write(f'{{\n  "summary": {summary},\n  "results": [')
    separator = "\n    "
    for result in _sorted(report.results):
        out.write(separator)
        out.write(_compact(result.to_dict()))
        separator = ",\n    "
    out.write("\n  ]\n}\n" if separator != "\n    " else "]\n}\n")


def to_json(report: Report) -> str:
    """One JSON document: ``summary`` (the counts) and ``results`` (every result, dataclass field names)."""
    out = io.StringIO()
    write_json(report, out)
    return out.getvalue()


# -- text ---------------------------------------------------------------------------------


def _display(path: str | None, cwd: Path) -> str:
    """``path`` relative to ``cwd`` when it is under it, as a user would type it."""
    if not path:
        return "."
    try:
        return str(Path(path).relative_to(cwd))
    except ValueError:
        return path


def summary_line(report: Report) -> str:
    """``PASSED: 12 files, 5 dimensions, 0 findings, ...``: the last line of the text report."""
    parts = [
        f"{report.files} files",
        f"{report.dimensions} dimensions",
        f"{report.findings} findings",
        f"{report.errors} errors",
    ]
    if report.skipped:
        parts.append(f"{report.skipped} skipped")
    parts += [f"{report.hits} cache hits", f"{report.misses} misses", f"{report.wall_time_s:.2f}s"]
    return f"{'PASSED' if report.passed else 'FAILED'}: {', '.join(parts)}"


def to_text(report: Report, cwd: Path | None = None) -> str:
    """Findings and errors grouped by file (``path:line:col code message``), skips, then the summary."""
    cwd = Path.cwd() if cwd is None else cwd
    lines: list[str] = []
    skipped: dict[tuple[str, str], int] = defaultdict(int)
    by_file: dict[str, list[ValidationResult]] = defaultdict(list)
    for result in _sorted(report.results):
        if _skipped(result):
            skipped[(result.dimension, (result.error or "")[len("skipped:") :].strip())] += 1
        else:
            by_file[result.file_path or ""].append(result)
    for file_path, results in by_file.items():
        shown = _display(file_path, cwd)
        rows: list[tuple[int, int, str]] = []
        for result in results:
            if result.error is not None:
                rows.append((0, 0, f"{shown}: {result.dimension} error: {result.error}"))
            rows.extend(
                (finding.line, finding.column, _finding_line(finding, result.dimension, shown, file_path, cwd))
                for finding in result.findings
            )
        lines.extend(text for _, _, text in sorted(rows, key=lambda row: (row[0], row[1])))
    for (dimension, reason), count in sorted(skipped.items()):
        lines.append(f"skipped {dimension} on {count} file{'s' if count != 1 else ''}: {reason}")
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def _finding_line(finding: Finding, dimension: str, shown: str, file_path: str, cwd: Path) -> str:
    where = shown if finding.path == file_path else _display(finding.path, cwd)
    return f"{where}:{finding.line}:{finding.column} {finding.code} {finding.message} [{dimension}]"


# -- SARIF --------------------------------------------------------------------------------


def _uri(path: str, root: Path) -> tuple[str, bool]:
    """``path`` as a URI reference: relative to the root (True) when under it, else a file URI."""
    absolute = Path(os.path.abspath(path))
    try:
        return quote(absolute.relative_to(os.path.abspath(root)).as_posix()), True
    except ValueError:
        return absolute.as_uri(), False


def _location(path: str, root: Path, line: int = 0, column: int = 0) -> dict[str, Any]:
    uri, relative = _uri(path, root)
    artifact: dict[str, Any] = {"uri": uri}
    if relative:
        artifact["uriBaseId"] = "SRCROOT"
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if line >= 1:
        region: dict[str, Any] = {"startLine": line}
        if column >= 1:
            region["startColumn"] = column
        physical["region"] = region
    return {"physicalLocation": physical}


def to_sarif(report: Report) -> str:
    """SARIF 2.1.0: one run, one result per finding, errors and skips as tool notifications."""
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    root = report.root
    rule_index: dict[str, int] = {}
    for result in _sorted(report.results):
        for finding in result.findings:
            if finding.code not in rules:
                rule_index[finding.code] = len(rules)
                rules[finding.code] = {
                    "id": finding.code,
                    "shortDescription": {"text": f"{result.dimension} {finding.code}"},
                    "properties": {"dimension": result.dimension},
                }
            where = finding.path or result.file_path or str(root)
            results.append(
                {
                    "ruleId": finding.code,
                    "ruleIndex": rule_index[finding.code],
                    "level": SARIF_LEVELS.get(finding.severity, "warning"),
                    "message": {"text": finding.message},
                    "locations": [_location(where, root, finding.line, finding.column)],
                    "properties": {"dimension": result.dimension, "cached": result.cached},
                }
            )
        if result.error is not None:
            notification: dict[str, Any] = {
                "level": "note" if _skipped(result) else "error",
                "message": {"text": f"{result.dimension}: {result.error}"},
            }
            if result.file_path is not None:
                notification["locations"] = [_location(result.file_path, root)]
            notifications.append(notification)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "memo",
                        "version": memo.__version__,
                        "rules": list(rules.values()),
                    }
                },
                "originalUriBaseIds": {"SRCROOT": {"uri": Path(os.path.abspath(root)).as_uri() + "/"}},
                "invocations": [
                    {
                        "executionSuccessful": report.errors == 0,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


FORMATTERS = {"json": to_json, "sarif": to_sarif}
